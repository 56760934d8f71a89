"""Tasks and the structures they share.

A Task is one schedulable thread (Linux's task_struct). Everything a thread may share with
others is held by reference, so that clone(CLONE_VM|CLONE_FILES|...) can share it later:
the address space (mm), the fd table (files), root/cwd/umask (fs), credentials (cred), and
the thread group (ThreadGroup: the process, with its pid, parent, children, signal handlers
and exit status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import SIGCHLD
from twaron.process.signal import SigHand
from twaron.wait import WaitQueue

if TYPE_CHECKING:
    from twaron.fs.fdtable import FdTable
    from twaron.kernel import Kernel
    from twaron.mm.address_space import AddressSpace


@dataclass
class Credentials:
    uid: int = 0
    gid: int = 0
    euid: int = 0
    egid: int = 0
    suid: int = 0
    sgid: int = 0
    fsuid: int = 0
    fsgid: int = 0
    groups: list[int] = field(default_factory=list)
    securebits: int = 0  # SECBIT_KEEP_CAPS (prctl PR_SET_KEEPCAPS), cleared at exec
    cap_bset: int = (1 << 41) - 1  # the capability bounding set: all of CAP_0..CAP_LAST_CAP

    def copy(self) -> Credentials:
        c = object.__new__(Credentials)  # copy.copy's __reduce_ex__ path: ~5x slower
        c.__dict__.update(self.__dict__)
        c.groups = list(self.groups)
        return c


@dataclass
class FsContext:
    """Linux's fs_struct: a task's root, working directory and umask."""

    root: Any  # a fs.vfs Path (mount + dentry)
    cwd: Any
    umask: int = 0o022

    def copy(self) -> FsContext:
        return FsContext(self.root, self.cwd, self.umask)


class ThreadGroup:
    """A process: what the threads of one thread group share (Linux's signal_struct + pid)."""

    def __init__(self, pid: int, parent: ThreadGroup | None) -> None:
        self.pid = pid
        self.parent = parent
        self.children: list[ThreadGroup] = []
        self.tasks: list[Task] = []
        self.pgid = pid if parent is None else parent.pgid
        self.sid = pid if parent is None else parent.sid
        self.exit_code: int | None = None  # wait status once a zombie
        self.zombie = False
        # Guest frames standing for the process's kernel memory until it is reaped
        # (process/fork.py, PROCESS_FRAMES): zombies count against RAM, as in Linux.
        self.kernel_frames: list[int] = []
        self.exe: Any = None  # the executable's Path, for /proc/PID/exe
        self.rlimits: dict[int, tuple[int, int]] = {} if parent is None else dict(parent.rlimits)
        self.sighand = SigHand() if parent is None else parent.sighand.copy()
        self.shared_pending = 0
        self.shared_info: dict[int, bytes] = {}  # siginfo of pending process signals
        self.rt_queue: dict[int, list[bytes]] = {}  # queued real-time signals, in order
        self.did_exec = False  # setpgid on a child that has exec'd: EACCES
        # The controlling terminal (a fs.tty.Tty; Linux's signal->tty), inherited by fork;
        # the foreground group it had when it hung up (told of the session leader's exit).
        self.tty: Any = None if parent is None else parent.tty
        self.tty_old_pgrp: int | None = None
        self.exit_signal = SIGCHLD  # sent to the parent when this process ends
        self.child_exit = WaitQueue()  # a child changed state: the parent's wait4 wakes
        self.pidfd_wait = WaitQueue()  # the process became a zombie: pidfds turn readable
        self.stopped = False  # job control: SIGSTOP & co. stopped every thread
        self.stop_signal = 0
        self.stop_report = False  # a stop not yet reported by wait(WUNTRACED)
        self.continue_report = False  # a SIGCONT not yet reported by wait(WCONTINUED)
        self.utime = self.stime = 0.0  # seconds: wall time in Platform.run (CPU time)
        self.cutime = self.cstime = 0.0  # of the children reaped by wait
        self.start_time = 0.0
        # RLIMIT_CPU's next check (the soft or hard limit, seconds); inf: no limit
        self.cpu_check = float("inf") if parent is None else parent.cpu_check
        # CPU-time timers (process/timers.py): the group CPU time (seconds) at which the next
        # may fire, inf: none armed; ITIMER_VIRTUAL/PROF as which -> [expires_ns, interval_ns]
        self.cpu_timer_next = float("inf")
        self.cpu_itimers: dict[int, list[int]] = {}
        self.posix_timers: dict[int, Any] = {}  # timer id -> timers.PosixTimer
        self.next_timer_id = 0
        self.is_child_subreaper = False  # prctl(PR_SET_CHILD_SUBREAPER)
        # The thread that created this process (Linux's real_parent is a thread): when it
        # exits, PR_SET_PDEATHSIG's signal comes (process/exit.py forget_original_parent)
        self.parent_thread: Task | None = None


SUID_DUMP_DISABLE = 0  # what fs.suid_dumpable is on Linux by default (and on this host)


def creds_changed(task: Task, old: Credentials) -> None:
    """Linux's commit_creds: when the effective or file-system ids change, the process is no
    longer dumpable (fs.suid_dumpable) and the parent-death signal is cleared."""
    new = task.cred
    if (old.euid, old.egid, old.fsuid, old.fsgid) != (new.euid, new.egid, new.fsuid,
                                                       new.fsgid):  # fmt: skip
        task.mm.dumpable = SUID_DUMP_DISABLE
        task.pdeathsig = 0


class Task:
    """One thread of execution with its CPU state on the platform."""

    def __init__(
        self,
        kernel: Kernel,
        tid: int,
        group: ThreadGroup,
        mm: AddressSpace,
        files: FdTable,
        fs: FsContext,
        cred: Credentials,
    ) -> None:
        self.kernel = kernel
        self.tid = tid
        self.group = group
        self.mm = mm
        self.files = files
        self.fs = fs
        self.cred = cred
        self.comm = b""  # prctl(PR_SET_NAME) name, at most 15 bytes
        self.cpu: Any = None  # the platform's saved register state
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.runnable = True
        self.exited = False
        self.queued = False  # on the scheduler's run queue
        self.slice_used = 0.0  # seconds run since this task last went to the back
        self.sched_prio: float | None = None  # the deterministic scheduler's (detsched.py)
        # Sleeping (process/context.py): the context its handler runs in while it waits,
        # the scheduler's timer token (bumped at every sleep, so a stale timer wakes nobody).
        self.context: Any = None
        self.sleep_token = 0
        self.timed_out = False
        self.sleep_interruptible = True
        # A syscall that a signal interrupted, until signal delivery has decided its fate:
        # the ERESTART* code it returned and its number (Linux's orig_ax).
        self.restart_code = 0
        self.restart_nr = -1
        self.restart_block: Any = None  # restart_syscall(2)'s continuation
        self.blocked_signals = 0  # signal mask
        self.pending_signals = 0  # bit (sig-1) per pending signal sent to this thread
        self.pending_info: dict[int, bytes] = {}
        self.sigaltstack = (0, 2, 0)  # (ss_sp, ss_flags, ss_size); SS_DISABLE
        self.vfork_done: WaitQueue | None = None  # notified when a vfork child execs or exits
        self.restore_mask_after_signal: int | None = None  # sigsuspend/ppoll's saved mask
        self.fault_info: tuple[int, int, int] | None = None
        self.utime = 0.0  # this thread's share of group.utime
        # rt_sigtimedwait: the mask it unblocked its set from, and that set (0 otherwise)
        self.real_blocked = 0
        self.sigwait_set = 0
        # prctl and scheduling (syscalls/prctl.py, syscalls/sched.py); per thread, as Linux
        self.pdeathsig = 0
        self.no_new_privs = False
        self.nice = 0
        self.policy = 0  # SCHED_NORMAL
        self.rt_priority = 0
        self.reset_on_fork = False
        self.dl_params = (0, 0, 0)  # SCHED_DEADLINE runtime, deadline, period (ns)
        self.sysvsem: Any = None  # SEM_UNDO records (ipc/sem.py UndoList), CLONE_SYSVSEM shares

    @property
    def pid(self) -> int:
        return self.group.pid

    def wake(self, _events: int = 0) -> None:
        """Make a sleeping task runnable (a wait-queue callback, a timer, a signal)."""
        if not self.exited and not self.runnable:
            self.runnable = True
            self.kernel.sched.enqueue(self)
            watch = self.kernel.watch
            if watch is not None:  # the timeline's wake-up arrows
                watch.woken(self)

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.comm.decode(errors='replace')}>"
