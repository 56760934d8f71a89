"""eventfd: a 64-bit counter as a file (Linux's fs/eventfd.c).

A write of 8 bytes adds to the counter, a read of 8 bytes or more takes it (all of it, or 1 in
EFD_SEMAPHORE mode); a read of 0 sleeps until something is written, a write that would
reach 2^64 - 1 sleeps until a read makes room (EAGAIN for O_NONBLOCK). Readable while the
counter is not 0, writable while one more can be added. A read notifies POLLOUT (room for
writers), a write POLLIN, as Linux wakes its one queue with exactly those keys (an epoll item
that asks only for EPOLLWRNORM hears neither).
"""

from __future__ import annotations

import struct

from twaron.arch.x86_64.constants import EFD_SEMAPHORE, O_NONBLOCK, POLLERR, POLLIN, POLLOUT
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, EOPNOTSUPP
from twaron.errors import KernelError
from twaron.fs.anon_inodes import AnonFile, AnonInodeFs
from twaron.fs.vfs import NonblockingReads
from twaron.wait import EVENT_IN, EVENT_OUT, WaitQueue, wait_event

ULLONG_MAX = (1 << 64) - 1
U64 = struct.Struct("<Q")


class EventFdFile(NonblockingReads, AnonFile):
    __slots__ = ("count", "semaphore", "wait")
    name = b"[eventfd]"
    may_block = True
    # nowait: reads take RWF_NOWAIT (eventfd_read is a read_iter)

    def __init__(self, anon: AnonInodeFs, count: int, flags: int) -> None:
        super().__init__(anon, flags)
        self.count = count
        self.semaphore = bool(flags & EFD_SEMAPHORE)
        self.wait = WaitQueue()

    def write_nowait(self, data: bytes) -> int:
        raise KernelError(EOPNOTSUPP)  # Linux's eventfd has no write_iter: no flag is taken

    def _read(self, n: int, nonblock: bool) -> bytes:
        if n < U64.size:
            raise KernelError(EINVAL)
        if not self.count:
            if nonblock:
                raise KernelError(EAGAIN)
            wait_event(((self.wait, EVENT_IN),), lambda: self.count)
        taken = 1 if self.semaphore else self.count
        self.count -= taken
        self.wait.notify(POLLOUT)  # Linux's key: EPOLLOUT alone (no WRNORM)
        return U64.pack(taken)  # consumed even if the copy to the caller then faults

    def write(self, data: bytes) -> int:
        if len(data) != U64.size:  # exactly 8 bytes (Linux 6.10 on; before: at least 8)
            raise KernelError(EINVAL)
        value = U64.unpack(data)[0]
        if value == ULLONG_MAX:
            raise KernelError(EINVAL)
        if ULLONG_MAX - self.count <= value:
            if self.flags & O_NONBLOCK:
                raise KernelError(EAGAIN)
            wait_event(((self.wait, EVENT_OUT),), lambda: ULLONG_MAX - self.count > value)
        self.count += value
        self.wait.notify(POLLIN)
        return U64.size

    def poll(self) -> int:
        """Linux's eventfd_poll: plain POLLIN/POLLOUT (no RDNORM/WRNORM); POLLERR only at
        2^64 - 1, which a write can never reach (only the kernel's own eventfd_signal)."""
        count = self.count
        mask = POLLIN if count else 0
        if count == ULLONG_MAX:
            mask |= POLLERR
        if count < ULLONG_MAX - 1:
            mask |= POLLOUT
        return mask

    def poll_queue(self) -> WaitQueue:
        return self.wait
