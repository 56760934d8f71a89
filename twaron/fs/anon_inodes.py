"""anon_inodefs: the one inode behind files that have no inode of their own (Linux's
fs/anon_inodes.c): pidfds, inotify instances, eventfds, epolls, timerfds, signalfds.

Every such file is a Path outside the tree whose name is what /proc/PID/fd/N reads
("anon_inode:[pidfd]", "anon_inode:[eventfd]"); they all share one inode, as on Linux (fstat
shows the same st_ino and st_mode 0600 with no file type). AnonFile gives them what Linux's
anon_inode_getfile does: no seek (lseek answers the position, which stays 0: noop_llseek),
no pread/pwrite (ESPIPE), read and write only where the kind of file has them (EINVAL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import ANON_INODE_FS_MAGIC, O_NONBLOCK, O_RDWR
from twaron.fs.vfs import File, Inode, Path, SuperBlock, anon_path


class AnonInodeFs:
    """A kernel's anon_inodefs: its superblock and the shared inode."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.sb = SuperBlock("anon_inodefs", magic=ANON_INODE_FS_MAGIC, clock=clock, pseudo=True)
        self.inode = Inode(self.sb, 0o600)

    def path(self, name: bytes) -> Path:
        """A new file's Path: d_path (readlink of /proc/PID/fd/N) gives 'anon_inode:NAME'."""
        return anon_path(self.sb, self.inode, b"anon_inode:" + name)


class AnonFile(File):
    """An open anonymous file: O_RDWR plus the O_NONBLOCK its creator asked for (the file
    keeps no other flag: anon_inode_getfile's flags & (O_ACCMODE | O_NONBLOCK))."""

    __slots__ = ()
    seekable = False
    name = b"[file]"  # what follows "anon_inode:" in /proc/PID/fd/N

    def __init__(self, anon: AnonInodeFs, flags: int) -> None:
        super().__init__(anon.path(self.name), O_RDWR | (flags & O_NONBLOCK), anon.inode)

    def lseek(self, offset: int, whence: int) -> int:
        return self.pos  # noop_llseek

    def link_name(self, root: Any) -> bytes:
        return b"anon_inode:" + self.name
