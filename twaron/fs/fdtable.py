"""The fd table (Linux's files_struct): fd -> (open File, close-on-exec flag).

The table holds one reference on each File it lists (see vfs.File): `install` takes over the
caller's reference, `close` drops it. Shared between threads by CLONE_FILES (the same
object), copied by fork (`fork_copy`).
"""

from __future__ import annotations

from twaron.arch.x86_64.errno import EBADF, EMFILE
from twaron.errors import KernelError
from twaron.fs.locks import remove_posix
from twaron.fs.vfs import File

NR_OPEN_DEFAULT = 1024  # RLIMIT_NOFILE soft limit when the process set none
NR_OPEN_MAX = 1 << 20  # Linux's fs.nr_open: no fd is ever above this


def filp_close(f: File, owner: FdTable) -> None:
    """Drop one fd's reference (Linux's filp_close): closing any fd of a file ends the POSIX
    locks the process (its fd table) holds on it."""
    if f.inode.flctx is not None:
        remove_posix(f, owner)
    f.put()


class FdTable:
    __slots__ = ("files", "cloexec", "users")

    def __init__(self) -> None:
        self.files: list[File | None] = []
        self.cloexec: list[bool] = []
        self.users = 1  # tasks sharing this table (CLONE_FILES)

    def get(self, fd: int) -> File:
        """The File for fd; KernelError(EBADF) if fd is not open."""
        try:
            f = self.files[fd] if fd >= 0 else None
        except IndexError:
            f = None
        if f is None:
            raise KernelError(EBADF)
        return f

    def lookup(self, fd: int) -> File | None:
        if 0 <= fd < len(self.files):
            return self.files[fd]
        return None

    def _alloc(self, lowest: int, limit: int) -> int:
        files = self.files
        n = len(files)
        fd = lowest
        while fd < n and files[fd] is not None:
            fd += 1
        if fd >= limit:
            raise KernelError(EMFILE)
        if fd >= n:
            grow = fd + 1 - n
            files.extend([None] * grow)
            self.cloexec.extend([False] * grow)
        return fd

    def install(
        self, file: File, cloexec: bool = False, lowest: int = 0, limit: int = NR_OPEN_DEFAULT
    ) -> int:
        """Put file at the lowest free fd >= lowest (EMFILE past limit). Takes the caller's
        reference; on EMFILE the caller still owns it."""
        fd = self._alloc(lowest, limit)
        self.files[fd] = file
        self.cloexec[fd] = cloexec
        return fd

    def install_at(self, fd: int, file: File, cloexec: bool = False) -> None:
        """Put file at exactly fd, closing what was there (dup2's second half)."""
        if fd >= len(self.files):
            grow = fd + 1 - len(self.files)
            self.files.extend([None] * grow)
            self.cloexec.extend([False] * grow)
        old = self.files[fd]
        self.files[fd] = file
        self.cloexec[fd] = cloexec
        if old is not None:
            filp_close(old, self)

    def close(self, fd: int) -> None:
        f = self.get(fd)
        self.files[fd] = None
        self.cloexec[fd] = False
        self._shrink()
        filp_close(f, self)

    def _shrink(self) -> None:
        files = self.files
        while files and files[-1] is None:
            files.pop()
            self.cloexec.pop()

    def dup(
        self, oldfd: int, lowest: int = 0, cloexec: bool = False, limit: int = NR_OPEN_DEFAULT
    ) -> int:
        f = self.get(oldfd)
        fd = self._alloc(lowest, limit)
        self.files[fd] = f.get()
        self.cloexec[fd] = cloexec
        return fd

    def dup2(
        self, oldfd: int, newfd: int, cloexec: bool = False, limit: int = NR_OPEN_DEFAULT
    ) -> int:
        """dup2/dup3 semantics except the oldfd == newfd special cases (handled by callers)."""
        f = self.get(oldfd)
        if newfd < 0 or newfd >= limit:
            raise KernelError(EBADF)
        f.get()
        self.install_at(newfd, f, cloexec)
        return newfd

    def get_cloexec(self, fd: int) -> bool:
        self.get(fd)
        return self.cloexec[fd]

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.get(fd)
        self.cloexec[fd] = on

    def fork_copy(self) -> FdTable:
        """The child's table after fork: same Files (one more reference each)."""
        t = FdTable()
        t.files = list(self.files)
        t.cloexec = list(self.cloexec)
        for f in t.files:
            if f is not None:
                f.get()
        return t

    def close_on_exec(self) -> None:
        for fd, on in enumerate(self.cloexec):
            if on:
                f = self.files[fd]
                self.files[fd] = None
                self.cloexec[fd] = False
                if f is not None:
                    filp_close(f, self)
        self._shrink()

    def close_all(self) -> None:
        files, self.files, self.cloexec = self.files, [], []
        for f in files:
            if f is not None:
                filp_close(f, self)

    def open_fds(self) -> list[int]:
        return [fd for fd, f in enumerate(self.files) if f is not None]

    def __len__(self) -> int:
        return len(self.files)
