"""Data integrity under kills: a guest that writes a file (in several write() calls), renames
it over another and appends a record to a log, killed at random points, never leaves a torn
or half-renamed file, and every record whose write() returned is in the log.

Two kinds of kill: SIGKILL from a parent inside the guest after a random delay, many rounds
(tests/hostile/c/data_kill.c checks the files after each), and --timeout ending the whole run
at a random moment (the test then reads the files straight out of the dead kernel's tmpfs).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from twaron.api import boot, start
from twaron.config import Config
from twaron.fs import tmpfs
from twaron.fs.console import Console

import harness

HERE = Path(__file__).resolve().parent
REC = 64


@pytest.fixture(scope="module")
def binary():
    return harness.build_or_skip("data_kill", HERE / "c" / "data_kill.c", 300.0)


def _gen_size(gen: int) -> int:
    return 64 + gen * 7919 % 20000


def _make(gen: int) -> bytes:
    """data_kill.c's make(): header, a pattern, trailer."""
    n = _gen_size(gen)
    head = b"GEN %010d LEN %010d\n" % (gen, n)
    body = bytes(ord("a") + (gen + i) % 26 for i in range(len(head), n - 16))
    return head + body + b"END %010d\n\0" % gen  # snprintf's NUL ends the file


def test_sigkill_at_random_points(binary, twaron_platform):
    seed = random.randrange(1 << 20)
    r = harness.run_twaron(["/prog", "kill", "60", str(seed)], files={"/prog": binary},
                           platform=twaron_platform, timeout=300)  # fmt: skip
    out = r.stdout.decode()
    assert r.returncode == 0, f"seed {seed}:\n{out}"
    assert re.search(r"^rounds: 60, records: \d+, bad: 0$", out, re.M), f"seed {seed}:\n{out}"


def _guest_file(kernel, path: bytes) -> bytes | None:
    p = tmpfs.resolve_internal(kernel.fs.root, path)
    if p is None:
        return None
    inode = p.dentry.inode
    return bytes(inode.mapping.read(0, inode.size)) if inode.size else b""


@pytest.mark.parametrize("round_", range(4))
def test_timeout_at_random_points(binary, twaron_platform, round_):
    timeout = random.uniform(0.3, 2.0)
    out = bytearray()
    config = Config(argv=["/prog", "worker", "/tmp/data"], platform=twaron_platform,
                    add_files=[(str(binary), "/prog")], timeout=timeout)  # fmt: skip
    kernel = boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert start(kernel, config) is None
    kernel.run()
    assert kernel.timed_out and not kernel.oopses
    reported = [int(m) for m in re.findall(rb"^w (\d+)$", bytes(out), re.M)]
    target = _guest_file(kernel, b"tmp/data/target")
    log = _guest_file(kernel, b"tmp/data/log") or b""
    where = f"timeout {timeout:.3f} s, {len(reported)} generations reported"
    if target is not None:  # (None: killed before the first rename)
        gen = int(target[4:14])
        assert target == _make(gen), f"torn target: {where}"
        assert not reported or gen >= reported[-1], where
    assert len(log) % REC == 0, f"torn log record: {where}"
    gens = [int(log[i + 4 : i + 14]) for i in range(0, len(log), REC)]
    assert gens == list(range(1, len(gens) + 1)), where
    assert len(gens) >= len(reported), f"records lost: {where}"
