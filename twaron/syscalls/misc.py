"""System information and randomness: uname, sysinfo, getrandom, sethostname, getcpu;
futex (its queues: process/futex.py)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    FUTEX_CLOCK_REALTIME,
    FUTEX_CMP_REQUEUE,
    FUTEX_PRIVATE_FLAG,
    FUTEX_REQUEUE,
    FUTEX_WAIT,
    FUTEX_WAIT_BITSET,
    FUTEX_WAKE,
    FUTEX_WAKE_BITSET,
    FUTEX_WAKE_OP,
    GRND_INSECURE,
    GRND_NONBLOCK,
    GRND_RANDOM,
    PAGE_SIZE,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, ENOSYS, EPERM, ERESTARTSYS
from twaron.errors import KernelError, RestartBlock
from twaron.process import futex
from twaron.syscalls.table import s32, syscall
from twaron.syscalls.time import NSEC, read_timespec

if TYPE_CHECKING:
    from twaron.process.task import Task

UTS_LEN = 65
SYSNAME = b"Linux"
RELEASE = b"6.1.0-twaron"
VERSION = b"#1 SMP PREEMPT_DYNAMIC twaron"
MACHINE = b"x86_64"
MAX_GETRANDOM = 0x1FF_FFFF  # Linux caps one call at 32 MiB - 1


def uts_field(value: bytes) -> bytes:
    return value[: UTS_LEN - 1].ljust(UTS_LEN, b"\0")


@syscall("uname")
def sys_uname(task: Task, buf: int, *_: int) -> int:
    k = task.kernel
    data = b"".join(
        uts_field(v) for v in (SYSNAME, k.hostname, RELEASE, VERSION, MACHINE, k.domainname)
    )
    task.mm.copy_out(buf, data)
    return 0


def _set_uts_name(task: Task, name: int, length: int) -> bytes:
    """sethostname/setdomainname: root only, at most 64 bytes."""
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    if s32(length) < 0 or length > UTS_LEN - 1:
        raise KernelError(EINVAL)
    return task.mm.copy_in(name, length)


@syscall("sethostname")
def sys_sethostname(task: Task, name: int, length: int, *_: int) -> int:
    task.kernel.hostname = _set_uts_name(task, name, length)
    return 0


@syscall("setdomainname")
def sys_setdomainname(task: Task, name: int, length: int, *_: int) -> int:
    task.kernel.domainname = _set_uts_name(task, name, length)
    return 0


@syscall("getrandom")
def sys_getrandom(task: Task, buf: int, count: int, flags: int, *_: int) -> int:
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or (
        flags & GRND_INSECURE and flags & GRND_RANDOM
    ):
        raise KernelError(EINVAL)
    count = min(count, MAX_GETRANDOM)
    task.mm.copy_out(buf, task.kernel.rng.read(count))
    return count


@syscall("sysinfo")
def sys_sysinfo(task: Task, buf: int, *_: int) -> int:
    k = task.kernel
    mem = k.mem
    info = struct.pack(
        "<q3Q6QHHxxxxQQI",
        int(k.clock.uptime()),
        0, 0, 0,
        mem.size, mem.frames_free * PAGE_SIZE, 0, 0, 0, 0,
        len(k.pids.groups), 0, 0, 0, 1,
    )  # fmt: skip
    task.mm.copy_out(buf, info.ljust(112, b"\0"))
    return 0


@syscall("getcpu")
def sys_getcpu(task: Task, cpu: int, node: int, *_: int) -> int:
    if cpu:
        task.mm.copy_out(cpu, b"\0\0\0\0")
    if node:
        task.mm.copy_out(node, b"\0\0\0\0")
    return 0


# --------------------------------------------------------------------------- futex
# The wait queues live in process/futex.py (the kernel wakes a futex itself when a thread
# with CLONE_CHILD_CLEARTID exits); here the operations are decoded and checked.

FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
FUTEX_BITSET_MATCH_ANY = futex.BITSET_MATCH_ANY


def _futex_wait(task: Task, uaddr: int, val: int, timeout: int, bitset: int,
                absolute: bool, realtime: bool, private: bool) -> int:  # fmt: skip
    deadline = None
    if timeout:
        ns = read_timespec(task, timeout)
        clock = task.kernel.clock
        if absolute:
            now = clock.realtime_ns() if realtime else clock.monotonic_ns()
            ns = max(0, ns - now)
        deadline = clock.monotonic() + ns / NSEC
    return _futex_wait_until(task, uaddr, val, deadline, bitset, private)


def _futex_wait_until(task: Task, uaddr: int, val: int, deadline: float | None, bitset: int,
                      private: bool) -> int:  # fmt: skip
    """Linux's futex_wait: interrupted, a wait with a timeout is resumed by restart_syscall
    with the same deadline (ERESTART_RESTARTBLOCK: EINTR after a handler); one without is
    ERESTARTSYS (restarted after an SA_RESTART handler)."""
    try:
        return futex.wait(task, uaddr, val, deadline, bitset, private)
    except KernelError as e:
        if e.errno == ERESTARTSYS and deadline is not None:
            raise RestartBlock(lambda t: _futex_wait_until(t, uaddr, val, deadline, bitset,
                                                           private)) from None  # fmt: skip
        raise


def _wake_op(task: Task, uaddr2: int, encoded: int) -> bool:
    """FUTEX_WAKE_OP: *uaddr2 = old OP arg; return (old CMP cmparg)."""
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    arg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if arg & 0x800:
        arg -= 0x1000
    if cmparg & 0x800:
        cmparg -= 0x1000
    if op & 8:  # FUTEX_OP_OPARG_SHIFT
        if not 0 <= arg <= 31:
            raise KernelError(EINVAL)
        arg = 1 << arg
        op &= 7
    old = futex.word(task.mm, uaddr2)
    ops = {0: lambda: arg, 1: lambda: old + arg, 2: lambda: old | arg, 3: lambda: old & ~arg,
           4: lambda: old ^ arg}  # SET ADD OR ANDN XOR  # fmt: skip
    if op not in ops:
        raise KernelError(ENOSYS)
    task.mm.copy_out(uaddr2, (ops[op]() & 0xFFFFFFFF).to_bytes(4, "little"))
    sold = old - (1 << 32) if old & 0x80000000 else old
    cmps = {0: sold == cmparg, 1: sold != cmparg, 2: sold < cmparg, 3: sold <= cmparg,
            4: sold > cmparg, 5: sold >= cmparg}  # fmt: skip
    if cmp not in cmps:
        raise KernelError(ENOSYS)
    return cmps[cmp]


@syscall("futex")
def sys_futex(task: Task, uaddr: int, op: int, val: int, timeout: int, uaddr2: int,
              val3: int) -> int:  # fmt: skip
    cmd = op & FUTEX_CMD_MASK & 0xFFFFFFFF
    realtime = bool(op & FUTEX_CLOCK_REALTIME)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if realtime and cmd not in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        raise KernelError(ENOSYS)
    if uaddr & 3:
        raise KernelError(EINVAL)
    val &= 0xFFFFFFFF
    val3 &= 0xFFFFFFFF
    if cmd == FUTEX_WAIT:
        return _futex_wait(task, uaddr, val, timeout, FUTEX_BITSET_MATCH_ANY, False, realtime,
                           private)  # fmt: skip
    if cmd == FUTEX_WAIT_BITSET:
        if not val3:
            raise KernelError(EINVAL)
        return _futex_wait(task, uaddr, val, timeout, val3, True, realtime, private)
    kernel, mm = task.kernel, task.mm
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = FUTEX_BITSET_MATCH_ANY if cmd == FUTEX_WAKE else val3
        if not bitset:
            raise KernelError(EINVAL)
        return futex.wake(kernel, mm, uaddr, s32(val), bitset, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if uaddr2 & 3:
            raise KernelError(EINVAL)
        if cmd == FUTEX_CMP_REQUEUE and futex.word(mm, uaddr) != val3:
            raise KernelError(EAGAIN)
        woken = futex.wake(kernel, mm, uaddr, s32(val), FUTEX_BITSET_MATCH_ANY, private)
        # val2 (the timeout argument): how many to requeue
        return woken + futex.requeue(kernel, mm, uaddr, uaddr2, s32(timeout), private)
    if cmd == FUTEX_WAKE_OP:
        if uaddr2 & 3:
            raise KernelError(EINVAL)
        woken = futex.wake(kernel, mm, uaddr, s32(val), FUTEX_BITSET_MATCH_ANY, private)
        if _wake_op(task, uaddr2, val3):
            woken += futex.wake(kernel, mm, uaddr2, s32(timeout), FUTEX_BITSET_MATCH_ANY,
                                private)  # fmt: skip
        return woken
    raise KernelError(ENOSYS)  # the PI and FD operations


# ---- privileged operations a container does not get ---------------------------------------
# twaron's mount tree is fixed at boot (the root tmpfs, /proc, /dev). A guest's root is like
# root in a container without CAP_SYS_ADMIN / CAP_SYS_PTRACE under Docker's default seccomp
# profile: mount, umount2, pivot_root and ptrace fail with EPERM. chroot works (fs.py) and
# stays inside the guest's tree.
MNT_FLAGS = 0xF  # MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW


@syscall("mount", "pivot_root", "ptrace")
def sys_not_permitted(task: Task, *_: int) -> int:
    raise KernelError(EPERM)


@syscall("umount2")
def sys_umount2(task: Task, target: int, flags: int, *_: int) -> int:
    if flags & ~MNT_FLAGS:
        raise KernelError(EINVAL)
    raise KernelError(EPERM)
