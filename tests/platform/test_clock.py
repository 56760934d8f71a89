"""Setting the guest's clock as root (tests/platform/c/settime.c), on each platform: the
guest's wall clock moves, syscalls and the vDSO agree, CLOCK_MONOTONIC does not move, the
timezone and TAI offset reach the vDSO, a realtime timer is re-armed when the clock jumps
past it; and the host's clock never moves (this test is twaron's own: natively the program
would set the host's clock)."""

from __future__ import annotations

import time
from pathlib import Path

import twaron

import harness

HERE = Path(__file__).resolve().parent


def test_root_sets_only_the_guests_clock(twaron_platform):
    binary = harness.build_or_skip("settime", HERE / "c" / "settime.c", 120.0)
    before = time.time()
    r = twaron.run(["/prog"], files={"/prog": str(binary)}, platform=twaron_platform,
                   timeout=120)  # fmt: skip
    after = time.time()
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    assert out.rstrip().endswith("done"), out
    assert ": no\n" not in out, out
    assert "-1 E" not in out.replace("before CLOCK_MONOTONIC: -1 EINVAL", ""), out
    assert "clock_settime before CLOCK_MONOTONIC: -1 EINVAL" in out
    assert "adjtimex: tai 37, unsynchronised yes" in out
    assert "adjtimex: freq 12345" in out
    assert 0 <= after - before < 300  # the host's clock did not jump by the guest's 1000 s


def test_syscalls_and_vdso_stay_ordered_across_segments(twaron_platform):
    """2.5 s of interleaved syscall and vDSO readings: the clock starts new segments (once a
    second) while the guest runs, and no reading is ever before the one it follows."""
    binary = harness.build_or_skip("vdso_long", HERE / "c" / "vdso_long.c", 120.0)
    r = twaron.run(["/prog"], files={"/prog": str(binary)}, platform=twaron_platform,
                   timeout=120)  # fmt: skip
    out = r.stdout.decode()
    assert r.returncode == 0 and out.startswith("readings out of order: 0 "), out
