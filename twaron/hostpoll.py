"""The host file descriptors a kernel waits on (the console's stdin, the signal wakeup pipe,
host sockets of `--net host`, `--publish` listeners and their connections).

The kernel never blocks in a host call while a guest task could run: host fds are
non-blocking, and a guest task that must wait for one sleeps on a guest WaitQueue after
asking the poller to watch the fd (`want`). The scheduler asks the poller whether anything
is ready, without waiting while tasks can run (every HOST_CHECK_INTERVAL) and waiting up to
the next timer when none can (the idle loop): each ready fd's callback runs with the events
that happened, which typically notifies the WaitQueue its sleepers wait on.

Interest is one-shot (as EPOLLONESHOT): an event reported is dropped from the fd's interest
until someone wants it again, so a writable socket nobody writes to does not keep the idle
loop spinning. `watch(..., persistent=True)` keeps it (a listening socket, the wakeup pipe:
their callbacks consume what made them ready).
"""

from __future__ import annotations

import select
from collections.abc import Callable

from twaron.arch.x86_64.constants import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI

Callback = Callable[[int], None]
_ALWAYS = POLLERR | POLLHUP  # poll(2) reports them whatever was asked


class _Watch:
    __slots__ = ("events", "callback", "persistent")

    def __init__(self, events: int, callback: Callback, persistent: bool) -> None:
        self.events = events
        self.callback = callback
        self.persistent = persistent


class HostPoller:
    """A poll set of host fds, each with the events wanted and the function to call."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._watches: dict[int, _Watch] = {}

    def __bool__(self) -> bool:
        """Whether anything is watched (else nothing on the host can wake a guest task)."""
        return any(w.events for w in self._watches.values())

    def watch(self, fd: int, events: int, callback: Callback, persistent: bool = False) -> None:
        """Call callback(events that happened) when fd is ready for `events` (added to what
        was wanted before; the callback replaces the old one)."""
        w = self._watches.get(fd)
        if w is None:
            self._watches[fd] = w = _Watch(0, callback, persistent)
        w.callback = callback
        w.persistent = w.persistent or persistent
        if w.events | events != w.events or not w.events:
            w.events |= events
            self._poll.register(fd, w.events)

    def want(self, fd: int, events: int, callback: Callback) -> None:
        """A one-shot watch of fd for events."""
        self.watch(fd, events, callback)

    def forget(self, fd: int) -> None:
        if self._watches.pop(fd, None) is not None:
            try:
                self._poll.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass

    def poll(self, timeout: float | None) -> int:
        """Wait up to timeout seconds (None: until something is ready) and run the ready
        fds' callbacks; how many fds were ready."""
        if not self:
            return 0
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        try:
            ready = self._poll.poll(ms)
        except InterruptedError:
            return 0
        for fd, revents in ready:
            w = self._watches.get(fd)
            if w is None:
                continue
            if not w.persistent:
                w.events &= ~(revents | (POLLIN | POLLOUT | POLLPRI if revents & _ALWAYS else 0))
                if w.events:
                    self._poll.register(fd, w.events)
                else:
                    self._poll.unregister(fd)
            w.callback(revents)
        return len(ready)

    def close(self) -> None:
        for fd in list(self._watches):
            self.forget(fd)
