"""fsnotify: where file-system events leave the VFS for inotify and dnotify (Linux's fs/notify).

The VFS calls the hooks below at the points Linux's fsnotify hooks sit (create, unlink,
rename, open, close, read, write, attribute changes). Listeners attach *marks* to inodes: an
inode's marks are `inode.fsn` (None when it has none), and a superblock counts its marked
inodes in `sb.watched`, so a caller on a hot path asks `inode.sb.watched` once and pays
nothing more while nobody watches that file system (Linux's s_fsnotify_connectors).

Event masks are inotify's IN_* bits, which are Linux's FS_* bits. An event about a directory
carries IN_ISDIR. Events that a directory hears about its children (Linux's
FS_EVENTS_POSS_ON_CHILD) go first to the parent's marks with the child's name, then to the
child's own marks without a name, as Linux's fsnotify_parent does.

This module knows inodes and dentries only by their attributes; it imports nothing of vfs.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    IN_ACCESS,
    IN_ALL_EVENTS,
    IN_ATTRIB,
    IN_CLOSE_NOWRITE,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_ISDIR,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_OPEN,
    O_PATH,
    S_IFDIR,
    S_IFMT,
)

FS_RENAME = 0x1000_0000  # a rename inside one directory (what dnotify's DN_RENAME hears)
ALL_EVENTS = IN_ALL_EVENTS | FS_RENAME
EVENTS_ON_CHILD = IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN


class Mark:
    """One listener's interest in one inode (Linux's fsnotify_mark). `mask` holds the IN_*
    events it wants (plus the listener's own flag bits); subclasses say what an event does."""

    __slots__ = ("inode", "mask")

    def __init__(self, inode: Any, mask: int) -> None:
        self.inode = inode
        self.mask = mask

    def handle(self, mask: int, name: bytes | None, cookie: int, unlinked: bool) -> None:
        """An event this mark wants: `name` is the child's for a directory's mark."""
        raise NotImplementedError

    def inode_gone(self) -> None:
        """The inode was deleted: the mark is detached already (inotify says IN_IGNORED)."""


def add_mark(inode: Any, mark: Mark) -> None:
    marks = inode.fsn
    if marks is None:
        marks = inode.fsn = []
        inode.sb.watched += 1
    marks.append(mark)


def remove_mark(mark: Mark) -> None:
    inode = mark.inode
    marks = inode.fsn
    if marks is None or mark not in marks:
        return
    marks.remove(mark)
    if not marks:
        inode.fsn = None
        inode.sb.watched -= 1


def _is_dir(inode: Any) -> bool:
    return inode.mode & S_IFMT == S_IFDIR


def _send(inode: Any, mask: int, name: bytes | None, cookie: int, unlinked: bool) -> None:
    marks = inode.fsn
    if marks is None:
        return
    for mark in list(marks):
        if mark.mask & mask & ALL_EVENTS and mark.inode is inode and mark in marks:
            mark.handle(mask, name, cookie, unlinked)


def next_cookie(sb: Any) -> int:
    """The cookie that ties an IN_MOVED_FROM to its IN_MOVED_TO (Linux's fsnotify_get_cookie)."""
    sb.move_cookie = (sb.move_cookie + 1) & 0xFFFF_FFFF
    return sb.move_cookie


# ---- hooks (callers check inode.sb.watched first) ----------------------------------------


def notify_parent(dentry: Any, inode: Any, mask: int, unlinked: bool = False) -> None:
    """An event on the file at `dentry` (Linux's fsnotify_parent): the parent directory's
    marks hear it with the name, then the file's own marks."""
    if _is_dir(inode):
        mask |= IN_ISDIR
    parent = dentry.parent
    if mask & EVENTS_ON_CHILD and parent is not dentry and parent.inode.fsn is not None:
        _send(parent.inode, mask, dentry.name, 0, unlinked)
    if inode.fsn is not None:
        _send(inode, mask, None, 0, unlinked)


def notify_name(dir_inode: Any, child: Any, mask: int, name: bytes, cookie: int = 0) -> None:
    """A directory entry event (create, delete, moves) on dir_inode, about `child`."""
    if _is_dir(child):
        mask |= IN_ISDIR
    _send(dir_inode, mask, name, cookie, False)


def notify_inode(inode: Any, mask: int) -> None:
    """An event for the inode's own marks only (link count, move of itself)."""
    if inode.fsn is not None:
        _send(inode, mask | (IN_ISDIR if _is_dir(inode) else 0), None, 0, False)


def file_event(f: Any, mask: int) -> None:
    """open, read, write, close through an open file (path-based: IN_EXCL_UNLINK applies)."""
    path = f.path
    if path is None or f.flags & O_PATH:
        return
    dentry = path.dentry
    notify_parent(dentry, f.inode, mask, dentry.deleted)


def change(path: Any, inode: Any, mask: int) -> None:
    """notify_change (chmod, chown, utimes, truncate): through the path when there is one."""
    if path is not None:
        notify_parent(path.dentry, inode, mask)
    else:
        notify_inode(inode, mask)


def close(f: Any) -> None:
    file_event(f, IN_CLOSE_WRITE if f.writable else IN_CLOSE_NOWRITE)


def create(dir_inode: Any, child: Any, name: bytes) -> None:
    notify_name(dir_inode, child, IN_CREATE, name)


def link(dir_inode: Any, inode: Any, name: bytes) -> None:
    """link(2): the inode's link count changed, then a name appeared (fsnotify_link)."""
    notify_inode(inode, IN_ATTRIB)
    notify_name(dir_inode, inode, IN_CREATE, name)


def delete(dir_inode: Any, child: Any, name: bytes) -> None:
    notify_name(dir_inode, child, IN_DELETE, name)


def move(old_dir: Any, new_dir: Any, old_name: bytes, new_name: bytes, inode: Any) -> None:
    """rename: a pair of events sharing one cookie, then the inode's own IN_MOVE_SELF."""
    cookie = next_cookie(inode.sb)
    if old_dir is new_dir:  # FS_RENAME reaches dnotify only for a rename inside a directory
        notify_name(old_dir, inode, FS_RENAME, old_name)
    notify_name(old_dir, inode, IN_MOVED_FROM, old_name, cookie)
    notify_name(new_dir, inode, IN_MOVED_TO, new_name, cookie)


def move_self(inode: Any) -> None:
    notify_inode(inode, IN_MOVE_SELF)


def inode_removed(inode: Any) -> None:
    """The last link and the last user are gone (Linux's fsnotify_inoderemove): IN_DELETE_SELF,
    then every mark is detached."""
    notify_inode(inode, IN_DELETE_SELF)
    for mark in list(inode.fsn or ()):
        remove_mark(mark)
        mark.inode_gone()
