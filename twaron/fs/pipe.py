"""Pipes: a 64 KiB buffer between a read end and a write end (Linux's pipefs).

Blocking follows the kernel's rule: an operation that cannot proceed raises Block before it
has consumed or produced anything, and the syscall restarts when the other end wakes it.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    F_GETPIPE_SZ,
    F_SETPIPE_SZ,
    FIONREAD,
    O_NONBLOCK,
    O_RDONLY,
    O_WRONLY,
    PAGE_SIZE,
    PIPEFS_MAGIC,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    S_IFIFO,
)
from twaron.arch.x86_64.errno import EAGAIN, EBUSY, EINVAL, ENXIO, EPERM, EPIPE
from twaron.errors import Block, KernelError
from twaron.fs.vfs import FIFO_OPEN, File, Inode, SuperBlock, anon_path
from twaron.process.waitqueue import WaitQueue

PIPE_BUF = 4096  # writes up to this size are atomic
PIPE_DEF_SIZE = 65536
PIPE_MAX_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size

_pipefs: SuperBlock | None = None


def pipefs() -> SuperBlock:
    global _pipefs
    if _pipefs is None:
        _pipefs = SuperBlock("pipefs", magic=PIPEFS_MAGIC, pseudo=True)
    return _pipefs


class PipeInode(Inode):
    """An anonymous pipe's inode in pipefs; knows its Pipe, so that opening it again through
    /proc/PID/fd/N (or /dev/fd/N, /dev/stdin) reaches the same buffer, as on Linux."""

    __slots__ = ("pipe",)


class Pipe:
    """The shared buffer and the two ends' counts (Linux's pipe_inode_info)."""

    __slots__ = ("buf", "capacity", "readers", "writers", "wait", "inode")

    def __init__(self, inode: Inode) -> None:
        self.buf = bytearray()
        self.capacity = PIPE_DEF_SIZE
        self.readers = 0
        self.writers = 0
        self.wait = WaitQueue()  # both ends sleep here; any change wakes everyone
        self.inode = inode

    def changed(self) -> None:
        if self.wait.waiters:
            self.wait.wake_all()


class PipeFile(File):
    """One end of a pipe or FIFO."""

    __slots__ = ("pipe",)
    seekable = False
    writes_whole = True

    def __init__(self, pipe: Pipe, path: Any, flags: int) -> None:
        super().__init__(path, flags, pipe.inode)
        self.pipe = pipe
        if self.readable:
            pipe.readers += 1
        if self.writable:
            pipe.writers += 1

    def release(self) -> None:
        pipe = self.pipe
        if self.readable:
            pipe.readers -= 1
        if self.writable:
            pipe.writers -= 1
        pipe.changed()
        super().release()

    def read(self, n: int) -> bytes:
        pipe = self.pipe
        buf = pipe.buf
        if buf:
            data = bytes(buf[:n])
            del buf[:n]
            pipe.changed()
            return data
        if pipe.writers == 0 or n == 0:
            return b""
        if self.flags & O_NONBLOCK:
            raise KernelError(EAGAIN)
        raise Block(pipe.wait)

    def write(self, data: bytes) -> int:
        pipe = self.pipe
        if pipe.readers == 0:
            raise KernelError(EPIPE)  # the write syscall adds SIGPIPE
        room = pipe.capacity - len(pipe.buf)
        n = len(data)
        if n == 0:
            return 0
        if room < n and (n <= PIPE_BUF or room == 0):
            if self.flags & O_NONBLOCK:
                raise KernelError(EAGAIN)
            raise Block(pipe.wait)
        take = min(n, room)
        pipe.buf += data[:take]
        pipe.changed()
        return take

    def poll(self) -> int:
        pipe = self.pipe
        mask = 0
        if self.readable:
            if pipe.buf:
                mask |= POLLIN | POLLRDNORM
            if pipe.writers == 0:
                mask |= POLLHUP
        if self.writable:  # Linux's pipe_poll: room -> POLLOUT, no reader -> POLLERR (both)
            if pipe.capacity - len(pipe.buf) >= PIPE_BUF:
                mask |= POLLOUT | POLLWRNORM
            if pipe.readers == 0:
                mask |= POLLERR
        return mask

    def poll_queue(self) -> WaitQueue:
        return self.pipe.wait

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            task.mm.copy_out(arg, len(self.pipe.buf).to_bytes(4, "little"))
            return 0
        return super().ioctl(task, cmd, arg)

    def fcntl(self, cmd: int, arg: int) -> int:
        pipe = self.pipe
        if cmd == F_GETPIPE_SZ:
            return pipe.capacity
        if cmd == F_SETPIPE_SZ:
            if arg > PIPE_MAX_SIZE:
                raise KernelError(EPERM)
            size = max(PAGE_SIZE, 1 << max(0, (arg - 1).bit_length()))
            if size < len(pipe.buf):
                raise KernelError(EBUSY)
            pipe.capacity = size
            return size
        raise KernelError(EINVAL)

    def link_name(self, root: Any) -> bytes:
        return b"pipe:[%d]" % self.inode.ino


def make_pipe(flags: int) -> tuple[PipeFile, PipeFile]:
    """pipe2: a new anonymous pipe's read and write ends."""
    sb = pipefs()
    inode = PipeInode(sb, S_IFIFO | 0o600)
    pipe = inode.pipe = Pipe(inode)
    path = anon_path(sb, inode, b"pipe:[%d]" % inode.ino)
    extra = flags & O_NONBLOCK
    return PipeFile(pipe, path, O_RDONLY | extra), PipeFile(pipe, path, O_WRONLY | extra)


# ---- FIFOs: named pipes in the file tree share one Pipe per inode ---------------------

_fifos: dict[int, Pipe] = {}  # id(inode) -> Pipe, while any end is open


class FifoFile(PipeFile):
    __slots__ = ()

    def release(self) -> None:
        super().release()
        pipe = self.pipe
        if pipe.readers == 0 and pipe.writers == 0:
            _fifos.pop(id(pipe.inode), None)

    def link_name(self, root: Any) -> bytes:
        return File.link_name(self, root)


def fifo_open(task: Any, path: Any, flags: int) -> File:
    """open(2) of a FIFO: readers wait for a writer and writers for a reader (Linux's
    fifo_open), unless O_NONBLOCK; a non-blocking writer with no reader gets ENXIO."""
    inode = path.dentry.inode
    if isinstance(inode, PipeInode):  # an anonymous pipe reopened through /proc/PID/fd/N
        pipe = inode.pipe
        f: PipeFile = PipeFile(pipe, path, flags)
    else:
        pipe = _fifos.get(id(inode))
        if pipe is None:
            pipe = _fifos[id(inode)] = Pipe(inode)
        f = FifoFile(pipe, path, flags)
    nonblock = flags & O_NONBLOCK
    if f.writable and not f.readable and pipe.readers == 0:
        if nonblock:
            f.put()
            raise KernelError(ENXIO)
        task.kernel.sleep_after_syscall(task, pipe.wait)
    elif f.readable and not f.writable and pipe.writers == 0 and not nonblock:
        task.kernel.sleep_after_syscall(task, pipe.wait)
    pipe.changed()
    return f


FIFO_OPEN.append(fifo_open)
