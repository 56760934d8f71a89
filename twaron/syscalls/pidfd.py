"""pidfd_open, pidfd_send_signal and pidfd_getfd (CLONE_PIDFD and waitid's P_PIDFD are with
clone and waitid in syscalls/process.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import NSIG, PIDFD_NONBLOCK
from twaron.arch.x86_64.errno import EBADF, EINVAL, EPERM, ESRCH
from twaron.errors import KernelError
from twaron.process import pidfd
from twaron.process import signal as sigs
from twaron.syscalls.signal import SI_TKILL, _init_ignores, _may_signal, _user_info
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup


@syscall("pidfd_open")
def sys_pidfd_open(task: Task, pid: int, flags: int, *_: int) -> int:
    pid = s32(pid)
    if flags & 0xFFFF_FFFF & ~PIDFD_NONBLOCK or pid <= 0:
        raise KernelError(EINVAL)
    pids = task.kernel.pids
    group = pids.groups.get(pid)
    if group is None:
        # a thread that leads no process: its pid exists, but names no thread group
        raise KernelError(EINVAL if pid in pids.threads else ESRCH)
    return pidfd.install(task, pidfd.new_pidfd(task, group, flags))


def _alive(task: Task, group: ThreadGroup) -> bool:
    """Not reaped yet: the pid still names the process (a zombie does)."""
    return task.kernel.pids.groups.get(group.pid) is group


@syscall("pidfd_send_signal")
def sys_pidfd_send_signal(task: Task, fd: int, sig: int, uinfo: int, flags: int,
                          *_: int) -> int:  # fmt: skip
    if flags & 0xFFFF_FFFF:
        raise KernelError(EINVAL)
    group = pidfd.signal_target(task, s32(fd))
    sig = s32(sig)
    if uinfo:
        raw = bytearray(task.mm.copy_in(uinfo, 128))
        if int.from_bytes(raw[0:4], "little", signed=True) != sig:
            raise KernelError(EINVAL)
        code = int.from_bytes(raw[8:12], "little", signed=True)
        # a process may not pretend to be the kernel or kill() when signalling another
        if group is not task.group and (code >= 0 or code == SI_TKILL):
            raise KernelError(EPERM)
        info = bytes(raw)
    else:
        info = _user_info(task, sig)
    if not _alive(task, group):
        raise KernelError(ESRCH)
    if not 0 <= sig <= NSIG:
        raise KernelError(EINVAL)
    if not _may_signal(task, group):
        raise KernelError(EPERM)
    if sig and not group.zombie and not _init_ignores(task, group, sig):
        sigs.send_signal(task.kernel, group, sig, info)
    return 0


def _ptrace_may_access(task: Task, target: Task) -> bool:
    """PTRACE_MODE_ATTACH_REALCREDS: the same process, the same real ids all round, or
    CAP_SYS_PTRACE (root)."""
    if target.group is task.group or task.cred.euid == 0:
        return True
    c, t = task.cred, target.cred
    return (c.uid == t.uid == t.euid == t.suid) and (c.gid == t.gid == t.egid == t.sgid)


@syscall("pidfd_getfd")
def sys_pidfd_getfd(task: Task, fd: int, targetfd: int, flags: int, *_: int) -> int:
    if flags & 0xFFFF_FFFF:
        raise KernelError(EINVAL)
    _, group = pidfd.pidfd_group(task, s32(fd))
    # an exited process has no files: ESRCH (Linux 6.9 on; 6.1 said EBADF for a zombie)
    if not _alive(task, group) or not group.tasks or group.tasks[0].exited:
        raise KernelError(ESRCH)
    leader = group.tasks[0]
    if not _ptrace_may_access(task, leader):
        raise KernelError(EPERM)
    f = leader.files.lookup(s32(targetfd))
    if f is None:
        raise KernelError(EBADF)
    return pidfd.install(task, f.get())
