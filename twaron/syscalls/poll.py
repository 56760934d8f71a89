"""poll, ppoll, select, pselect6: wait for readiness on several files at once.

A call that must wait sleeps on every file's poll queue (and on a timer for a timeout) and
is restarted from the beginning when any of them wakes it; the deadline is kept on the task
so that a restart does not start the timeout over.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

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
from twaron.arch.x86_64.errno import EBADF, EINTR, EINVAL
from twaron.errors import Block, KernelError
from twaron.process import signal as sigs
from twaron.syscalls.fs import _nofile
from twaron.syscalls.table import s32, syscall
from twaron.syscalls.time import NSEC, read_timespec

if TYPE_CHECKING:
    from twaron.process.task import Task

POLLFD = struct.Struct("<ihh")
ALWAYS = POLLERR | POLLHUP | POLLNVAL
SELECT_READ = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR
SELECT_WRITE = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR
SELECT_EXCEPT = POLLPRI


def _deadline(task: Task, timeout_ns: int | None) -> float | None:
    """The wait's end on the kernel clock, fixed at the first attempt (restarts keep it)."""
    if timeout_ns is None:
        return None
    if task.sleep_deadline is None:
        task.sleep_deadline = task.kernel.clock.monotonic() + timeout_ns / NSEC
    return task.sleep_deadline


def _wait(task: Task, queues: list[Any], deadline: float | None) -> None:
    """Sleep unless the deadline has passed (then the caller reports nothing ready)."""
    if deadline is not None and task.kernel.clock.monotonic() >= deadline:
        return
    if sigs.pending_deliverable(task):
        task.sleep_deadline = None
        raise KernelError(EINTR)
    raise Block(*{id(q): q for q in queues if q is not None}.values(), deadline=deadline)


def do_poll(task: Task, fds: int, nfds: int, timeout_ns: int | None) -> int:
    if nfds > _nofile(task):
        raise KernelError(EINVAL)
    raw = task.mm.copy_in(fds, POLLFD.size * nfds)
    entries = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    files = task.files
    out = bytearray(raw)
    ready = 0
    queues = []
    for i, (fd, events, _rev) in enumerate(entries):
        revents = 0
        if fd >= 0:
            f = files.lookup(fd)
            if f is None:
                revents = POLLNVAL
            else:
                revents = f.poll() & ((events & 0xFFFF) | ALWAYS)
                queues.append(f.poll_queue())
        struct.pack_into("<h", out, i * POLLFD.size + 6, revents)
        ready += bool(revents)
    if ready or timeout_ns == 0:
        task.sleep_deadline = None
        task.mm.copy_out(fds, bytes(out))
        return ready
    deadline = _deadline(task, timeout_ns)
    _wait(task, queues, deadline)
    task.sleep_deadline = None
    task.mm.copy_out(fds, bytes(out))
    return 0


@syscall("poll")
def sys_poll(task: Task, fds: int, nfds: int, timeout: int, *_: int) -> int:
    ms = s32(timeout)
    return do_poll(task, fds, nfds, None if ms < 0 else ms * 1_000_000)


def _with_sigmask(task: Task, mask_addr: int, size: int) -> None:
    """ppoll/pselect6: the mask holds for the wait; a handler then runs under it."""
    if not mask_addr:
        return
    if size != 8:
        raise KernelError(EINVAL)
    if task.saved_sigmask is None:
        (mask,) = struct.unpack("<Q", task.mm.copy_in(mask_addr, 8))
        task.saved_sigmask = task.blocked_signals
        task.blocked_signals = mask & ~sigs.UNBLOCKABLE


def _restore_sigmask(task: Task, interrupted: bool) -> None:
    if task.saved_sigmask is None:
        return
    if interrupted:
        task.restore_mask_after_signal = task.saved_sigmask
    else:
        task.blocked_signals = task.saved_sigmask
    task.saved_sigmask = None


def _masked(task: Task, mask_addr: int, size: int, call: Any) -> int:
    _with_sigmask(task, mask_addr, size)
    try:
        result = call()
    except Block:
        raise
    except KernelError as e:
        _restore_sigmask(task, e.errno == EINTR)
        raise
    _restore_sigmask(task, False)
    return result


@syscall("ppoll")
def sys_ppoll(task: Task, fds: int, nfds: int, tsp: int, sigmask: int, size: int,
              *_: int) -> int:  # fmt: skip
    timeout = read_timespec(task, tsp) if tsp else None
    return _timed(task, timeout, tsp, False,
                  lambda: _masked(task, sigmask, size, lambda: do_poll(task, fds, nfds, timeout)))


def _timed(task: Task, timeout_ns: int | None, addr: int, timeval: bool, call: Any) -> int:
    """Run a poll/select whose timeout Linux writes back: the time left, when it returns
    (ready, timed out or EINTR; a restart after Block keeps the first deadline)."""
    if timeout_ns is None or not addr:
        return call()
    deadline = _deadline(task, timeout_ns)
    try:
        return call()
    except KernelError as e:
        if e.errno == EINTR:
            _write_left(task, deadline, addr, timeval)
        raise
    finally:
        if task.sleep_deadline is None:  # finished (not blocked): report the time left
            _write_left(task, deadline, addr, timeval)


def _write_left(task: Task, deadline: float | None, addr: int, timeval: bool) -> None:
    left = max(0, int(((deadline or 0.0) - task.kernel.clock.monotonic()) * NSEC))
    sec, ns = divmod(left, NSEC)
    try:
        task.mm.copy_out(addr, struct.pack("<qq", sec, ns // 1000 if timeval else ns))
    except KernelError:
        pass  # Linux ignores a failed write-back of the time left


def do_select(task: Task, n: int, rd: int, wr: int, ex: int, timeout_ns: int | None) -> int:
    n = s32(n)
    if n < 0:
        raise KernelError(EINVAL)
    n = min(n, _nofile(task))
    nbytes = ((n + 63) // 64) * 8
    sets = [int.from_bytes(task.mm.copy_in(a, nbytes), "little") if a else 0 for a in (rd, wr, ex)]
    results = [0, 0, 0]
    queues = []
    files = task.files
    wanted = sets[0] | sets[1] | sets[2]
    fd = 0
    while wanted >> fd:
        bit = 1 << fd
        if wanted & bit:
            f = files.lookup(fd)
            if f is None:
                raise KernelError(EBADF)
            mask = f.poll()
            queues.append(f.poll_queue())
            for i, interest in enumerate((SELECT_READ, SELECT_WRITE, SELECT_EXCEPT)):
                if sets[i] & bit and mask & interest:
                    results[i] |= bit
        fd += 1
    ready = sum(bin(r).count("1") for r in results)
    if not ready and timeout_ns != 0:
        _wait(task, queues, _deadline(task, timeout_ns))
    task.sleep_deadline = None
    for addr, value in zip((rd, wr, ex), results, strict=False):
        if addr:
            task.mm.copy_out(addr, value.to_bytes(nbytes, "little"))
    return ready


@syscall("select")
def sys_select(task: Task, n: int, rd: int, wr: int, ex: int, tvp: int, *_: int) -> int:
    timeout = None
    if tvp:
        sec, usec = struct.unpack("<qq", task.mm.copy_in(tvp, 16))
        if sec < 0 or not 0 <= usec < 1_000_000:
            raise KernelError(EINVAL)
        timeout = sec * NSEC + usec * 1000
    return _timed(task, timeout, tvp, True, lambda: do_select(task, n, rd, wr, ex, timeout))


@syscall("pselect6")
def sys_pselect6(task: Task, n: int, rd: int, wr: int, ex: int, tsp: int, sig: int) -> int:
    timeout = read_timespec(task, tsp) if tsp else None
    mask_addr = size = 0
    if sig:
        mask_addr, size = struct.unpack("<QQ", task.mm.copy_in(sig, 16))
    return _timed(task, timeout, tsp, False, lambda: _masked(
        task, mask_addr, size, lambda: do_select(task, n, rd, wr, ex, timeout)))
