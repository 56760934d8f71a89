"""timerfd_create, timerfd_settime, timerfd_gettime (the timer file is fs/timerfd.py).

The alarm clocks (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM) need CAP_WAKE_ALARM, which
root has; they run as their plain clocks (the guest never suspends, so nothing is woken).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    TFD_CLOEXEC,
    TFD_NONBLOCK,
    TFD_TIMER_ABSTIME,
    TFD_TIMER_CANCEL_ON_SET,
)
from twaron.arch.x86_64.errno import EINVAL, EPERM
from twaron.errors import KernelError
from twaron.fs.timerfd import NSEC, TimerFdFile, timespec_to_ktime
from twaron.syscalls.fs import _install
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task

ITIMERSPEC = struct.Struct("<qqqq")  # it_interval {sec, nsec}, it_value {sec, nsec}
TIMERFD_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                  CLOCK_BOOTTIME_ALARM)  # fmt: skip
ALARM_CLOCKS = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)


def _wake_alarm(task: Task) -> bool:
    """CAP_WAKE_ALARM: root's."""
    return task.cred.euid == 0


@syscall("timerfd_create")
def sys_timerfd_create(task: Task, clockid: int, flags: int, *_: int) -> int:
    clockid, flags = s32(clockid), flags & 0xFFFF_FFFF
    if flags & ~(TFD_CLOEXEC | TFD_NONBLOCK) or clockid not in TIMERFD_CLOCKS:
        raise KernelError(EINVAL)
    if clockid in ALARM_CLOCKS and not _wake_alarm(task):
        raise KernelError(EPERM)
    kernel = task.kernel
    f = TimerFdFile(kernel.fs.anon_inodes, clockid, flags, kernel.sched, kernel.clock)
    return _install(task, f, bool(flags & TFD_CLOEXEC))


def _timerfd(task: Task, ufd: int) -> TimerFdFile:
    f = task.files.get(s32(ufd))
    if not isinstance(f, TimerFdFile):
        raise KernelError(EINVAL)
    return f


def _valid(sec: int, nsec: int) -> bool:
    return sec >= 0 and 0 <= nsec < NSEC


def _pack(value: int, interval: int) -> bytes:
    return ITIMERSPEC.pack(*divmod(interval, NSEC), *divmod(value, NSEC))


@syscall("timerfd_settime")
def sys_timerfd_settime(task: Task, ufd: int, flags: int, new: int, old: int, *_: int) -> int:
    isec, insec, vsec, vnsec = ITIMERSPEC.unpack(task.mm.copy_in(new, ITIMERSPEC.size))
    flags &= 0xFFFF_FFFF
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) or not (
            _valid(isec, insec) and _valid(vsec, vnsec)):  # fmt: skip
        raise KernelError(EINVAL)
    f = _timerfd(task, ufd)
    if f.clockid in ALARM_CLOCKS and not _wake_alarm(task):
        raise KernelError(EPERM)
    # TFD_TIMER_CANCEL_ON_SET: the guest cannot set the clock, so nothing ever cancels.
    previous = f.settime(flags, timespec_to_ktime(vsec, vnsec), timespec_to_ktime(isec, insec))
    if old:
        task.mm.copy_out(old, _pack(*previous))
    return 0


@syscall("timerfd_gettime")
def sys_timerfd_gettime(task: Task, ufd: int, cur: int, *_: int) -> int:
    value, interval = _timerfd(task, ufd).gettime()
    task.mm.copy_out(cur, _pack(value, interval))
    return 0
