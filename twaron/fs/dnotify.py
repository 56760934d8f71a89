"""dnotify: fcntl(F_NOTIFY) watches on a directory, answered by a signal (Linux's
fs/notify/dnotify).

A watch belongs to the open directory it was set through (its FileOwner keeps it, and closing
the file ends it); an event it wants sends the file owner's signal (F_SETSIG, default SIGIO)
with si_fd = the fd given to F_NOTIFY. Without DN_MULTISHOT the watch ends after one signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    DN_ACCESS,
    DN_ATTRIB,
    DN_CREATE,
    DN_DELETE,
    DN_MODIFY,
    DN_MULTISHOT,
    DN_RENAME,
    IN_ACCESS,
    IN_ATTRIB,
    IN_CREATE,
    IN_DELETE,
    IN_MODIFY,
    IN_MOVED_FROM,
    IN_MOVED_TO,
)
from twaron.fs import fsnotify
from twaron.fs.fown import owner_of

# DN_* -> the fsnotify events that answer it (Linux's convert_arg)
_EVENTS = (
    (DN_DELETE, IN_DELETE | IN_MOVED_FROM),
    (DN_MODIFY, IN_MODIFY),
    (DN_ACCESS, IN_ACCESS),
    (DN_ATTRIB, IN_ATTRIB),
    (DN_RENAME, fsnotify.FS_RENAME),
    (DN_CREATE, IN_CREATE | IN_MOVED_TO),
)


def convert_arg(arg: int) -> int:
    mask = 0
    for dn, events in _EVENTS:
        if arg & dn:
            mask |= events
    return mask


class DnotifyMark(fsnotify.Mark):
    """One F_NOTIFY watch: `send(fd)` raises the owner's signal."""

    __slots__ = ("file", "fd", "multishot", "send")

    def __init__(self, inode: Any, mask: int, file: Any, fd: int,
                 send: Callable[[Any, int], None]) -> None:  # fmt: skip
        super().__init__(inode, mask)
        self.file = file
        self.fd = fd
        self.multishot = False
        self.send = send

    def handle(self, mask: int, name: bytes | None, cookie: int, unlinked: bool) -> None:
        self.send(self.file, self.fd)
        if not self.multishot:
            remove(self)

    def inode_gone(self) -> None:
        owner = self.file.owner
        if owner is not None and self in owner.dnotify:
            owner.dnotify.remove(self)


def remove(mark: DnotifyMark) -> None:
    fsnotify.remove_mark(mark)
    mark.inode_gone()


def set_watch(f: Any, fd: int, arg: int, send: Callable[[Any, int], None]) -> None:
    """F_NOTIFY on the open directory f: a mask of DN_* adds events to its watch (one watch
    per open file: Linux's attach_dn); a mask without events removes it. The caller has
    checked that f is a directory."""
    owner = owner_of(f)
    if not arg & ~DN_MULTISHOT:
        owner.release()
        return
    mask = convert_arg(arg)
    mark = owner.dnotify[0] if owner.dnotify else None
    if mark is None:
        mark = DnotifyMark(f.inode, mask, f, fd, send)
        fsnotify.add_mark(f.inode, mark)
        owner.dnotify.append(mark)
    else:
        mark.mask |= mask
        mark.fd = fd
    if arg & DN_MULTISHOT:
        mark.multishot = True
