"""Time: clock_gettime, gettimeofday, time, nanosleep, clock_nanosleep, clock_getres, times;
setting the guest's clock: clock_settime, settimeofday, adjtimex, clock_adjtime.

Every clock comes from the kernel's one Clock (twaron/clock.py), which the vDSO reads too.
Setting CLOCK_REALTIME (root only, as CAP_SYS_TIME) moves the guest's wall clock, never the
host's: an offset the Clock keeps."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    ADJ_ADJTIME,
    ADJ_ESTERROR,
    ADJ_FREQUENCY,
    ADJ_MAXERROR,
    ADJ_MICRO,
    ADJ_NANO,
    ADJ_OFFSET,
    ADJ_OFFSET_READONLY,
    ADJ_OFFSET_SINGLESHOT,
    ADJ_SETOFFSET,
    ADJ_STATUS,
    ADJ_TAI,
    ADJ_TICK,
    ADJ_TIMECONST,
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_MONOTONIC_RAW,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    CLOCK_REALTIME_COARSE,
    CLOCK_TAI,
    CLOCK_THREAD_CPUTIME_ID,
    CLOCKFD,
    CLOCKFD_MASK,
    SIZEOF_TIMEX,
    STA_NANO,
    STA_RONLY,
    STA_UNSYNC,
    TIME_ERROR,
    TIME_OK,
    TIMER_ABSTIME,
)
from twaron.arch.x86_64.errno import EFAULT, EINVAL, EOPNOTSUPP, EPERM, ERESTARTNOHAND
from twaron.clock import TICK_NS
from twaron.errors import KernelError, RestartBlock
from twaron.process import timers
from twaron.syscalls.table import s32, syscall
from twaron.wait import sleep_until

if TYPE_CHECKING:
    from twaron.process.task import Task

TIMESPEC = struct.Struct("<qq")
NSEC = 1_000_000_000
CLK_TCK = 100


HRES_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_TAI)
COARSE_CLOCKS = (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
ALARM_CLOCKS = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)
TIME_SETTOD_SEC_MAX = (2**63 - 1) // NSEC - 30 * 365 * 86400  # KTIME_SEC_MAX - 30 years
TIMEZONE = struct.Struct("<ii")
MAX_TAI_OFFSET = 100000
MAXFREQ_SCALED = 500 << 16  # 500 ppm, scaled as adjtimex's freq
MAXTC = 10


def clock_ns(task: Task, clk: int) -> int:
    """The time of clock clk in ns; EINVAL for a clock that does not exist here (the alarm
    clocks: no RTC, as on a machine without one)."""
    c = task.kernel.clock
    if clk == CLOCK_REALTIME:
        return c.realtime_ns()
    if clk in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME):
        return c.monotonic_ns()
    if clk == CLOCK_TAI:
        return c.tai_ns()
    if clk == CLOCK_MONOTONIC_COARSE:
        return c.coarse_monotonic_ns()
    if clk == CLOCK_REALTIME_COARSE:
        return c.coarse_monotonic_ns() + c.realtime_offset
    return timers.cpu_clock(task, clk).now()  # EINVAL unless a CPU-time clock


def clock_resolution(task: Task, clk: int) -> int:
    if clk in HRES_CLOCKS:
        return 1
    if clk in COARSE_CLOCKS:
        return TICK_NS
    timers.cpu_clock(task, clk)
    return timers.cpu_clock_resolution(clk)


@syscall("clock_gettime")
def sys_clock_gettime(task: Task, clk: int, tp: int, *_: int) -> int:
    ns = clock_ns(task, s32(clk))
    task.mm.copy_out(tp, TIMESPEC.pack(ns // NSEC, ns % NSEC))
    return 0


@syscall("clock_getres")
def sys_clock_getres(task: Task, clk: int, tp: int, *_: int) -> int:
    ns = clock_resolution(task, s32(clk))
    if tp:
        task.mm.copy_out(tp, TIMESPEC.pack(0, ns))
    return 0


@syscall("gettimeofday")
def sys_gettimeofday(task: Task, tv: int, tz: int, *_: int) -> int:
    clock = task.kernel.clock
    ns = clock.realtime_ns()
    if tv:
        task.mm.copy_out(tv, TIMESPEC.pack(ns // NSEC, (ns % NSEC) // 1000))
    if tz:
        task.mm.copy_out(tz, TIMEZONE.pack(*clock.tz))
    return 0


# ---- setting the clock ----------------------------------------------------------------


def _valid_settod(sec: int, nsec: int) -> bool:
    return 0 <= sec < TIME_SETTOD_SEC_MAX and 0 <= nsec < NSEC


def _settime(task: Task, tv: tuple[int, int] | None, tz: tuple[int, int] | None) -> None:
    """Linux's do_sys_settimeofday64: the time's range, then the privilege (CAP_SYS_TIME:
    root here), then the timezone's range; a time before CLOCK_MONOTONIC is EINVAL."""
    if tv is not None and not _valid_settod(*tv):
        raise KernelError(EINVAL)
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    clock = task.kernel.clock
    if tz is not None:
        if not -15 * 60 <= tz[0] <= 15 * 60:
            raise KernelError(EINVAL)
        clock.set_timezone(*tz)
        if not clock.tz_was_set:  # the first call since boot: timekeeping_warp_clock
            clock.tz_was_set = True
            if tv is None and tz[0]:
                clock.set_realtime(clock.realtime_ns() + tz[0] * 60 * NSEC)
    if tv is not None:
        ns = tv[0] * NSEC + tv[1]
        if ns < clock.monotonic_ns():  # wall_to_monotonic would turn positive
            raise KernelError(EINVAL)
        clock.set_realtime(ns)


@syscall("clock_settime")
def sys_clock_settime(task: Task, clk: int, tp: int, *_: int) -> int:
    """Only CLOCK_REALTIME can be set (and CPU-time clocks, which refuse with EPERM once
    found); the others have no clock_set in Linux: EINVAL before the timespec is read."""
    clk = s32(clk)
    if clk != CLOCK_REALTIME and clk >= 0:
        raise KernelError(EINVAL)
    sec, nsec = TIMESPEC.unpack(task.mm.copy_in(tp, TIMESPEC.size))
    if clk != CLOCK_REALTIME:
        if clk & CLOCKFD_MASK == CLOCKFD:
            raise KernelError(EINVAL)  # no dynamic (device) clocks here
        timers.cpu_clock(task, clk, gettime=False)
        raise KernelError(EPERM)  # "you can never reset a CPU clock"
    _settime(task, (sec, nsec), None)
    return 0


@syscall("settimeofday")
def sys_settimeofday(task: Task, tv: int, tz: int, *_: int) -> int:
    when = zone = None
    if tv:
        sec, usec = TIMESPEC.unpack(task.mm.copy_in(tv, TIMESPEC.size))
        if not 0 <= usec <= 1_000_000:  # Linux lets 1000000 through, to fail as a time
            raise KernelError(EINVAL)
        when = (sec, usec * 1000)
    if tz:
        zone = TIMEZONE.unpack(task.mm.copy_in(tz, TIMEZONE.size))
    _settime(task, when, zone)
    return 0


# struct timex: modes, offset, freq, maxerror, esterror, status, constant, precision,
# tolerance, time {sec, usec}, tick, ppsfreq, jitter, shift, stabil, jitcnt, calcnt, errcnt,
# stbcnt, tai (then padding to 208 bytes)
TIMEX = struct.Struct("<I4xqqqqi4xqqqqqqqqi4xqqqqqi")


def _adjtimex(task: Task, buf: int) -> int:
    """Linux's do_adjtimex: the NTP state is kept and reported, the clock's rate is not
    steered by it (twaron's clock follows the host's); ADJ_SETOFFSET steps the wall clock,
    ADJ_TAI sets the TAI offset. TIME_ERROR while unsynchronised, as Linux answers."""
    raw = bytearray(task.mm.copy_in(buf, SIZEOF_TIMEX))
    (modes, offset, freq, maxerror, esterror, status, constant, _precision, _tolerance,
     tv_sec, tv_usec, tick, *_rest) = TIMEX.unpack_from(raw)  # fmt: skip
    _validate_timex(task, modes, tick, tv_usec, freq)
    clock = task.kernel.clock
    if modes & ADJ_SETOFFSET:
        delta = tv_sec * NSEC + tv_usec * (1 if modes & ADJ_NANO else 1000)
        new = clock.realtime_ns() + delta
        if new < clock.monotonic_ns() or not _valid_settod(new // NSEC, 0):
            raise KernelError(EINVAL)
        clock.set_realtime(new)
    now = clock.realtime_ns()
    ntp = clock.ntp
    if modes & ADJ_ADJTIME:  # adjtime(3): a one-shot offset, reported as it was
        if not modes & ADJ_OFFSET_READONLY:
            ntp["adjtime"], offset = offset, ntp["adjtime"]
        else:
            offset = ntp["adjtime"]
    else:
        _adjtimex_modes(clock, modes, offset, freq, maxerror, esterror, status, constant,
                        tick)  # fmt: skip
        offset = ntp["offset"]
    nano = bool(ntp["status"] & STA_NANO)
    out = TIMEX.pack(modes, offset, ntp["freq"], ntp["maxerror"], ntp["esterror"],
                     ntp["status"], ntp["constant"], 1, 32768000, now // NSEC,
                     (now % NSEC) // (1 if nano else 1000), ntp["tick"], 0, 0, 0, 0, 0, 0, 0,
                     0, clock.tai_offset)  # fmt: skip
    raw[: len(out)] = out
    task.mm.copy_out(buf, bytes(raw))
    return TIME_ERROR if ntp["status"] & STA_UNSYNC else TIME_OK


def _adjtimex_modes(clock: Any, modes: int, offset: int, freq: int, maxerror: int,
                    esterror: int, status: int, constant: int, tick: int) -> None:  # fmt: skip
    """Linux's process_adjtimex_modes, as far as values go."""
    ntp = clock.ntp
    if modes & ADJ_STATUS:
        ntp["status"] = (ntp["status"] & STA_RONLY) | (status & ~STA_RONLY)
    if modes & ADJ_NANO:
        ntp["status"] |= STA_NANO
    if modes & ADJ_MICRO:
        ntp["status"] &= ~STA_NANO
    if modes & ADJ_FREQUENCY:
        ntp["freq"] = max(-MAXFREQ_SCALED, min(MAXFREQ_SCALED, freq))
    if modes & ADJ_MAXERROR:
        ntp["maxerror"] = maxerror
    if modes & ADJ_ESTERROR:
        ntp["esterror"] = esterror
    if modes & ADJ_TIMECONST:
        tc = constant + (0 if ntp["status"] & STA_NANO else 4)
        ntp["constant"] = max(0, min(MAXTC, tc))
    if modes & ADJ_TAI and 0 <= constant <= MAX_TAI_OFFSET:
        clock.set_tai_offset(constant)
    if modes & ADJ_OFFSET:
        ntp["offset"] = offset
    if modes & ADJ_TICK:
        ntp["tick"] = tick


def _validate_timex(task: Task, modes: int, tick: int, usec: int, freq: int) -> None:
    """Linux's timekeeping_validate_timex, in its order."""
    root = task.cred.euid == 0
    if modes & ADJ_ADJTIME:
        if modes & ADJ_OFFSET_SINGLESHOT != ADJ_OFFSET_SINGLESHOT:
            raise KernelError(EINVAL)
        if not modes & ADJ_OFFSET_READONLY and not root:
            raise KernelError(EPERM)
    else:
        if modes and not root:
            raise KernelError(EPERM)
        if modes & ADJ_TICK and not 9000 <= tick <= 11000:
            raise KernelError(EINVAL)
    if modes & ADJ_SETOFFSET:
        if not root:
            raise KernelError(EPERM)
        if usec < 0 or usec >= (NSEC if modes & ADJ_NANO else 1_000_000):
            raise KernelError(EINVAL)
    if modes & ADJ_FREQUENCY and not -(2**63) // 65536 <= freq <= (2**63 - 1) // 65536:
        raise KernelError(EINVAL)


@syscall("adjtimex")
def sys_adjtimex(task: Task, buf: int, *_: int) -> int:
    return _adjtimex(task, buf)


@syscall("clock_adjtime")
def sys_clock_adjtime(task: Task, clk: int, buf: int, *_: int) -> int:
    clk = s32(clk)
    task.mm.copy_in(buf, SIZEOF_TIMEX)  # EFAULT first, as Linux copies before it looks
    if clk == CLOCK_REALTIME:
        return _adjtimex(task, buf)
    if clk in HRES_CLOCKS or clk in COARSE_CLOCKS or clk in (2, CLOCK_THREAD_CPUTIME_ID) \
            or clk < 0 and clk & CLOCKFD_MASK != CLOCKFD:  # fmt: skip
        raise KernelError(EOPNOTSUPP)  # clocks without clock_adj, CPU-time ones included
    raise KernelError(EINVAL)  # no such clock (or no dynamic clock behind the fd)


@syscall("time")
def sys_time(task: Task, tloc: int, *_: int) -> int:
    now = task.kernel.clock.realtime_ns() // NSEC
    if tloc:
        task.mm.write_u64(tloc, now)
    return now


@syscall("times")
def sys_times(task: Task, buf: int, *_: int) -> int:
    ticks = int(task.kernel.clock.uptime() * CLK_TCK)
    if buf:
        g = task.group
        task.mm.copy_out(buf, struct.pack("<4q", int(g.utime * CLK_TCK), int(g.stime * CLK_TCK),
                                          int(g.cutime * CLK_TCK),
                                          int(g.cstime * CLK_TCK)))  # fmt: skip
    return ticks


def read_timespec(task: Task, addr: int) -> int:
    if not addr:
        raise KernelError(EFAULT)
    sec, nsec = TIMESPEC.unpack(task.mm.copy_in(addr, 16))
    if sec < 0 or not 0 <= nsec < NSEC:
        raise KernelError(EINVAL)
    return sec * NSEC + nsec


def nanosleep(task: Task, deadline: float, rem: int) -> int:
    """Sleep until `deadline` (kernel monotonic seconds). A signal ends it with the time left
    in rem and ERESTART_RESTARTBLOCK: after a handler that is EINTR; without one (a stop and
    a SIGCONT, an ignored signal) restart_syscall(2) sleeps on to the same deadline."""
    try:
        sleep_until(deadline)
    except KernelError:
        if rem:
            left = max(0, int((deadline - task.kernel.clock.monotonic()) * NSEC))
            task.mm.copy_out(rem, TIMESPEC.pack(left // NSEC, left % NSEC))
        raise RestartBlock(lambda t: nanosleep(t, deadline, rem)) from None
    return 0


@syscall("nanosleep")
def sys_nanosleep(task: Task, req: int, rem: int, *_: int) -> int:
    delay = read_timespec(task, req)
    return nanosleep(task, task.kernel.clock.monotonic() + delay / NSEC, rem)


@syscall("clock_nanosleep")
def sys_clock_nanosleep(task: Task, clk: int, flags: int, req: int, rem: int, *_: int) -> int:
    """Linux's order: a clock that does not exist (EINVAL) or cannot sleep (EOPNOTSUPP:
    the raw, coarse and thread CPU-time clocks, device clocks) before the timespec is read;
    then the alarm clocks (no RTC: EOPNOTSUPP) and the caller's own thread clock (EINVAL)."""
    clk = s32(clk)
    if clk in (CLOCK_MONOTONIC_RAW, CLOCK_THREAD_CPUTIME_ID) + COARSE_CLOCKS or (
            clk < 0 and clk & CLOCKFD_MASK == CLOCKFD):  # fmt: skip
        raise KernelError(EOPNOTSUPP)
    if clk not in HRES_CLOCKS + ALARM_CLOCKS + (2,) and clk >= 0:
        raise KernelError(EINVAL)
    target = read_timespec(task, req)
    if clk in ALARM_CLOCKS:
        raise KernelError(EOPNOTSUPP)
    if clk < 0 and timers.cpu_clock(task, clk).task is task:
        raise KernelError(EINVAL)  # sleeping on one's own thread's CPU time
    clock_now = clock_ns(task, clk)  # EINVAL for a clock that does not exist
    now = task.kernel.clock.monotonic()
    if not flags & TIMER_ABSTIME:
        return nanosleep(task, now + target / NSEC, rem)
    # An absolute sleep is restarted as it was asked (ERESTARTNOHAND): the same target.
    deadline = now + max(0, target - clock_now) / NSEC
    try:
        sleep_until(deadline)
    except KernelError:
        raise KernelError(ERESTARTNOHAND) from None
    return 0
