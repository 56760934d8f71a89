"""System information and randomness: uname, sysinfo, getrandom, sethostname, getcpu."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM, PAGE_SIZE
from twaron.arch.x86_64.errno import EINVAL, EPERM
from twaron.errors import KernelError
from twaron.syscalls.table import s32, syscall

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


@syscall("sethostname")
def sys_sethostname(task: Task, name: int, length: int, *_: int) -> int:
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    if s32(length) < 0 or length > UTS_LEN - 1:
        raise KernelError(EINVAL)
    task.kernel.hostname = task.mm.copy_in(name, length)
    return 0


@syscall("setdomainname")
def sys_setdomainname(task: Task, name: int, length: int, *_: int) -> int:
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    if s32(length) < 0 or length > UTS_LEN - 1:
        raise KernelError(EINVAL)
    task.kernel.domainname = task.mm.copy_in(name, length)
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
        len(k.tasks), 0, 0, 0, 1,
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


@syscall("sched_getaffinity")
def sys_sched_getaffinity(task: Task, pid: int, size: int, mask: int, *_: int) -> int:
    if size < 8 or size & 7:
        raise KernelError(EINVAL)
    task.mm.copy_out(mask, (1).to_bytes(8, "little"))
    return 8


@syscall("sched_setaffinity")
def sys_sched_setaffinity(task: Task, *_: int) -> int:
    return 0
