"""fork, vfork and clone: new processes, and new threads of a process (CLONE_THREAD)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    CLONE_PIDFD,
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
    SCHED_DEADLINE,
    SCHED_FIFO,
    SCHED_NORMAL,
    SCHED_RR,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, EPERM
from twaron.errors import KernelError
from twaron.ipc import sem
from twaron.mm.address_space import AddressSpace
from twaron.process import pidfd
from twaron.process.exit import uncharge_process
from twaron.process.task import Credentials, FsContext, Task, ThreadGroup
from twaron.wait import ALL_EVENTS, WaitQueue, need_context, wait_event

if TYPE_CHECKING:
    from twaron.fs.fdtable import FdTable
    from twaron.kernel import Kernel

SUPPORTED = (
    CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE | CLONE_VFORK
    | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID | CLONE_IO
    | CLONE_PIDFD
)  # fmt: skip
SS_DISABLE = 2
# Frames a process holds from fork until it is reaped (charge_process): 8 KiB, about what
# Linux charges for a zombie's task_struct, signal_struct and the rest.
PROCESS_FRAMES = 2


def check_flags(task: Task, flags: int) -> None:
    """Linux's copy_process checks, in its order; then what twaron does not do
    (namespaces): EINVAL."""
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
    if flags & CLONE_PIDFD and flags & (CLONE_DETACHED | CLONE_THREAD):
        raise KernelError(EINVAL)
    if flags & ~SUPPORTED:
        raise KernelError(EINVAL)


def do_fork(task: Task, flags: int, stack: int = 0, ptid: int = 0, ctid: int = 0,
            tls: int = 0, pidfd_addr: int = 0) -> int:  # fmt: skip
    """Create a child process or thread; returns its pid (tid) to the caller. With
    CLONE_PIDFD, a pidfd for the child is stored at pidfd_addr (clone: parent_tid)."""
    kernel = task.kernel
    prof = kernel.profiler
    t0 = prof.now() if prof else 0
    if flags & CLONE_PIDFD and flags & CLONE_PARENT_SETTID and pidfd_addr == ptid:
        raise KernelError(EINVAL)  # kernel_clone: both would be stored at one place
    check_flags(task, flags)
    if flags & CLONE_SETTLS and tls >= USER_TOP:
        raise KernelError(EPERM)
    if flags & CLONE_VFORK:
        need_context()  # the parent sleeps after the child exists
    cred = task.cred
    if cred.uid != 0 and cred.euid != 0:  # root and CAP_SYS_RESOURCE/ADMIN are exempt
        _check_nproc(kernel, task.group, cred.uid)
    if task.policy == SCHED_DEADLINE and not task.reset_on_fork:
        raise KernelError(EAGAIN)  # Linux's sched_fork: a deadline task cannot fork
    tid = kernel.pids.alloc()
    # What can fail with ENOMEM comes first, and undoes itself: the files' references and
    # the pidfd after it must not be taken for a child that is never made.
    frames = [] if flags & CLONE_THREAD else charge_process(kernel)
    try:
        mm = _child_mm(task, flags)
    except BaseException:
        uncharge_process(kernel, frames)
        raise
    group = task.group if flags & CLONE_THREAD else _child_group(task, tid, flags)
    if frames:
        group.kernel_frames = frames
    files = task.files if flags & CLONE_FILES else task.files.fork_copy()
    if flags & CLONE_PIDFD:  # after the copy: the child does not inherit its own pidfd
        try:
            pidfd.clone_pidfd(task, group, pidfd_addr)
        except KernelError:
            if files is not task.files:
                files.close_all()
            _drop_mm(task, mm, flags)
            uncharge_process(kernel, frames)
            raise
    child = new_task(kernel, tid, group, mm, files,
                     task.fs if flags & CLONE_FS else task.fs.copy(), task.cred.copy(),
                     kernel.platform.fork_cpu(task))  # fmt: skip
    if flags & CLONE_FILES:
        task.files.users += 1
    if flags & CLONE_SYSVSEM:
        child.sysvsem = sem.share_undo_list(task)
    child.comm = task.comm
    child.blocked_signals = task.blocked_signals
    child.no_new_privs = task.no_new_privs
    _child_sched(task, child)
    # a thread on the same stack-less VM does not inherit the alternate signal stack
    child.sigaltstack = (0, SS_DISABLE, 0) if flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM \
        else task.sigaltstack
    _child_registers(task, child, flags, stack, tls)
    _child_tids(task, child, flags, ptid, ctid)
    kernel.sched.enqueue(child)
    if prof:
        prof.phase("fork.do_fork", t0, task.tid)
    if flags & CLONE_VFORK:  # the parent sleeps until the child execs or exits
        done = child.vfork_done = WaitQueue()
        wait_event(((done, ALL_EVENTS),), lambda: child.vfork_done is None, interruptible=False)
    return tid


def create_process(kernel: Kernel, parent: ThreadGroup | None, files: FdTable) -> Task:
    """A process with an empty address space, root credentials and the root directory:
    the first process (and, with --init, the minimal init and PROGRAM), before its execve."""
    tid = kernel.pids.alloc()
    group = ThreadGroup(tid, parent)
    group.start_time = kernel.clock.monotonic()
    root = kernel.fs.root
    return new_task(kernel, tid, group, AddressSpace(kernel.mem), files, FsContext(root, root),
                    Credentials(), kernel.platform.new_cpu())  # fmt: skip


def new_task(kernel: Kernel, tid: int, group: ThreadGroup, mm: AddressSpace, files: FdTable,
             fs: FsContext, cred: Credentials, cpu: object) -> Task:  # fmt: skip
    """Every task is made here: in its group, in the pid table, and (a new group's leader)
    among its parent's children. It is not runnable until enqueued."""
    task = Task(kernel, tid, group, mm, files, fs, cred)
    task.cpu = cpu
    group.tasks.append(task)
    if tid == group.pid:
        if group.parent is not None:
            group.parent.children.append(group)
        kernel.pids.add_group(group)
    kernel.pids.add_thread(task)
    return task


def _child_group(task: Task, pid: int, flags: int) -> ThreadGroup:
    """A new process's ThreadGroup: the caller's limits, process group and session."""
    cur = task.group
    group = ThreadGroup(pid, cur)
    if flags & CLONE_PARENT:
        group.parent = cur.parent
    if flags & CLONE_SIGHAND:
        group.sighand = cur.sighand  # shared, not copied
    group.exit_signal = flags & CSIGNAL
    # the creating thread, or with CLONE_PARENT the caller's own parent thread
    group.parent_thread = cur.parent_thread if flags & CLONE_PARENT else task
    group.exe = cur.exe
    group.start_time = task.kernel.clock.monotonic()
    return group


def _child_sched(task: Task, child: Task) -> None:
    """The scheduling policy, priority and nice value are inherited (Linux's sched_fork),
    reset to SCHED_NORMAL and a nice of at least 0 under SCHED_RESET_ON_FORK."""
    child.policy, child.rt_priority, child.nice = task.policy, task.rt_priority, task.nice
    child.dl_params = task.dl_params
    if task.reset_on_fork:
        if task.policy in (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE):
            child.policy, child.rt_priority, child.nice = SCHED_NORMAL, 0, 0
            child.dl_params = (0, 0, 0)
        child.nice = max(child.nice, 0)


def charge_process(kernel: Kernel) -> list[int]:
    """The frames a new process holds until it is reaped: its kernel memory, which Linux
    charges to the memory it runs in (task_struct, signal_struct, ... ~10 KiB, and a
    kernel stack while it runs). A zombie holds no page of its own, so without this a
    fork bomb's zombies grew the host's memory past anything the guest's RAM bounds.
    KernelError(ENOMEM) when memory is out."""
    mem = kernel.mem
    frames: list[int] = []
    try:
        for _ in range(PROCESS_FRAMES):
            frames.append(mem.alloc(zero=False))
    except KernelError:
        uncharge_process(kernel, frames)
        raise
    return frames


def _drop_mm(task: Task, mm: AddressSpace, flags: int) -> None:
    """Undo _child_mm for a child that is not made after all."""
    if flags & CLONE_VM:
        task.mm.users -= 1
    else:
        mm.destroy()


def _child_mm(task: Task, flags: int) -> AddressSpace:
    """The caller's address space (CLONE_VM), or a copy-on-write copy of it."""
    if flags & CLONE_VM:
        task.mm.users += 1
        return task.mm
    kernel = task.kernel
    prof = kernel.profiler
    t1 = prof.now() if prof else 0
    platform = kernel.platform
    sp = platform.get_reg(task, "rsp")
    mm = task.mm.fork(hot=(sp, sp - 4096, platform.get_reg(task, "fs_base")))
    mm.set_exe(task.mm.exe_inode)
    if prof:
        prof.phase("fork.mm.fork", t1, task.tid)
    return mm


def _child_registers(task: Task, child: Task, flags: int, stack: int, tls: int) -> None:
    platform = task.kernel.platform
    if stack:
        platform.set_reg(child, "rsp", stack)
    if flags & CLONE_SETTLS:
        platform.set_reg(child, "fs_base", tls)


def _child_tids(task: Task, child: Task, flags: int, ptid: int, ctid: int) -> None:
    """CLONE_*_SETTID and CLONE_CHILD_CLEARTID. Linux ignores a bad parent_tid/child_tid
    pointer: the child exists either way."""
    tid = child.tid.to_bytes(4, "little")
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = ctid
    if flags & CLONE_PARENT_SETTID:
        try:
            task.mm.copy_out(ptid, tid)
        except KernelError:
            pass
    if flags & CLONE_CHILD_SETTID:
        try:
            child.mm.copy_out(ctid, tid)
        except KernelError:
            pass


def _check_nproc(kernel: Kernel, parent: ThreadGroup, uid: int) -> None:
    """RLIMIT_NPROC: EAGAIN when the real user already has that many tasks (zombies count
    until reaped, as Linux's per-user count drops in release_task)."""
    soft = parent.rlimits.get(RLIMIT_NPROC, (RLIM_INFINITY,))[0]
    if soft == RLIM_INFINITY:
        return
    n = 0
    for g in kernel.pids.groups.values():
        if g.tasks and g.tasks[0].cred.uid == uid:
            n += len(g.tasks)
    if n >= soft:
        raise KernelError(EAGAIN)
