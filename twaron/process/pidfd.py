"""pidfds: an fd that refers to a process (Linux's kernel/pid.c pidfd_fops).

A PidFile holds its ThreadGroup, so it keeps naming the same process whatever pid numbers do
later. It is readable (POLLIN) once the whole process has exited (a zombie, or reaped): the
group's `pidfd_wait` queue is notified when it becomes a zombie. It is what pidfd_open and
clone's CLONE_PIDFD return, and what pidfd_send_signal, pidfd_getfd and waitid(P_PIDFD) take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    O_NONBLOCK,
    O_RDWR,
    POLLIN,
    POLLRDNORM,
    RLIMIT_NOFILE,
)
from twaron.arch.x86_64.errno import EBADF, EOPNOTSUPP
from twaron.errors import KernelError
from twaron.fs.fdtable import NR_OPEN_DEFAULT, NR_OPEN_MAX
from twaron.fs.vfs import File, Path
from twaron.wait import WaitQueue

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup


class PidFile(File):
    """Linux 6.18's pidfs inode is a regular file to the VFS (fstat shows no type), with no
    setattr and no fallocate: ftruncate and fallocate get past the type checks and then
    fail with EOPNOTSUPP."""

    __slots__ = ("group",)
    regular_to_vfs = True

    def __init__(self, path: Path, group: ThreadGroup, flags: int) -> None:
        super().__init__(path, O_RDWR | (flags & O_NONBLOCK))
        self.group = group

    def truncate(self, size: int) -> None:
        raise KernelError(EOPNOTSUPP)

    def poll(self) -> int:
        """Linux's pidfd_poll: readable when the whole thread group has exited."""
        return POLLIN | POLLRDNORM if self.group.zombie else 0

    def poll_queue(self) -> WaitQueue:
        return self.group.pidfd_wait


def new_pidfd(task: Task, group: ThreadGroup, flags: int = 0) -> PidFile:
    return PidFile(task.kernel.fs.anon_inodes.path(b"[pidfd]"), group, flags)


def nofile_limit(task: Task) -> int:
    lim = task.group.rlimits.get(RLIMIT_NOFILE)
    return min(lim[0], NR_OPEN_MAX) if lim else NR_OPEN_DEFAULT


def install(task: Task, f: File, cloexec: bool = True) -> int:
    """Put f in the caller's fd table (a pidfd is always close-on-exec)."""
    try:
        return task.files.install(f, cloexec, 0, nofile_limit(task))
    except KernelError:
        f.put()
        raise


def pidfd_group(task: Task, fd: int) -> tuple[PidFile, ThreadGroup]:
    """The process a pidfd names; EBADF for any other fd (Linux's pidfd_get_pid)."""
    f = task.files.get(fd)
    if not isinstance(f, PidFile):
        raise KernelError(EBADF)
    return f, f.group


def signal_target(task: Task, fd: int) -> ThreadGroup:
    """pidfd_send_signal's process: a pidfd's, or that of an fd open on a /proc/PID
    directory (Linux's pidfd_to_pid, then tgid_pidfd_to_pid); EBADF for any other fd."""
    from twaron.fs.procfs import PidDir

    f = task.files.get(fd)
    if isinstance(f, PidFile):
        return f.group
    if isinstance(f.inode, PidDir) and f.inode.t0 is None:  # /proc/PID, not .../task/TID
        return f.inode.g
    raise KernelError(EBADF)


def clone_pidfd(task: Task, group: ThreadGroup, addr: int) -> int:
    """CLONE_PIDFD: a pidfd for the child in the caller's table, its number stored at addr
    (a bad addr fails the clone with EFAULT, as Linux's put_user there does)."""
    fd = install(task, new_pidfd(task, group))
    try:
        task.mm.copy_out(addr, fd.to_bytes(4, "little", signed=True))
    except KernelError:
        task.files.close(fd)
        raise
    return fd
