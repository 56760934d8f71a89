"""fork, vfork and clone: new processes, and new threads of a process (CLONE_THREAD)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron import profile
from twaron.arch.x86_64.constants import (
    CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID,
    CLONE_DETACHED,
    CLONE_FILES,
    CLONE_FS,
    CLONE_IO,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_PARENT,
    CLONE_PARENT_SETTID,
    CLONE_PTRACE,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_SYSVSEM,
    CLONE_THREAD,
    CLONE_UNTRACED,
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
from twaron.wait import ALL_EVENTS, WaitQueue, need_context, wait_event

if TYPE_CHECKING:
    from twaron.kernel import Kernel

SUPPORTED = (
    CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE | CLONE_VFORK
    | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID | CLONE_IO
)  # fmt: skip
SS_DISABLE = 2


def check_flags(task: Task, flags: int) -> None:
    """Linux's copy_process checks, in its order; then what twaron does not do (namespaces,
    pidfds): EINVAL."""
    if flags & CLONE_FS and flags & (CLONE_NEWNS | CLONE_NEWUSER):
        raise KernelError(EINVAL)
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise KernelError(EINVAL)
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise KernelError(EINVAL)
    kernel = task.kernel
    if flags & CLONE_PARENT and task.group is kernel.init_group and not kernel.kernel_init:
        raise KernelError(EINVAL)  # init is SIGNAL_UNKILLABLE
    if flags & CLONE_THREAD and flags & (CLONE_NEWUSER | CLONE_NEWPID):
        raise KernelError(EINVAL)
    if flags & ~SUPPORTED:
        raise KernelError(EINVAL)


def do_fork(task: Task, flags: int, stack: int = 0, ptid: int = 0, ctid: int = 0,
            tls: int = 0) -> int:  # fmt: skip
    """Create a child process or thread; returns its pid (tid) to the caller."""
    prof = profile.PROFILER
    t0 = prof.now() if prof else 0
    check_flags(task, flags)
    if flags & CLONE_SETTLS and tls >= USER_TOP:
        raise KernelError(EPERM)
    if flags & CLONE_VFORK:
        need_context()  # the parent sleeps after the child exists
    kernel = task.kernel
    cur = task.group
    cred = task.cred
    if cred.uid != 0 and cred.euid != 0:  # root and CAP_SYS_RESOURCE/ADMIN are exempt
        _check_nproc(kernel, cur, cred.uid)
    tid = kernel.alloc_pid()
    thread = bool(flags & CLONE_THREAD)
    if thread:
        group = cur
    else:
        group = ThreadGroup(tid, cur)  # inherits the caller's limits, pgrp, session
        if flags & CLONE_PARENT:
            group.parent = cur.parent
        if flags & CLONE_SIGHAND:
            group.sighand = cur.sighand  # shared, not copied
        group.exit_signal = flags & CSIGNAL
        group.exe = cur.exe
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
    if flags & CLONE_FILES:
        files = task.files
        files.users += 1
    else:
        files = task.files.fork_copy()
    fs = task.fs if flags & CLONE_FS else task.fs.copy()
    child = Task(kernel, tid, group, mm, files, fs, task.cred.copy())
    child.comm = task.comm
    child.blocked_signals = task.blocked_signals
    # a thread on the same stack-less VM does not inherit the alternate signal stack
    child.sigaltstack = (0, SS_DISABLE, 0) if flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM \
        else task.sigaltstack
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
            task.mm.copy_out(ptid, tid.to_bytes(4, "little"))
        except KernelError:
            pass
    if flags & CLONE_CHILD_SETTID:
        try:
            mm.copy_out(ctid, tid.to_bytes(4, "little"))
        except KernelError:
            pass
    group.tasks.append(child)
    if not thread:
        if group.parent is not None:
            group.parent.children.append(group)
        kernel.tasks[tid] = group
    kernel.threads[tid] = child
    kernel.sched.enqueue(child)
    if prof:
        prof.phase("fork.do_fork", t0, task.tid)
    if flags & CLONE_VFORK:  # the parent sleeps until the child execs or exits
        done = child.vfork_done = WaitQueue()
        wait_event(((done, ALL_EVENTS),), lambda: child.vfork_done is None, interruptible=False)
    return tid


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
