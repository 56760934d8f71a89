"""Signals (Linux's kernel/signal.c): dispositions, generation, and taking a pending signal.

Per thread group: the handler table (Linux's sighand_struct) and shared pending signals.
Per task: the blocked mask and thread-directed pending signals. Generation (send_signal,
send_thread_signal, force_signal) queues a signal and wakes a thread that can take it; fatal,
stop and continue actions happen at once. get_signal(), on the way back to user mode, takes
the next deliverable signal, runs its default action or returns it for a handler; the x86-64
side (sigframe.py) pushes the handler's frame and settles an interrupted syscall.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from twaron.arch.x86_64.constants import (
    NSIG,
    SA_NOCLDSTOP,
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
from twaron.process import exit as exits
from twaron.wait import WaitQueue

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup

SIG_DFL = 0
SIG_IGN = 1
COREDUMP_FLAG = 0x80
CORE_SIGNALS = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ,
                SIGSYS}  # fmt: skip
IGNORED_BY_DEFAULT = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}
STOP_SIGNALS = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
# Faults a thread made itself: taken before any other pending signal (Linux's next_signal).
SYNCHRONOUS_MASK = sum(1 << (s - 1) for s in (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS))
SIGRTMIN = 34
SI_USER = 0
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6


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
    """The handler table, shared by the threads of a group; and the queue that signal
    generation notifies (Linux's sighand->signalfd_wqh), where signalfd readers and pollers
    wait for a signal to become pending."""

    def __init__(self, actions: list[SigAction] | None = None) -> None:
        self.actions = actions if actions is not None else [DEFAULT_ACTION] * (NSIG + 1)
        self.signalfd_wait = WaitQueue()

    def copy(self) -> SigHand:
        return SigHand(list(self.actions))

    def exec_reset(self) -> None:
        """execve: caught signals go back to their default; ignored stay ignored."""
        self.actions = [a if a.handler == SIG_IGN else DEFAULT_ACTION for a in self.actions]


def is_ignored(group: ThreadGroup, sig: int) -> bool:
    handler = group.sighand.actions[sig].handler
    return handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT)


def sig_ignored(task: Task | None, group: ThreadGroup, sig: int) -> bool:
    """Whether a signal for task (a process's: its leader) is dropped at once (Linux's
    sig_ignored): ignored, and not blocked - a blocked signal stays pending, for its handler
    may change before it is unblocked, and sigwaitinfo may take it."""
    if task is not None and (task.blocked_signals | task.real_blocked) & sigbit(sig):
        return False
    return is_ignored(group, sig)


def init_drops(kernel: Kernel, group: ThreadGroup, sig: int, task: Task | None = None) -> bool:
    """A guest pid 1 (Linux's SIGNAL_UNKILLABLE namespace init) drops the signals it has no
    handler for, even from itself and even SIGKILL - unless it blocks them (task: the
    thread a signal is for; the leader for a process's): those are queued, for sigwaitinfo
    or a handler set before they are unblocked."""
    if group is not kernel.init_group or kernel.kernel_init or not is_unhandled(group, sig):
        return False
    if task is None:
        task = group.tasks[0] if group.tasks else None
    return task is None or not (task.blocked_signals | task.real_blocked) & sigbit(sig)


class QueuedInfo(Protocol):
    """A siginfo kept pending by a kernel object rather than as bytes (a POSIX timer's
    entry): take() when the signal is dequeued gives its bytes (and lets the timer rearm);
    discard() when the pending signal is thrown away."""

    def take(self) -> bytes: ...

    def discard(self) -> None: ...


def _info_bytes(info: bytes | QueuedInfo | None) -> bytes | None:
    if info is None or isinstance(info, bytes):
        return info
    return info.take()


def _discard(info: object) -> None:
    if info is not None and not isinstance(info, bytes):
        info.discard()  # type: ignore[attr-defined]


def flush_signal(group: ThreadGroup, sig: int) -> None:
    """Throw away a pending sig, everywhere in the process (a disposition set to ignore)."""
    bit = sigbit(sig)
    group.shared_pending &= ~bit
    for info in group.rt_queue.pop(sig, ()):
        _discard(info)
    _discard(group.shared_info.pop(sig, None))
    for t in group.tasks:
        t.pending_signals &= ~bit
        _discard(t.pending_info.pop(sig, None))


def default_kills(sig: int) -> bool:
    return sig not in IGNORED_BY_DEFAULT and sig not in STOP_SIGNALS


def wait_status_for_signal(sig: int) -> int:
    """The wait(2) status of a process killed by sig."""
    return sig | (COREDUMP_FLAG if sig in CORE_SIGNALS else 0)


def is_unhandled(group: ThreadGroup, sig: int) -> bool:
    return group.sighand.actions[sig].handler in (SIG_DFL, SIG_IGN)


def unkillable(kernel: Kernel, group: ThreadGroup) -> bool:
    """A guest pid 1 (Linux's SIGNAL_UNKILLABLE init of a namespace)."""
    return group is kernel.init_group and not kernel.kernel_init


def pending_deliverable(task: Task) -> int:
    return (task.pending_signals | task.group.shared_pending) & ~task.blocked_signals


def next_signal(pending: int) -> int:
    """The signal to take first of a set of pending signal bits (0 if none): the lowest
    synchronous fault, else the lowest (Linux's next_signal)."""
    if not pending:
        return 0
    if pending & SYNCHRONOUS_MASK:
        pending &= SYNCHRONOUS_MASK
    return (pending & -pending).bit_length()


def dequeue_signal(task: Task, mask: int) -> tuple[int, bytes | None] | None:
    """Take one pending signal of `mask` (signal bits) for task: the thread's own first,
    then the process's (Linux's dequeue_signal); (sig, the siginfo it was queued with, or
    None if it has none of its own). None when no signal of mask is pending."""
    sig = next_signal(task.pending_signals & mask)
    if sig:
        task.pending_signals &= ~sigbit(sig)
        info = _info_bytes(task.pending_info.pop(sig, None))
        if task.fault_info is not None and task.fault_info[0] == sig:
            _, code, addr = task.fault_info
            task.fault_info = None
            info = siginfo(sig, code, addr=addr)
        return sig, info
    group = task.group
    sig = next_signal(group.shared_pending & mask)
    if not sig:
        return None
    queue = group.rt_queue.get(sig) if sig >= SIGRTMIN else None
    if queue:  # a real-time signal stays pending while more of it are queued
        info = queue.pop(0)
        if not queue:
            group.shared_pending &= ~sigbit(sig)
    else:
        group.shared_pending &= ~sigbit(sig)
        info = group.shared_info.pop(sig, None)
    return sig, _info_bytes(info)


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




def siginfo(sig: int, code: int = 0, pid: int = 0, uid: int = 0, addr: int | None = None,
            status: int = 0) -> bytes:  # fmt: skip
    """struct siginfo (128 bytes): kill-style fields, or the fault address for SIGSEGV & co."""
    head = struct.pack("<iii4x", sig, 0, code)
    if addr is not None:
        body = struct.pack("<Q", addr)
    else:
        body = struct.pack("<iIi", pid, uid, status)
    return (head + body).ljust(128, b"\0")


def child_info(group: ThreadGroup, sig: int, code: int = 0) -> bytes:
    """SIGCHLD's siginfo: CLD_EXITED/KILLED/DUMPED (or code), the child's pid, status."""
    status = group.exit_code or 0
    if not code:
        if status & 0x7F:
            code = CLD_DUMPED if status & 0x80 else CLD_KILLED
            value = status & 0x7F
        else:
            code, value = CLD_EXITED, (status >> 8) & 0xFF
    else:
        value = group.stop_signal if code == CLD_STOPPED else SIGCONT
    uid = group.tasks[0].cred.uid if group.tasks else 0
    return siginfo(sig, code, pid=group.pid, uid=uid, status=value)


# ---- generation ---------------------------------------------------------------------------


def send_signal(kernel: Kernel, group: ThreadGroup, sig: int,
                info: bytes | QueuedInfo | None = None) -> None:  # fmt: skip
    """Send sig to a process (kill(2)); fatal, stop and continue actions happen at once.
    info is the siginfo its handler will see (SI_USER without a sender by default)."""
    if sig == 0 or group.zombie:
        return
    if group is kernel.init_group and kernel.kernel_init:
        main = kernel.main_group
        if main is not None and not main.zombie:
            send_signal(kernel, main, sig)  # the minimal init forwards
        return
    if sig == SIGCONT:
        continue_group(kernel, group)
    if sig == SIGKILL or _fatal_now(group, sig, group.tasks):
        exits.group_exit(kernel, group, wait_status_for_signal(sig))
        return
    if sig in STOP_SIGNALS and _stop_now(group, sig, group.tasks):
        if sig == SIGSTOP or not orphaned_pgrp(kernel, group.pgid):
            stop_group(kernel, group, sig)
        return  # terminal stops are discarded in an orphaned process group
    bit = sigbit(sig)
    # Blocked signals are never ignored: the handler may change before they are unblocked,
    # and a signalfd or sigwaitinfo may take them (Linux's sig_ignored: the leader's mask).
    if sig_ignored(group.tasks[0] if group.tasks else None, group, sig):
        return
    fresh = sig >= SIGRTMIN or not group.shared_pending & bit
    if sig >= SIGRTMIN:  # real-time signals queue: each one is delivered
        group.rt_queue.setdefault(sig, []).append(info or siginfo(sig, SI_USER))
    elif fresh and info is not None:
        group.shared_info[sig] = info  # a standard signal is pending once: first info wins
    group.shared_pending |= bit
    if fresh:  # Linux's signalfd_notify, a wake-up without a key (not for a standard
        group.sighand.signalfd_wait.notify()  # signal already pending: legacy_queue)
    # complete_signal: the first thread that does not block it takes it
    for t in group.tasks:
        if not t.blocked_signals & bit and not t.exited:
            _signal_wake(kernel, t)
            break


def send_thread_signal(kernel: Kernel, task: Task, sig: int,
                       info: bytes | QueuedInfo | None = None) -> None:  # fmt: skip
    """tgkill/tkill: a signal for one thread."""
    group = task.group
    if sig == 0 or task.exited:
        return
    if sig == SIGCONT:
        continue_group(kernel, group)
    if sig == SIGKILL or _fatal_now(group, sig, [task]):
        exits.group_exit(kernel, group, wait_status_for_signal(sig))
        return
    if sig in STOP_SIGNALS and _stop_now(group, sig, [task]):
        if sig == SIGSTOP or not orphaned_pgrp(kernel, group.pgid):
            stop_group(kernel, group, sig)
        return
    bit = sigbit(sig)
    if sig_ignored(task, group, sig):
        return
    fresh = not task.pending_signals & bit
    if fresh and info is not None:
        task.pending_info[sig] = info
    task.pending_signals |= bit
    if fresh:
        group.sighand.signalfd_wait.notify()
    if not task.blocked_signals & bit:
        _signal_wake(kernel, task)


def force_signal(task: Task, sig: int, code: int = 0, addr: int = 0) -> None:
    """A synchronous fault of the task's own making (Linux's force_sig_fault): blocked or
    without a handler, it kills."""
    action = task.group.sighand.actions[sig]
    blocked = task.blocked_signals & sigbit(sig)
    if action.handler in (SIG_DFL, SIG_IGN) or blocked:
        exits.group_exit(task.kernel, task.group, wait_status_for_signal(sig))
        return
    task.pending_signals |= sigbit(sig)
    task.fault_info = (sig, code, addr)


def _fatal_now(group: ThreadGroup, sig: int, tasks: list[Task]) -> bool:
    """Linux's complete_signal: fatal at once for a thread that does not block it - in its
    real mask: sigtimedwait unblocks what it waits for, and that does not make it fatal."""
    action = group.sighand.actions[sig]
    bit = sigbit(sig)
    return (
        action.handler == SIG_DFL
        and default_kills(sig)
        and any(not (t.blocked_signals | t.real_blocked) & bit and not t.exited for t in tasks)
    )


def _stop_now(group: ThreadGroup, sig: int, tasks: list[Task]) -> bool:
    action = group.sighand.actions[sig]
    bit = sigbit(sig)
    return action.handler == SIG_DFL and any(
        not (t.blocked_signals | t.real_blocked | t.sigwait_set) & bit and not t.exited
        for t in tasks)


def _signal_wake(kernel: Kernel, task: Task) -> None:
    """The thread that takes a signal: woken from a sleep (its syscall then sees the signal
    and ends or restarts), or stopped at its next syscall if it is running."""
    if not task.runnable and not task.exited:
        task.wake()
    elif kernel.platform_current_is(task):
        kernel.platform.request_stop()


# ---- job control --------------------------------------------------------------------------


def orphaned_pgrp(kernel: Kernel, pgid: int) -> bool:
    """POSIX: no member has a parent in another process group of the same session."""
    for g in kernel.pids.in_pgrp(pgid):
        if not g.zombie:
            p = g.parent
            if p is not None and p.pgid != pgid and p.sid == g.sid:
                return False
    return True


def stop_group(kernel: Kernel, group: ThreadGroup, sig: int) -> None:
    """Default action of SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU: every thread stops."""
    group.shared_pending &= ~sigbit(SIGCONT)
    if group.stopped:
        return
    group.stopped = True
    group.stop_signal = sig
    group.stop_report = True
    group.continue_report = False
    if any(kernel.platform_current_is(t) for t in group.tasks):
        kernel.platform.request_stop()
    for t in list(group.tasks):  # a sleeping syscall ends (ERESTARTSYS) before the stop
        if t.context is not None and not t.runnable:
            kernel.syscalls.interrupt(t)
    _notify_parent_stop(kernel, group, CLD_STOPPED)


def continue_group(kernel: Kernel, group: ThreadGroup) -> None:
    """SIGCONT: a stopped process runs again (even if SIGCONT is ignored or blocked)."""
    for stop in STOP_SIGNALS:
        group.shared_pending &= ~sigbit(stop)
    if not group.stopped:
        return
    group.stopped = False
    group.stop_report = False
    group.continue_report = True
    for t in group.tasks:
        if t.runnable and not t.exited:
            kernel.sched.enqueue(t)
    _notify_parent_stop(kernel, group, CLD_CONTINUED)


def _notify_parent_stop(kernel: Kernel, group: ThreadGroup, code: int) -> None:
    parent = group.parent
    if parent is None:
        return
    if not parent.sighand.actions[SIGCHLD].flags & SA_NOCLDSTOP:
        send_signal(kernel, parent, SIGCHLD, child_info(group, SIGCHLD, code))
    parent.child_exit.notify()


# ---- taking a signal on the way to user mode ----------------------------------------------


def get_signal(task: Task) -> tuple[int, SigAction, bytes | None] | None:
    """The next deliverable signal that has a handler: (sig, action, siginfo), lowest first,
    after running the default action of those before it that have none (Linux's
    get_signal). None when nothing is left to deliver, when the task is gone, or when a stop
    signal stopped it (Linux stops inside get_signal and goes on looking after SIGCONT: a
    SIGCONT handler then still finds the interrupted syscall unsettled)."""
    kernel = task.kernel
    while not task.exited:
        taken = dequeue_signal(task, ~task.blocked_signals)
        if taken is None:
            return None
        sig, info = taken
        group = task.group
        action = group.sighand.actions[sig]
        if kernel.watch is not None:  # signal hooks, the timeline
            kernel.watch.signal_taken(task, sig, action.handler)
        if action.handler == SIG_IGN or (action.handler == SIG_DFL and unkillable(kernel, group)):
            continue  # a guest init takes no default action (queued while it was blocked)
        if action.handler == SIG_DFL:
            if default_kills(sig):
                exits.group_exit(kernel, group, wait_status_for_signal(sig))
            elif sig == SIGSTOP or (
                sig in STOP_SIGNALS and not orphaned_pgrp(kernel, group.pgid)
            ):
                stop_group(kernel, group, sig)
                return None  # the task stops here; the rest is taken after SIGCONT
            continue
        return sig, action, info or siginfo(sig, SI_USER)
    return None
