"""The CPU platform interface: the only layer that knows Unicorn or KVM.

The kernel hands a task to Platform.run(); guest code runs in ring 3 until something needs the
kernel. System calls are answered synchronously through the kernel's syscall entry (a call
from inside the platform, so the cheap case costs no return to the run loop); everything else
comes back from run() as an Event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from twaron.mm.physmem import PhysMem
    from twaron.process.task import Task


class PlatformUnavailable(Exception):
    """The platform asked for cannot run on this host; the message says why."""


class Event(IntEnum):
    SYSCALL_STOP = 0  # a syscall asked to leave the CPU (block, exit, exec, reschedule)
    PAGE_FAULT = 1  # info: fault address (CR2)
    EXCEPTION = 2  # info: the x86 vector (#UD, #GP, #DE, ...)
    PREEMPT = 3  # the time slice ran out
    HALT = 4  # the platform stopped for a reason of its own


@dataclass(slots=True)
class UserRegs:
    """The ring-3 register file, as execve and signal delivery set it."""

    rip: int = 0
    rsp: int = 0
    rflags: int = 0x202
    rax: int = 0
    rbx: int = 0
    rcx: int = 0
    rdx: int = 0
    rsi: int = 0
    rdi: int = 0
    rbp: int = 0
    r8: int = 0
    r9: int = 0
    r10: int = 0
    r11: int = 0
    r12: int = 0
    r13: int = 0
    r14: int = 0
    r15: int = 0
    fs_base: int = 0
    gs_base: int = 0
    extra: dict[str, int] = field(default_factory=dict)


GPR_NAMES = (
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags", "fs_base", "gs_base",
)  # fmt: skip

# Called from inside run() for every syscall: (task, nr, a0..a5) -> value for rax, or None to
# leave the registers as the handler set them.
SyscallEntry = Callable[[object, int, int, int, int, int, int, int], "int | None"]


class Platform(Protocol):
    name: str

    def new_cpu(self) -> object:
        """Register state for a brand-new task in ring 3 (all zero until execve sets it)."""

    def fork_cpu(self, parent: Task) -> object:
        """A copy of parent's current register state (the child's return value is set after)."""

    def free_cpu(self, cpu: object) -> None: ...

    def run(self, task: Task) -> tuple[Event, int]:
        """Run task's user code until an event; returns (event, info)."""

    def get_regs(self, task: Task) -> UserRegs: ...

    def set_regs(self, task: Task, regs: UserRegs) -> None:
        """Replace task's whole user register file (execve, signal delivery, sigreturn)."""

    def set_reg(self, task: Task, name: str, value: int) -> None: ...

    def get_reg(self, task: Task, name: str) -> int: ...

    def restart_syscall(self, task: Task) -> int:
        """Make task re-execute the syscall it is in when it next runs (after a Block);
        returns the address of its syscall instruction."""

    def request_stop(self) -> None:
        """From inside a syscall: leave run() once this syscall returns."""

    def flush_tlb(self) -> None:
        """The current address space lost or narrowed mappings."""

    def flush_code(self) -> None:
        """Frames that held code are about to hold something else: drop all translations."""

    def close(self) -> None: ...


def create(name: str, mem: PhysMem, syscall_entry: SyscallEntry) -> Platform:
    """The platform named `name` ("auto", "unicorn" or "kvm")."""
    if name == "kvm":
        raise PlatformUnavailable("the KVM platform is not available yet: use --platform unicorn")
    if name not in ("auto", "unicorn"):
        raise PlatformUnavailable(f"unknown platform {name!r} (auto, unicorn or kvm)")
    from twaron.platform.unicorn import UnicornPlatform

    return UnicornPlatform(mem, syscall_entry)


def available() -> list[str]:
    """Platforms that can run on this host, best first."""
    return ["unicorn"]
