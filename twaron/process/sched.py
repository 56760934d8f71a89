"""The scheduler: runnable tasks take turns on the one guest CPU; sleepers wait on queues and
timers. Round robin with time slices: a task that gives up the CPU for a reason other than its
slice (a syscall that stopped the platform, a fault, a signal) keeps it, at the front of the
queue, until it has used TIME_SLICE of CPU time; then it goes to the back. So a woken task
runs within (runnable tasks x TIME_SLICE), however often the others make syscalls.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twaron.clock import Clock
    from twaron.process.task import Task


TIME_SLICE = 0.02  # seconds of CPU a task runs before the others get their turn
HOST_CHECK_INTERVAL = 0.01  # seconds between checks for host input while tasks run
# The longest the idle loop waits at once: a far deadline (a nanosleep of 2^62 s, a timerfd
# set 292 years ahead) would overflow the host's select() and sleep; it waits again after.
MAX_IDLE_WAIT = 3600.0


class Timer:
    """A function to call at a deadline (kernel monotonic seconds) unless cancelled first."""

    __slots__ = ("deadline", "fn", "active")

    def __init__(self, deadline: float, fn: Callable[[], None]) -> None:
        self.deadline = deadline
        self.fn = fn
        self.active = True

    def cancel(self) -> None:
        self.active = False


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.runq: deque[Task] = deque()
        self.timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        # Waits on host file descriptors (the console): fn(timeout) -> False when nobody is
        # waiting on the host, else True after waiting up to timeout (None: forever).
        self.host_wait: Callable[[float | None], bool] = lambda timeout: False
        self._last_host_check = 0.0
        self.wall_deadline: float | None = None  # --timeout: pick() gives up then
        # The run is over (pid 1 went while pick() waited on the host: a signal to twaron
        # killed it): pick() gives up.
        self.halted: Callable[[], bool] = lambda: False

    def enqueue(self, task: Task) -> None:
        if not task.queued:
            task.queued = True
            self.runq.append(task)

    def requeue_front(self, task: Task) -> None:
        """The task keeps the CPU (it stopped for a reason that was not its time slice)."""
        if not task.queued:
            task.queued = True
            self.runq.appendleft(task)

    def put_prev(self, task: Task, spent: float, preempted: bool) -> None:
        """task ran for `spent` seconds and can run on: front of the queue while its slice
        lasts, back of the queue once it is used (or the platform preempted it)."""
        used = task.slice_used + spent
        if preempted or used >= TIME_SLICE:
            task.slice_used = 0.0
            self.enqueue(task)
        else:
            task.slice_used = used
            self.requeue_front(task)

    def yield_cpu(self, task: Task) -> None:
        """sched_yield: to the back of the queue, with a fresh slice for next time."""
        task.slice_used = 0.0
        self.enqueue(task)

    # ---- sleeping -----------------------------------------------------------------------

    def add_timer(self, deadline: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(deadline, fn)
        heapq.heappush(self.timers, (deadline, next(self._seq), timer))
        return timer

    def sleep(self, task: Task, deadline: float | None) -> None:
        """task stops being runnable until woken (by its wait entries, a signal, or the timer
        at `deadline`, kernel monotonic seconds)."""
        task.runnable = False
        task.sleep_token += 1
        task.timed_out = False
        if deadline is not None:
            token = task.sleep_token

            def timeout() -> None:
                if task.sleep_token == token and not task.runnable:  # still that sleep
                    task.timed_out = True
                    task.wake()

            self.add_timer(deadline, timeout)

    def expire_timers(self, now: float) -> None:
        timers = self.timers
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)[2]
            if timer.active:
                timer.active = False
                timer.fn()

    def next_deadline(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    def pick(self) -> Task | None:
        """The next runnable task; waits for a timer or host input if nothing can run."""
        clock = self.clock
        while True:
            now = clock.monotonic()
            if self.timers:
                self.expire_timers(now)
            if now - self._last_host_check > HOST_CHECK_INTERVAL:
                self._last_host_check = now
                self.host_wait(0)
            while self.runq:
                task = self.runq.popleft()
                task.queued = False
                if task.runnable and not task.exited and not task.group.stopped:
                    return task
            deadline = self.next_deadline()
            if self.wall_deadline is not None:
                deadline = self.wall_deadline if deadline is None else min(deadline,
                                                                           self.wall_deadline)
                if clock.monotonic() >= self.wall_deadline:
                    return None
            delay = None if deadline is None else min(max(0.0, deadline - clock.monotonic()),
                                                      MAX_IDLE_WAIT)  # fmt: skip
            if self.host_wait(delay):
                if self.halted():
                    return None
                continue
            if delay is None:
                return None
            clock.sleep(delay)
