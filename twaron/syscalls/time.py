"""Time: clock_gettime, gettimeofday, time, nanosleep, clock_nanosleep, clock_getres, times."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    CLOCK_BOOTTIME,
    CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_MONOTONIC_RAW,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME,
    CLOCK_REALTIME_COARSE,
    CLOCK_THREAD_CPUTIME_ID,
    TIMER_ABSTIME,
)
from twaron.arch.x86_64.errno import EFAULT, EINVAL, ERESTARTNOHAND
from twaron.errors import KernelError, RestartBlock
from twaron.syscalls.table import s32, syscall
from twaron.wait import sleep_until

if TYPE_CHECKING:
    from twaron.process.task import Task

TIMESPEC = struct.Struct("<qq")
NSEC = 1_000_000_000
CLK_TCK = 100


def clock_ns(task: Task, clk: int) -> int:
    c = task.kernel.clock
    if clk in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE):
        return c.realtime_ns()
    if clk in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME):
        return c.monotonic_ns()
    if clk == CLOCK_PROCESS_CPUTIME_ID:
        return int((task.group.utime + task.group.stime) * NSEC)
    if clk == CLOCK_THREAD_CPUTIME_ID:
        return int(task.utime * NSEC)
    raise KernelError(EINVAL)


@syscall("clock_gettime")
def sys_clock_gettime(task: Task, clk: int, tp: int, *_: int) -> int:
    ns = clock_ns(task, s32(clk))
    task.mm.copy_out(tp, TIMESPEC.pack(ns // NSEC, ns % NSEC))
    return 0


@syscall("clock_getres")
def sys_clock_getres(task: Task, clk: int, tp: int, *_: int) -> int:
    clock_ns(task, s32(clk))
    if tp:
        task.mm.copy_out(tp, TIMESPEC.pack(0, 1))
    return 0


@syscall("gettimeofday")
def sys_gettimeofday(task: Task, tv: int, tz: int, *_: int) -> int:
    ns = task.kernel.clock.realtime_ns()
    if tv:
        task.mm.copy_out(tv, TIMESPEC.pack(ns // NSEC, (ns % NSEC) // 1000))
    if tz:
        task.mm.copy_out(tz, bytes(8))
    return 0


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
    clk = s32(clk)
    if clk in (CLOCK_THREAD_CPUTIME_ID,):
        raise KernelError(EINVAL)
    target = read_timespec(task, req)
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
