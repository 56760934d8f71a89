"""eventfd and eventfd2 (the counter file itself is fs/eventfd.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE
from twaron.arch.x86_64.errno import EINVAL
from twaron.errors import KernelError
from twaron.fs.eventfd import EventFdFile
from twaron.syscalls.fs import _install
from twaron.syscalls.table import syscall

if TYPE_CHECKING:
    from twaron.process.task import Task


@syscall("eventfd2")
def sys_eventfd2(task: Task, count: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE):
        raise KernelError(EINVAL)
    f = EventFdFile(task.kernel.fs.anon_inodes, count & 0xFFFF_FFFF, flags)
    return _install(task, f, bool(flags & EFD_CLOEXEC))


@syscall("eventfd")
def sys_eventfd(task: Task, count: int, *_: int) -> int:
    return sys_eventfd2(task, count, 0)
