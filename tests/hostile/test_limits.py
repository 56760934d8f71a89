"""Resource limits: --timeout, --memory (OOM killer, ENOMEM/EAGAIN), twaron's own RSS."""

from __future__ import annotations

import twaron


def _rss_mib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def test_timeout_ends_a_busy_guest(twaron_platform):
    r = twaron.run(["sh", "-c", "while :; do :; done"], platform=twaron_platform, timeout=3)
    assert r.timed_out and r.returncode == -9 and not r.oopses


def test_fork_bomb_under_64m(twaron_platform):
    """A fork bomb gets ENOMEM from fork or is OOM-killed; the kernel lives and its host
    memory grows by at most the guest RAM (64 MiB, touched as frames are used) plus the
    Python objects of the processes that fit in it (bounded by the frames: 96 MiB)."""
    before = _rss_mib()
    r = twaron.run(["sh", "-c", "f() { f & f & wait; }; f; echo survived"],
                   platform=twaron_platform, memory="64M", timeout=60)  # fmt: skip
    assert not r.oopses
    assert b"Cannot allocate memory" in r.stderr or r.returncode != 0
    assert _rss_mib() - before < 64 + 96


def test_allocation_without_end(twaron_platform):
    r = twaron.run(["sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done"],
                   platform=twaron_platform, memory="64M", timeout=60)  # fmt: skip
    assert not r.oopses and not r.timed_out
    assert r.returncode != 0  # out of memory (sh's message) or killed by the OOM killer
