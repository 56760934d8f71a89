"""Signal delivery on x86-64 (Linux's arch/x86/kernel/signal.c): on the way back to user
mode, every signal get_signal() hands over gets an rt_sigframe pushed on the user stack and
the task pointed at its handler; rt_sigreturn reads the frame back. A syscall that a signal
interrupted is settled here too: EINTR, or the `syscall` instruction runs again.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTART, SIGSEGV
from twaron.arch.x86_64.errno import EINTR, ERESTART_RESTARTBLOCK, ERESTARTNOINTR, ERESTARTSYS
from twaron.arch.x86_64.unistd import SYSCALL_NUMBERS
from twaron.errors import KernelError
from twaron.platform.base import UserRegs
from twaron.process import exit as exits
from twaron.process.signal import (
    DEFAULT_ACTION,
    UNBLOCKABLE,
    SigAction,
    get_signal,
    sigbit,
    wait_status_for_signal,
)

if TYPE_CHECKING:
    from twaron.process.task import Task

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
NR_RESTART_SYSCALL = SYSCALL_NUMBERS["restart_syscall"]


def deliver_signals(task: Task) -> None:
    """On the way back to user mode (Linux's arch_do_signal_or_restart): a frame for every
    signal with a handler, each against the mask the previous handler left; then, if no
    handler ran, an interrupted syscall starts again and a temporary mask goes."""
    while (taken := get_signal(task)) is not None:
        sig, action, info = taken
        if task.restart_code:
            _restart_for_handler(task, action)
        saved = task.restore_mask_after_signal
        task.restore_mask_after_signal = None
        try:
            setup_frame(task, sig, action, info, saved)
        except KernelError:  # no room for the frame: Linux kills with SIGSEGV
            exits.group_exit(task.kernel, task.group, wait_status_for_signal(SIGSEGV))
    if task.exited or task.group.stopped:  # stopped: settled when it runs again
        return
    if task.restart_code:  # no handler ran: the call starts again
        code, task.restart_code = task.restart_code, 0
        _restart_syscall(task, NR_RESTART_SYSCALL if code == ERESTART_RESTARTBLOCK
                         else task.restart_nr)  # fmt: skip
    if task.restore_mask_after_signal is not None:  # sigsuspend & co., no handler ran
        task.blocked_signals = task.restore_mask_after_signal
        task.restore_mask_after_signal = None


def _restart_for_handler(task: Task, action: SigAction) -> None:
    """A handler runs over an interrupted call: EINTR, or with SA_RESTART (ERESTARTSYS) or
    always (ERESTARTNOINTR) the call runs again after the handler returns."""
    code, task.restart_code = task.restart_code, 0
    if code == ERESTARTNOINTR or code == ERESTARTSYS and action.flags & SA_RESTART:
        _restart_syscall(task, task.restart_nr)
    else:
        task.kernel.platform.set_reg(task, "rax", -EINTR)


def _restart_syscall(task: Task, nr: int) -> None:
    """Point the task at its `syscall` instruction again, with rax = nr."""
    platform = task.kernel.platform
    platform.set_reg(task, "rax", nr)
    platform.set_reg(task, "rip", platform.get_reg(task, "rip") - 2)



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
