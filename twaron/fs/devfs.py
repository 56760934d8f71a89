"""devfs: /dev as a tmpfs (Linux's devtmpfs) holding the character devices.

Device nodes are ordinary inodes with S_IFCHR and an rdev; opening one goes through
vfs.CHRDEV_OPEN[rdev], filled in here, so `mknod x c 1 3` made by root anywhere also works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import S_IFCHR, S_IFDIR
from twaron.arch.x86_64.errno import ENOSPC, ENXIO
from twaron.errors import KernelError
from twaron.fs import tmpfs
from twaron.fs.tty import reopen_check
from twaron.fs.vfs import CHRDEV_OPEN, File, Path, mkdev
from twaron.mm.physmem import PhysMem

# A read of a byte-generating device returns at most this much: keeps a guest asking for
# gigabytes from allocating gigabytes on the host before copy_out can check the buffer.
DEV_READ_MAX = 16 << 20

DEV_NULL = mkdev(1, 3)
DEV_ZERO = mkdev(1, 5)
DEV_FULL = mkdev(1, 7)
DEV_RANDOM = mkdev(1, 8)
DEV_URANDOM = mkdev(1, 9)
DEV_TTY = mkdev(5, 0)
DEV_CONSOLE = mkdev(5, 1)
DEV_PTMX = mkdev(5, 2)  # opened by twaron/fs/devpts.py


class _DevFile(File):
    """Common to the memory devices: seeking is a no-op that succeeds (noop_llseek)."""

    __slots__ = ()

    def lseek(self, offset: int, whence: int) -> int:
        return self.pos

    def pread(self, n: int, offset: int) -> bytes:
        return self.read(n)

    def pwrite(self, data: bytes, offset: int) -> int:
        return self.write(data)


class NullFile(_DevFile):
    __slots__ = ()
    nowait = True  # Linux's devlist gives null, zero, random and urandom FMODE_NOWAIT
    discards_writes = True  # write_null: the buffer is never read

    def read(self, n: int) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        return len(data)


class ZeroFile(_DevFile):
    __slots__ = ()
    nowait = True
    discards_writes = True  # write_zero is write_null (and /dev/full's fails unread)
    mmap_anonymous = True  # mmap_zero: private or shared anonymous memory

    def read(self, n: int) -> bytes:
        return bytes(min(n, DEV_READ_MAX))

    def write(self, data: bytes) -> int:
        return len(data)


class FullFile(ZeroFile):
    __slots__ = ()
    nowait = False  # /dev/full alone of the memory devices has no FMODE_NOWAIT
    mmap_anonymous = False  # nor an mmap operation

    def write(self, data: bytes) -> int:
        raise KernelError(ENOSPC)


class RandomFile(_DevFile):
    """/dev/random and /dev/urandom: both read the kernel's boot-seeded generator."""

    __slots__ = ("rng",)
    nowait = True

    def __init__(self, path: Path, flags: int, rng: Any) -> None:
        super().__init__(path, flags)
        self.rng = rng

    def read(self, n: int) -> bytes:
        return self.rng.read(min(n, DEV_READ_MAX)) if n > 0 else b""

    def write(self, data: bytes) -> int:
        return len(data)  # mixing in entropy: accepted and ignored


def _simple(cls: type[File]) -> Callable[[Any, Path, int], File]:
    return lambda task, path, flags: cls(path, flags)


def _open_random(task: Any, path: Path, flags: int) -> File:
    return RandomFile(path, flags, task.kernel.rng)


def _open_console(task: Any, path: Path, flags: int) -> File:
    console = getattr(task.kernel, "console", None)
    if console is None:
        raise KernelError(ENXIO)
    # a stdio file reopened through /proc/PID/fd/N keeps its stream (console.ConsolePath)
    return console.open(path, flags, which=getattr(path, "which", -1))


def _open_tty(task: Any, path: Path, flags: int) -> File:
    """/dev/tty: the caller's controlling terminal (ENXIO without one). A console that
    passes terminal ioctls to the host (stdin not a terminal) has no tty of the kernel's:
    it counts as the controlling terminal of the session pid 1 started in when one of its
    host streams is a terminal. With none (pipes and files: CI, `docker run` without -t)
    there is no terminal to control, and Linux's answer is ENXIO."""
    tty = getattr(task.group, "tty", None)
    if tty is not None:
        reopen_check(task, tty)
        return tty.open_file(path, flags)
    console = getattr(task.kernel, "console", None)
    init = getattr(task.kernel, "init_group", None)
    if console is None or console.tty is not None or not console.host_terminal() or \
            init is not None and task.group.sid != init.sid:
        raise KernelError(ENXIO)  # no controlling terminal
    return console.open(path, flags, which=getattr(path, "which", -1))


CHRDEV_OPEN.update(
    {
        DEV_NULL: _simple(NullFile),
        DEV_ZERO: _simple(ZeroFile),
        DEV_FULL: _simple(FullFile),
        DEV_RANDOM: _open_random,
        DEV_URANDOM: _open_random,
        DEV_TTY: _open_tty,
        DEV_CONSOLE: _open_console,
    }
)

# name -> (rdev, mode) of the nodes every /dev has
DEVICES: dict[bytes, tuple[int, int]] = {
    b"null": (DEV_NULL, 0o666),
    b"zero": (DEV_ZERO, 0o666),
    b"full": (DEV_FULL, 0o666),
    b"random": (DEV_RANDOM, 0o666),
    b"urandom": (DEV_URANDOM, 0o666),
    b"tty": (DEV_TTY, 0o666),
    b"console": (DEV_CONSOLE, 0o600),
    b"ptmx": (DEV_PTMX, 0o666),
}

SYMLINKS: dict[bytes, bytes] = {
    b"fd": b"/proc/self/fd",
    b"stdin": b"/proc/self/fd/0",
    b"stdout": b"/proc/self/fd/1",
    b"stderr": b"/proc/self/fd/2",
}

DIRS: dict[bytes, int] = {b"shm": 0o1777, b"pts": 0o755}


def populate(dev: Path) -> None:
    """Create the standard nodes in a (dev)tmpfs directory."""
    for name, (rdev, mode) in DEVICES.items():
        tmpfs.add_node(dev, name, S_IFCHR | mode, rdev=rdev)
    for name, target in SYMLINKS.items():
        tmpfs.add_symlink(dev, name, target)
    for name, mode in DIRS.items():
        tmpfs.add_node(dev, name, S_IFDIR | mode)


def mount_devfs(at: Path, mem: PhysMem, clock: Callable[[], int]) -> Path:
    """Mount a populated devtmpfs on `at` (the /dev directory); returns its root."""
    root = tmpfs.mount_tmpfs(at, mem, clock, fstype="devtmpfs")
    populate(root)
    return root
