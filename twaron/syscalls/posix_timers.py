"""POSIX timers: timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete.

The timers themselves (clocks, expiry, the signal's queueing and overruns) are in
process/timers.py; here the calls are decoded and checked in Linux's order
(kernel/time/posix-timers.c).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_MONOTONIC_RAW,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME_ALARM,
    CLOCK_REALTIME_COARSE,
    CLOCK_THREAD_CPUTIME_ID,
    CLOCKFD,
    CLOCKFD_MASK,
    NSIG,
    RLIMIT_SIGPENDING,
    SIGALRM,
    TIMER_ABSTIME,
)
from twaron.arch.x86_64.errno import EAGAIN, EFAULT, EINVAL, EOPNOTSUPP
from twaron.clock import NSEC
from twaron.errors import KernelError
from twaron.process import timers
from twaron.process.timers import (
    SIGEV_NONE,
    SIGEV_SIGNAL,
    SIGEV_THREAD,
    SIGEV_THREAD_ID,
    PosixTimer,
)
from twaron.syscalls.process import rlimit
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task

SIGEVENT = struct.Struct("<Qiii")  # sigev_value, sigev_signo, sigev_notify, _tid
SIGEVENT_SIZE = 64
ITIMERSPEC = struct.Struct("<qqqq")  # it_interval {sec, nsec}, it_value {sec, nsec}
INT_MAX = 0x7FFF_FFFF
NO_TIMERS = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
ALARM_CLOCKS = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)


def _is_cpu_clock(clk: int) -> bool:
    return clk in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or (
        clk < 0 and clk & CLOCKFD_MASK != CLOCKFD)


def _check_clock(clk: int) -> None:
    """clockid_to_kclock: EINVAL for no clock; EOPNOTSUPP for one without timers."""
    if timers.valid_clock_for_timer(clk) or _is_cpu_clock(clk) or clk in ALARM_CLOCKS:
        return
    if clk in NO_TIMERS or clk < 0:  # the coarse and raw clocks; dynamic (fd) clocks
        raise KernelError(EOPNOTSUPP)
    raise KernelError(EINVAL)


def _event(task: Task, sevp: int, timer_id: int) -> tuple[int, int, int, Task | None]:
    """(notify, signo, value, target thread) from a struct sigevent, checked as Linux's
    good_sigevent; the default without one: SIGALRM to the process, value = the id."""
    if not sevp:
        return SIGEV_SIGNAL, SIGALRM, timer_id, None
    value, signo, notify, tid = SIGEVENT.unpack(task.mm.copy_in(sevp, SIGEVENT.size))
    thread = None
    if notify == SIGEV_SIGNAL | SIGEV_THREAD_ID:
        thread = task.kernel.pids.threads.get(tid)
        if thread is None or thread.exited or thread.group is not task.group:
            raise KernelError(EINVAL)
    elif notify not in (SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_NONE):
        raise KernelError(EINVAL)
    if notify != SIGEV_NONE and not 0 < signo <= NSIG:
        raise KernelError(EINVAL)
    return notify, signo, value, thread


@syscall("timer_create")
def sys_timer_create(task: Task, clk: int, sevp: int, idp: int, *_: int) -> int:
    clk = s32(clk)
    if sevp:  # the sigevent is read before anything else (EFAULT first)
        task.mm.copy_in(sevp, SIGEVENT_SIZE)
    _check_clock(clk)
    group = task.group
    if len(group.posix_timers) >= rlimit(group, RLIMIT_SIGPENDING)[0]:
        raise KernelError(EAGAIN)
    timer_id = group.next_timer_id
    while timer_id in group.posix_timers:
        timer_id = (timer_id + 1) & INT_MAX
    # From here a failure still uses the id up (Linux takes it, then frees the timer): the
    # next timer gets the one after, as on Linux. exec keeps counting.
    group.next_timer_id = (timer_id + 1) & INT_MAX
    notify, signo, value, thread = _event(task, sevp, timer_id)
    task.mm.copy_out(idp, timer_id.to_bytes(4, "little"))
    cpu = None
    if clk in ALARM_CLOCKS:
        raise KernelError(EOPNOTSUPP)  # no RTC to wake the machine, as on Linux without one
    if _is_cpu_clock(clk):
        cpu = timers.cpu_clock(task, clk, gettime=False)  # EINVAL: no such process/thread
    timer = PosixTimer(task.kernel, group, timer_id, clk, cpu, notify, signo, value, thread)
    group.posix_timers[timer_id] = timer
    return 0


def _timer(task: Task, timer_id: int) -> PosixTimer:
    timer = task.group.posix_timers.get(s32(timer_id))
    if timer is None:
        raise KernelError(EINVAL)
    return timer


def _itimerspec(interval: int, value: int) -> bytes:
    return ITIMERSPEC.pack(interval // NSEC, interval % NSEC, value // NSEC, value % NSEC)


@syscall("timer_settime")
def sys_timer_settime(task: Task, timer_id: int, flags: int, new: int, old: int,
                      *_: int) -> int:  # fmt: skip
    if not new:
        raise KernelError(EINVAL)
    isec, insec, vsec, vnsec = ITIMERSPEC.unpack(task.mm.copy_in(new, ITIMERSPEC.size))
    for sec, nsec in ((isec, insec), (vsec, vnsec)):
        if sec < 0 or not 0 <= nsec < NSEC:
            raise KernelError(EINVAL)
    timer = _timer(task, timer_id)
    value, interval = timer.settime(vsec * NSEC + vnsec, isec * NSEC + insec,
                                    bool(s32(flags) & TIMER_ABSTIME))  # fmt: skip
    if old:
        try:
            task.mm.copy_out(old, _itimerspec(interval, value))
        except KernelError:
            raise KernelError(EFAULT) from None
    return 0


@syscall("timer_gettime")
def sys_timer_gettime(task: Task, timer_id: int, cur: int, *_: int) -> int:
    value, interval = _timer(task, timer_id).gettime()
    task.mm.copy_out(cur, _itimerspec(interval, value))
    return 0


@syscall("timer_getoverrun")
def sys_timer_getoverrun(task: Task, timer_id: int, *_: int) -> int:
    return _timer(task, timer_id).getoverrun()


@syscall("timer_delete")
def sys_timer_delete(task: Task, timer_id: int, *_: int) -> int:
    _timer(task, timer_id).delete()
    return 0
