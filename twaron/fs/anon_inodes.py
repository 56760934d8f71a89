"""Anonymous inodes (Linux's anon_inodefs): the one inode behind every eventfd, epoll,
timerfd and signalfd file of a kernel.

Such a file has no name in the tree: readlink of /proc/PID/fd/N shows "anon_inode:[eventfd]"
and fstat shows the shared inode (mode 0600, no file type), as on Linux. The files share
what Linux's anon_inode_getfile gives them: no seek (lseek answers the position, which stays
0: noop_llseek), no pread/pwrite (ESPIPE), read and write only where the kind of file has
them (EINVAL otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import ANON_INODE_FS_MAGIC, O_NONBLOCK, O_RDWR
from twaron.fs.vfs import File, Inode, Path, SuperBlock, anon_path


class AnonInodes:
    """A kernel's anon_inodefs: its superblock and the inode all anonymous files share."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.sb = SuperBlock("anon_inodefs", magic=ANON_INODE_FS_MAGIC, clock=clock,
                             pseudo=True)  # fmt: skip
        self.inode = Inode(self.sb, 0o600)

    def path(self, name: bytes) -> Path:
        """A new file's path: d_path gives "anon_inode:" + name ("[eventfd]")."""
        return anon_path(self.sb, self.inode, b"anon_inode:" + name)


class AnonFile(File):
    """An open anonymous file: O_RDWR plus the O_NONBLOCK its creator asked for (the file
    keeps no other flag: anon_inode_getfile's flags & (O_ACCMODE | O_NONBLOCK))."""

    __slots__ = ()
    seekable = False
    name = b"[file]"  # what follows "anon_inode:" in /proc/PID/fd/N

    def __init__(self, anon: AnonInodes, flags: int) -> None:
        super().__init__(anon.path(self.name), O_RDWR | (flags & O_NONBLOCK), anon.inode)

    def lseek(self, offset: int, whence: int) -> int:
        return self.pos  # noop_llseek

    def link_name(self, root: Any) -> bytes:
        return b"anon_inode:" + self.name
