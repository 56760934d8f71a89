"""Signals: dispositions, pending and blocked sets, default actions.

Per thread group: the handler table (Linux's sighand_struct) and shared pending signals.
Per task: the blocked mask and thread-directed pending signals.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from twaron.arch.x86_64.constants import (
    NSIG,
    SA_NODEFER,
    SA_ONSTACK,
    SA_RESETHAND,
    SIGABRT,
    SIGBUS,
    SIGCHLD,
    SIGCONT,
    SIGFPE,
    SIGILL,
    SIGKILL,
    SIGQUIT,
    SIGSEGV,
    SIGSTOP,
    SIGSYS,
    SIGTRAP,
    SIGTSTP,
    SIGTTIN,
    SIGTTOU,
    SIGURG,
    SIGWINCH,
    SIGXCPU,
    SIGXFSZ,
)
from twaron.arch.x86_64.errno import ERESTARTSYS
from twaron.errors import KernelError
from twaron.platform.base import UserRegs

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup

SIG_DFL = 0
SIG_IGN = 1
COREDUMP_FLAG = 0x80
CORE_SIGNALS = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ,
                SIGSYS}  # fmt: skip
IGNORED_BY_DEFAULT = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}
STOP_SIGNALS = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def sigbit(sig: int) -> int:
    return 1 << (sig - 1)


class SigAction(NamedTuple):
    """One signal's disposition; immutable, so fork copies the table by reference."""

    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


DEFAULT_ACTION = SigAction()


class SigHand:
    """The handler table, shared by the threads of a group."""

    def __init__(self, actions: list[SigAction] | None = None) -> None:
        self.actions = actions if actions is not None else [DEFAULT_ACTION] * (NSIG + 1)

    def copy(self) -> SigHand:
        return SigHand(list(self.actions))

    def exec_reset(self) -> None:
        """execve: caught signals go back to their default; ignored stay ignored."""
        self.actions = [a if a.handler == SIG_IGN else DEFAULT_ACTION for a in self.actions]


def is_ignored(group: ThreadGroup, sig: int) -> bool:
    handler = group.sighand.actions[sig].handler
    return handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT)


def default_kills(sig: int) -> bool:
    return sig not in IGNORED_BY_DEFAULT and sig not in STOP_SIGNALS


def wait_status_for_signal(sig: int) -> int:
    """The wait(2) status of a process killed by sig."""
    return sig | (COREDUMP_FLAG if sig in CORE_SIGNALS else 0)


def is_unhandled(group: ThreadGroup, sig: int) -> bool:
    return group.sighand.actions[sig].handler in (SIG_DFL, SIG_IGN)


def pending_deliverable(task: Task) -> int:
    return (task.pending_signals | task.group.shared_pending) & ~task.blocked_signals


T = TypeVar("T")


def with_sigmask(task: Task, mask: int | None, call: Callable[[], T]) -> T:
    """Run call (which may sleep) under a temporary signal mask, as sigsuspend, ppoll and
    pselect6 do. If a signal interrupts it, the handler runs under that mask too and the
    caller's comes back at sigreturn, or at once if no handler runs (Linux's
    set_restore_sigmask); otherwise the caller's mask is back when call returns."""
    if mask is None:
        return call()
    saved = task.blocked_signals
    task.blocked_signals = mask & ~UNBLOCKABLE
    try:
        result = call()
    except KernelError as e:
        if e.errno >= ERESTARTSYS:
            task.restore_mask_after_signal = saved
        else:
            task.blocked_signals = saved
        raise
    except BaseException:  # NeedContext (the call runs again from the start), a killed task
        task.blocked_signals = saved
        raise
    task.blocked_signals = saved
    return result


# ---- the x86-64 signal frame (arch/x86/kernel/signal.c's rt_sigframe) -----------------

SS_ONSTACK = 1
SS_DISABLE = 2
REDZONE = 128
UC_STACK = 24
SIGCONTEXT_REGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
                   "rbx", "rdx", "rax", "rcx", "rsp", "rip", "rflags")  # fmt: skip
# pretcode, then ucontext: flags, link, stack_t, sigcontext (256), sigmask; then siginfo
UCONTEXT_OFF = 8
MCONTEXT_OFF = UCONTEXT_OFF + 16 + UC_STACK
SIGMASK_OFF = MCONTEXT_OFF + 256
SIGINFO_OFF = SIGMASK_OFF + 8
FRAME_SIZE = SIGINFO_OFF + 128
USER_CS = 0x33


def siginfo(sig: int, code: int = 0, pid: int = 0, uid: int = 0, addr: int | None = None,
            status: int = 0) -> bytes:  # fmt: skip
    """struct siginfo (128 bytes): kill-style fields, or the fault address for SIGSEGV & co."""
    head = struct.pack("<iii4x", sig, 0, code)
    if addr is not None:
        body = struct.pack("<Q", addr)
    else:
        body = struct.pack("<iIi", pid, uid, status)
    return (head + body).ljust(128, b"\0")


def setup_frame(task: Task, sig: int, action: SigAction, info: bytes,
                saved_mask: int | None = None) -> None:
    """Push an rt_sigframe and point the task at its handler."""
    platform = task.kernel.platform
    regs = platform.get_regs(task)
    sp = regs.rsp
    ss_sp, ss_flags, ss_size = task.sigaltstack
    on_alt = ss_size and ss_sp <= sp < ss_sp + ss_size
    if action.flags & SA_ONSTACK and not ss_flags & SS_DISABLE and not on_alt:
        sp = ss_sp + ss_size
    else:
        sp -= REDZONE
    frame = ((sp - FRAME_SIZE) & ~0xF) - 8  # as if called: (rsp + 8) is 16-byte aligned
    mcontext = struct.pack("<18Q", *(getattr(regs, r) for r in SIGCONTEXT_REGS))
    mcontext += struct.pack("<HHHH", USER_CS, 0, 0, 0x2B)
    old_mask = task.blocked_signals if saved_mask is None else saved_mask
    mcontext += struct.pack("<4Q", 0, 0, old_mask, 0) + bytes(8 + 64)
    stack_t = struct.pack("<QiiQ", ss_sp, SS_ONSTACK if on_alt else ss_flags, 0, ss_size)
    data = (
        struct.pack("<Q", action.restorer)
        + struct.pack("<QQ", 0, 0)
        + stack_t
        + mcontext
        + struct.pack("<Q", old_mask)
        + info
    )
    task.mm.copy_out(frame, data)  # a bad stack is the caller's to turn into SIGSEGV
    new = UserRegs(rip=action.handler, rsp=frame, rflags=regs.rflags & ~0x100,
                   rdi=sig, rsi=frame + SIGINFO_OFF, rdx=frame + UCONTEXT_OFF,
                   fs_base=regs.fs_base, gs_base=regs.gs_base)  # fmt: skip
    platform.set_regs(task, new)
    task.blocked_signals |= action.mask | (0 if action.flags & SA_NODEFER else sigbit(sig))
    task.blocked_signals &= ~UNBLOCKABLE
    if action.flags & SA_RESETHAND:
        task.group.sighand.actions[sig] = DEFAULT_ACTION


def restore_frame(task: Task) -> None:
    """rt_sigreturn: the handler returned into the restorer; rsp points past pretcode."""
    platform = task.kernel.platform
    frame = platform.get_reg(task, "rsp") - 8
    raw = task.mm.copy_in(frame, SIGINFO_OFF)
    values = struct.unpack_from("<18Q", raw, MCONTEXT_OFF)
    regs = platform.get_regs(task)
    for name, value in zip(SIGCONTEXT_REGS, values, strict=False):
        setattr(regs, name, value)
    # User code may only change the arithmetic flags and the like, never IOPL or VM.
    regs.rflags = (regs.rflags & 0x0000_0000_0025_4DD5) | 0x202
    platform.set_regs(task, regs)
    (mask,) = struct.unpack_from("<Q", raw, SIGMASK_OFF)
    task.blocked_signals = mask & ~UNBLOCKABLE
    ss_sp, ss_flags, _pad, ss_size = struct.unpack_from("<QiiQ", raw, UCONTEXT_OFF + 16)
    if not task.sigaltstack[1] & SS_ONSTACK:
        task.sigaltstack = (ss_sp, ss_flags & SS_DISABLE, ss_size)
