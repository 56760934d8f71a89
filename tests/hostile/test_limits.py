"""Resource limits: --timeout, --memory (OOM killer, ENOMEM/EAGAIN), twaron's own RSS."""

from __future__ import annotations

from pathlib import Path

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


def test_zombies_count_against_memory(twaron_platform):
    """A process that forks children which exit and are never reaped runs out of memory
    (ENOMEM from fork) after at most 16 MiB / 8 KiB of them: each is charged frames until it
    is reaped, as Linux charges a zombie's kernel memory. (A fork bomb's zombies grew the
    host's memory without bound before: a CI run's fork bomb test ended 294 MiB up.)"""
    import harness

    binary = harness.build_or_skip("zombie_pile", Path(__file__).with_name("c") /
                                   "zombie_pile.c", 60)  # fmt: skip
    before = _rss_mib()
    r = twaron.run([harness.GUEST_PROG], files={harness.GUEST_PROG: binary},
                   platform=twaron_platform, memory="16M", timeout=60)  # fmt: skip
    assert not r.oopses and r.returncode == 0 and not r.timed_out, r.stderr
    words = r.stdout.split()
    assert words[0] == b"zombies" and words[2:] == [b"fork", b"ENOMEM"], r.stdout
    assert 0 < int(words[1]) < (16 << 20) // (2 * 4096)
    assert _rss_mib() - before < 16 + 64


def test_allocation_without_end(twaron_platform):
    r = twaron.run(["sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done"],
                   platform=twaron_platform, memory="64M", timeout=60)  # fmt: skip
    assert not r.oopses and not r.timed_out
    assert r.returncode != 0  # out of memory (sh's message) or killed by the OOM killer


def test_huge_reads_and_writes_stay_out_of_host_memory(twaron_platform):
    """Reads of 1 GiB of a sparse file and writes of a 1 GiB untouched mapping (contract
    program rw_huge): twaron holds a chunk at a time (the fuzzer found a whole request read
    into the host's memory first), and untouched memory reads as zeros without frames."""
    import harness

    binary = harness.build_or_skip("rw_huge", harness.C_DIR / "rw_huge.c", 60)
    before = _rss_mib()
    r = twaron.run([harness.GUEST_PROG], files={harness.GUEST_PROG: binary},
                   platform=twaron_platform, timeout=120)  # fmt: skip
    assert not r.oopses and r.returncode == 0, r.stderr
    assert b"readv into 8 MiB then the hole: 8388608" in r.stdout
    assert b"write 1 GiB untouched to /dev/null: 1073741824" in r.stdout
    assert _rss_mib() - before < 256
