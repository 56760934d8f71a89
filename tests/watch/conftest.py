"""Fixtures of the watch tests: the steer program and the host's strace."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def steer() -> Path:
    """tests/watch/c/steer.c, built with musl-gcc -static (skipped without musl-gcc)."""
    return harness.build_or_skip("steer", HERE / "c" / "steer.c", 60)


@functools.cache
def strace_usable() -> tuple[bool, str]:
    """strace runs here and may ptrace (it is a Debian package: make install brings it)."""
    exe = shutil.which("strace")
    if exe is None:
        return False, "strace is not installed (make install)"
    p = subprocess.run([exe, "-f", "-o", "/dev/null", "true"], capture_output=True)
    if p.returncode != 0:
        return False, f"strace cannot trace here: {p.stderr.decode(errors='replace').strip()}"
    return True, ""


@pytest.fixture
def strace() -> str:
    ok, why = strace_usable()
    if not ok:
        pytest.skip(why)
    return str(shutil.which("strace"))
