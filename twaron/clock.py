"""The one clock every part of the kernel reads time through.

Nothing else in the kernel calls the host's clocks directly (the scheduler, timers, CPU
accounting, procfs, file times and --trace's timestamps all come here), so a run can swap
the host's clock for a virtual one: `Clock` follows the host, `VirtualClock` (the
deterministic kernel, `twaron run --deterministic`) is a pure function of what the guest did.

How the time is kept. The guest's CLOCK_MONOTONIC is a function of the CPU's time-stamp
counter (TSC), in integer arithmetic:

    monotonic_ns(tsc) = ns_base + ((tsc - tsc_base) * mult >> 32)

and CLOCK_REALTIME is that plus an offset (what clock_settime moves, never the host's
clock), CLOCK_TAI realtime plus the TAI offset (0 until adjtimex sets it, as on a Linux
whose offset nobody set). The kernel computes it with the host's RDTSC, and the vDSO
(mm/vdso) computes the very same function in guest code from the parameters in its data
page: guest RDTSC reads the host's counter (natively under KVM, Unicorn returns the host's),
so a program sees one clock whether it asks through the vDSO or a syscall, and timers and
sleeps (which run on this clock too) never wake before the time the guest reads.

The function follows the host's CLOCK_MONOTONIC: `maintain()`, at the run loop's safe points
(the guest stopped), starts a new segment at most once a second with a rate measured over
the longest baseline this process has (the first sample it took) and steered so that any
difference from the host's clock fades over STEER_NS. A new segment starts where the old
one is at that instant, so the clock never jumps, only its rate changes, and the listeners
(the vDSO data page) hear of every change before the guest runs again.

Without a usable TSC (another architecture, a TSC that stops or drifts), the clock is the
host's CLOCK_MONOTONIC and the vDSO falls back to the syscalls.
"""

from __future__ import annotations

import ctypes
import math
import mmap
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

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
TICK_NS = 4_000_000  # one jiffy at HZ=250: the coarse clocks' resolution
REBASE_NS = NSEC  # a new segment at most this often
STEER_NS = 10 * NSEC  # a difference from the host's clock fades over this much time
MAX_STEER = 500e-6  # at most 500 ppm of steering, as NTP slews
MASK64 = (1 << 64) - 1
STA_UNSYNC = 0x40  # adjtimex status: not synchronised
NTP_PHASE_LIMIT = 16_000_000  # us: adjtimex's maxerror and esterror when unsynchronised
# rdtsc; shl $32, %rdx; or %rdx, %rax; ret
_RDTSC_CODE = bytes.fromhex("0f3148c1e2204809d0c3")


def _host_tsc_usable() -> bool:
    """An invariant TSC (constant rate, runs in every C-state) on an x86-64 Linux host."""
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    words = set(line.split())
                    return {"tsc", "constant_tsc", "nonstop_tsc"} <= words
    except OSError:
        pass
    return False


class _Tsc:
    """The host's TSC, read through a few bytes of machine code (ctypes), and what this
    process has learnt of its rate. Host facts shared by every kernel of the process."""

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE,
                               prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)  # fmt: skip
        self._page.write(_RDTSC_CODE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        self.read: Callable[[], int] = ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)
        self.first = self.sample()  # the long baseline: (tsc, host ns)
        time.sleep(0.002)
        self.initial_rate = self.rate(self.sample())

    def sample(self) -> tuple[int, int]:
        """(tsc, host CLOCK_MONOTONIC ns) read as close together as this host allows."""
        best = None
        read, mono = self.read, time.monotonic_ns
        for _ in range(5):
            a = read()
            m = mono()
            b = read()
            if best is None or b - a < best[0]:
                best = (b - a, (a + b) >> 1, m)
        assert best is not None
        return best[1], best[2]

    def rate(self, now: tuple[int, int]) -> float:
        """ns per TSC tick over the longest baseline."""
        t0, h0 = self.first
        return (now[1] - h0) / (now[0] - t0)


_TSC: list[_Tsc | None] = []


def host_tsc() -> _Tsc | None:
    """The host's TSC if it can keep time, made once per process (a host fact)."""
    if not _TSC:
        tsc = None
        if _host_tsc_usable():
            try:
                tsc = _Tsc()
            except (OSError, ValueError, ZeroDivisionError):
                tsc = None
        _TSC.append(tsc)
    return _TSC[0]


class Clock:
    deterministic = False

    def __init__(self, use_tsc: bool = True) -> None:
        self.tsc = host_tsc() if use_tsc else None
        # (tsc_base, ns_base, mult): one tuple, swapped whole, so that another thread (the
        # platforms' timer threads read the clock) never sees half a segment.
        self.segment = (0, 0, 0)
        self.next_rebase = 0  # host monotonic ns of the next new segment
        self.listeners: list[Callable[[], None]] = []  # told of every change (the vDSO)
        # told when the wall clock is set (timers on CLOCK_REALTIME re-arm)
        self.realtime_listeners: set[Callable[[], None]] = set()
        if self.tsc is not None:
            t, h = self.tsc.sample()
            self.segment = (t, h, round(self.tsc.initial_rate * (1 << 32)))
            self.next_rebase = h + REBASE_NS
        mono = self.monotonic_ns()
        self.boot_monotonic = mono / NSEC
        self.realtime_offset = time.time_ns() - mono  # guest CLOCK_REALTIME - MONOTONIC
        self.tai_offset = 0  # seconds: CLOCK_TAI - CLOCK_REALTIME (adjtimex ADJ_TAI)
        self.tz = (0, 0)  # settimeofday's struct timezone: minuteswest, dsttime
        self.tz_was_set = False  # the first settimeofday with a timezone warps the clock
        self.ntp: dict[str, int] = {}  # adjtimex's state, reported, never applied
        self.ntp_clear()

    # ---- reading ----------------------------------------------------------------------

    def monotonic_ns(self) -> int:
        tsc = self.tsc
        if tsc is None:
            return time.monotonic_ns()
        base, ns, mult = self.segment
        delta = tsc.read() - base
        if delta < 0:  # a counter read on another CPU, a hair behind: the segment's start
            delta = 0
        return (ns + (((delta * mult) >> 32) & MASK64)) & MASK64

    def monotonic(self) -> float:
        return self.monotonic_ns() / NSEC

    def realtime_ns(self) -> int:
        return self.monotonic_ns() + self.realtime_offset

    def realtime(self) -> float:
        return self.realtime_ns() / NSEC

    def tai_ns(self) -> int:
        return self.realtime_ns() + self.tai_offset * NSEC

    def coarse_monotonic_ns(self) -> int:
        """CLOCK_MONOTONIC_COARSE: the time of the last tick (what the vDSO computes too)."""
        ns = self.monotonic_ns()
        return ns - ns % TICK_NS

    def uptime(self) -> float:
        return self.monotonic() - self.boot_monotonic

    def sleep(self, seconds: float) -> None:
        """The idle loop's wait when nothing can run and nothing on the host can wake it."""
        time.sleep(seconds)

    # ---- changing -----------------------------------------------------------------------

    def set_realtime(self, ns: int) -> None:
        """clock_settime(CLOCK_REALTIME): the guest's wall clock only, never the host's."""
        self.realtime_offset = ns - self.monotonic_ns()
        self.ntp_clear()
        self._changed()
        for listener in list(self.realtime_listeners):
            listener()

    def set_tai_offset(self, seconds: int) -> None:
        self.tai_offset = seconds
        self._changed()
        for listener in list(self.realtime_listeners):
            listener()

    def set_timezone(self, minuteswest: int, dsttime: int) -> None:
        self.tz = (minuteswest, dsttime)
        self._changed()

    def ntp_clear(self) -> None:
        """adjtimex's state when the clock is set (Linux's ntp_clear): unsynchronised."""
        ntp = self.ntp
        ntp.update(status=ntp.get("status", 0) | STA_UNSYNC, offset=0, adjtime=0,
                   maxerror=NTP_PHASE_LIMIT, esterror=NTP_PHASE_LIMIT)
        ntp.setdefault("freq", 0)
        ntp.setdefault("constant", 2)
        ntp.setdefault("tick", 10_000)

    def maintain(self) -> None:
        """At a safe point (no guest code running): a new segment, once a second."""
        tsc = self.tsc
        if tsc is None or time.monotonic_ns() < self.next_rebase:
            return
        t, h = tsc.sample()
        base, ns, mult = self.segment
        now = (ns + (((max(0, t - base) * mult) >> 32) & MASK64)) & MASK64
        steer = max(-MAX_STEER, min(MAX_STEER, (now - h) / STEER_NS))
        rate = tsc.rate((t, h)) * (1 - steer)
        self.segment = (t, now, max(1, round(rate * (1 << 32))))
        self.next_rebase = h + REBASE_NS
        self._changed()

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()


class VirtualClock(Clock):
    """Virtual time: it advances with the code the guest executes and with sleeps, never with
    the host's time.

    CLOCK_MONOTONIC starts at 0 when the kernel boots; CLOCK_REALTIME is `epoch` seconds more
    (until clock_settime moves it, as Clock's). `executed()` is the platform's live count of
    executed code bytes (read during a syscall it includes the code run so far in the current
    slice), so a clock read anywhere - a syscall, RDTSC, the scheduler - sees the same time
    for the same point of the run. When nothing can run until a timer, the idle loop moves
    time to the timer at once (`advance_to`): a sleep costs no host time and moves virtual
    time exactly.

    The guest's RDTSC is emulated (`rdtsc`): the TSC ticks at 1 GHz, one tick a virtual
    nanosecond, so the vDSO's data page holds one segment for the whole run, (0, 0, 1 << 32):
    the vDSO's time is the TSC, and the kernel's time never falls behind a TSC already read.
    """

    deterministic = True

    def __init__(self, epoch: int = DEFAULT_EPOCH) -> None:  # no Clock.__init__: no host clock
        self.tsc = _VIRTUAL_TSC  # not the host's: the vDSO may compute with it all the same
        self.segment = (0, 0, 1 << 32)
        self.next_rebase = 0
        self.listeners = []
        self.realtime_listeners = set()
        self.boot_monotonic = 0.0
        self.realtime_offset = epoch * NSEC
        self.tai_offset = 0
        self.tz = (0, 0)
        self.tz_was_set = False
        self.ntp = {}
        self.ntp_clear()
        self.executed: Callable[[], int] = lambda: 0  # set by the platform: code bytes run
        # slept_ns (time added by idle jumps to timers) and last_tsc (the last RDTSC value
        # the guest read); the platform may swap in a structure its RDTSC hook updates
        # itself (`attach`), so that reading the TSC costs no Python call.
        self.state: Any = SimpleNamespace(slept_ns=0, last_tsc=0)

    # ---- reading ------------------------------------------------------------------------

    def monotonic_ns(self) -> int:
        state = self.state
        return max(state.slept_ns + self.executed() // CODE_BYTES_PER_NS, state.last_tsc)

    def uptime(self) -> float:
        return self.monotonic()

    def rdtsc(self) -> int:
        """RDTSC's value: virtual nanoseconds at 1 GHz, and at least one more than the last
        read, so that two reads in one basic block (same executed count) still see the
        counter move, as a real TSC always does."""
        state = self.state
        tsc = max(self.monotonic_ns() * (TSC_HZ // NSEC), state.last_tsc + 1)
        state.last_tsc = tsc
        return tsc

    def attach(self, state: Any) -> None:
        """Keep slept_ns and last_tsc in `state` from now on (the platform's RDTSC hook
        computes rdtsc() above in machine code from the same fields)."""
        state.slept_ns, state.last_tsc = self.state.slept_ns, self.state.last_tsc
        self.state = state

    # ---- moving ---------------------------------------------------------------------------

    def maintain(self) -> None:
        """Virtual time has one segment for good: nothing to follow."""

    def advance_to(self, deadline: float) -> None:
        """Move time to `deadline` (monotonic seconds, a timer's): the sleep ends at once."""
        target = math.ceil(deadline * NSEC)
        while target / NSEC < deadline:  # float seconds: land at or after the deadline
            target += 1
        now = self.monotonic_ns()
        if target > now:
            self.state.slept_ns += target - now

    def sleep(self, seconds: float) -> None:
        """Nothing can run for `seconds`: virtual time moves, the host does not wait."""
        self.advance_to(self.monotonic() + seconds)


class _VirtualTscMarker:
    """VirtualClock.tsc: the guest's TSC is the virtual clock's (read with rdtsc())."""


_VIRTUAL_TSC = _VirtualTscMarker()
