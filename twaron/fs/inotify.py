"""inotify: an fd that reads the events of the inodes it watches (Linux's fs/notify/inotify).

An InotifyFile is one inotify instance (Linux's fsnotify_group): its watches are fsnotify
marks (InotifyMark) with a watch descriptor each, and the events they hear wait in its queue
until read as struct inotify_event records. As Linux does, an event identical to the last one
queued (same wd, mask and name) is merged into it, a queue at its limit takes one
IN_Q_OVERFLOW event and drops the rest, and a watch that goes away (inotify_rm_watch, the
inode deleted, IN_ONESHOT fired) leaves an IN_IGNORED event.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from twaron.arch.x86_64.constants import (
    FIONREAD,
    IN_ALL_EVENTS,
    IN_DELETE_SELF,
    IN_EXCL_UNLINK,
    IN_IGNORED,
    IN_ISDIR,
    IN_MASK_ADD,
    IN_MASK_CREATE,
    IN_MOVE_SELF,
    IN_ONESHOT,
    IN_Q_OVERFLOW,
    INOTIFY_MAX_QUEUED_EVENTS,
    O_NONBLOCK,
    O_RDONLY,
    POLLIN,
    POLLRDNORM,
)
from twaron.arch.x86_64.errno import EAGAIN, EEXIST, EINVAL
from twaron.errors import KernelError
from twaron.fs import fsnotify
from twaron.fs.vfs import File, Inode, Path
from twaron.wait import EVENT_IN, WaitQueue, wait_event

EVENT = struct.Struct("<iIII")  # struct inotify_event: wd, mask, cookie, len; then the name
WD_MAX = 0x7FFF_FFFF
MARK_BITS = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK  # what a watch keeps of its mask


def event_len(name: bytes) -> int:
    """The name field's size: the name, a NUL, padded to a whole struct (Linux's
    round_event_name_len); 0 without a name."""
    if not name:
        return 0
    return (len(name) + 1 + EVENT.size - 1) // EVENT.size * EVENT.size


class InotifyMark(fsnotify.Mark):
    """One watch: an inode, the events wanted, and the wd that names it in its instance."""

    __slots__ = ("group", "wd")

    def __init__(self, inode: Inode, mask: int, group: InotifyFile, wd: int) -> None:
        super().__init__(inode, mask)
        self.group = group
        self.wd = wd

    def handle(self, mask: int, name: bytes | None, cookie: int, unlinked: bool) -> None:
        if unlinked and self.mask & IN_EXCL_UNLINK:
            return  # an event through an unlinked file's path
        if mask & (IN_MOVE_SELF | IN_DELETE_SELF):
            mask &= ~IN_ISDIR  # inotify never said IN_ISDIR with these
        group = self.group
        group.queue_event(self.wd, mask, cookie, name or b"")
        if self.mask & IN_ONESHOT:
            group.destroy_mark(self)

    def inode_gone(self) -> None:
        self.group.forget(self)


class InotifyFile(File):
    """An inotify instance: its watches by wd and the queue of events not yet read."""

    __slots__ = ("marks", "last_wd", "events", "queued_bytes", "overflowed", "wait",
                 "max_events")  # fmt: skip
    seekable = False
    may_block = True

    def __init__(self, path: Path, flags: int, max_events: int = INOTIFY_MAX_QUEUED_EVENTS) -> None:
        super().__init__(path, O_RDONLY | flags)
        self.marks: dict[int, InotifyMark] = {}
        self.last_wd = 0
        self.events: deque[tuple[int, int, int, bytes]] = deque()
        self.queued_bytes = 0
        self.overflowed = False  # the IN_Q_OVERFLOW event is in the queue
        self.wait = WaitQueue()
        self.max_events = max_events

    # ---- watches ----------------------------------------------------------------------

    def find_mark(self, inode: Inode) -> InotifyMark | None:
        for mark in inode.fsn or ():
            if isinstance(mark, InotifyMark) and mark.group is self:
                return mark
        return None

    def add_watch(self, inode: Inode, mask: int) -> int:
        """inotify_update_watch: the inode's wd, new or existing (its mask replaced, or with
        IN_MASK_ADD extended; IN_MASK_CREATE wants a new one: EEXIST)."""
        mark = self.find_mark(inode)
        kept = mask & MARK_BITS
        if mark is not None:
            if mask & IN_MASK_CREATE:
                raise KernelError(EEXIST)
            mark.mask = mark.mask | kept if mask & IN_MASK_ADD else kept
            return mark.wd
        wd = self._alloc_wd()
        mark = InotifyMark(inode, kept, self, wd)
        self.marks[wd] = mark
        fsnotify.add_mark(inode, mark)
        return wd

    def _alloc_wd(self) -> int:
        """Watch descriptors count up from 1 and are not reused soon (idr_alloc_cyclic)."""
        wd = self.last_wd
        while True:
            wd = wd + 1 if wd < WD_MAX else 1
            if wd not in self.marks:
                self.last_wd = wd
                return wd

    def rm_watch(self, wd: int) -> None:
        mark = self.marks.get(wd)
        if mark is None:
            raise KernelError(EINVAL)
        self.destroy_mark(mark)

    def destroy_mark(self, mark: InotifyMark) -> None:
        fsnotify.remove_mark(mark)
        self.forget(mark)

    def forget(self, mark: InotifyMark) -> None:
        """The mark is off its inode: its wd goes, with an IN_IGNORED event."""
        if self.marks.get(mark.wd) is mark:
            del self.marks[mark.wd]
            self.queue_event(mark.wd, IN_IGNORED, 0, b"")

    # ---- the event queue ------------------------------------------------------------------

    def queue_event(self, wd: int, mask: int, cookie: int, name: bytes) -> None:
        """fsnotify_insert_event with inotify_merge."""
        events = self.events
        if len(events) >= self.max_events:
            if self.overflowed:
                return
            self.overflowed = True
            wd, mask, cookie, name = -1, IN_Q_OVERFLOW, 0, b""
        elif events:
            last = events[-1]
            if last[1] == mask and last[0] == wd and last[3] == name and not last[1] & IN_IGNORED:
                return  # the same as the last event: merged
        events.append((wd, mask, cookie, name))
        self.queued_bytes += EVENT.size + event_len(name)
        self.wait.notify(EVENT_IN)

    def _take(self, room: int) -> bytes | None:
        """The first event as bytes if it fits in room, None if it does not."""
        wd, mask, cookie, name = self.events[0]
        n = event_len(name)
        if EVENT.size + n > room:
            return None
        self.events.popleft()
        self.queued_bytes -= EVENT.size + n
        if mask == IN_Q_OVERFLOW and wd == -1:
            self.overflowed = False
        return EVENT.pack(wd, mask, cookie, n) + name.ljust(n, b"\0")

    def read(self, n: int) -> bytes:
        """Whole events only: EINVAL if even the first does not fit (Linux's inotify_read)."""
        if not self.events:
            if self.flags & O_NONBLOCK:
                raise KernelError(EAGAIN)
            wait_event(((self.wait, EVENT_IN),), lambda: bool(self.events))
        out = bytearray()
        while self.events:
            rec = self._take(n - len(out))
            if rec is None:
                if not out:
                    raise KernelError(EINVAL)
                break
            out += rec
        return bytes(out)

    def lseek(self, offset: int, whence: int) -> int:
        return self.pos  # noop_llseek

    def poll(self) -> int:
        return POLLIN | POLLRDNORM if self.events else 0

    def poll_queue(self) -> WaitQueue:
        return self.wait

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            task.mm.copy_out(arg, self.queued_bytes.to_bytes(4, "little"))
            return 0
        return super().ioctl(task, cmd, arg)

    def release(self) -> None:
        for mark in list(self.marks.values()):
            fsnotify.remove_mark(mark)
        self.marks.clear()
        self.events.clear()
        super().release()
