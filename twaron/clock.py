"""The one clock every part of the kernel reads time through.

Record-and-replay and deterministic runs later swap this object for one that returns
recorded or virtual time; nothing else in the kernel calls the host's clocks directly
(the scheduler, timers, CPU accounting, procfs and file times all come here).
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self.boot_monotonic = time.monotonic()

    def realtime(self) -> float:
        return time.time()

    def realtime_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def uptime(self) -> float:
        return time.monotonic() - self.boot_monotonic

    def sleep(self, seconds: float) -> None:
        """The idle loop's wait when nothing can run and nothing on the host can wake it."""
        time.sleep(seconds)
