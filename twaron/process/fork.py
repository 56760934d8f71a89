"""fork, vfork and clone with fork-like flags (threads come later)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron import profile
from twaron.arch.x86_64.constants import (
    CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID,
    CLONE_PARENT_SETTID,
    CLONE_SETTLS,
    CLONE_VFORK,
    CLONE_VM,
    CSIGNAL,
    RLIM_INFINITY,
    RLIMIT_NPROC,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, EPERM
from twaron.errors import KernelError
from twaron.process.task import Task, ThreadGroup
from twaron.process.waitqueue import WaitQueue

if TYPE_CHECKING:
    from twaron.kernel import Kernel

FORK_LIKE = (
    CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID
    | CLONE_CHILD_CLEARTID
)  # fmt: skip


def do_fork(task: Task, flags: int, stack: int = 0, ptid: int = 0, ctid: int = 0,
            tls: int = 0) -> int:  # fmt: skip
    """Create a child process; returns its pid to the parent."""
    prof = profile.PROFILER
    t0 = prof.now() if prof else 0
    if flags & ~FORK_LIKE or (flags & CLONE_VM and not flags & CLONE_VFORK):
        raise KernelError(EINVAL)  # threads (CLONE_VM without VFORK, CLONE_THREAD) come later
    if flags & CLONE_SETTLS and tls >= USER_TOP:
        raise KernelError(EPERM)
    kernel = task.kernel
    parent = task.group
    cred = task.cred
    if cred.uid != 0 and cred.euid != 0:  # root and CAP_SYS_RESOURCE/ADMIN are exempt
        _check_nproc(kernel, parent, cred.uid)
    pid = kernel.alloc_pid()
    group = ThreadGroup(pid, parent)
    group.exit_signal = flags & CSIGNAL
    group.exe = parent.exe
    group.start_time = kernel.clock.monotonic()
    if flags & CLONE_VM:
        mm = task.mm
        mm.users += 1
    else:
        t1 = prof.now() if prof else 0
        platform = kernel.platform
        sp = platform.get_reg(task, "rsp")
        mm = task.mm.fork(hot=(sp, sp - 4096, platform.get_reg(task, "fs_base")))
        if prof:
            prof.phase("fork.mm.fork", t1, task.tid)
    child = Task(kernel, pid, group, mm, task.files.fork_copy(), task.fs.copy(), task.cred.copy())
    child.comm = task.comm
    child.blocked_signals = task.blocked_signals
    child.sigaltstack = task.sigaltstack
    child.cpu = kernel.platform.fork_cpu(task)
    if stack:
        kernel.platform.set_reg(child, "rsp", stack)
    if flags & CLONE_SETTLS:
        kernel.platform.set_reg(child, "fs_base", tls)
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = ctid
    # Linux ignores a bad parent_tid/child_tid pointer: the child exists either way.
    if flags & CLONE_PARENT_SETTID:
        try:
            task.mm.copy_out(ptid, pid.to_bytes(4, "little"))
        except KernelError:
            pass
    if flags & CLONE_CHILD_SETTID:
        try:
            mm.copy_out(ctid, pid.to_bytes(4, "little"))
        except KernelError:
            pass
    group.tasks.append(child)
    parent.children.append(group)
    kernel.tasks[pid] = group
    kernel.threads[pid] = child
    kernel.sched.enqueue(child)
    if flags & CLONE_VFORK:
        # The parent sleeps (after this call returns the pid) until the child execs or exits.
        child.vfork_done = WaitQueue()
        kernel.sleep_after_syscall(task, child.vfork_done)
    if prof:
        prof.phase("fork.do_fork", t0, task.tid)
    return pid


def _check_nproc(kernel: Kernel, parent: ThreadGroup, uid: int) -> None:
    """RLIMIT_NPROC: EAGAIN when the real user already has that many tasks (zombies count
    until reaped, as Linux's per-user count drops in release_task)."""
    soft = parent.rlimits.get(RLIMIT_NPROC, (RLIM_INFINITY,))[0]
    if soft == RLIM_INFINITY:
        return
    n = 0
    for g in kernel.tasks.values():
        if g.tasks and g.tasks[0].cred.uid == uid:
            n += len(g.tasks)
    if n >= soft:
        raise KernelError(EAGAIN)
