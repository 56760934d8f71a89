"""epoll (Linux's fs/eventpoll.c), on the wait layer.

An epoll file (EventPollFile) holds items, one per watched (open file description, fd
number) pair: the registration belongs to the description, as in Linux. Closing the fd while
a dup of it stays open leaves the item working (it still reports the data it was given); the
item goes when the description itself is released (File.put calls file_released(): Linux's
eventpoll_release) or with EPOLL_CTL_DEL through an fd that still names the description.

Each item has an entry on the watched file's wait queue whose callback is not a task wake-up
but Linux's ep_poll_callback: it puts the item on the epoll's ready list and notifies the
epoll's own queues, `wq` (epoll_wait sleepers) and `poll_wait` (poll/select of the epoll
file, and epolls watching this one). epoll_wait takes items off the ready list and polls
each file again (a callback only says that something may have changed): a level-triggered
item that is still ready goes back at the end of the list, an edge-triggered one waits for
its next callback, and an EPOLLONESHOT one is disabled until EPOLL_CTL_MOD.

Nested epolls: an epoll file is pollable (readable when one of its ready items really is)
and may be watched by another epoll, within Linux's limits: no loops, at most 5 epolls on a
path (ELOOP), and no more wakeup paths to one file than Linux allows (EINVAL).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    EPOLL_CTL_ADD,
    EPOLL_CTL_DEL,
    EPOLL_CTL_MOD,
    EPOLLERR,
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLHUP,
    EPOLLIN,
    EPOLLONESHOT,
    EPOLLOUT,
    EPOLLRDNORM,
    EPOLLWAKEUP,
)
from twaron.arch.x86_64.errno import EEXIST, EINVAL, ELOOP, ENOENT, EPERM
from twaron.errors import KernelError
from twaron.fs.anon_inodes import AnonFile, AnonInodeFs
from twaron.fs.vfs import File
from twaron.wait import ALL_EVENTS, EVENT_IN, WaitEntry, WaitQueue

EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | \
    EPOLLEXCLUSIVE
EP_MAX_NESTS = 4  # epolls below the one an item is added to, along one path (5 in all)
PATH_LIMITS = (1000, 500, 100, 50, 10)  # wakeup paths to one file, by their length
EPOLL_EVENT = struct.Struct("<IQ")  # struct epoll_event, packed


def file_can_poll(f: File) -> bool:
    """Whether the file has a poll operation (Linux's file_can_poll): regular files,
    directories and plain devices have none, and epoll refuses them (EPERM)."""
    return type(f).poll is not File.poll


class EpItem:
    """One watched (file, fd) of one epoll (Linux's epitem)."""

    __slots__ = ("ep", "file", "fd", "events", "data", "entry")

    def __init__(self, ep: EventPollFile, file: File, fd: int, events: int, data: int) -> None:
        self.ep = ep
        self.file = file
        self.fd = fd
        self.events = events
        self.data = data
        self.entry: WaitEntry | None = None  # on the file's wait queue

    def set_events(self, events: int) -> None:
        self.events = events
        if self.entry is not None:  # a disabled item (EPOLLONESHOT) hears nothing
            self.entry.mask = events & ~EP_PRIVATE_BITS

    def poll(self) -> int:
        """The item's events that are there now (Linux's ep_item_poll)."""
        return self.file.poll() & self.events

    def callback(self, key: int) -> bool:
        """Linux's ep_poll_callback: the watched file notified `key`. Queue the item as
        ready and wake the epoll's waiters; True if the event was taken (for EPOLLEXCLUSIVE
        entries, which stop at the first epoll that has a waiter for it)."""
        if key == ALL_EVENTS:
            key = 0  # a notification without a key: anything may have changed
        events = self.events
        if not events & ~EP_PRIVATE_BITS or (key and not key & events):
            return False
        ep = self.ep
        ep.ready.setdefault(self, None)
        woke = not events & EPOLLEXCLUSIVE
        if ep.wq:
            if not woke:
                inout = key & (EPOLLIN | EPOLLOUT)
                woke = not inout or inout in (EPOLLIN, EPOLLOUT) and bool(events & inout)
            ep.wq.notify(EVENT_IN)
        if ep.poll_wait:
            ep.poll_wait.notify(EVENT_IN)
        return woke

    def unregister(self) -> None:
        """Off the watched file's queue and its list of watchers (ep_unregister_pollwait)."""
        if self.entry is not None:
            self.entry.remove()
            self.entry = None
        watchers = self.file.f_ep
        if watchers is not None:
            watchers.pop(self, None)
            if not watchers:
                self.file.f_ep = None

    def file_released(self) -> None:
        """The watched description is gone (Linux's eventpoll_release_file)."""
        self.ep.remove(self)


class EventPollFile(AnonFile):
    """An epoll instance (Linux's struct eventpoll; the file is the instance)."""

    __slots__ = ("items", "ready", "wq", "poll_wait")
    name = b"[eventpoll]"

    def __init__(self, anon: AnonInodeFs, flags: int) -> None:
        super().__init__(anon, flags)
        self.items: dict[tuple[File, int], EpItem] = {}
        self.ready: dict[EpItem, None] = {}  # the ready list, in order (an ordered set)
        self.wq = WaitQueue()  # epoll_wait sleepers
        self.poll_wait = WaitQueue()  # poll/select on this file, and epolls watching it

    # ---- epoll_ctl (do_epoll_ctl, below, checks the call first) --------------------------

    def insert(self, target: File, fd: int, events: int, data: int, leaves: set[File],
               check_paths: bool) -> None:  # fmt: skip
        """ep_insert: the new item, on the file's queue, ready at once if the file is."""
        item = EpItem(self, target, fd, events, data)
        self.items[(target, fd)] = item
        if target.f_ep is None:
            target.f_ep = {}
        target.f_ep[item] = None
        if check_paths:
            if not isinstance(target, EventPollFile):
                leaves.add(target)
            if not reverse_path_check(leaves):
                self.remove(item)
                raise KernelError(EINVAL)
        queue = target.poll_queue()
        if queue is not None:  # as Linux: plain entries at the head, exclusive at the tail
            exclusive = bool(events & EPOLLEXCLUSIVE)
            item.entry = queue.add(events & ~EP_PRIVATE_BITS, item.callback,
                                   exclusive=exclusive, head=not exclusive)  # fmt: skip
        if item.poll():
            self.make_ready(item)

    def modify(self, item: EpItem, events: int, data: int) -> None:
        """ep_modify: new events and data; queued as ready if the file already has them."""
        item.set_events(events)
        item.data = data
        if item.poll():
            self.make_ready(item)

    def remove(self, item: EpItem) -> None:
        """ep_remove: the item goes from the file's queue, the epoll and its ready list."""
        item.unregister()
        self.items.pop((item.file, item.fd), None)
        self.ready.pop(item, None)

    def make_ready(self, item: EpItem) -> None:
        if item not in self.ready:
            self.ready[item] = None
            if self.wq:
                self.wq.notify(EVENT_IN)
            if self.poll_wait:
                self.poll_wait.notify(EVENT_IN)

    # ---- epoll_wait ---------------------------------------------------------------------

    def send_events(self, maxevents: int, put: Callable[[int, bytes], None]) -> int:
        """Linux's ep_send_events: report up to maxevents ready items through
        put(index, struct epoll_event), polling each file again; how many were reported.
        An item whose event could not be put (EFAULT) stays at the head of the list; the
        error reaches the caller only if nothing was reported."""
        batch = list(self.ready)
        self.ready.clear()
        done = 0
        scanned = 0
        try:
            for item in batch:
                if done >= maxevents:
                    break
                scanned += 1
                revents = item.poll()
                if not revents:
                    continue  # not ready after all: it waits for its next callback
                try:
                    put(done, EPOLL_EVENT.pack(revents, item.data))
                except KernelError:
                    scanned -= 1  # back to the ready list for the next epoll_wait
                    if not done:
                        raise
                    break
                done += 1
                if item.events & EPOLLONESHOT:
                    item.set_events(item.events & EP_PRIVATE_BITS)
                elif not item.events & EPOLLET:
                    self.ready[item] = None  # level-triggered: looked at again next time
        finally:
            self._done_scan(batch[scanned:])
        return done

    def _done_scan(self, unscanned: list[EpItem]) -> None:
        """ep_done_scan: items left unscanned go back at the head of the ready list, ahead
        of the level-triggered ones just put back; waiters wake if anything is ready."""
        if unscanned:
            ahead = dict.fromkeys(unscanned)
            self.ready = ahead | {i: None for i in self.ready if i not in ahead}
        if self.ready and self.wq:
            self.wq.notify(EVENT_IN)

    # ---- the epoll file itself -----------------------------------------------------------

    def poll(self) -> int:
        """Readable when an item on the ready list really is ready (those that are not
        leave the list), as Linux's ep_eventpoll_poll; nested epolls poll their own."""
        for item in list(self.ready):
            if item.poll():
                return EPOLLIN | EPOLLRDNORM
            self.ready.pop(item, None)
        return 0

    def poll_queue(self) -> WaitQueue:
        return self.poll_wait

    def release(self) -> None:
        """ep_clear_and_put: pollers of this epoll wake, every item goes."""
        if self.poll_wait:
            self.poll_wait.notify(EVENT_IN)
        for item in list(self.items.values()):
            self.remove(item)
        super().release()


def do_epoll_ctl(epfile: File, op: int, target: File, fd: int, events: int, data: int,
                 block_suspend: bool) -> None:  # fmt: skip
    """epoll_ctl once both fds are known to be open, in Linux's order of checks
    (do_epoll_ctl_file); `events` and `data` do not matter for EPOLL_CTL_DEL.
    block_suspend: the caller has CAP_BLOCK_SUSPEND (else EPOLLWAKEUP is dropped)."""
    if not file_can_poll(target):
        raise KernelError(EPERM)
    if op != EPOLL_CTL_DEL and not block_suspend:
        events &= ~EPOLLWAKEUP  # without a word, as Linux
    if target is epfile or not isinstance(epfile, EventPollFile):
        raise KernelError(EINVAL)
    nested = isinstance(target, EventPollFile)
    if op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD or (op == EPOLL_CTL_ADD and (
                nested or events & ~EPOLLEXCLUSIVE_OK_BITS)):  # fmt: skip
            raise KernelError(EINVAL)
    ep = epfile
    # Adding to an epoll that is itself watched, or adding an epoll: the paths are checked.
    check_paths = op == EPOLL_CTL_ADD and bool(ep.f_ep or nested)
    leaves: set[File] = set()
    if check_paths and nested and loop_check(ep, target, leaves):  # type: ignore[arg-type]
        raise KernelError(ELOOP)
    item = ep.items.get((target, fd))
    if op == EPOLL_CTL_ADD:
        if item is not None:
            raise KernelError(EEXIST)
        ep.insert(target, fd, events | EPOLLERR | EPOLLHUP, data, leaves, check_paths)
    elif op == EPOLL_CTL_DEL:
        if item is None:
            raise KernelError(ENOENT)
        ep.remove(item)
    elif op == EPOLL_CTL_MOD:
        if item is None:
            raise KernelError(ENOENT)
        if item.events & EPOLLEXCLUSIVE:
            raise KernelError(EINVAL)
        ep.modify(item, events | EPOLLERR | EPOLLHUP, data)
    else:
        raise KernelError(EINVAL)


# ---- the checks of nested epolls (ep_loop_check, reverse_path_check) ---------------------


def loop_check(ep: EventPollFile, to: EventPollFile, leaves: set[File]) -> bool:
    """Whether adding epoll `to` to epoll `ep` would make a loop or a path of more than
    EP_MAX_NESTS + 1 epolls. Collects the non-epoll files watched below `to` in leaves."""
    seen: dict[EventPollFile, int] = {}

    def depth_below(e: EventPollFile, depth: int) -> int:
        if e in seen:
            return seen[e]
        seen[e] = 0
        result = 0
        for item in e.items.values():
            f = item.file
            if isinstance(f, EventPollFile):
                if f is ep or depth > EP_MAX_NESTS:
                    result = EP_MAX_NESTS + 1
                else:
                    result = max(result, depth_below(f, depth + 1) + 1)
                if result > EP_MAX_NESTS:
                    break
            else:
                leaves.add(f)
        seen[e] = result
        return result

    above: dict[EventPollFile, int] = {}

    def depth_above(e: EventPollFile) -> int:
        if e not in above:
            above[e] = max((depth_above(w.ep) + 1 for w in e.f_ep or ()), default=0)
        return above[e]

    below = depth_below(to, 0)
    return below > EP_MAX_NESTS or below + 1 + depth_above(ep) > EP_MAX_NESTS


def reverse_path_check(files: set[File]) -> bool:
    """Whether no file of `files` would be reached by too many wakeup paths of one length
    (Linux's reverse_path_check: PATH_LIMITS, paths of more than EP_MAX_NESTS refused)."""

    def walk(watchers: dict[Any, None] | None, depth: int, counts: list[int]) -> bool:
        if depth > EP_MAX_NESTS:
            return False
        for item in watchers or ():
            above = item.ep.f_ep
            if not above:
                if depth:
                    counts[depth] += 1
                    if counts[depth] > PATH_LIMITS[depth]:
                        return False
            elif not walk(above, depth + 1, counts):
                return False
        return True

    return all(walk(f.f_ep, 0, [0] * len(PATH_LIMITS)) for f in files)
