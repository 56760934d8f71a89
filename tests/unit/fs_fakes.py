"""Fakes for the fs unit tests: a kernel, user memory in a bytearray, tasks with real
Task/FdTable/FsContext objects, and a way to call syscall handlers with guest pointers."""

from __future__ import annotations

import time
from typing import Any

from twaron.arch.x86_64.errno import EFAULT, ENAMETOOLONG
from twaron.errors import KernelError
from twaron.fs.fdtable import FdTable
from twaron.mm.physmem import PhysMem
from twaron.process.pid import PidTable
from twaron.process.task import Credentials, FsContext, Task, ThreadGroup

BASE = 0x10000


class FakeMM:
    """User memory [BASE, BASE+size) in a bytearray, with a bump allocator for tests."""

    def __init__(self, size: int = 1 << 20) -> None:
        self.buf = bytearray(size)
        self.top = BASE
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.vmas: list[Any] = []

    def _off(self, addr: int, n: int) -> int:
        off = addr - BASE
        if addr < BASE or off + n > len(self.buf) or n < 0:
            raise KernelError(EFAULT)
        return off

    def copy_in(self, addr: int, n: int) -> bytes:
        off = self._off(addr, n)
        return bytes(self.buf[off : off + n])

    def copy_out(self, addr: int, data: bytes) -> None:
        off = self._off(addr, len(data))
        self.buf[off : off + len(data)] = data

    def copy_out_pages(self, addr: int, cache: Any, offset: int, n: int) -> int:
        self.copy_out(addr, cache.read(offset, n))
        return n

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        off = self._off(addr, 1)
        end = self.buf.find(b"\0", off, off + limit)
        if end < 0:
            if off + limit > len(self.buf):
                raise KernelError(EFAULT)
            raise KernelError(ENAMETOOLONG)
        return bytes(self.buf[off:end])

    def alloc(self, data: bytes | int) -> int:
        """Place data (or n zero bytes) in user memory; returns its address."""
        if isinstance(data, int):
            data = bytes(data)
        addr = self.top
        self.copy_out(addr, data)
        self.top += (len(data) + 15) & ~15
        return addr

    def s(self, text: bytes | str) -> int:
        """A NUL-terminated string in user memory."""
        if isinstance(text, str):
            text = text.encode()
        return self.alloc(text + b"\0")


class FakeRng:
    def read(self, n: int) -> bytes:
        return bytes((i * 7 + 3) & 0xFF for i in range(n))


class FakeClock:
    deterministic = False  # as twaron.clock.Clock

    def __init__(self) -> None:
        self.boot = time.monotonic()

    def uptime(self) -> float:
        return time.monotonic() - self.boot

    def realtime(self) -> float:
        return time.time()

    def realtime_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeKernel:
    def __init__(self) -> None:
        self.mem = PhysMem(16 << 20)
        self.rng = FakeRng()
        self.pids = PidTable()
        self.clock = FakeClock()
        self.boot_time = time.monotonic()
        self.console: Any = None
        self.sched = None



def make_task(
    kernel: FakeKernel, root: Any, pid: int = 1, uid: int = 0, parent: ThreadGroup | None = None
) -> Task:
    group = ThreadGroup(pid, parent)
    cred = Credentials(uid, uid, uid, uid, uid, uid, uid, uid)
    task = Task(kernel, pid, group, FakeMM(), FdTable(), FsContext(root, root), cred)  # type: ignore[arg-type]
    task.comm = b"test"
    group.tasks.append(task)
    kernel.pids.groups[pid] = group
    return task


def boot(busybox: bool = False) -> tuple[FakeKernel, Any, Task]:
    """A kernel with the default rootfs (BusyBox only if asked: copying it costs time)."""
    from twaron.fs import rootfs

    k = FakeKernel()
    root = rootfs.build_default_rootfs(k, busybox="/bin/busybox" if busybox else "/nonexistent")
    return k, root, make_task(k, root)


def sc(task: Task, name: str, *args: int) -> int:
    """Call a syscall handler like the kernel does: -errno on KernelError."""
    from twaron.syscalls import registry

    handler = registry.load().by_name[name].handler
    assert handler is not None, name
    regs = [a & 0xFFFF_FFFF_FFFF_FFFF for a in args] + [0] * (6 - len(args))
    try:
        return handler(task, *regs)
    except KernelError as e:
        return -e.errno
