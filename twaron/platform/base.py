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
from typing import TYPE_CHECKING, Any, Protocol

from twaron.config import DETERMINISTIC_NEEDS_UNICORN

if TYPE_CHECKING:
    from twaron.mm.physmem import PhysMem


class Thread(Protocol):
    """What a platform sees of a task (the kernel's process.task.Thread): its saved register
    state (made by new_cpu/fork_cpu), its address space (cr3: the PML4's guest-physical
    address; tlb_dirty: mappings narrowed since it last ran) and whether it is gone."""

    cpu: Any
    mm: Any
    exited: bool


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

    def fork_cpu(self, parent: Thread) -> object:
        """A copy of parent's current register state (the child's return value is set after)."""

    def free_cpu(self, cpu: object) -> None: ...

    def run(self, task: Thread) -> tuple[Event, int]:
        """Run task's user code until an event; returns (event, info)."""

    def get_regs(self, task: Thread) -> UserRegs: ...

    def set_regs(self, task: Thread, regs: UserRegs) -> None:
        """Replace task's whole user register file (execve, signal delivery, sigreturn)."""

    def set_reg(self, task: Thread, name: str, value: int) -> None: ...

    def get_reg(self, task: Thread, name: str) -> int: ...

    def finish_syscall(self, task: Thread, value: int) -> None:
        """A syscall that slept has its result: rax = value (and what the SYSCALL instruction
        leaves in rcx and r11), as if it had returned then. Called outside run()."""

    def request_stop(self) -> None:
        """From inside a syscall: leave run() once this syscall returns."""

    def flush_tlb(self) -> None:
        """The current address space lost or narrowed mappings."""

    def flush_code(self) -> None:
        """Frames that held code are about to hold something else: drop all translations."""

    def close(self) -> None: ...




def create(name: str, mem: PhysMem, syscall_entry: SyscallEntry,
           deterministic: bool = False) -> Platform:  # fmt: skip
    """The platform named `name` ("auto", "unicorn" or "kvm").

    deterministic: the Unicorn platform's deterministic mode (a code budget instead of the
    timer thread, virtual RDTSC, a fixed CPUID); "auto" is Unicorn then, and KVM refuses.

    "auto" follows the rule documented in README.md (Platforms): KVM when the host's
    SYSCALL enters guest ring 0 (hardware VMX/SVM: exits cost a few microseconds); where it
    does not (PVM: every exit from guest ring 3 costs tens of microseconds, more than Unicorn
    spends on a whole syscall) the tiered CPU (platform/tiered.py: each task on Unicorn or
    KVM by its measured exit rate); Unicorn without KVM. TWARON_PLATFORM=kvm|unicorn|tiered
    in the environment overrides it. "tiered" asks for the tiered CPU wherever KVM runs.
    """
    if name not in ("auto", "unicorn", "kvm", "tiered"):
        raise PlatformUnavailable(f"unknown platform {name!r} (auto, unicorn, kvm or tiered)")
    if deterministic:
        if name == "kvm":
            raise PlatformUnavailable(DETERMINISTIC_NEEDS_UNICORN)
        from twaron.platform.unicorn import UnicornPlatform

        return UnicornPlatform(mem, syscall_entry, deterministic=True)
    if name == "auto":
        name = auto_choice()
    if name == "tiered":
        why = kvm_unavailable_reason()
        if why:
            raise PlatformUnavailable(f"the tiered platform needs KVM: {why}")
        from twaron.platform.tiered import TieredPlatform

        return TieredPlatform(mem, syscall_entry)
    if name == "kvm":
        why = kvm_unavailable_reason()
        if why:
            raise PlatformUnavailable(f"the KVM platform cannot run here: {why}")
        from twaron.platform.kvm import KvmPlatform

        return KvmPlatform(mem, syscall_entry)
    from twaron.platform.unicorn import UnicornPlatform

    return UnicornPlatform(mem, syscall_entry)


_kvm_reason: list[str] = []


def kvm_unavailable_reason() -> str:
    """"" if /dev/kvm opens and can create a VM with a vCPU here, else why not (cached)."""
    if not _kvm_reason:
        try:
            from twaron.platform.kvm_sys import probe

            _kvm_reason.append(probe() or "")
        except Exception as e:  # noqa: BLE001 - any failure means: not available
            _kvm_reason.append(f"{type(e).__name__}: {e}")
    return _kvm_reason[0]


def auto_choice() -> str:
    """What "auto" runs on this host (see create())."""
    import os

    forced = os.environ.get("TWARON_PLATFORM", "")
    if forced in ("unicorn", "kvm", "tiered"):
        return forced
    if kvm_unavailable_reason():
        return "unicorn"
    try:
        from twaron.platform.kvm import entry_path

        return "kvm" if entry_path() == "lstar" else "tiered"
    except Exception:  # noqa: BLE001
        return "unicorn"


def available() -> list[str]:
    """Platforms that can run on this host, best first (the first is what "auto" picks)."""
    names = ["unicorn"]
    if not kvm_unavailable_reason():
        names += ["kvm", "tiered"]
        choice = auto_choice()
        names.remove(choice)
        names.insert(0, choice)
    return names
