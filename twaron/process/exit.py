"""Exit, wait and reparenting (Linux's kernel/exit.c).

A thread ends with exit_task: its resources go at once (a sleeping syscall is unwound first);
a thread other than the leader leaves its group, and the process becomes a zombie when its
last thread is gone. The zombie's children go to init, its parent hears of it (the exit
signal, a wake of wait4), and wait4/waitid reap it.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import P_ALL, P_PID, SA_NOCLDWAIT, SIGCHLD
from twaron.arch.x86_64.errno import ECHILD
from twaron.errors import KernelError
from twaron.fs.tty import disassociate_ctty
from twaron.ipc import sem
from twaron.process import futex, timers
from twaron.process import signal as sigs
from twaron.wait import ALL_EVENTS, wait_restartable

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup

WALL, WCLONE = 0x4000_0000, 0x8000_0000
EXITED, STOPPED, CONTINUED = 0, 1, 2
RUSAGE_SIZE = 144


def group_exit(kernel: Kernel, group: ThreadGroup, status: int) -> None:
    """End every thread of group; status is the wait(2) status."""
    if group.exit_code is None:
        group.exit_code = status
    for t in list(group.tasks):
        exit_task(t)


def exit_task(task: Task) -> None:
    """One thread ends (Linux's do_exit)."""
    if task.exited:
        return
    kernel = task.kernel
    task.exited = True
    task.runnable = False
    if task.context is not None:  # asleep in a syscall: unwind the handler first
        kernel.contexts.unwind(task)
    mm = task.mm
    if task.robust_list[0]:
        futex.exit_robust_list(kernel, task)
    # mm_release: tell a joiner, unless nobody else can see the address space any more
    if task.clear_child_tid and mm.users > 1:
        try:
            mm.copy_out(task.clear_child_tid, b"\0\0\0\0")
            futex.wake(kernel, mm, task.clear_child_tid, 1, futex.BITSET_MATCH_ANY, False)
        except KernelError:
            pass
    if task.vfork_done is not None:
        done, task.vfork_done = task.vfork_done, None
        done.notify()
    forget_original_parent(kernel, task)
    if task.sysvsem is not None:
        sem.exit_sem(kernel.ipc, task)  # SEM_UNDO adjustments (exit_sem)
    files = task.files
    files.users -= 1
    if files.users == 0:
        files.close_all()
    mm.users -= 1
    if mm.users == 0:
        mm.destroy()
    platform = kernel.platform
    if kernel.platform_current_is(task):
        platform.request_stop()  # no guest instruction may run on a freed mm
    platform.free_cpu(task.cpu)
    task.cpu = None
    kernel.pids.remove_thread(task)
    group = task.group
    if task.tid != group.pid and task in group.tasks:
        group.tasks.remove(task)
    if all(t.exited for t in group.tasks):
        become_zombie(kernel, group)


def de_thread(task: Task) -> None:
    """execve in a multi-threaded process: every other thread dies, and a thread other than
    the leader takes the leader's place and its pid (Linux's de_thread)."""
    group = task.group
    for t in list(group.tasks):
        if t is not task:
            exit_task(t)
    if task.tid != group.pid:
        task.kernel.pids.retid(task, group.pid)
    group.tasks = [task]


def become_zombie(kernel: Kernel, group: ThreadGroup) -> None:
    """The last thread is gone: children to init, the parent told (or the zombie reaped at
    once when the parent asked for no zombies)."""
    group.zombie = True
    if group.exit_code is None:
        group.exit_code = 0
    timers.exit_itimers(group)
    group.pidfd_wait.notify()  # do_notify_pidfd
    if kernel.watch is not None:  # exit hooks, the timeline
        kernel.watch.process_exit(group)
    init = kernel.init_group
    if group is init:
        kernel.shutdown(group.exit_code)
        return
    if group.sid == group.pid:  # a session leader: its terminal's foreground group hears
        disassociate_ctty(kernel, group, on_exit=True)
    _reparent_children(kernel, group)
    parent = group.parent
    if parent is None:
        forget_group(kernel, group)
        return
    if parent is init and kernel.kernel_init:
        release_group(kernel, group)  # the minimal init reaps at once
        if group is kernel.main_group:
            kernel.shutdown(group.exit_code)
        return
    notify_parent(kernel, group)


def notify_parent(kernel: Kernel, group: ThreadGroup) -> None:
    """A zombie's parent hears of it (Linux's do_notify_parent): its exit signal and a wake
    of wait4, or the zombie is reaped at once if the parent wants no zombies."""
    parent = group.parent
    assert parent is not None
    action = parent.sighand.actions[SIGCHLD]
    if action.handler == sigs.SIG_IGN or action.flags & SA_NOCLDWAIT:  # no zombie
        release_group(kernel, group)
    elif 0 < group.exit_signal <= 64:  # clone() takes any CSIGNAL; Linux sends a valid one
        sig = group.exit_signal
        # a guest init (SIGNAL_UNKILLABLE) drops what it has no handler for: a child made
        # with CLONE_PARENT and some exit signal must not kill it
        if not sigs.init_drops(kernel, parent, sig):
            sigs.send_signal(kernel, parent, sig, sigs.child_info(group, sig))
    parent.child_exit.notify()


def forget_original_parent(kernel: Kernel, task: Task) -> None:
    """A thread exits: the processes it created (their parent is its process, their parent
    thread this one, as Linux's real_parent is a thread) get their threads' parent-death
    signals (prctl PR_SET_PDEATHSIG) even if the process lives on, and another live thread
    of the process for a parent thread; the last thread's are reparented by become_zombie."""
    group = task.group
    heir = next((t for t in group.tasks if t is not task and not t.exited), None)
    for child in list(group.children):
        if child.parent_thread is not task:
            continue
        child.parent_thread = heir
        for t in child.tasks:
            if t.pdeathsig and not t.exited and not child.zombie:
                info = sigs.siginfo(t.pdeathsig, sigs.SI_USER, pid=group.pid, uid=task.cred.uid)
                sigs.send_signal(kernel, child, t.pdeathsig, info)


def find_new_reaper(kernel: Kernel, group: ThreadGroup) -> ThreadGroup:
    """Whom a dead process's children go to: the nearest ancestor that is a child subreaper
    (prctl PR_SET_CHILD_SUBREAPER) and still has a live thread, else init."""
    init = kernel.init_group
    assert init is not None
    ancestor = group.parent
    while ancestor is not None and ancestor is not init:
        if ancestor.is_child_subreaper and any(not t.exited for t in ancestor.tasks):
            return ancestor
        ancestor = ancestor.parent
    return init


def _reparent_children(kernel: Kernel, group: ThreadGroup) -> None:
    """Linux's forget_original_parent + reparent_leader for the last thread of group."""
    reaper = find_new_reaper(kernel, group)
    thread = next((t for t in reaper.tasks if not t.exited), None)
    children, group.children = group.children, []
    for child in children:
        child.parent = reaper
        child.parent_thread = thread
        child.exit_signal = SIGCHLD  # Linux's reparent_leader: "don't slay init"
        reaper.children.append(child)
        if not child.zombie:
            continue
        if reaper is kernel.init_group and kernel.kernel_init:
            release_group(kernel, child)  # the minimal init reaps at once
        elif reaper is kernel.init_group:
            reaper.child_exit.notify()
        else:
            notify_parent(kernel, child)


def release_group(kernel: Kernel, group: ThreadGroup) -> None:
    """Reap: the zombie's pid becomes free."""
    if group.parent is not None and group in group.parent.children:
        group.parent.children.remove(group)
    forget_group(kernel, group)


def uncharge_process(kernel: Kernel, frames: list[int]) -> None:
    """Give back the frames a process was charged (fork.charge_process)."""
    for pfn in frames:
        kernel.mem.put(pfn)
    frames.clear()


def forget_group(kernel: Kernel, group: ThreadGroup) -> None:
    """The process is gone for good: its pid and the frames it was charged (fork.py)."""
    kernel.pids.remove_group(group)
    uncharge_process(kernel, group.kernel_frames)
    # The leader and its group refer to each other: let go here, so that a reaped process
    # is freed by its last reference rather than by the cycle collector (which, at a fork
    # and a reap per iteration, ran every few dozen iterations).
    group.tasks = []


# ---- wait ---------------------------------------------------------------------------------


def _matches(task: Task, child: ThreadGroup, idtype: int, ident: int) -> bool:
    if idtype == P_ALL:
        return True
    if idtype == P_PID:
        return child.pid == ident
    return child.pgid == (ident or task.group.pgid)


def wait_child(task: Task, idtype: int, ident: int, exited: bool, stopped: bool,
               continued: bool, nohang: bool,
               options: int = 0) -> tuple[ThreadGroup, int] | None:  # fmt: skip
    """A child with something to report: (child, EXITED|STOPPED|CONTINUED); None for WNOHANG
    when there is nothing yet; otherwise sleep until a child changes state (ECHILD when no
    child qualifies). Without __WALL, only children whose exit signal is SIGCHLD (or, with
    __WCLONE, only the others) are waited for, as Linux's eligible_child decides."""

    def find() -> tuple[ThreadGroup, int] | None:
        children = [c for c in task.group.children if _matches(task, c, idtype, ident)
                    and (options & WALL or (c.exit_signal != SIGCHLD) == bool(options & WCLONE))]
        if not children:
            raise KernelError(ECHILD)
        for child in children:
            if child.zombie:
                if exited:
                    return child, EXITED
            elif stopped and child.stopped and child.stop_report:
                return child, STOPPED
            elif continued and child.continue_report:
                return child, CONTINUED
        return None

    if nohang:
        return find()
    return wait_restartable(((task.group.child_exit, ALL_EVENTS),), find)


def rusage(child: ThreadGroup, utime: float | None = None, stime: float | None = None) -> bytes:
    """struct rusage with the CPU times (a zombie's own plus its reaped children's)."""
    def tv(seconds: float) -> tuple[int, int]:
        return int(seconds), int((seconds % 1) * 1_000_000)

    ut = child.utime + child.cutime if utime is None else utime
    st = child.stime + child.cstime if stime is None else stime
    return struct.pack("<4q", *tv(ut), *tv(st)) + bytes(RUSAGE_SIZE - 32)


def consume(task: Task, child: ThreadGroup, kind: int) -> None:
    """The report was read: reap a zombie, or clear a stop/continue notice."""
    if kind == EXITED:
        parent = task.group  # the reaper takes over the child's CPU times (times, RUSAGE_CHILDREN)
        parent.cutime += child.utime + child.cutime
        parent.cstime += child.stime + child.cstime
        release_group(task.kernel, child)
    elif kind == STOPPED:
        child.stop_report = False
    else:
        child.continue_report = False
