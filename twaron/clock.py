"""The one clock every part of the kernel reads time through.

Nothing else in the kernel calls the host's clocks directly (the scheduler, timers, CPU
accounting, procfs, file times and --trace's timestamps all come here), so a run can swap
the host's clock for a virtual one: `Clock` follows the host, `VirtualClock` (the
deterministic kernel, `twaron run --deterministic`) is a pure function of what the guest did.

When the vDSO lands it must take its data page from here too: `VirtualClock.vdso_base()` is
what a vDSO data page needs to compute the virtual time from a (virtual) RDTSC.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

NSEC = 1_000_000_000
# The virtual CPU retires one instruction per nanosecond (a 1 GHz, one-IPC machine), and the
# time stamp counter ticks at 1 GHz: one TSC cycle is one virtual nanosecond. Instructions are
# counted as the bytes of code the platform executed, four to an instruction (the average
# length of an x86-64 instruction): see platform/unicorn.py, why not instructions themselves.
CODE_BYTES_PER_NS = 4
TSC_HZ = NSEC
# CLOCK_REALTIME at boot of a deterministic run unless --epoch says otherwise:
# 2000-01-01T00:00:00Z, a fixed instant any program can print.
DEFAULT_EPOCH = 946_684_800


class Clock:
    deterministic = False

    def __init__(self) -> None:
        self.boot_monotonic = time.monotonic()

    def realtime(self) -> float:
        return time.time()

    def realtime_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def uptime(self) -> float:
        return time.monotonic() - self.boot_monotonic

    def sleep(self, seconds: float) -> None:
        """The idle loop's wait when nothing can run and nothing on the host can wake it."""
        time.sleep(seconds)


class VirtualClock:
    """Virtual time: it advances with the code the guest executes and with sleeps, never with
    the host's time.

    CLOCK_MONOTONIC starts at 0 when the kernel boots; CLOCK_REALTIME is `epoch` seconds more.
    `executed()` is the platform's live count of executed code bytes (read during a syscall it
    includes the code run so far in the current slice), so a clock read anywhere - a syscall,
    RDTSC, the scheduler - sees the same time for the same point of the run. When nothing can
    run until a timer, the idle loop moves time to the timer at once (`advance_to`): a sleep
    costs no host time and moves virtual time exactly.
    """

    deterministic = True

    def __init__(self, epoch: int = DEFAULT_EPOCH) -> None:
        self.epoch_ns = epoch * NSEC
        self.slept_ns = 0  # time added by idle jumps to timers
        self.executed: Callable[[], int] = lambda: 0  # set by the platform: code bytes run
        self.boot_monotonic = 0.0
        self._tsc_reads = 0

    # ---- reading ------------------------------------------------------------------------

    def monotonic_ns(self) -> int:
        return self.slept_ns + self.executed() // CODE_BYTES_PER_NS

    def monotonic(self) -> float:
        return self.monotonic_ns() / NSEC

    def realtime_ns(self) -> int:
        return self.epoch_ns + self.monotonic_ns()

    def realtime(self) -> float:
        return self.realtime_ns() / NSEC

    def uptime(self) -> float:
        return self.monotonic()

    def tsc(self) -> int:
        """RDTSC's value: virtual nanoseconds at 1 GHz, plus one per read, so that two reads
        in one basic block (same executed count) still see the counter move, as a real TSC
        always does."""
        self._tsc_reads += 1
        return self.monotonic_ns() * (TSC_HZ // NSEC) + self._tsc_reads

    def vdso_base(self) -> tuple[int, int, int]:
        """What a vDSO data page needs to turn a (virtual) RDTSC into time: (tsc, monotonic
        ns, realtime ns) at one instant; with TSC_HZ = 1 GHz the vDSO's mult/shift are 1/0."""
        mono = self.monotonic_ns()
        return mono * (TSC_HZ // NSEC), mono, self.epoch_ns + mono

    # ---- moving ---------------------------------------------------------------------------

    def advance_to(self, deadline: float) -> None:
        """Move time to `deadline` (monotonic seconds, a timer's): the sleep ends at once."""
        target = math.ceil(deadline * NSEC)
        while target / NSEC < deadline:  # float seconds: land at or after the deadline
            target += 1
        now = self.monotonic_ns()
        if target > now:
            self.slept_ns += target - now

    def sleep(self, seconds: float) -> None:
        """Nothing can run for `seconds`: virtual time moves, the host does not wait."""
        self.advance_to(self.monotonic() + seconds)
