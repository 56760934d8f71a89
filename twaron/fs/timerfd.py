"""timerfd: a timer that counts its expirations into a file (Linux's fs/timerfd.c).

The timer's times are nanoseconds on its own clock (realtime or monotonic; CLOCK_BOOTTIME is
the monotonic clock, the guest never suspends); it rides on the scheduler's timer heap, whose
deadlines are on the kernel's monotonic clock. As in Linux, an expiry only counts one tick
and wakes readers; a periodic timer is not re-armed by its own expiry but by the read (or
timerfd_gettime) that sees it, which then counts every interval that passed meanwhile
(hrtimer_forward_now): a program that reads late learns how many expirations it missed, and
a timer nobody reads costs nothing.
"""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    POLLIN,
    TFD_TIMER_ABSTIME,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL
from twaron.errors import KernelError
from twaron.fs.anon_inodes import AnonFile, AnonInodeFs
from twaron.fs.vfs import NonblockingReads
from twaron.wait import EVENT_IN, WaitQueue, wait_event

NSEC = 1_000_000_000
KTIME_MAX = (1 << 63) - 1
U64 = struct.Struct("<Q")


def timespec_to_ktime(sec: int, nsec: int) -> int:
    """Linux's timespec64_to_ktime: saturated at KTIME_MAX (some 292 years)."""
    if sec >= KTIME_MAX // NSEC:
        return KTIME_MAX
    return sec * NSEC + nsec


class TimerFdFile(NonblockingReads, AnonFile):
    __slots__ = ("clockid", "sched", "clock", "expires", "interval", "ticks", "expired",
                 "timer", "wait")  # fmt: skip
    name = b"[timerfd]"
    may_block = True
    # nowait: timerfd_read_iter takes RWF_NOWAIT

    def __init__(self, anon: AnonInodeFs, clockid: int, flags: int, sched: Any,
                 clock: Any) -> None:  # fmt: skip
        super().__init__(anon, flags)
        self.clockid = clockid
        self.sched = sched  # the kernel's scheduler (add_timer) and clock
        self.clock = clock
        self.expires = 0  # ns on the timer's clock; 0: never armed
        self.interval = 0
        self.ticks = 0  # expirations not yet read
        self.expired = False  # the armed expiry has passed (a periodic timer awaits re-arming)
        self.timer: Any = None
        self.wait = WaitQueue()

    # ---- the clock and the scheduler's timer ------------------------------------------

    def now(self) -> int:
        realtime = self.clockid in (CLOCK_REALTIME, CLOCK_REALTIME_ALARM)
        return self.clock.realtime_ns() if realtime else self.clock.monotonic_ns()

    def _start(self) -> None:
        """hrtimer_start at self.expires; an expiry already past fires now."""
        delay = self.expires - self.now()
        if delay <= 0:
            self._fire()
            return
        self.timer = self.sched.add_timer(self.clock.monotonic() + delay / NSEC, self._fire)

    def _cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _fire(self) -> None:
        """timerfd_tmrproc: one more expiration; readers wake."""
        self.timer = None
        self.expired = True
        self.ticks += 1
        self.wait.notify(POLLIN)  # Linux's key: EPOLLIN alone

    def _forward(self) -> int:
        """hrtimer_forward_now: move the expiry past now by whole intervals; how many."""
        now = self.now()
        delta = now - self.expires
        if delta < 0:
            return 0
        interval = max(self.interval, 1)
        overruns = 1
        if delta >= interval:
            overruns = delta // interval
            self.expires += interval * overruns
            if self.expires > now:
                return overruns
            overruns += 1
        self.expires += interval
        return overruns

    def _rearm_periodic(self) -> int:
        """A periodic timer whose expiry was seen: re-armed for its next interval; the
        intervals that passed beyond the first (ticks to add)."""
        self.expired = False
        missed = self._forward() - 1
        self._start()
        return missed

    # ---- the operations -----------------------------------------------------------------

    def remaining(self) -> int:
        return max(0, self.expires - self.now()) if self.expires else 0

    def settime(self, flags: int, value: int, interval: int) -> tuple[int, int]:
        """timerfd_settime (values checked by the caller): the old (time left, interval)."""
        self._cancel()
        if self.expired and self.interval:
            self._forward()  # so that the old time left is the next expiry's
        old = (self.remaining(), self.interval)
        self.expired = False
        self.ticks = 0
        self.interval = interval
        self.expires = 0
        if value:
            now = self.now()
            self.expires = value if flags & TFD_TIMER_ABSTIME else min(now + value, KTIME_MAX)
            self._start()
        return old

    def gettime(self) -> tuple[int, int]:
        if self.expired and self.interval:
            self.ticks += self._rearm_periodic()
        return self.remaining(), self.interval

    def _read(self, n: int, nonblock: bool) -> bytes:
        if n < U64.size:
            raise KernelError(EINVAL)
        if not self.ticks:
            if nonblock:
                raise KernelError(EAGAIN)
            wait_event(((self.wait, EVENT_IN),), lambda: self.ticks)
        ticks = self.ticks
        if self.expired and self.interval:
            ticks += self._rearm_periodic()
        self.expired = False
        self.ticks = 0
        return U64.pack(ticks)

    def poll(self) -> int:
        return POLLIN if self.ticks else 0

    def poll_queue(self) -> WaitQueue:
        return self.wait

    def release(self) -> None:
        self._cancel()
        super().release()
