"""Fixtures of the determinism tests: their C programs, and how to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _program(name: str) -> Path:
    return harness.build_or_skip(name, HERE / "c" / f"{name}.c", 60)


@pytest.fixture(scope="session")
def racy_counter() -> Path:
    return _program("racy_counter")


@pytest.fixture(scope="session")
def lockfile_race() -> Path:
    return _program("lockfile_race")


@pytest.fixture(scope="session")
def clocks() -> Path:
    return _program("clocks")


@pytest.fixture
def cli():
    """Runs `python -m twaron ARGS` (see twaron_cli)."""
    return twaron_cli


def twaron_cli(*args: str, input: bytes = b"", hashseed: str | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    """`python -m twaron ARGS` from this tree, stdin from `input`, stdout/stderr captured."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if hashseed is not None:
        env["PYTHONHASHSEED"] = hashseed  # another process's hash order: no effect allowed
    return subprocess.run([sys.executable, "-m", "twaron", *args], input=input, env=env,
                          capture_output=True, timeout=timeout, cwd=str(REPO))  # fmt: skip


@pytest.fixture(scope="session")
def host_peer() -> Path:
    return _program("host_peer")
