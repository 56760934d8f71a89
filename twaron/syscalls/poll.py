"""poll, ppoll, select, pselect6: wait for readiness on several files at once.

Built on the wait layer as Linux's do_poll/do_select are: poll every file, and if none is
ready, register on every file's wait queue for the events asked (plus error and hang-up),
sleep, and poll again when woken. The timeout is a deadline on the kernel clock, so that a
restart goes on with the time left: poll through restart_syscall(2), the others through the
time left that Linux writes back to the caller's timeout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
)
from twaron.arch.x86_64.errno import EBADF, EINVAL, ERESTARTSYS
from twaron.errors import KernelError, RestartBlock
from twaron.process import signal as sigs
from twaron.syscalls.fs import _nofile
from twaron.syscalls.table import s32, syscall
from twaron.syscalls.time import NSEC, read_timespec
from twaron.wait import NeedContext, WaitQueue, wait_event

if TYPE_CHECKING:
    from twaron.process.task import Task

POLLFD = struct.Struct("<ihh")
ALWAYS = POLLERR | POLLHUP | POLLNVAL
SELECT_READ = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR
SELECT_WRITE = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR
SELECT_EXCEPT = POLLPRI
Waits = list[tuple[WaitQueue, int]]


def _deadline(task: Task, timeout_ns: int | None) -> float | None:
    """A relative timeout as a deadline on the kernel clock (None: no timeout)."""
    if timeout_ns is None:
        return None
    return task.kernel.clock.monotonic() + timeout_ns / NSEC


def _sleep_for(task: Task, waits: Waits, scan: Callable[[], int],
               deadline: float | None) -> None:  # fmt: skip
    """Sleep until scan() finds something ready or the deadline passes (ERESTARTSYS if a
    signal comes first). A deadline already past (a zero timeout) only looks."""
    if deadline is not None and task.kernel.clock.monotonic() >= deadline:
        return
    wait_event(waits, scan, deadline)


# ---- poll ---------------------------------------------------------------------------------


def do_poll(task: Task, fds: int, nfds: int, deadline: float | None) -> int:
    """poll(2) until `deadline` (None: forever)."""
    if nfds > _nofile(task):
        raise KernelError(EINVAL)
    raw = task.mm.copy_in(fds, POLLFD.size * nfds)
    entries = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    files = task.files
    out = bytearray(raw)
    waits: Waits = []

    def scan() -> int:
        ready = 0
        for i, (fd, events, _rev) in enumerate(entries):
            revents = 0
            if fd >= 0:
                f = files.lookup(fd)
                revents = POLLNVAL if f is None else f.poll() & ((events & 0xFFFF) | ALWAYS)
            struct.pack_into("<h", out, i * POLLFD.size + 6, revents)
            ready += bool(revents)
        return ready

    ready = scan()
    if not ready:
        for fd, events, _rev in entries:
            f = files.lookup(fd) if fd >= 0 else None
            queue = f.poll_queue() if f is not None else None
            if queue is not None:
                waits.append((queue, (events & 0xFFFF) | ALWAYS))
        _sleep_for(task, waits, scan, deadline)
        ready = scan()
    task.mm.copy_out(fds, bytes(out))
    return ready


@syscall("poll")
def sys_poll(task: Task, fds: int, nfds: int, timeout: int, *_: int) -> int:
    ms = s32(timeout)
    return _poll_restartable(task, fds, nfds, None if ms < 0 else _deadline(task, ms * 1_000_000))


def _poll_restartable(task: Task, fds: int, nfds: int, deadline: float | None) -> int:
    """poll's ERESTART_RESTARTBLOCK: without a handler it goes on to the same deadline."""
    try:
        return do_poll(task, fds, nfds, deadline)
    except KernelError as e:
        if e.errno == ERESTARTSYS:
            raise RestartBlock(lambda t: _poll_restartable(t, fds, nfds, deadline)) from None
        raise


# ---- the temporary signal mask of ppoll and pselect6 ---------------------------------------


def _read_sigmask(task: Task, addr: int, size: int) -> int | None:
    if not addr:
        return None
    if size != 8:
        raise KernelError(EINVAL)
    return struct.unpack("<Q", task.mm.copy_in(addr, 8))[0]


def _timed(task: Task, deadline: float | None, addr: int, timeval: bool,
           call: Callable[[], int]) -> int:  # fmt: skip
    """Run a ppoll/select/pselect6 and write the time left back to the caller's timeout,
    as Linux's poll_select_finish does (when it returns, fails or is interrupted; a restart
    then goes on with what is left)."""
    if deadline is None or not addr:
        return call()
    try:
        result = call()
    except NeedContext:  # nothing happened yet: it runs again
        raise
    except BaseException:
        _write_left(task, deadline, addr, timeval)
        raise
    _write_left(task, deadline, addr, timeval)
    return result


def _write_left(task: Task, deadline: float, addr: int, timeval: bool) -> None:
    left = max(0, int((deadline - task.kernel.clock.monotonic()) * NSEC))
    sec, ns = divmod(left, NSEC)
    try:
        task.mm.copy_out(addr, struct.pack("<qq", sec, ns // 1000 if timeval else ns))
    except KernelError:
        pass  # Linux ignores a failed write-back of the time left


@syscall("ppoll")
def sys_ppoll(task: Task, fds: int, nfds: int, tsp: int, sigmask: int, size: int,
              *_: int) -> int:  # fmt: skip
    deadline = _deadline(task, read_timespec(task, tsp)) if tsp else None
    mask = _read_sigmask(task, sigmask, size)
    return _timed(task, deadline, tsp, False, lambda: sigs.with_sigmask(
        task, mask, lambda: do_poll(task, fds, nfds, deadline)))


# ---- select -------------------------------------------------------------------------------


def do_select(task: Task, n: int, rd: int, wr: int, ex: int, deadline: float | None) -> int:
    n = s32(n)
    if n < 0:
        raise KernelError(EINVAL)
    n = min(n, _nofile(task))
    nbytes = ((n + 63) // 64) * 8
    sets = [int.from_bytes(task.mm.copy_in(a, nbytes), "little") & ((1 << n) - 1) if a else 0
            for a in (rd, wr, ex)]  # fmt: skip
    wanted = sets[0] | sets[1] | sets[2]
    files = []
    fd = 0
    while wanted >> fd:
        if wanted & (1 << fd):
            f = task.files.lookup(fd)
            if f is None:
                raise KernelError(EBADF)
            files.append((fd, f))
        fd += 1
    results = [0, 0, 0]

    def scan() -> int:
        results[:] = [0, 0, 0]
        for fd, f in files:
            mask = f.poll()
            bit = 1 << fd
            for i, interest in enumerate((SELECT_READ, SELECT_WRITE, SELECT_EXCEPT)):
                if sets[i] & bit and mask & interest:
                    results[i] |= bit
        return sum(r.bit_count() for r in results)

    ready = scan()
    if not ready:
        waits = [(q, SELECT_READ | SELECT_WRITE | SELECT_EXCEPT)
                 for _, f in files if (q := f.poll_queue()) is not None]  # fmt: skip
        _sleep_for(task, waits, scan, deadline)
        ready = scan()
    for addr, value in zip((rd, wr, ex), results, strict=False):
        if addr:
            task.mm.copy_out(addr, value.to_bytes(nbytes, "little"))
    return ready


@syscall("select")
def sys_select(task: Task, n: int, rd: int, wr: int, ex: int, tvp: int, *_: int) -> int:
    deadline = None
    if tvp:
        sec, usec = struct.unpack("<qq", task.mm.copy_in(tvp, 16))
        if sec < 0 or not 0 <= usec < 1_000_000:
            raise KernelError(EINVAL)
        deadline = _deadline(task, sec * NSEC + usec * 1000)
    return _timed(task, deadline, tvp, True,
                  lambda: do_select(task, n, rd, wr, ex, deadline))


@syscall("pselect6")
def sys_pselect6(task: Task, n: int, rd: int, wr: int, ex: int, tsp: int, sig: int) -> int:
    deadline = _deadline(task, read_timespec(task, tsp)) if tsp else None
    mask = None
    if sig:
        mask_addr, size = struct.unpack("<QQ", task.mm.copy_in(sig, 16))
        mask = _read_sigmask(task, mask_addr, size)
    return _timed(task, deadline, tsp, False, lambda: sigs.with_sigmask(
        task, mask, lambda: do_select(task, n, rd, wr, ex, deadline)))
