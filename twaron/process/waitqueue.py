"""Wait queues: where a blocked task sleeps until an event wakes it."""

from __future__ import annotations

from typing import Any


class WaitQueue:
    """Tasks parked here are made runnable again by wake_all()."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: set[Any] = set()

    def wake_all(self) -> None:
        waiters, self.waiters = self.waiters, set()
        for task in waiters:
            task.wake()
