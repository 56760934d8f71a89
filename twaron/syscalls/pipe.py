"""pipe and pipe2."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import O_CLOEXEC, O_DIRECT, O_NONBLOCK
from twaron.arch.x86_64.errno import EINVAL
from twaron.errors import KernelError
from twaron.fs.pipe import make_pipe
from twaron.syscalls.fs import _nofile
from twaron.syscalls.table import syscall

if TYPE_CHECKING:
    from twaron.process.task import Task


@syscall("pipe2")
def sys_pipe2(task: Task, fds: int, flags: int, *_: int) -> int:
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise KernelError(EINVAL)
    reader, writer = make_pipe(task.kernel.fs.pipefs, flags)
    files = task.files
    cloexec = bool(flags & O_CLOEXEC)
    limit = _nofile(task)
    try:
        rfd = files.install(reader, cloexec, limit=limit)
    except KernelError:
        reader.put()
        writer.put()
        raise
    try:
        wfd = files.install(writer, cloexec, limit=limit)
    except KernelError:
        files.close(rfd)
        writer.put()
        raise
    try:
        task.mm.copy_out(fds, struct.pack("<ii", rfd, wfd))
    except KernelError:
        files.close(rfd)
        files.close(wfd)
        raise
    return 0


@syscall("pipe")
def sys_pipe(task: Task, fds: int, *_: int) -> int:
    return sys_pipe2(task, fds, 0)
