"""File change notification: inotify, and fcntl's F_NOTIFY (dnotify) with the file-owner
commands that say where its signal goes (F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    DN_MULTISHOT,
    F_GETOWN,
    F_GETSIG,
    F_NOTIFY,
    F_SETOWN,
    F_SETSIG,
    IN_ALL_EVENTS,
    IN_CLOEXEC,
    IN_DONT_FOLLOW,
    IN_EXCL_UNLINK,
    IN_IGNORED,
    IN_ISDIR,
    IN_MASK_ADD,
    IN_MASK_CREATE,
    IN_NONBLOCK,
    IN_ONESHOT,
    IN_ONLYDIR,
    IN_Q_OVERFLOW,
    IN_UNMOUNT,
    NSIG,
    POLL_MSG,
    POLLIN,
    POLLMSG,
    POLLRDNORM,
    SI_KERNEL,
    SIGIO,
)
from twaron.arch.x86_64.errno import EINVAL, ENOTDIR, ESRCH
from twaron.errors import KernelError
from twaron.fs import dnotify, vfs
from twaron.fs.fown import owner_of
from twaron.fs.inotify import InotifyFile
from twaron.fs.vfs import MAY_READ, File, permission
from twaron.process import signal as sigs
from twaron.syscalls.fs import FCNTL_CMDS, _install, _pathname
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task

ALL_INOTIFY_BITS = (
    IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT
)  # fmt: skip
SIGPOLL_INFO = struct.Struct("<iii4xqi")  # signo, errno, code; si_band, si_fd
INT_MIN = -(1 << 31)


# ---- inotify ----------------------------------------------------------------------------


@syscall("inotify_init1")
def sys_inotify_init1(task: Task, flags: int, *_: int) -> int:
    flags = s32(flags)
    if flags & ~(IN_CLOEXEC | IN_NONBLOCK):
        raise KernelError(EINVAL)
    fs = task.kernel.fs
    f = InotifyFile(fs.anon_inodes.path(b"inotify"), flags & IN_NONBLOCK,
                    fs.inotify_max_queued_events)  # fmt: skip
    return _install(task, f, bool(flags & IN_CLOEXEC))


@syscall("inotify_init")
def sys_inotify_init(task: Task, *_: int) -> int:
    return sys_inotify_init1(task, 0)


def _instance(task: Task, fd: int) -> InotifyFile:
    f = task.files.get(s32(fd))
    if not isinstance(f, InotifyFile):
        raise KernelError(EINVAL)
    return f


@syscall("inotify_add_watch")
def sys_inotify_add_watch(task: Task, fd: int, pathname: int, mask: int, *_: int) -> int:
    mask &= 0xFFFF_FFFF
    if not mask & ALL_INOTIFY_BITS:
        raise KernelError(EINVAL)
    if mask & IN_MASK_ADD and mask & IN_MASK_CREATE:
        raise KernelError(EINVAL)
    group = _instance(task, fd)
    path = vfs.lookup(task, _pathname(task, pathname), not mask & IN_DONT_FOLLOW)
    if mask & IN_ONLYDIR and not path.inode.is_dir:
        raise KernelError(ENOTDIR)
    permission(path.inode, MAY_READ, task.cred)
    return group.add_watch(path.inode, mask)


@syscall("inotify_rm_watch")
def sys_inotify_rm_watch(task: Task, fd: int, wd: int, *_: int) -> int:
    _instance(task, fd).rm_watch(s32(wd))
    return 0


# ---- file owners and dnotify (fcntl) ------------------------------------------------------


def send_sigio(kernel: Kernel, f: File, fd: int, reason: int = POLL_MSG) -> None:
    """Linux's send_sigio: the owner's F_SETSIG signal with si_fd and si_band, or a plain
    SIGIO (SI_KERNEL) when none was set."""
    owner = f.owner
    if owner is None or not owner.pid:
        return
    groups = kernel.pids.groups
    if owner.pgrp:
        targets = [g for g in groups.values() if g.pgid == owner.pid]
    else:
        g = groups.get(owner.pid)
        targets = [g] if g is not None else []
    sig = owner.signum
    if sig:
        band = POLLIN | POLLRDNORM | POLLMSG  # Linux's band_table[POLL_MSG - POLL_IN]
        info = SIGPOLL_INFO.pack(sig, 0, reason, band, fd).ljust(128, b"\0")
    else:
        sig, info = SIGIO, sigs.siginfo(SIGIO, SI_KERNEL)
    for g in targets:
        sigs.send_signal(kernel, g, sig, info)


def fcntl_notify(task: Task, fd: int, f: File, arg: int) -> int:
    """F_NOTIFY: watch the directory f for DN_* events (no event bits: stop watching). The
    signal goes to the file's owner, the caller unless F_SETOWN named one first."""
    arg &= 0xFFFF_FFFF
    if arg & ~DN_MULTISHOT and not f.inode.is_dir:
        raise KernelError(ENOTDIR)
    kernel = task.kernel
    dnotify.set_watch(f, fd, arg, lambda file, n: send_sigio(kernel, file, n))
    owner = owner_of(f)
    if not owner.pid:
        owner.pid, owner.pgrp = task.group.pid, False
    return 0


def fcntl_setown(task: Task, fd: int, f: File, arg: int) -> int:
    who = s32(arg)
    if who == INT_MIN:
        raise KernelError(EINVAL)
    pgrp = who < 0
    who = -who if pgrp else who
    if who:
        groups = task.kernel.pids.groups
        if who not in groups and not any(g.pgid == who for g in groups.values()):
            raise KernelError(ESRCH)
    owner = owner_of(f)
    owner.pid, owner.pgrp = who, pgrp and bool(who)
    return 0


def fcntl_getown(task: Task, fd: int, f: File, arg: int) -> int:
    owner = f.owner
    if owner is None:
        return 0
    return -owner.pid if owner.pgrp else owner.pid


def fcntl_setsig(task: Task, fd: int, f: File, arg: int) -> int:
    sig = s32(arg)
    if not 0 <= sig <= NSIG:
        raise KernelError(EINVAL)
    owner_of(f).signum = sig
    return 0


def fcntl_getsig(task: Task, fd: int, f: File, arg: int) -> int:
    return f.owner.signum if f.owner is not None else 0


FCNTL_CMDS.update({
    F_NOTIFY: fcntl_notify,
    F_SETOWN: fcntl_setown,
    F_GETOWN: fcntl_getown,
    F_SETSIG: fcntl_setsig,
    F_GETSIG: fcntl_getsig,
})
