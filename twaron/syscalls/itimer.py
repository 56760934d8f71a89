"""Interval timers: alarm, setitimer, getitimer.

A process has one real-time timer (Linux's signal_struct.real_timer): alarm() and
setitimer(ITIMER_REAL) share it, fork does not inherit it, execve keeps it. It rides on the
scheduler's timer heap: each arming is one scheduler Timer, cancelled when re-armed.
ITIMER_VIRTUAL and ITIMER_PROF (SIGVTALRM, SIGPROF) count the process's CPU time: they live
in process/timers.py, which the run loop checks after each run of guest code.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import SIGALRM
from twaron.arch.x86_64.errno import EINVAL
from twaron.clock import NSEC
from twaron.errors import KernelError
from twaron.process import signal as sigs
from twaron.process import timers
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
ITIMERVAL = struct.Struct("<qqqq")  # it_interval {sec, usec}, it_value {sec, usec}
USEC = 1_000_000


class RealTimer:
    """A process's armed ITIMER_REAL."""

    def __init__(self, kernel: Any, group: ThreadGroup, deadline: float, interval: float) -> None:
        self.kernel = kernel
        self.group = group
        self.deadline = deadline
        self.interval = interval
        self.timer = kernel.sched.add_timer(deadline, self.fire)

    def cancel(self) -> None:
        self.timer.cancel()

    def fire(self) -> None:
        group, kernel = self.group, self.kernel
        if group.zombie:
            return
        if self.interval > 0:
            self.deadline = max(self.deadline + self.interval,
                                kernel.clock.monotonic())  # fmt: skip
            self.timer = kernel.sched.add_timer(self.deadline, self.fire)
        else:
            group.itimer_real = None  # type: ignore[attr-defined]
        sigs.send_signal(kernel, group, SIGALRM)


def _remaining(task: Task) -> tuple[float, float]:
    """(seconds left, interval) of the process's ITIMER_REAL; (0, 0) when disarmed."""
    timer: RealTimer | None = getattr(task.group, "itimer_real", None)
    if timer is None:
        return 0.0, 0.0
    left = max(timer.deadline - task.kernel.clock.monotonic(), 1e-6)
    return left, timer.interval


def _arm(task: Task, value: float, interval: float) -> None:
    group = task.group
    old: RealTimer | None = getattr(group, "itimer_real", None)
    if old is not None:
        old.cancel()
    group.itimer_real = None  # type: ignore[attr-defined]
    if value > 0:
        kernel = task.kernel
        group.itimer_real = RealTimer(kernel, group, kernel.clock.monotonic() + value,
                                      interval)  # type: ignore[attr-defined]  # fmt: skip


@syscall("alarm")
def sys_alarm(task: Task, seconds: int, *_: int) -> int:
    left, _ = _remaining(task)
    _arm(task, float(seconds & 0xFFFF_FFFF), 0.0)
    # The seconds left, rounded to nearest, at least 1 while armed (Linux's alarm_setitimer).
    return max(1, int(left + 0.5)) if left > 0 else 0


def _timeval(sec: int, usec: int) -> float:
    if sec < 0 or not 0 <= usec < USEC:
        raise KernelError(EINVAL)
    return sec + usec / USEC


def _pack(task: Task, which: int) -> bytes:
    if which != ITIMER_REAL:  # ns, truncated to microseconds as Linux's put_itimerval
        left_ns, interval_ns = timers.get_cpu_itimer(task.group, which)
        return ITIMERVAL.pack(interval_ns // NSEC, interval_ns % NSEC // 1000,
                              left_ns // NSEC, left_ns % NSEC // 1000)  # fmt: skip
    left, interval = _remaining(task)

    def tv(x: float) -> tuple[int, int]:
        us = round(x * USEC)
        return us // USEC, us % USEC

    return ITIMERVAL.pack(*tv(interval), *tv(left))


@syscall("getitimer")
def sys_getitimer(task: Task, which: int, value: int, *_: int) -> int:
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise KernelError(EINVAL)
    task.mm.copy_out(value, _pack(task, which))
    return 0


@syscall("setitimer")
def sys_setitimer(task: Task, which: int, new: int, old: int, *_: int) -> int:
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise KernelError(EINVAL)
    if new:
        isec, iusec, vsec, vusec = ITIMERVAL.unpack(task.mm.copy_in(new, ITIMERVAL.size))
        interval, value = _timeval(isec, iusec), _timeval(vsec, vusec)
    else:
        isec = iusec = vsec = vusec = 0
        interval = value = 0.0  # Linux (since 2.6.x, with a warning): NULL disarms
    previous = _pack(task, which)
    if which == ITIMER_REAL:
        _arm(task, value, interval)
    else:
        timers.set_cpu_itimer(task.group, which, vsec * NSEC + vusec * 1000,
                              isec * NSEC + iusec * 1000)  # fmt: skip
    if old:
        task.mm.copy_out(old, previous)
    return 0
