"""anon_inodefs: the one inode behind files that have no inode of their own (Linux's
fs/anon_inodes.c): pidfds, inotify instances, and the like.

Every such file is a Path outside the tree whose name is what /proc/PID/fd/N reads
("anon_inode:[pidfd]", "anon_inode:inotify"); they all share one inode, as on Linux (fstat
shows the same st_ino and st_mode 0600 with no file type).
"""

from __future__ import annotations

from collections.abc import Callable

from twaron.arch.x86_64.constants import ANON_INODE_FS_MAGIC
from twaron.fs.vfs import Inode, Path, SuperBlock, anon_path


class AnonInodeFs:
    """A kernel's anon_inodefs: its superblock and the shared inode."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.sb = SuperBlock("anon_inodefs", magic=ANON_INODE_FS_MAGIC, clock=clock, pseudo=True)
        self.inode = Inode(self.sb, 0o600)

    def path(self, name: bytes) -> Path:
        """A new file's Path: d_path (readlink of /proc/PID/fd/N) gives 'anon_inode:NAME'."""
        return anon_path(self.sb, self.inode, b"anon_inode:" + name)
