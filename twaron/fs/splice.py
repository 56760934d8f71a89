"""Splicing: moving data between a pipe and a file, or between two pipes, without a user
buffer (Linux's fs/splice.c): the pipe ends of splice, tee and vmsplice, and the file ends.

A pipe here is a byte buffer with a capacity in bytes (twaron's pipes), where Linux's is a
ring of page-sized buffers: "room" is counted in bytes. Every wait happens before anything
moves, so a call that sleeps can be run again from its start. EPIPE is raised where Linux
sends SIGPIPE too; the syscall layer sends it.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import MAX_RW_COUNT, S_IFCHR, S_IFMT, S_IFREG
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, EPIPE
from twaron.errors import KernelError
from twaron.fs.pipe import Pipe, PipeFile
from twaron.fs.vfs import File
from twaron.wait import EVENT_ERR, EVENT_HUP, EVENT_IN, EVENT_OUT, wait_event


def pipe_of(f: File) -> Pipe | None:
    """get_pipe_info: the pipe behind an anonymous pipe's or a FIFO's end, else None."""
    return f.pipe if isinstance(f, PipeFile) else None


def wait_data(pipe: Pipe, nonblock: bool) -> bool:
    """ipipe_prep: until the pipe has data (True) or no writer is left (False, EOF)."""
    while not pipe.buf:
        if not pipe.writers:
            return False
        if nonblock:
            raise KernelError(EAGAIN)
        wait_event(((pipe.rd_wait, EVENT_IN | EVENT_HUP),), lambda: pipe.buf or not pipe.writers)
    return True


def wait_room(pipe: Pipe, nonblock: bool) -> None:
    """opipe_prep / wait_for_space: until the pipe has room; EPIPE once no reader is left."""
    while True:
        if not pipe.readers:
            raise KernelError(EPIPE)
        if pipe.room() > 0:
            return
        if nonblock:
            raise KernelError(EAGAIN)
        wait_event(((pipe.wr_wait, EVENT_OUT | EVENT_ERR),),
                   lambda: pipe.room() > 0 or not pipe.readers)  # fmt: skip


def push(pipe: Pipe, data: bytes) -> None:
    if data:
        pipe.buf += data
        pipe.wake_readers(EVENT_IN)


def pull(pipe: Pipe, n: int, consume: bool = True) -> bytes:
    data = bytes(pipe.buf[:n])
    if consume and data:
        del pipe.buf[:n]
        pipe.wake_writers(EVENT_OUT)
    return data


def pipe_to_pipe(src: Pipe, dst: Pipe, n: int, nonblock: bool, consume: bool) -> int:
    """splice_pipe_to_pipe (consume) and link_pipe (tee): as much of n as src holds and
    dst has room for; 0 when src is empty with no writer left."""
    if not wait_data(src, nonblock):
        if not dst.readers:
            raise KernelError(EPIPE)
        return 0
    wait_room(dst, nonblock)
    data = pull(src, min(n, dst.room()), consume)
    push(dst, data)
    return len(data)


def splice_readable(f: File) -> bool:
    """Whether the file has a ->splice_read: regular files and character devices (and
    procfs's files); not directories."""
    return f.inode.mode & S_IFMT in (S_IFREG, S_IFCHR)


def file_to_pipe(f: File, pipe: Pipe, offset: int, n: int, nonblock: bool) -> bytes:
    """splice_file_to_pipe: wait for room, then read at offset (-1: the file's own position
    moves, for files without one) at most what fits."""
    if not splice_readable(f):
        raise KernelError(EINVAL)
    wait_room(pipe, nonblock)
    n = min(n, pipe.room(), MAX_RW_COUNT)
    data = f.read(n) if offset < 0 else f.pread(n, offset)
    push(pipe, data)
    return data


def pipe_to_file(pipe: Pipe, n: int, nonblock: bool, write: Any) -> int:
    """iter_file_splice_write: wait for data (0 at EOF), then write(data) what the pipe
    holds up to n; what the file did not take stays in the pipe."""
    if not wait_data(pipe, nonblock):
        return 0
    data = pull(pipe, n, consume=False)
    done = write(data)
    pull(pipe, done)
    return done
