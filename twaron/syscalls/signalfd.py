"""signalfd and signalfd4 (the file is process/signalfd.py)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import SFD_CLOEXEC, SFD_NONBLOCK, SIZEOF_SIGSET
from twaron.arch.x86_64.errno import EINVAL
from twaron.errors import KernelError
from twaron.process.signalfd import SignalFdFile
from twaron.syscalls.fs import _install
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task


def do_signalfd4(task: Task, ufd: int, mask_addr: int, size: int, flags: int) -> int:
    """A new signalfd for the signals of the mask (ufd -1), or a new mask for signalfd
    ufd (its flags stay as they were; those given are only checked)."""
    if size != SIZEOF_SIGSET:
        raise KernelError(EINVAL)
    mask = struct.unpack("<Q", task.mm.copy_in(mask_addr, SIZEOF_SIGSET))[0]
    flags &= 0xFFFF_FFFF
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise KernelError(EINVAL)
    ufd = s32(ufd)
    if ufd == -1:
        f = SignalFdFile(task.kernel.fs.anon_inodes, mask, flags, task.kernel)
        return _install(task, f, bool(flags & SFD_CLOEXEC))
    f = task.files.get(ufd)
    if not isinstance(f, SignalFdFile):
        raise KernelError(EINVAL)
    f.set_mask(mask)
    task.group.sighand.signalfd_wait.notify()  # readers and pollers look again
    return ufd


@syscall("signalfd4")
def sys_signalfd4(task: Task, ufd: int, mask: int, size: int, flags: int, *_: int) -> int:
    return do_signalfd4(task, ufd, mask, size, flags)


@syscall("signalfd")
def sys_signalfd(task: Task, ufd: int, mask: int, size: int, *_: int) -> int:
    return do_signalfd4(task, ufd, mask, size, 0)
