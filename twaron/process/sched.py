"""The scheduler: runnable tasks take turns; sleepers wait on queues or deadlines."""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twaron.process.task import Task


HOST_CHECK_INTERVAL = 0.01  # seconds between checks for host input while tasks run


class Scheduler:
    def __init__(self) -> None:
        self.runq: deque[Task] = deque()
        self.timers: list[tuple[float, int, Task, int]] = []
        self._seq = itertools.count()
        # Waits on host file descriptors (the console): fn(timeout) -> False when nobody is
        # waiting on the host, else True after waiting up to timeout (None: forever).
        self.host_wait: Callable[[float | None], bool] = lambda timeout: False
        self._last_host_check = 0.0
        self.wall_deadline: float | None = None  # --timeout: pick() gives up then

    def enqueue(self, task: Task) -> None:
        if not task.queued:
            task.queued = True
            self.runq.append(task)

    def requeue_front(self, task: Task) -> None:
        """The task keeps the CPU (it stopped for a reason that was not its time slice)."""
        if not task.queued:
            task.queued = True
            self.runq.appendleft(task)

    def add_timer(self, deadline: float, task: Task) -> None:
        heapq.heappush(self.timers, (deadline, next(self._seq), task, task.sleep_token))

    def expire_timers(self, now: float) -> None:
        timers = self.timers
        while timers and timers[0][0] <= now:
            _, _, task, token = heapq.heappop(timers)
            if task.sleep_token == token:  # still the sleep this timer was set for
                task.timed_out = True
                task.wake()

    def next_deadline(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    def pick(self) -> Task | None:
        """The next runnable task; waits for a timer or host input if nothing can run."""
        while True:
            now = time.monotonic()
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
                if time.monotonic() >= self.wall_deadline:
                    return None
            delay = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.host_wait(delay):
                continue
            if delay is None:
                return None
            time.sleep(delay)
