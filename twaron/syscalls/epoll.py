"""epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2.

The handlers decode arguments and check them in Linux's order; epoll itself is
fs/eventpoll.py. A wait sleeps on the epoll's own queue until its scan reports something,
the timeout passes, or a signal comes: then EINTR, never a restart (signal(7)). Without a
temporary signal mask it sleeps as wait_tail does, with no context of its own: the scan is
the rest of the call, run again at each wake-up.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import EPOLL_CLOEXEC, EPOLL_CTL_DEL, SIZEOF_EPOLL_EVENT
from twaron.arch.x86_64.errno import EINVAL
from twaron.errors import KernelError
from twaron.fs.eventpoll import EventPollFile, do_epoll_ctl
from twaron.process import signal as sigs
from twaron.syscalls.fs import _install, _user_range
from twaron.syscalls.poll import _read_sigmask
from twaron.syscalls.table import s32, syscall
from twaron.syscalls.time import NSEC, read_timespec
from twaron.wait import ALL_EVENTS, wait_tail

if TYPE_CHECKING:
    from twaron.process.task import Task

EPOLL_EVENT = struct.Struct("<IQ")
EP_MAX_EVENTS = 0x7FFF_FFFF // SIZEOF_EPOLL_EVENT


def _create(task: Task, flags: int) -> int:
    if flags & ~EPOLL_CLOEXEC:
        raise KernelError(EINVAL)
    return _install(task, EventPollFile(task.kernel.fs.anon_inodes, 0), bool(flags))


@syscall("epoll_create")
def sys_epoll_create(task: Task, size: int, *_: int) -> int:
    if s32(size) <= 0:
        raise KernelError(EINVAL)
    return _create(task, 0)


@syscall("epoll_create1")
def sys_epoll_create1(task: Task, flags: int, *_: int) -> int:
    return _create(task, flags & 0xFFFF_FFFF)


@syscall("epoll_ctl")
def sys_epoll_ctl(task: Task, epfd: int, op: int, fd: int, event: int, *_: int) -> int:
    op, fd = s32(op), s32(fd)
    events = data = 0
    if op != EPOLL_CTL_DEL:  # the event is read first: EFAULT before EBADF
        events, data = EPOLL_EVENT.unpack(task.mm.copy_in(event, SIZEOF_EPOLL_EVENT))
    epfile = task.files.get(s32(epfd))
    target = task.files.get(fd)
    do_epoll_ctl(epfile, op, target, fd, events, data, block_suspend=task.cred.euid == 0)
    return 0


def do_epoll_wait(task: Task, epfd: int, events: int, maxevents: int,
                  timeout_ns: int | None, tail: bool = True) -> int:  # fmt: skip
    """Up to maxevents ready events into the caller's array, waiting up to timeout_ns
    (None: for ever; 0: only look). tail: the wait may outlive this call's stack
    (wait_tail's stackless); not under a temporary signal mask, which must stay while it
    sleeps."""
    f = task.files.get(s32(epfd))
    maxevents = s32(maxevents)
    if not 0 < maxevents <= EP_MAX_EVENTS:
        raise KernelError(EINVAL)
    _user_range(events, maxevents * SIZEOF_EPOLL_EVENT)
    if not isinstance(f, EventPollFile):
        raise KernelError(EINVAL)
    copy_out = task.mm.copy_out

    def scan() -> int:
        return f.send_events(maxevents, lambda i, rec: copy_out(
            events + i * SIZEOF_EPOLL_EVENT, rec))

    if timeout_ns == 0:
        return scan()
    deadline = None if timeout_ns is None else task.kernel.clock.monotonic() + timeout_ns / NSEC
    # f is held while asleep, as Linux's fdget: another thread's close leaves it whole
    return wait_tail(((f.wq, ALL_EVENTS),), scan, deadline, 0, f, stackless=tail)


def _ms(timeout: int) -> int | None:
    ms = s32(timeout)
    return None if ms < 0 else ms * 1_000_000


@syscall("epoll_wait")
def sys_epoll_wait(task: Task, epfd: int, events: int, maxevents: int, timeout: int,
                   *_: int) -> int:  # fmt: skip
    return do_epoll_wait(task, epfd, events, maxevents, _ms(timeout))


def _pwait(task: Task, epfd: int, events: int, maxevents: int, timeout_ns: int | None,
           sigmask: int, size: int) -> int:  # fmt: skip
    """Under the caller's temporary signal mask; a signal that interrupts the wait runs
    its handler under that mask too (Linux's restore_saved_sigmask_unless(EINTR))."""
    mask = _read_sigmask(task, sigmask, size)
    if mask is None:  # epoll_wait itself (glibc's and musl's call this)
        return do_epoll_wait(task, epfd, events, maxevents, timeout_ns)
    return sigs.with_sigmask(task, mask, lambda: do_epoll_wait(
        task, epfd, events, maxevents, timeout_ns, tail=False))


@syscall("epoll_pwait")
def sys_epoll_pwait(task: Task, epfd: int, events: int, maxevents: int, timeout: int,
                    sigmask: int, size: int) -> int:  # fmt: skip
    return _pwait(task, epfd, events, maxevents, _ms(timeout), sigmask, size)


@syscall("epoll_pwait2")
def sys_epoll_pwait2(task: Task, epfd: int, events: int, maxevents: int, timeout: int,
                     sigmask: int, size: int) -> int:  # fmt: skip
    timeout_ns = read_timespec(task, timeout) if timeout else None
    return _pwait(task, epfd, events, maxevents, timeout_ns, sigmask, size)
