"""CPU-time clocks, ITIMER_VIRTUAL/ITIMER_PROF and POSIX timers (Linux's kernel/time/
itimer.c, posix-timers.c and posix-cpu-timers.c). ITIMER_REAL is syscalls/itimer.py's.

CPU time is what the run loop counts (process/runloop.py run_user): the time a thread spends
in Platform.run, syscalls answered inside it included, all of it user time. So a process's
CPU clock, ITIMER_VIRTUAL (user time) and ITIMER_PROF (user + system) all advance together.
Timers on CPU time are checked by the run loop after each run of guest code: the process's
`cpu_timer_next` is the earliest CPU time (seconds) at which one can be due, one float
comparison per run, and while one is armed the platform's timer stops a running task every
time slice (runloop.others_want_cpu) so that it fires within a slice of its time.

POSIX timers on CLOCK_REALTIME, MONOTONIC, BOOTTIME and TAI ride on the scheduler's timer
heap; realtime ones are re-armed when the guest's wall clock is set. Their signal is queued
once (Linux's preallocated sigqueue): an expiry while it is still pending counts an overrun,
and a periodic timer is re-armed only when its signal is taken (dequeue_signal calls the
entry's take()), counting the periods missed meanwhile (si_overrun, timer_getoverrun). A
signal that would be ignored is not queued and the timer re-arms itself. Timers are deleted
at exec and exit and not inherited by fork.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    CLOCK_BOOTTIME,
    CLOCK_MONOTONIC,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME,
    CLOCK_TAI,
    CLOCK_THREAD_CPUTIME_ID,
    CLOCKFD,
    CPUCLOCK_CLOCK_MASK,
    CPUCLOCK_MAX,
    CPUCLOCK_PERTHREAD_MASK,
    CPUCLOCK_SCHED,
    SIGPROF,
    SIGRTMIN,
    SIGVTALRM,
)
from twaron.arch.x86_64.errno import EINVAL
from twaron.clock import NSEC, TICK_NS
from twaron.errors import KernelError
from twaron.process import signal as sigs

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup

INF = float("inf")
ITIMER_VIRTUAL, ITIMER_PROF = 1, 2
ITIMER_SIGNALS = {ITIMER_VIRTUAL: SIGVTALRM, ITIMER_PROF: SIGPROF}
SI_KERNEL = 0x80
SI_TIMER = -2
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
WALL_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI)
REALTIME_CLOCKS = (CLOCK_REALTIME, CLOCK_TAI)


# ---- CPU-time clocks ------------------------------------------------------------------


def group_cpu_ns(group: ThreadGroup) -> int:
    return int((group.utime + group.stime) * NSEC)


def thread_cpu_ns(task: Task) -> int:
    return int(task.utime * NSEC)


class CpuClock:
    """What a CPU-time clock id names: a thread's or a process's CPU time."""

    __slots__ = ("task", "group", "which")

    def __init__(self, task: Task | None, group: ThreadGroup, which: int) -> None:
        self.task = task  # the thread of a per-thread clock, None for a process's
        self.group = group
        self.which = which  # CPUCLOCK_PROF, _VIRT or _SCHED (all the same time here)

    def now(self) -> int:
        return thread_cpu_ns(self.task) if self.task is not None else group_cpu_ns(self.group)


def cpu_clock(task: Task, clk: int, gettime: bool = True) -> CpuClock:
    """The CPU clock a clock id names (CLOCK_PROCESS/THREAD_CPUTIME_ID, or ((~pid) << 3) |
    PERTHREAD | which as clock_getcpuclockid makes them); EINVAL when it names nothing
    (Linux's lookup_task: another process's thread clock, a pid that does not exist)."""
    if clk == CLOCK_PROCESS_CPUTIME_ID:
        clk = (~0 << 3) | CPUCLOCK_SCHED
    elif clk == CLOCK_THREAD_CPUTIME_ID:
        clk = (~0 << 3) | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED
    which = clk & CPUCLOCK_CLOCK_MASK
    if clk >= 0 or which == CLOCKFD or which >= CPUCLOCK_MAX:
        raise KernelError(EINVAL)
    pid = ~(clk >> 3)
    thread = bool(clk & CPUCLOCK_PERTHREAD_MASK)
    if pid == 0:
        return CpuClock(task if thread else None, task.group, which)
    target = task.kernel.pids.threads.get(pid)
    if target is None or target.exited:
        raise KernelError(EINVAL)
    if thread:
        if target.group is not task.group:
            raise KernelError(EINVAL)
        return CpuClock(target, target.group, which)
    leader = target.group.tasks[0] if target.group.tasks else None
    if target is not leader and not (gettime and target is task):
        raise KernelError(EINVAL)
    return CpuClock(None, target.group, which)


def cpu_clock_resolution(clk: int) -> int:
    """ns: 1 for the scheduler clock (CLOCK_*_CPUTIME_ID), a tick for PROF and VIRT."""
    if clk in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        return 1
    return 1 if clk & CPUCLOCK_CLOCK_MASK == CPUCLOCK_SCHED else TICK_NS


# ---- ITIMER_VIRTUAL and ITIMER_PROF ---------------------------------------------------


def get_cpu_itimer(group: ThreadGroup, which: int) -> tuple[int, int]:
    """(ns left, interval ns); a timer about to fire reports a tick, as Linux does."""
    expires, interval = group.cpu_itimers.get(which, (0, 0))
    if not expires:
        return 0, interval
    now = group_cpu_ns(group)
    return (expires - now if expires > now else TICK_NS), interval


def set_cpu_itimer(group: ThreadGroup, which: int, value: int,
                   interval: int) -> tuple[int, int]:  # fmt: skip
    """Arm (value > 0: ns of the process's CPU time from now, plus a tick as Linux adds) or
    disarm; the previous (ns left, interval)."""
    old = get_cpu_itimer(group, which)
    expires = group_cpu_ns(group) + value + TICK_NS if value > 0 else 0
    group.cpu_itimers[which] = [expires, interval]
    update_cpu_timer_next(group)
    return old


# ---- the run loop's check -------------------------------------------------------------


def update_cpu_timer_next(group: ThreadGroup) -> None:
    """The earliest process CPU time (seconds) at which a CPU timer may be due."""
    nxt = INF
    now = group_cpu_ns(group)
    for expires, _interval in group.cpu_itimers.values():
        if expires:
            nxt = min(nxt, expires)
    for timer in group.posix_timers.values():
        if timer.cpu is not None and timer.expires and timer.armed:
            if timer.cpu.task is None:
                nxt = min(nxt, timer.expires)
            else:  # a thread's time grows no faster than its process's
                nxt = min(nxt, now + max(0, timer.expires - timer.cpu.now()))
    group.cpu_timer_next = nxt / NSEC


def run_cpu_timers(kernel: Kernel, group: ThreadGroup) -> None:
    """The process's CPU time reached cpu_timer_next: fire what is due (Linux's
    check_process_timers and check_thread_timers)."""
    if group.zombie:
        group.cpu_timer_next = INF
        return
    now = group_cpu_ns(group)
    for which, it in list(group.cpu_itimers.items()):
        if it[0] and now >= it[0]:
            it[0] = it[0] + it[1] if it[1] else 0
            sig = ITIMER_SIGNALS[which]
            sigs.send_signal(kernel, group, sig, sigs.siginfo(sig, SI_KERNEL))
    for timer in list(group.posix_timers.values()):
        if timer.cpu is not None and timer.armed and timer.expires \
                and timer.cpu.now() >= timer.expires:  # fmt: skip
            timer.fire()
    update_cpu_timer_next(group)


# ---- POSIX timers ---------------------------------------------------------------------


class PosixTimer:
    """One timer_create'd timer (Linux's k_itimer), its clock's time in ns."""

    def __init__(self, kernel: Kernel, group: ThreadGroup, timer_id: int, clock: int,
                 cpu: CpuClock | None, notify: int, signo: int, value: int,
                 thread: Task | None) -> None:  # fmt: skip
        self.kernel = kernel
        self.group = group
        self.id = timer_id
        self.clock = clock
        self.cpu = cpu  # the CPU clock, None for a wall clock
        self.notify = notify  # SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID (SIGEV_THREAD: as SIGNAL)
        self.signo = signo
        self.value = value  # sigval (8 bytes)
        self.thread = thread  # SIGEV_THREAD_ID's target
        self.expires = 0  # ns on its clock; 0: disarmed
        self.interval = 0
        self.armed = False  # waiting for its expiry (Linux's it_active, SIGEV_NONE aside)
        self.overrun = -1
        self.overrun_last = 0
        self.requeue_pending = 0
        self.sys_private = 0
        self.queued = False  # its signal is pending
        self.si_overrun = 0
        self.deleted = False
        self.sched_timer = None

    # ---- its clock ------------------------------------------------------------------

    def now(self) -> int:
        if self.cpu is not None:
            return self.cpu.now()
        c = self.kernel.clock
        if self.clock == CLOCK_REALTIME:
            return c.realtime_ns()
        if self.clock == CLOCK_TAI:
            return c.tai_ns()
        return c.monotonic_ns()

    def forward(self, now: int) -> int:
        """Move expires past now by whole intervals; how many (Linux's hrtimer_forward)."""
        if now < self.expires or not self.interval:
            return 0
        n = (now - self.expires) // self.interval + 1
        self.expires += n * self.interval
        return n

    # ---- arming -----------------------------------------------------------------------

    def cancel(self) -> None:
        self.armed = False
        if self.sched_timer is not None:
            self.sched_timer.cancel()
            self.sched_timer = None
        if self.clock in REALTIME_CLOCKS and self.cpu is None:
            self.kernel.clock.realtime_listeners.discard(self.rearm_wall)

    def start(self) -> None:
        """Wait for expires (not for SIGEV_NONE, which never signals: Linux's timer_arm)."""
        if self.notify == SIGEV_NONE:
            return
        self.armed = True
        if self.cpu is not None:
            update_cpu_timer_next(self.group)
            return
        self.rearm_wall()
        if self.clock in REALTIME_CLOCKS:
            self.kernel.clock.realtime_listeners.add(self.rearm_wall)

    def rearm_wall(self) -> None:
        """(Re)program the scheduler timer for expires (also when the wall clock was set)."""
        if not self.armed:
            return
        if self.sched_timer is not None:
            self.sched_timer.cancel()
        clock = self.kernel.clock
        deadline = clock.monotonic() + max(0, self.expires - self.now()) / NSEC
        self.sched_timer = self.kernel.sched.add_timer(deadline, self._expired)

    def _expired(self) -> None:
        self.sched_timer = None
        if self.deleted or not self.armed:
            return
        if self.now() < self.expires:  # the float deadline came a hair early
            self.rearm_wall()
            return
        self.fire()

    def settime(self, value: int, interval: int, absolute: bool) -> tuple[int, int]:
        """timer_settime (Linux's common_timer_set): the old (value, interval), then armed
        for value (ns from now, or the clock's time if absolute) or disarmed (value 0)."""
        old = self.gettime()
        self.cancel()
        self.interval = 0
        self.requeue_pending = (self.requeue_pending + 2) & ~1
        self.overrun_last = 0
        if not value:
            self.expires = 0
            if self.cpu is not None:
                update_cpu_timer_next(self.group)
            return old
        self.interval = interval
        self.expires = value if absolute else self.now() + value
        self.expires = max(self.expires, 1)
        self.start()
        return old

    def gettime(self) -> tuple[int, int]:
        """(ns left, interval) (Linux's common_timer_get): an expired one-shot timer reads 0;
        one whose signal is still to come, at least 1 ns."""
        sig_none = self.notify == SIGEV_NONE
        if not self.interval and not self.armed and not sig_none:
            return 0, 0
        if not self.expires:
            return 0, self.interval
        now = self.now()
        if self.interval and (self.requeue_pending & 1 or sig_none):
            self.overrun += self.forward(now)
        left = self.expires - now
        if left <= 0:
            return (0 if sig_none else 1), self.interval
        return left, self.interval

    def getoverrun(self) -> int:
        return min(self.overrun_last, 0x7FFF_FFFF)

    # ---- expiry and its signal ----------------------------------------------------------

    def fire(self) -> None:
        """The timer expired (Linux's posix_timer_fn / cpu_timer_fire)."""
        self.armed = False
        si_private = 0
        if self.interval:
            self.requeue_pending += 1
            si_private = self.requeue_pending
        if self._send(si_private) and self.interval:
            # Ignored, so never taken: the timer cannot wait for its signal to be taken
            self.overrun += self.forward(self.now())
            self.requeue_pending += 1
            self.start()
        elif self.cpu is not None:
            update_cpu_timer_next(self.group)

    def _send(self, si_private: int) -> bool:
        """Queue the signal once (a second expiry while pending is an overrun); True if the
        signal is ignored and so not queued."""
        self.sys_private = si_private
        group, kernel, sig = self.group, self.kernel, self.signo
        if group.zombie:
            return False
        target = self.thread
        if target is not None and target.exited:
            return False  # its thread is gone: the timer stops (Linux: no task to signal)
        leader = target if target is not None else (group.tasks[0] if group.tasks else None)
        if sigs.sig_ignored(leader, group, sig):
            return True
        if self.queued:
            self.si_overrun += 1
            return False
        self.si_overrun = 0
        if target is not None:
            sigs.send_thread_signal(kernel, target, sig, self)
        else:
            sigs.send_signal(kernel, group, sig, self)
        self.queued = self._is_queued()
        return False

    def _is_queued(self) -> bool:
        sig, group = self.signo, self.group
        if self.thread is not None:
            return self.thread.pending_info.get(sig) is self
        if sig >= SIGRTMIN:
            return any(info is self for info in group.rt_queue.get(sig, ()))
        return group.shared_info.get(sig) is self

    def take(self) -> bytes:
        """Its pending signal is taken: the siginfo, and a periodic timer goes on (Linux's
        posixtimer_rearm, counting the periods missed into si_overrun)."""
        self.queued = False
        overrun = self.si_overrun
        if self.sys_private and not self.deleted and self.interval \
                and self.requeue_pending == self.sys_private:  # fmt: skip
            self.overrun += self.forward(self.now())
            self.overrun_last = self.overrun
            self.overrun = -1
            self.requeue_pending += 1
            overrun = min(overrun + self.overrun_last, 0x7FFF_FFFF)
            self.start()
        head = struct.pack("<iii4xiiQ", self.signo, 0, SI_TIMER, self.id, overrun, self.value)
        return head.ljust(128, b"\0")

    def discard(self) -> None:
        self.queued = False

    def delete(self) -> None:
        self.deleted = True
        self.cancel()
        self.group.posix_timers.pop(self.id, None)
        if self.cpu is not None:
            update_cpu_timer_next(self.group)


def exit_itimers(group: ThreadGroup) -> None:
    """exec and exit: the process's POSIX timers go (a pending signal stays pending)."""
    for timer in list(group.posix_timers.values()):
        timer.delete()


def valid_clock_for_timer(clk: int) -> bool:
    return clk in WALL_CLOCKS
