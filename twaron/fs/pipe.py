"""Pipes: a 64 KiB buffer between a read end and a write end (Linux's pipefs).

Readers and writers sleep in place on the pipe's two wait queues, as Linux's rd_wait and
wr_wait: a write notifies readers (EVENT_IN), a read that empties a full pipe notifies
writers (EVENT_OUT), the last writer's close hangs readers up (EVENT_HUP) and the last
reader's close fails writers (EVENT_ERR), on both queues. poll, select and epoll register on
the queue of their file's end (a FIFO open for both hears both), so that an epoll item on
one end is never told of what only concerns the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    F_GETPIPE_SZ,
    F_SETPIPE_SZ,
    FIONREAD,
    O_ACCMODE,
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
from twaron.errors import KernelError
from twaron.fs.vfs import FIFO_OPEN, File, Inode, NonblockingReads, SuperBlock, anon_path
from twaron.wait import (
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    WaitQueue,
    need_context,
    wait_event,
)

PIPE_BUF = 4096  # writes up to this size are atomic
PIPE_DEF_SIZE = 65536
PIPE_MAX_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size


def new_pipefs(clock: Callable[[], int]) -> SuperBlock:
    """A kernel's pipefs (each kernel has its own: inode numbers, device, clock)."""
    return SuperBlock("pipefs", magic=PIPEFS_MAGIC, clock=clock, pseudo=True)


class PipeInode(Inode):
    """An anonymous pipe's inode in pipefs; its Pipe stays with it, so that opening it again
    through /proc/PID/fd/N (or /dev/fd/N, /dev/stdin) reaches the same buffer, as on Linux."""

    __slots__ = ()


class Pipe:
    """The shared buffer and the two ends' counts (Linux's pipe_inode_info)."""

    __slots__ = ("buf", "capacity", "readers", "writers", "r_counter", "w_counter", "rd_wait",
                 "wr_wait", "rw_wait", "inode")  # fmt: skip

    def __init__(self, inode: Inode) -> None:
        self.buf = bytearray()
        self.capacity = PIPE_DEF_SIZE
        self.readers = 0
        self.writers = 0
        self.r_counter = self.w_counter = 0  # opens ever: a FIFO opener waits for a change
        self.rd_wait = WaitQueue()  # readers (and FIFO openers waiting for a partner)
        self.wr_wait = WaitQueue()  # writers
        self.rw_wait = WaitQueue()  # pollers of a FIFO open for reading and writing: both
        self.inode = inode

    def room(self) -> int:
        return self.capacity - len(self.buf)

    def wake_readers(self, events: int) -> None:
        self.rd_wait.notify(events)
        self.rw_wait.notify(events)

    def wake_writers(self, events: int) -> None:
        self.wr_wait.notify(events)
        self.rw_wait.notify(events)


class PipeFile(NonblockingReads, File):
    """One end of a pipe or FIFO."""

    __slots__ = ("pipe",)
    seekable = False
    may_block = True
    # nowait: create_pipe_files gives FMODE_NOWAIT (fifo_open does not: FifoFile)

    def __init__(self, pipe: Pipe, path: Any, flags: int) -> None:
        super().__init__(path, flags, pipe.inode)
        self.pipe = pipe
        if self.readable:
            pipe.readers += 1
        if self.writable:
            pipe.writers += 1

    def release(self) -> None:
        pipe = self.pipe
        events = 0
        if self.readable:
            pipe.readers -= 1
            events |= EVENT_ERR if not pipe.readers else 0
        if self.writable:
            pipe.writers -= 1
            events |= EVENT_HUP if not pipe.writers else 0
        if events:  # Linux's pipe_release wakes both queues
            pipe.rd_wait.notify(events)
            pipe.wake_writers(events)
        super().release()

    def write(self, data: bytes) -> int:
        return self._write(data, bool(self.flags & O_NONBLOCK))

    def write_nowait(self, data: bytes) -> int:
        return self._write(data, True)

    def _read(self, n: int, nonblock: bool) -> bytes:
        """Linux's pipe_read: EAGAIN on an empty pipe that has a writer under O_NONBLOCK or
        preadv2's RWF_NOWAIT, else a sleep for data or the last writer's close."""
        pipe = self.pipe
        if not pipe.buf and n:
            if pipe.writers == 0:
                return b""
            if nonblock:
                raise KernelError(EAGAIN)
            wait_event(((pipe.rd_wait, EVENT_IN | EVENT_HUP),),
                       lambda: pipe.buf or not pipe.writers)  # fmt: skip
        buf = pipe.buf
        was_full = pipe.room() < PIPE_BUF  # no POLLOUT: a writer may wait for this read
        data = bytes(buf[:n])
        del buf[:n]
        if data and was_full:  # Linux's pipe_read wakes writers only when it was full
            pipe.wake_writers(EVENT_OUT)  # (an edge-triggered epoll item sees no more)
        return data

    def _write(self, data: bytes, nonblock: bool) -> int:
        """Linux's pipe_write: all of it unless non-blocking (O_NONBLOCK or RWF_NOWAIT),
        sleeping for room as needed; a write of up to PIPE_BUF bytes lands in one piece;
        EPIPE once no reader is left. Interrupted after a part went in, it returns that part."""
        pipe = self.pipe
        n = len(data)
        if n == 0:
            return 0
        if not nonblock and n > pipe.room():
            need_context()  # it may sleep after writing a part
        want = n if n <= PIPE_BUF else 1  # room to wait for: all of an atomic write
        done = 0
        while True:
            if pipe.readers == 0:
                if done:
                    return done
                raise KernelError(EPIPE)  # the write syscall adds SIGPIPE
            room = pipe.room()
            if room >= n - done or (room and n > PIPE_BUF):
                take = min(room, n - done)
                pipe.buf += data[done : done + take]
                done += take
                pipe.wake_readers(EVENT_IN)
                if done == n:
                    return done
            if nonblock:
                if done:
                    return done
                raise KernelError(EAGAIN)
            try:
                wait_event(((pipe.wr_wait, EVENT_OUT | EVENT_ERR),),
                           lambda: pipe.room() >= want or not pipe.readers)  # fmt: skip
            except KernelError:
                if done:
                    return done
                raise

    def poll(self) -> int:
        pipe = self.pipe
        mask = 0
        if self.readable:
            if pipe.buf:
                mask |= POLLIN | POLLRDNORM
            if pipe.writers == 0:
                mask |= POLLHUP
        if self.writable:  # Linux's pipe_poll: room -> POLLOUT, no reader -> POLLERR (both)
            if pipe.room() >= PIPE_BUF:
                mask |= POLLOUT | POLLWRNORM
            if pipe.readers == 0:
                mask |= POLLERR
        return mask

    def poll_queue(self) -> WaitQueue:
        pipe = self.pipe
        if self.readable:
            return pipe.rw_wait if self.writable else pipe.rd_wait
        return pipe.wr_wait

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
            pipe.wake_writers(EVENT_OUT)
            return size
        raise KernelError(EINVAL)

    def link_name(self, root: Any) -> bytes:
        return b"pipe:[%d]" % self.inode.ino


def make_pipe(sb: SuperBlock, flags: int) -> tuple[PipeFile, PipeFile]:
    """pipe2: a new anonymous pipe's read and write ends, in pipefs sb."""
    inode = PipeInode(sb, S_IFIFO | 0o600)
    pipe = inode.pipe = Pipe(inode)
    path = anon_path(sb, inode, b"pipe:[%d]" % inode.ino)
    extra = flags & O_NONBLOCK
    return PipeFile(pipe, path, O_RDONLY | extra), PipeFile(pipe, path, O_WRONLY | extra)


# ---- FIFOs: named pipes in the file tree share one Pipe per inode ---------------------


class FifoFile(PipeFile):
    __slots__ = ()
    nowait = False  # RWF_NOWAIT: EOPNOTSUPP on a FIFO (Linux 6.18)

    def release(self) -> None:
        super().release()
        pipe = self.pipe
        if pipe.readers == 0 and pipe.writers == 0:
            pipe.inode.pipe = None  # Linux frees i_pipe with the last end

    def link_name(self, root: Any) -> bytes:
        return File.link_name(self, root)


class ReopenedPipeFile(PipeFile):
    """An anonymous pipe opened again through /proc/PID/fd/N: Linux's fifo_open made it, so
    it has no FMODE_NOWAIT (RWF_NOWAIT is EOPNOTSUPP), unlike the ends pipe2 made."""

    __slots__ = ()
    nowait = False


def fifo_open(task: Any, path: Any, flags: int) -> File:
    """open(2) of a FIFO: a reader waits for a writer and a writer for a reader (Linux's
    fifo_open: for a partner to open, even one that has closed again since), unless
    O_NONBLOCK; a non-blocking writer with no reader gets ENXIO."""
    inode = path.dentry.inode
    reader = flags & O_ACCMODE != O_WRONLY
    writer = flags & O_ACCMODE != O_RDONLY
    nonblock = flags & O_NONBLOCK
    pipe = inode.pipe
    if isinstance(inode, PipeInode):  # an anonymous pipe reopened through /proc/PID/fd/N
        return ReopenedPipeFile(pipe, path, flags)
    if pipe is None:
        pipe = inode.pipe = Pipe(inode)
    if writer and not reader and not pipe.readers and nonblock:
        raise KernelError(ENXIO)
    waits = not (reader and writer) and not (reader and nonblock) and \
        not (pipe.writers if reader else pipe.readers)
    if waits:
        need_context()  # the opener counts as an end while it waits
    f = FifoFile(pipe, path, flags)
    if reader:
        pipe.r_counter += 1
    if writer:
        pipe.w_counter += 1
    pipe.wake_readers(EVENT_IN | EVENT_OUT)  # Linux's wake_up_partner: rd_wait
    if waits:
        seen = pipe.w_counter if reader else pipe.r_counter
        try:
            wait_event(((pipe.rd_wait, EVENT_IN | EVENT_OUT),),
                       lambda: (pipe.w_counter if reader else pipe.r_counter) != seen)
        except BaseException:
            f.put()
            raise
    return f


FIFO_OPEN.append(fifo_open)
