"""Signal system calls: sigaction, masks, sigreturn, alternate stacks, kill."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import NSIG, SIGKILL, SIGSEGV, SIGSTOP
from twaron.arch.x86_64.errno import EAGAIN, EINTR, EINVAL, ENOMEM, EPERM, ESRCH
from twaron.clock import NSEC
from twaron.errors import KernelError
from twaron.process import sigframe
from twaron.process import signal as sigs
from twaron.syscalls.table import s32, syscall
from twaron.wait import sleep_until

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup

SIGSET_SIZE = 8
SI_USER, SI_TKILL = 0, -6
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SIGACTION = struct.Struct("<QQQQ")  # handler, flags, restorer, mask
MINSIGSTKSZ = 2048


@syscall("rt_sigaction")
def sys_rt_sigaction(task: Task, sig: int, act: int, oact: int, size: int, *_: int) -> int:
    sig = s32(sig)
    if size != SIGSET_SIZE or not 1 <= sig <= NSIG:
        raise KernelError(EINVAL)
    action = task.group.sighand.actions[sig]
    new = SIGACTION.unpack(task.mm.copy_in(act, SIGACTION.size)) if act else None
    if new is not None and sig in (SIGKILL, SIGSTOP):
        raise KernelError(EINVAL)
    if oact:
        task.mm.copy_out(oact, SIGACTION.pack(action.handler, action.flags, action.restorer,
                                              action.mask))  # fmt: skip
    if new is not None:
        handler, flags, restorer, mask = new
        task.group.sighand.actions[sig] = sigs.SigAction(
            handler, flags & 0xFFFF_FFFF, restorer, mask & ~sigs.UNBLOCKABLE
        )
        if sigs.is_ignored(task.group, sig):  # setting SIG_IGN discards what is pending
            sigs.flush_signal(task.group, sig)
    return 0


@syscall("rt_sigprocmask")
def sys_rt_sigprocmask(task: Task, how: int, nset: int, oset: int, size: int, *_: int) -> int:
    if size != SIGSET_SIZE:
        raise KernelError(EINVAL)
    old = task.blocked_signals
    if nset:
        mask = task.mm.read_u64(nset)
        how = s32(how)
        if how == SIG_BLOCK:
            new = old | mask
        elif how == SIG_UNBLOCK:
            new = old & ~mask
        elif how == SIG_SETMASK:
            new = mask
        else:
            raise KernelError(EINVAL)
        task.blocked_signals = new & ~sigs.UNBLOCKABLE
    if oset:
        task.mm.write_u64(oset, old)
    return 0


@syscall("rt_sigpending")
def sys_rt_sigpending(task: Task, addr: int, size: int, *_: int) -> int:
    if size > SIGSET_SIZE:
        raise KernelError(EINVAL)
    pending = (task.pending_signals | task.group.shared_pending) & task.blocked_signals
    task.mm.copy_out(addr, struct.pack("<Q", pending)[:size])
    return 0


@syscall("rt_sigreturn")
def sys_rt_sigreturn(task: Task, *_: int) -> None:
    task.restart_block = None  # a restart_syscall from here on fails EINTR (Linux's too)
    try:
        sigframe.restore_frame(task)
    except KernelError:
        sigs.force_signal(task, SIGSEGV)  # a corrupt frame: SIGSEGV, as Linux does
    return None


@syscall("rt_sigsuspend")
def sys_rt_sigsuspend(task: Task, mask: int, size: int, *_: int) -> int:
    """Sleep under a temporary mask until a signal is delivered; the handler runs under that
    mask and sigreturn brings the caller's back (ERESTARTNOHAND: without a handler, say a
    stop and continue, the call starts again)."""
    if size != SIGSET_SIZE:
        raise KernelError(EINVAL)
    (new,) = struct.unpack("<Q", task.mm.copy_in(mask, 8))
    sigs.with_sigmask(task, new, lambda: sleep_until(None))
    return 0  # not reached: only a signal ends the sleep


@syscall("restart_syscall")
def sys_restart_syscall(task: Task, *_: int) -> int:
    """Go on with a call that a signal interrupted (ERESTART_RESTARTBLOCK), where it was."""
    resume = task.restart_block
    if resume is None:
        raise KernelError(EINTR)
    ret = resume(task)
    task.restart_block = None
    return ret


@syscall("sigaltstack")
def sys_sigaltstack(task: Task, ss: int, old: int, *_: int) -> int:
    cur_sp, cur_flags, cur_size = task.sigaltstack
    rsp = task.kernel.platform.get_reg(task, "rsp")
    on_stack = cur_size and cur_sp <= rsp < cur_sp + cur_size
    if ss:
        sp, flags, _pad, size = struct.unpack("<QiiQ", task.mm.copy_in(ss, 24))
        if on_stack:
            raise KernelError(EPERM)
        if flags & ~(sigframe.SS_DISABLE | (1 << 31)):
            raise KernelError(EINVAL)
        if not flags & sigframe.SS_DISABLE and size < MINSIGSTKSZ:
            raise KernelError(ENOMEM)
    if old:
        flags_out = sigframe.SS_ONSTACK if on_stack else cur_flags
        task.mm.copy_out(old, struct.pack("<QiiQ", cur_sp, flags_out, 0, cur_size))
    if ss:
        disable = flags & sigframe.SS_DISABLE
        task.sigaltstack = (0, sigframe.SS_DISABLE, 0) if disable else (sp, 0, size)
    return 0


def _signal_targets(task: Task, pid: int) -> list[ThreadGroup]:
    """The processes kill(pid) names; zombies count (kill succeeds, the signal is dropped)."""
    groups = task.kernel.pids.groups
    if pid > 0:
        g = groups.get(pid)
        if g is None:  # a thread's tid names its process (kill_pid_info finds any task)
            t = task.kernel.pids.threads.get(pid)
            g = t.group if t is not None and not t.exited else None
        return [g] if g is not None else []
    if pid == 0:
        pgid = task.group.pgid
        return [g for g in groups.values() if g.pgid == pgid]
    if pid == -1:
        return [g for g in groups.values() if g.pid != 1 and g is not task.group]
    return [g for g in groups.values() if g.pgid == -pid]


def _may_signal(task: Task, target: ThreadGroup) -> bool:
    c = task.cred
    if c.euid == 0:
        return True
    t = target.tasks[0].cred if target.tasks else None
    return t is not None and (c.uid in (t.uid, t.suid) or c.euid in (t.uid, t.suid))


def _init_ignores(task: Task, group: ThreadGroup, sig: int, target: Task | None = None) -> bool:
    """A guest pid 1 gets only the signals it has handlers for or blocks, even from itself
    and even SIGKILL (Linux's SIGNAL_UNKILLABLE for a namespace's init)."""
    return sigs.init_drops(task.kernel, group, sig, target)


def _user_info(task: Task, sig: int, code: int = SI_USER) -> bytes:
    return sigs.siginfo(sig, code, pid=task.group.pid, uid=task.cred.uid)


@syscall("kill")
def sys_kill(task: Task, pid: int, sig: int, *_: int) -> int:
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= NSIG:
        raise KernelError(EINVAL)
    targets = _signal_targets(task, pid)
    if pid == -1:
        targets.append(task.group)
    if not targets:
        raise KernelError(ESRCH)
    allowed = [g for g in targets if _may_signal(task, g)]
    if not allowed:
        raise KernelError(EPERM)
    for g in allowed:
        if sig and not g.zombie and not _init_ignores(task, g, sig):
            sigs.send_signal(task.kernel, g, sig, _user_info(task, sig))
    return 0


def _thread(task: Task, tgid: int, tid: int, sig: int) -> Task:
    if tid <= 0 or not 0 <= sig <= NSIG or tgid == 0 or tgid < -1:
        raise KernelError(EINVAL)
    kernel = task.kernel
    target = kernel.pids.threads.get(tid)
    if target is None:  # a leader that exited before its threads is still there (a zombie)
        g = kernel.pids.groups.get(tid)
        if g is not None and not g.zombie and g.tasks and g.tasks[0].tid == tid:
            target = g.tasks[0]  # the signal is accepted and dropped (send_thread_signal)
    elif target.exited:
        target = None
    if target is None or (tgid > 0 and target.group.pid != tgid):
        raise KernelError(ESRCH)
    if not _may_signal(task, target.group):
        raise KernelError(EPERM)
    return target


def _send_to_thread(task: Task, target: Task, sig: int, info: bytes) -> None:
    if sig and not _init_ignores(task, target.group, sig, target):
        sigs.send_thread_signal(task.kernel, target, sig, info)


@syscall("tgkill")
def sys_tgkill(task: Task, tgid: int, tid: int, sig: int, *_: int) -> int:
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0:
        raise KernelError(EINVAL)
    target = _thread(task, tgid, tid, sig)
    _send_to_thread(task, target, sig, _user_info(task, sig, SI_TKILL))
    return 0


@syscall("tkill")
def sys_tkill(task: Task, tid: int, sig: int, *_: int) -> int:
    tid, sig = s32(tid), s32(sig)
    target = _thread(task, -1, tid, sig)
    _send_to_thread(task, target, sig, _user_info(task, sig, SI_TKILL))
    return 0


def _queued_info(task: Task, target_pid: int, sig: int, uinfo: int) -> bytes:
    """rt_sigqueueinfo's siginfo: a process may not pretend to be the kernel or kill()
    when signalling another process (si_code >= 0 or SI_TKILL: EPERM)."""
    raw = bytearray(task.mm.copy_in(uinfo, 128))
    code = int.from_bytes(raw[8:12], "little", signed=True)
    if (code >= 0 or code == SI_TKILL) and target_pid != task.group.pid:
        raise KernelError(EPERM)
    raw[0:4] = sig.to_bytes(4, "little")
    return bytes(raw)


@syscall("rt_sigqueueinfo")
def sys_rt_sigqueueinfo(task: Task, pid: int, sig: int, uinfo: int, *_: int) -> int:
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= NSIG:
        raise KernelError(EINVAL)
    group = task.kernel.pids.groups.get(pid)
    if group is None or pid <= 0:
        raise KernelError(ESRCH)
    if not _may_signal(task, group):
        raise KernelError(EPERM)
    info = _queued_info(task, pid, sig, uinfo)
    if sig and not group.zombie and not _init_ignores(task, group, sig):
        sigs.send_signal(task.kernel, group, sig, info)
    return 0


@syscall("rt_tgsigqueueinfo")
def sys_rt_tgsigqueueinfo(task: Task, tgid: int, tid: int, sig: int, uinfo: int,
                          *_: int) -> int:  # fmt: skip
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0:
        raise KernelError(EINVAL)
    target = _thread(task, tgid, tid, sig)
    _send_to_thread(task, target, sig, _queued_info(task, tgid, sig, uinfo))
    return 0


@syscall("rt_sigtimedwait")
def sys_rt_sigtimedwait(task: Task, uthese: int, uinfo: int, uts: int, size: int,
                        *_: int) -> int:  # fmt: skip
    """sigwaitinfo/sigtimedwait (Linux's do_sigtimedwait): take a pending signal of the set
    without running its handler; if none, sleep with the set unblocked (the real mask kept
    in real_blocked, so that unblocking does not make the signal fatal) until one comes
    (its number), the timeout (EAGAIN) or another signal (EINTR, never restarted)."""
    if size != SIGSET_SIZE:
        raise KernelError(EINVAL)
    (these,) = struct.unpack("<Q", task.mm.copy_in(uthese, 8))
    deadline, poll = None, False
    if uts:
        sec, nsec = struct.unpack("<qq", task.mm.copy_in(uts, 16))
        if sec < 0 or not 0 <= nsec < NSEC:
            raise KernelError(EINVAL)
        deadline = task.kernel.clock.monotonic() + sec + nsec / NSEC
        poll = sec == 0 and nsec == 0
    these &= ~sigs.UNBLOCKABLE
    taken = sigs.dequeue_signal(task, these)
    interrupted = False
    if taken is None and not poll:
        interrupted = _sigwait_sleep(task, these, deadline)
        taken = sigs.dequeue_signal(task, these)
    if taken is None:
        raise KernelError(EINTR if interrupted else EAGAIN)
    sig, info = taken
    if uinfo:
        task.mm.copy_out(uinfo, info or sigs.siginfo(sig, SI_USER))
    return sig


def _sigwait_sleep(task: Task, these: int, deadline: float | None) -> bool:
    """Sleep with the waited-for signals unblocked; True if a signal ended the sleep."""
    saved = task.blocked_signals
    task.real_blocked = saved
    task.sigwait_set = these
    task.blocked_signals = saved & ~these
    try:
        sleep_until(deadline)
    except KernelError:
        return True
    finally:
        task.blocked_signals = saved
        task.real_blocked = 0
        task.sigwait_set = 0
    return False


@syscall("pause")
def sys_pause(task: Task, *_: int) -> int:
    sleep_until(None)  # until a signal: ERESTARTNOHAND (the registry's rule)
    return 0
