"""The wait layer: queues that waiters register on with an event mask (Linux's wait queues,
gVisor's waiter package).

Everything that can make a task wait reports through here: a file's readiness (readable,
writable, hang-up, error, priority), a child's exit, a futex word, a signal. A `WaitQueue` is
notified with a mask of the events that happened; each registered `WaitEntry` whose own mask
intersects it runs its callback. A sleeping task's entry wakes the task; epoll (and anything
else that must hear about readiness without sleeping) registers an entry whose callback does
its own work.

This module sits at the bottom of the kernel: fs/, mm/ and process/ import it, it imports
nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from greenlet import getcurrent, greenlet

from twaron.arch.x86_64.constants import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRNORM,
)

# Event masks, with poll(2)'s bits (epoll's EPOLLIN & co. are the same values).
EVENT_IN = POLLIN | POLLRDNORM
EVENT_OUT = POLLOUT | POLLWRNORM
EVENT_PRI = POLLPRI
EVENT_ERR = POLLERR
EVENT_HUP = POLLHUP | POLLRDHUP
ALL_EVENTS = 0xFFFF_FFFF  # an entry that hears everything (a child's exit, a futex, ...)

Callback = Callable[[int], object]  # what it returns matters for exclusive entries only


class WaitEntry:
    """One registration on one queue: `callback(mask)` runs when the queue is notified with
    events this entry's `mask` selects. Remove it (or use it as a context manager) when done.

    An exclusive entry (Linux's WQ_FLAG_EXCLUSIVE, what EPOLLEXCLUSIVE registers) takes its
    turn among the exclusive entries of one notification: once one of them answers true
    (it took the event), the others are skipped; plain entries always run."""

    __slots__ = ("queue", "mask", "callback", "exclusive")

    def __init__(self, queue: WaitQueue, mask: int, callback: Callback,
                 exclusive: bool = False) -> None:  # fmt: skip
        self.queue = queue
        self.mask = mask
        self.callback = callback
        self.exclusive = exclusive

    def remove(self) -> None:
        self.queue.entries.pop(self, None)

    def __enter__(self) -> WaitEntry:
        return self

    def __exit__(self, *_: object) -> None:
        self.remove()


class WaitQueue:
    """Entries waiting for events; `notify(mask)` runs the callbacks of those that match.

    Entries are kept in registration order (a dict used as an ordered set), so that waiters
    are woken first come, first served, as Linux's FIFO wait queues wake them; an entry
    added at the head (epoll's) runs before those already there.
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[WaitEntry, None] = {}

    def add(self, mask: int, callback: Callback, exclusive: bool = False,
            head: bool = False) -> WaitEntry:  # fmt: skip
        """A new entry, last in line; or first with head=True (Linux's add_wait_queue puts
        a non-exclusive entry at the head: epoll's callbacks run newest first)."""
        entry = WaitEntry(self, mask, callback, exclusive)
        if head and self.entries:
            self.entries = {entry: None} | self.entries
        else:
            self.entries[entry] = None
        return entry

    def notify(self, mask: int = ALL_EVENTS) -> None:
        if not self.entries:
            return
        exclusive_done = False
        for entry in list(self.entries):
            if entry.mask & mask and entry in self.entries:
                if not entry.exclusive:
                    entry.callback(mask)
                elif not exclusive_done:
                    exclusive_done = bool(entry.callback(mask))

    def wake_n(self, n: int, mask: int = ALL_EVENTS) -> int:
        """Run (and remove) the first n entries that select `mask`; how many ran. For queues
        whose waiters are served one by one (futexes), FIFO."""
        done = 0
        for entry in list(self.entries):
            if done >= n:
                break
            if entry.mask & mask:
                del self.entries[entry]
                entry.callback(mask)
                done += 1
        return done

    def move_to(self, other: WaitQueue, n: int) -> int:
        """Move the first n entries to `other` (FUTEX_REQUEUE); how many moved."""
        moved = list(self.entries)[:n]
        for entry in moved:
            del self.entries[entry]
            entry.queue = other
            other.entries[entry] = None
        return len(moved)

    def __bool__(self) -> bool:
        """Whether anybody waits here (cheap: callers skip work when nobody listens)."""
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


# ---- sleeping in place ------------------------------------------------------------------


class NeedContext(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """A handler reached a point where it must sleep, but runs on the platform's stack (the
    fast path, where most syscalls finish). The syscall layer runs it again from its start in
    a Context, where it can sleep. So a handler may only reach its first sleep before it has
    done anything that cannot be done twice; one that cannot promise that calls
    need_context() first."""


class Context(greenlet):
    """A stack of its own on which one syscall handler runs and may sleep where it stands
    (process/context.py makes them; this is what the wait layer sees of them)."""

    def block(self, deadline: float | None, interruptible: bool) -> bool:
        """Sleep until woken: False if `deadline` (kernel monotonic seconds) passed first.
        Raises KernelError(ERESTARTSYS) when a signal is pending (any signal if
        interruptible, a fatal one otherwise)."""
        raise NotImplementedError

    def waker(self) -> Callback:
        """The callback that wakes this context's task (for WaitQueue.add)."""
        raise NotImplementedError


def current() -> Context:
    """The context the running handler may sleep in; NeedContext if it has none."""
    ctx = getcurrent()
    if not isinstance(ctx, Context):
        raise NeedContext
    return ctx


class Hold(Protocol):
    """What a sleeping call keeps alive (a file: Linux's fdget reference)."""

    def get(self) -> object: ...

    def put(self) -> object: ...


class SleepRestart(NeedContext):
    """Raised on the platform's stack by wait_restartable and wait_tail: the handler sleeps
    without a context, on these queues, and once woken the syscall layer calls `again`
    (wait_tail's continuation) or the handler again from its start. (A NeedContext: a
    caller that does not know it runs the handler again in a context instead.)

    deadline: when the sleep ends by itself, and `expired(task)` gives the call's result.
    hold: taken while the call sleeps, let go when it ends however it ends."""

    def __init__(self, waits: tuple[tuple[WaitQueue, int], ...], interruptible: bool,
                 deadline: float | None = None, again: Callable[..., object] | None = None,
                 expired: Callable[..., object] | None = None,
                 hold: Hold | None = None) -> None:  # fmt: skip
        super().__init__()
        self.waits = waits
        self.interruptible = interruptible
        self.deadline = deadline
        self.again = again
        self.expired = expired
        self.hold = hold


def need_context() -> None:
    """A handler that may sleep after a side effect calls this before the side effect."""
    if not isinstance(getcurrent(), Context):
        raise NeedContext


T = TypeVar("T")


def wait_event(waits: Iterable[tuple[WaitQueue, int]], ready: Callable[[], T],
               deadline: float | None = None, interruptible: bool = True) -> T | None:  # fmt: skip
    """Sleep until ready() returns something true and return it; None if `deadline` passes
    first. Each (queue, mask) in `waits` wakes the sleeper when notified with those events.
    A pending signal ends the wait with KernelError(ERESTARTSYS) (Linux's
    wait_event_interruptible); with interruptible=False only a fatal signal does."""
    result = ready()
    if result:
        return result
    ctx = current()
    wake = ctx.waker()
    entries = [queue.add(mask, wake) for queue, mask in waits]
    try:
        while True:
            if not ctx.block(deadline, interruptible):
                return ready() or None
            result = ready()
            if result:
                return result
    finally:
        for entry in entries:
            entry.remove()


def wait_restartable(waits: Iterable[tuple[WaitQueue, int]], ready: Callable[[], T],
                     interruptible: bool = True) -> T:  # fmt: skip
    """wait_event without a deadline, for a handler that can run again from its start at
    this sleep and at every later one (it has changed nothing that ready() did not find
    true): a child's exit for wait4 and waitid. On the platform's stack it needs no context
    of its own: SleepRestart leaves the guest asleep in the syscall, and the syscall layer
    calls the handler again when a queue wakes it. That spares the four stack switches of a
    context's sleep (~6 us of fork_exit's 140). In a context it is wait_event."""
    result = ready()
    if result:
        return result
    if isinstance(getcurrent(), Context):
        return wait_event(waits, ready, interruptible=interruptible)  # type: ignore[return-value]
    raise SleepRestart(tuple(waits), interruptible)


def wait_tail(waits: Iterable[tuple[WaitQueue, int]], ready: Callable[[], T],
              deadline: float | None = None, timed_out: T | int = 0,
              hold: Hold | None = None, stackless: bool = True) -> T | int:  # fmt: skip
    """wait_event as the handler's last act: what ready() gives, or `timed_out` once the
    deadline passes; `hold` is kept while asleep (the file an epoll_wait waits on, so that
    another thread's close leaves it whole). On the platform's stack it needs no context:
    SleepRestart carries the rest of the call (ready() until it gives something), which the
    syscall layer runs each time a queue or the deadline wakes the task. In a context it is
    wait_event. stackless=False: a caller with state around the wait that must last while
    it sleeps (a temporary signal mask) has the handler run again in a context instead."""
    result = ready()
    if result:
        return result
    if isinstance(getcurrent(), Context):
        if hold is not None:
            hold.get()
        try:
            return wait_event(waits, ready, deadline) or timed_out
        finally:
            if hold is not None:
                hold.put()
    if not stackless:
        raise NeedContext

    def again(task: object, *_: int) -> T | int:
        result = ready()
        if result:
            return result
        if task.timed_out:  # type: ignore[attr-defined] # the scheduler's timer woke it
            return timed_out
        raise why

    why = SleepRestart(tuple(waits), True, deadline, again,
                       lambda _task, *_: ready() or timed_out, hold)  # fmt: skip
    raise why


def sleep_until(deadline: float | None, interruptible: bool = True) -> None:
    """Sleep until `deadline` (None: until a signal); ERESTARTSYS if a signal comes first."""
    ctx = current()
    while ctx.block(deadline, interruptible):
        pass
