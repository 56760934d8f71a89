"""signalfd: pending signals read as records from a file (Linux's fs/signalfd.c).

A signalfd holds only a set of signals. Reading it takes signals of that set that are
pending for the reading thread - its own first, then its process's (signal.dequeue_signal)
- and returns one struct signalfd_siginfo (128 bytes) for each, filled from the siginfo the
signal was queued with. It is readable when a signal of the set is pending for the thread
that asks. Readers and pollers wait on the queue signal generation notifies
(SigHand.signalfd_wait, Linux's sighand->signalfd_wqh) of the caller's process: as in
Linux, which process a signalfd speaks of is decided by who reads or polls it.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    POLLIN,
    SIGBUS,
    SIGCHLD,
    SIGFPE,
    SIGILL,
    SIGIO,
    SIGSEGV,
    SIGSYS,
    SIGTRAP,
    SIZEOF_SIGNALFD_SIGINFO,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL
from twaron.errors import KernelError
from twaron.fs.anon_inodes import AnonFile, AnonInodeFs
from twaron.fs.vfs import NonblockingReads
from twaron.process.signal import UNBLOCKABLE, dequeue_signal, siginfo
from twaron.wait import EVENT_IN, WaitQueue, wait_event

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task

# struct signalfd_siginfo: signo, errno, code, pid, uid, fd, tid, band, overrun, trapno,
# status, int, ptr, utime, stime, addr, addr_lsb, pad, syscall, call_addr, arch, pad[28]
SIGNALFD_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQHHiQI28x")
assert SIGNALFD_SIGINFO.size == SIZEOF_SIGNALFD_SIGINFO

# si_code values that choose a siginfo's layout (include/uapi/asm-generic/siginfo.h)
SI_USER, SI_KERNEL, SI_TIMER, SI_SIGIO = 0, 0x80, -2, -5
BUS_MCEERR_AR, BUS_MCEERR_AO = 4, 5
KILL, TIMER, POLL, FAULT, FAULT_MCEERR, CHLD, RT, SYS = range(8)
# Per signal with codes of its own: the highest such code and the layout they use.
SIG_SICODES = {SIGILL: (11, FAULT), SIGFPE: (15, FAULT), SIGSEGV: (10, FAULT),
               SIGBUS: (5, FAULT), SIGTRAP: (6, FAULT), SIGCHLD: (6, CHLD), SIGIO: (6, POLL),
               SIGSYS: (2, SYS)}  # fmt: skip
NSIGPOLL = 6


def siginfo_layout(sig: int, code: int) -> int:
    """Which union member of the siginfo holds its fields (Linux's siginfo_layout)."""
    if SI_USER < code < SI_KERNEL:
        limit, layout = SIG_SICODES.get(sig, (-1, KILL))
        if code <= limit:
            if sig == SIGBUS and BUS_MCEERR_AR <= code <= BUS_MCEERR_AO:
                return FAULT_MCEERR
            return layout
        return POLL if code <= NSIGPOLL else KILL
    if code == SI_TIMER:
        return TIMER
    if code == SI_SIGIO:
        return POLL
    return RT if code < 0 else KILL


def signalfd_siginfo(sig: int, info: bytes | None) -> bytes:
    """The record a read returns for a signal queued with `info` (Linux's
    signalfd_copyinfo: the fields of the siginfo's layout, every other one 0)."""
    raw = info or siginfo(sig)
    signo, errno, code = struct.unpack_from("<iii", raw)
    layout = siginfo_layout(signo, code)
    pid = uid = fd = tid = band = overrun = status = value = ptr = utime = stime = 0
    addr = lsb = nr = call = arch = 0
    if layout in (KILL, RT, CHLD):
        pid, uid = struct.unpack_from("<II", raw, 16)
    if layout in (TIMER, RT):  # the sigval: as an int and as a pointer
        value, ptr = struct.unpack_from("<i", raw, 24)[0], struct.unpack_from("<Q", raw, 24)[0]
    if layout == TIMER:
        tid, overrun = struct.unpack_from("<II", raw, 16)
    elif layout == POLL:
        band, fd = struct.unpack_from("<qi", raw, 16)
        band &= 0xFFFF_FFFF  # ssi_band is 32 bits
    elif layout in (FAULT, FAULT_MCEERR):
        addr = struct.unpack_from("<Q", raw, 16)[0]
        if layout == FAULT_MCEERR:
            lsb = struct.unpack_from("<H", raw, 24)[0]
    elif layout == CHLD:
        status = struct.unpack_from("<i", raw, 24)[0]
        utime, stime = struct.unpack_from("<QQ", raw, 32)
    elif layout == SYS:
        call, nr, arch = struct.unpack_from("<QiI", raw, 16)
    return SIGNALFD_SIGINFO.pack(signo & 0xFFFF_FFFF, errno, code, pid, uid, fd, tid, band,
                                 overrun, 0, status, value, ptr, utime, stime, addr, lsb, 0,
                                 nr, call, arch)  # fmt: skip


class SignalFdFile(NonblockingReads, AnonFile):
    __slots__ = ("mask", "kernel")
    name = b"[signalfd]"
    may_block = True
    # nowait: signalfd_read_iter takes RWF_NOWAIT

    def __init__(self, anon: AnonInodeFs, mask: int, flags: int, kernel: Kernel) -> None:
        super().__init__(anon, flags)
        self.kernel = kernel  # for `current`: the thread whose signals a read takes
        self.set_mask(mask)

    def set_mask(self, mask: int) -> None:
        """The signals this signalfd takes (SIGKILL and SIGSTOP never)."""
        self.mask = mask & ~UNBLOCKABLE

    def _task(self) -> Task | None:
        return self.kernel.current

    def _read(self, n: int, nonblock: bool) -> bytes:
        """As many records as fit in n bytes (EINVAL below one): the first may wait for a
        signal (EAGAIN under O_NONBLOCK or RWF_NOWAIT), the others only take what is
        pending already."""
        count = n // SIZEOF_SIGNALFD_SIGINFO
        if not count:
            raise KernelError(EINVAL)
        task = self._task()
        assert task is not None  # a read runs in a syscall
        mask = self.mask
        taken = dequeue_signal(task, mask)
        if taken is None:
            if nonblock:
                raise KernelError(EAGAIN)
            taken = wait_event(((task.group.sighand.signalfd_wait, EVENT_IN),),
                               lambda: dequeue_signal(task, mask))  # fmt: skip
            assert taken is not None  # no deadline: a signal or an interruption ends it
        records = [signalfd_siginfo(*taken)]
        while len(records) < count and (taken := dequeue_signal(task, mask)) is not None:
            records.append(signalfd_siginfo(*taken))
        return b"".join(records)

    def poll(self) -> int:
        task = self._task()
        if task is None:
            return 0
        return POLLIN if (task.pending_signals | task.group.shared_pending) & self.mask else 0

    def poll_queue(self) -> WaitQueue | None:
        task = self._task()
        return task.group.sighand.signalfd_wait if task is not None else None
