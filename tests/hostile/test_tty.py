"""Terminals under random use: tests/hostile/c/tty_storm.c opens ptys and terminals, issues
every tty ioctl with good and bad arguments, random modes, reads and writes on both ends,
closes in any order and makes new sessions; the kernel must answer every call (no oops,
the program runs to its end)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import harness

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def binary():
    return harness.build_or_skip("tty_storm", HERE / "c" / "tty_storm.c", 300.0)


@pytest.mark.parametrize("fixed", [1, 2, 3, None])
def test_tty_storm(binary, twaron_platform, fixed):
    seed = fixed if fixed is not None else random.randrange(1 << 30)  # and one new each run
    r = harness.run_twaron(["/prog", str(seed), "1500"], files={"/prog": binary},
                           platform=twaron_platform, timeout=300)  # fmt: skip
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "done 1500" in out, f"seed {seed}: {r.returncode}\n{out[-2000:]}"
