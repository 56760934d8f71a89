"""Boot and the run loop: take an Event from the platform, dispatch it, pick the next task.

The kernel owns guest memory, the random generator, the root filesystem, the process table
and the scheduler. System calls arrive through Kernel.syscall (called by the platform while
the guest is stopped at its `syscall` instruction); faults, exceptions and preemption come
back from Platform.run() as events.
"""

from __future__ import annotations

import os
import select
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twaron import platform as platforms
from twaron import profile
from twaron.arch.x86_64.constants import (
    AT_FDCWD,
    RLIM_INFINITY,
    RLIMIT_CPU,
    SA_NOCLDSTOP,
    SA_NOCLDWAIT,
    SA_RESTART,
    SIGBUS,
    SIGCHLD,
    SIGCONT,
    SIGFPE,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGSTOP,
    SIGSYS,
    SIGTRAP,
    SIGWINCH,
    SIGXCPU,
    X86_TRAP_AC,
    X86_TRAP_BP,
    X86_TRAP_DB,
    X86_TRAP_DE,
    X86_TRAP_MF,
    X86_TRAP_SS,
    X86_TRAP_UD,
    X86_TRAP_XF,
)
from twaron.arch.x86_64.errno import (
    EINTR,
    ENOSYS,
    ERESTART_RESTARTBLOCK,
    ERESTARTNOINTR,
    ERESTARTSYS,
)
from twaron.arch.x86_64.unistd import SYSCALL_NAMES, SYSCALL_NUMBERS
from twaron.clock import Clock
from twaron.config import DEFAULT_DOMAINNAME, DEFAULT_HOSTNAME
from twaron.errors import KernelError
from twaron.mm.address_space import FAULT_SIGBUS, AddressSpace
from twaron.mm.physmem import PhysMem
from twaron.platform.base import Event
from twaron.process import futex
from twaron.process import signal as sigs
from twaron.process.context import ContextPool
from twaron.process.sched import Scheduler
from twaron.process.task import Credentials, FsContext, Task, ThreadGroup
from twaron.random import make_rng
from twaron.syscalls import registry
from twaron.syscalls.registry import NR_MAX
from twaron.wait import NeedContext

if TYPE_CHECKING:
    from twaron.config import Config

SI_USER = 0
NR_RESTART_SYSCALL = SYSCALL_NUMBERS["restart_syscall"]
SIGRTMIN = 34
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6
# `twaron profile`: the phase a syscall's time counts towards (every other call: "syscall").
PROFILE_SYSCALL_PHASES = {
    "clone": "fork", "clone3": "fork", "fork": "fork", "vfork": "fork",
    "execve": "execve", "execveat": "execve", "wait4": "wait", "waitid": "wait",
    "exit": "exit", "exit_group": "exit",
}  # fmt: skip
# vector -> (signal, si_code, whether si_addr is the faulting instruction), as Linux's traps.c;
# everything else, #GP included, is SIGSEGV with SI_KERNEL.
SI_KERNEL = 0x80
VECTOR_SIGNALS = {
    X86_TRAP_DE: (SIGFPE, 1, True),  # FPE_INTDIV
    X86_TRAP_DB: (SIGTRAP, 2, True),  # TRAP_TRACE
    X86_TRAP_BP: (SIGTRAP, SI_KERNEL, False),
    X86_TRAP_UD: (SIGILL, 2, True),  # ILL_ILLOPN
    X86_TRAP_MF: (SIGFPE, 0, True),
    X86_TRAP_XF: (SIGFPE, 0, True),
    X86_TRAP_AC: (SIGBUS, 1, True),  # BUS_ADRALN
    X86_TRAP_SS: (SIGBUS, SI_KERNEL, False),  # a stack access at a non-canonical address
}


@dataclass
class Oops:
    """A kernel bug caught at the syscall boundary or in the run loop."""

    pid: int
    where: str
    args: tuple[int, ...]
    traceback: str

    def report(self) -> str:
        args = ", ".join(f"{a:#x}" for a in self.args)
        return f"twaron: oops in {self.where}({args}) pid {self.pid}\n{self.traceback}"


class Kernel:
    def __init__(self, config: Config, console: Any) -> None:
        self.config = config
        self.clock = Clock()
        self.boot_time = self.clock.monotonic()
        self.mem = PhysMem(config.memory)
        self.rng = make_rng(config.rng, config.seed)
        self.registry = registry.load()
        self.table = self.registry.handlers
        self.interrupt_errno = self.registry.interrupt_errno
        self.contexts = ContextPool(self.run_handler)
        # With profiling on (`twaron profile`) syscalls enter through a timed wrapper; without,
        # the platform calls Kernel.syscall directly and pays nothing.
        entry = self.syscall if profile.PROFILER is None else self.profiled_syscall
        self.prof_syscall_ns = 0  # time spent in syscall handlers, counted while profiling
        self.platform = platforms.create(config.platform, self.mem, entry)
        self.sched = Scheduler(self.clock)
        self.tasks: dict[int, ThreadGroup] = {}  # pid -> process
        self.threads: dict[int, Task] = {}  # tid -> task
        self._last_pid = 0
        self.oopses: list[Oops] = []
        self.unimplemented_calls: Counter[int] = Counter()  # ENOSYS and stubs, by number
        self.trace = config.trace
        self.trace_out = sys.stderr
        self.console = console
        self.exit_status: int | None = None
        self.init_group: ThreadGroup | None = None
        self.main_group: ThreadGroup | None = None  # PROGRAM's process
        self.host_signals: list[int] = []
        self.wakeup_fd: int | None = None  # read end of the host signal wakeup pipe
        self.wakeup_write_fd: int | None = None
        self.deadline = time.monotonic() + config.timeout if config.timeout else None
        self.timed_out = False
        self.futex_queues: dict = {}  # futex key -> FutexQueue (process/futex.py)
        self.hostname = DEFAULT_HOSTNAME
        self.domainname = DEFAULT_DOMAINNAME
        from twaron.fs import boot as fs_boot

        self.fs = fs_boot.mount_root(self)
        self.sched.host_wait = self.host_wait
        self.platform.others_want_cpu = self.others_want_cpu
        self.sched.wall_deadline = self.deadline

    # ---- processes -----------------------------------------------------------------

    def alloc_pid(self) -> int:
        pid = self._last_pid + 1
        while pid in self.threads or pid in self.tasks:
            pid += 1
        self._last_pid = pid
        return pid

    def spawn_init(self, path: bytes, argv: list[bytes], envp: list[bytes]) -> Task:
        """Start PROGRAM: as pid 1 (a container's init), or with --init as pid 2 under a
        minimal in-kernel init that reaps orphans and forwards signals (docker run --init)."""
        from twaron.process.execve import sys_execve

        parent = None
        if self.config.init:
            init = self._new_process(None)
            init.tasks[0].comm = b"init"
            init.tasks[0].runnable = False  # it never runs guest code: the kernel acts for it
            self.init_group = init
            parent = init
        group = self._new_process(parent)
        if parent is None:
            self.init_group = group
        self.main_group = group
        task = group.tasks[0]
        sys_execve(task, path, argv, envp, AT_FDCWD, 0)
        self.sched.enqueue(task)
        return task

    def _new_process(self, parent: ThreadGroup | None) -> ThreadGroup:
        """A process with an empty address space and the console as fds 0, 1, 2."""
        from twaron.fs.fdtable import FdTable

        pid = self.alloc_pid()
        group = ThreadGroup(pid, parent)
        group.start_time = self.clock.monotonic()
        files = FdTable()
        for f in self.fs.console_files():
            files.install(f)
        root = self.fs.root
        task = Task(self, pid, group, AddressSpace(self.mem), files, FsContext(root, root),
                    Credentials())  # fmt: skip
        task.cpu = self.platform.new_cpu()
        group.tasks.append(task)
        if parent is not None:
            parent.children.append(group)
        self.tasks[pid] = group
        self.threads[pid] = task
        return group

    @property
    def kernel_init(self) -> bool:
        """pid 1 is twaron's own minimal init (--init), not a guest program."""
        return self.init_group is not self.main_group

    def unimplemented(self) -> dict[str, int]:
        """The calls made that twaron does not implement (ENOSYS, or a stub), by name, in
        number order; calls whose answer a Linux build may give too (rseq) are not listed."""
        reg = self.registry
        return {reg.name(nr): n for nr, n in sorted(self.unimplemented_calls.items())
                if nr not in reg.entries or reg[nr].unimplemented}  # fmt: skip

    def host_wait(self, timeout: float | None) -> bool:
        """The idle loop's wait on the host: for stdin input a guest task is waiting for, for
        host signals (through the wakeup pipe), or until timeout. False when there is nothing
        on the host that could wake a guest task (then the caller sleeps or stops)."""
        console = self.console
        fds = []
        stdin = console.stdin
        if console.wait and isinstance(stdin, int):
            fds.append(stdin)
        if self.wakeup_fd is not None:
            fds.append(self.wakeup_fd)
        if not fds:
            return False
        if self.deadline is not None:
            left = max(0.0, self.deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        try:
            ready = select.select(fds, [], [], timeout)[0]
        except (OSError, ValueError):
            ready = fds
        if self.wakeup_fd in ready:
            try:
                os.read(self.wakeup_fd, 512)
            except OSError:
                pass
        if stdin in ready and console.wait:
            console.wait.notify()
        if self.host_signals:
            self.deliver_host_signals()
        return True

    def others_want_cpu(self) -> bool:
        """Read by the platform's timer thread: should the running task yield?"""
        sched = self.sched
        now = time.monotonic()
        cur = getattr(self.platform, "current", None)
        return bool(
            sched.runq
            or (sched.timers and sched.timers[0][0] <= now)
            or self.host_signals
            or self.console.wait
            or (self.deadline is not None and now >= self.deadline)  # --timeout is due
            # RLIMIT_CPU is counted when run() returns: a limited task gets its slices
            or (cur is not None and cur.group.cpu_check != float("inf"))
            # a signal for the running task is delivered when run() returns
            or (cur is not None and bool(sigs.pending_deliverable(cur)))
        )

    def host_signal(self, sig: int) -> None:
        """A signal arrived at the twaron process (Ctrl-C in its terminal): queue it for the
        guest's foreground process group. Called from a Python signal handler."""
        self.host_signals.append(sig)
        self.platform.request_stop()

    def deliver_host_signals(self) -> None:
        signals, self.host_signals = self.host_signals, []
        init = self.init_group
        main = self.main_group
        pgrp = self.console.fg_pgrp or (main.pgid if main else 0)
        for sig in signals:
            targets = [g for g in self.tasks.values() if g.pgid == pgrp and not g.zombie]
            for group in targets:
                if group is init and sigs.is_unhandled(group, sig) and sig != SIGWINCH:
                    # pid 1 ignores signals it has no handler for; from the terminal that
                    # would make Ctrl-C do nothing, so the run ends as --init would make it.
                    self.group_exit(group, sigs.wait_status_for_signal(sig))
                else:
                    self.send_signal(group, sig)

    def vfs_exec_open(self, task: Task, dirfd: int, filename: bytes,
                      flags: int) -> tuple[Any, Any, bytes]:  # fmt: skip
        from twaron.fs.boot import exec_open

        return exec_open(task, dirfd, filename, flags)

    def guest_exists(self, path: bytes) -> bool:
        from twaron.fs import tmpfs

        return tmpfs.resolve_internal(self.fs.root, path.lstrip(b"/")) is not None

    # ---- system calls ------------------------------------------------------------------

    def syscall(self, task: Task, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                a5: int) -> int | None:  # fmt: skip
        """The syscall boundary: the value for rax, or None (the handler set the registers,
        or it sleeps: then the platform stops and the run loop resumes it when woken).
        KernelError becomes -errno; an interrupted sleep, its restart code; a bug, an oops."""
        if self.trace:
            return self.traced_syscall(task, nr, (a0, a1, a2, a3, a4, a5))
        handler = self.table[nr] if nr < NR_MAX else None
        if handler is None:
            self.unimplemented_calls[nr] += 1
            ret: int | None = -ENOSYS
        else:
            try:
                ret = handler(task, a0, a1, a2, a3, a4, a5)
            except KernelError as e:
                ret = -e.errno if e.errno < ERESTARTSYS else self.interrupted(task, nr, e)
            except NeedContext:  # it must sleep: again from the start, where it can
                ret = self.contexts.start(task, nr, handler, (a0, a1, a2, a3, a4, a5))
                if ret is None:
                    self.platform.request_stop()
            except Exception:
                self.oops(task, SYSCALL_NAMES.get(nr, str(nr)), (a0, a1, a2, a3, a4, a5))
                ret = None
        if task.pending_signals or task.group.shared_pending:
            self.platform.request_stop()
        return ret

    def run_handler(self, task: Task, nr: int, handler: Any, args: tuple[int, ...]) -> int | None:
        """Kernel.syscall's classification of a handler's outcome, for handlers that run in a
        context (process/context.py)."""
        try:
            return handler(task, *args)
        except KernelError as e:
            return -e.errno if e.errno < ERESTARTSYS else self.interrupted(task, nr, e)
        except Exception:
            self.oops(task, SYSCALL_NAMES.get(nr, str(nr)), args)
            return None

    def interrupted(self, task: Task, nr: int, e: KernelError) -> int:
        """A signal ended the call's sleep: its restart code per the registry's rule, kept on
        the task until signal delivery decides between EINTR and a restart (Linux's
        arch_do_signal_or_restart)."""
        code = e.errno
        if code == ERESTARTSYS:
            code = self.interrupt_errno[nr]
            if code == EINTR:
                return -EINTR
        task.restart_code = code
        task.restart_nr = nr
        task.restart_block = getattr(e, "resume", None)
        self.platform.request_stop()
        return -code

    def resume_syscall(self, task: Task) -> bool:
        """Switch into task's sleeping handler; True when it finished and the task may go on
        to user mode (its result is in rax), False when it sleeps again or is gone."""
        done, ret = self.contexts.resume(task)
        if not done or task.exited:
            return False
        if self.trace:
            self.trace_resumed(task, ret)
        if ret is not None:
            self.platform.finish_syscall(task, ret)
        return True

    def profiled_syscall(self, task: Task, nr: int, a0: int, a1: int, a2: int, a3: int,
                         a4: int, a5: int) -> int | None:  # fmt: skip
        """Kernel.syscall, timed: each call is a timeline event "sys.NAME" and counts towards
        one of the phases fork, execve, wait, exit or (every other call) syscall."""
        prof = profile.PROFILER
        if prof is None:
            return self.syscall(task, nr, a0, a1, a2, a3, a4, a5)
        t0 = prof.now()
        ret = self.syscall(task, nr, a0, a1, a2, a3, a4, a5)
        dur = prof.now() - t0
        self.prof_syscall_ns += dur
        if t0 >= prof.origin_ns:  # began after the last reset
            name = SYSCALL_NAMES.get(nr, str(nr))
            prof.add("sys." + name, t0, dur, task.tid)
            prof.tally(PROFILE_SYSCALL_PHASES.get(name, "syscall"), dur)
        return ret

    def traced_syscall(self, task: Task, nr: int, args: tuple[int, ...]) -> int | None:
        """--trace: one strace-style line per call (arguments decoded before the call)."""
        from twaron.syscalls.trace import format_entry

        try:
            entry = format_entry(task, nr, args)
        except Exception:  # tracing must never take the kernel down
            entry = None
        self.trace = False
        try:
            ret = self.syscall(task, nr, *args)
        finally:
            self.trace = True
        if ret is None and task.context is not None:  # asleep: finished by trace_resumed
            task.context.trace_entry = entry
            name = SYSCALL_NAMES.get(nr, str(nr))
            self.trace_out.write(f"[pid {task.tid:>5}] {name}(... <unfinished ...>\n")
            self.trace_out.flush()
            return ret
        self._trace_line(task, nr, args, ret, entry)
        return ret

    def trace_resumed(self, task: Task, ret: int | None) -> None:
        ctx = self.contexts.last_done
        self._trace_line(task, ctx.nr, ctx.args, ret, ctx.trace_entry, "<... resumed> ")

    def _trace_line(self, task: Task, nr: int, args: tuple[int, ...], ret: int | None,
                    entry: Any, prefix: str = "") -> None:  # fmt: skip
        from twaron.syscalls.trace import format_syscall

        try:
            line = format_syscall(task, nr, args, ret, entry=entry)
        except Exception:
            line = f"{SYSCALL_NAMES.get(nr, nr)}(...) = {ret}"
        self.trace_out.write(f"[pid {task.tid:>5}] {prefix}{line}\n")
        self.trace_out.flush()

    def oops(self, task: Task, where: str, args: tuple[int, ...]) -> None:
        """A kernel bug: report it, kill the offending process with SIGSYS, keep running."""
        oops = Oops(task.pid, where, args, traceback.format_exc())
        self.oopses.append(oops)
        print(oops.report(), file=sys.stderr, flush=True)
        if not task.exited:
            self.group_exit(task.group, sigs.wait_status_for_signal(SIGSYS))

    # ---- signals ---------------------------------------------------------------------

    def send_signal(self, group: ThreadGroup, sig: int, info: bytes | None = None) -> None:
        """Send sig to a process (kill(2)); fatal, stop and continue actions happen at once.
        info is the siginfo its handler will see (SI_USER without a sender by default)."""
        if sig == 0 or group.zombie:
            return
        if group is self.init_group and self.kernel_init:
            if self.main_group is not None and not self.main_group.zombie:
                self.send_signal(self.main_group, sig)  # the minimal init forwards
            return
        if sig == SIGCONT:
            self.continue_group(group)
        if sig == SIGKILL or self._fatal_now(group, sig, group.tasks):
            self.group_exit(group, sigs.wait_status_for_signal(sig))
            return
        if sig in sigs.STOP_SIGNALS and self._stop_now(group, sig, group.tasks):
            if sig == SIGSTOP or not self.orphaned_pgrp(group.pgid):
                self.stop_group(group, sig)
            return  # terminal stops are discarded in an orphaned process group
        if sigs.is_ignored(group, sig):
            return
        bit = sigs.sigbit(sig)
        if sig >= SIGRTMIN:  # real-time signals queue: each one is delivered
            group.rt_queue.setdefault(sig, []).append(info or sigs.siginfo(sig, SI_USER))
        elif not group.shared_pending & bit and info is not None:
            group.shared_info[sig] = info  # a standard signal is pending once: first info wins
        group.shared_pending |= bit
        # complete_signal: the first thread that does not block it takes it
        for t in group.tasks:
            if not t.blocked_signals & bit and not t.exited:
                self._signal_wake(t)
                break

    def _stop_now(self, group: ThreadGroup, sig: int, tasks: list[Task]) -> bool:
        action = group.sighand.actions[sig]
        bit = sigs.sigbit(sig)
        return action.handler == sigs.SIG_DFL and any(
            not t.blocked_signals & bit and not t.exited for t in tasks)

    def orphaned_pgrp(self, pgid: int) -> bool:
        """POSIX: no member has a parent in another process group of the same session."""
        for g in self.tasks.values():
            if g.pgid == pgid and not g.zombie:
                p = g.parent
                if p is not None and p.pgid != pgid and p.sid == g.sid:
                    return False
        return True

    def stop_group(self, group: ThreadGroup, sig: int) -> None:
        """Default action of SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU: every thread stops."""
        group.shared_pending &= ~sigs.sigbit(SIGCONT)
        if group.stopped:
            return
        group.stopped = True
        group.stop_signal = sig
        group.stop_report = True
        group.continue_report = False
        if any(self.platform_current_is(t) for t in group.tasks):
            self.platform.request_stop()
        self._notify_parent_stop(group, CLD_STOPPED)

    def continue_group(self, group: ThreadGroup) -> None:
        """SIGCONT: a stopped process runs again (even if SIGCONT is ignored or blocked)."""
        for stop in sigs.STOP_SIGNALS:
            group.shared_pending &= ~sigs.sigbit(stop)
        if not group.stopped:
            return
        group.stopped = False
        group.stop_report = False
        group.continue_report = True
        for t in group.tasks:
            if t.runnable and not t.exited:
                self.sched.enqueue(t)
        self._notify_parent_stop(group, CLD_CONTINUED)

    def _notify_parent_stop(self, group: ThreadGroup, code: int) -> None:
        parent = group.parent
        if parent is None:
            return
        if not parent.sighand.actions[SIGCHLD].flags & SA_NOCLDSTOP:
            self.send_signal(parent, SIGCHLD, self._child_info(group, SIGCHLD, code))
        parent.child_exit.notify()

    def send_thread_signal(self, task: Task, sig: int, info: bytes | None = None) -> None:
        """tgkill/tkill: a signal for one thread."""
        group = task.group
        if sig == 0 or task.exited:
            return
        if sig == SIGCONT:
            self.continue_group(group)
        if sig == SIGKILL or self._fatal_now(group, sig, [task]):
            self.group_exit(group, sigs.wait_status_for_signal(sig))
            return
        if sig in sigs.STOP_SIGNALS and self._stop_now(group, sig, [task]):
            if sig == SIGSTOP or not self.orphaned_pgrp(group.pgid):
                self.stop_group(group, sig)
            return
        if sigs.is_ignored(group, sig):
            return
        bit = sigs.sigbit(sig)
        if not task.pending_signals & bit and info is not None:
            task.pending_info[sig] = info
        task.pending_signals |= bit
        if not task.blocked_signals & bit:
            self._signal_wake(task)

    def _fatal_now(self, group: ThreadGroup, sig: int, tasks: list[Task]) -> bool:
        action = group.sighand.actions[sig]
        bit = sigs.sigbit(sig)
        return (
            action.handler == sigs.SIG_DFL
            and sigs.default_kills(sig)
            and any(not t.blocked_signals & bit and not t.exited for t in tasks)
        )

    def _signal_wake(self, task: Task) -> None:
        if not task.runnable and not task.exited:
            task.wake()  # the interrupted syscall restarts and then sees the signal
        elif self.platform_current_is(task):
            self.platform.request_stop()

    def force_signal(self, task: Task, sig: int, code: int = 0, addr: int = 0) -> None:
        """A synchronous fault of the task's own making (Linux's force_sig_fault)."""
        action = task.group.sighand.actions[sig]
        blocked = task.blocked_signals & sigs.sigbit(sig)
        if action.handler in (sigs.SIG_DFL, sigs.SIG_IGN) or blocked:
            self.group_exit(task.group, sigs.wait_status_for_signal(sig))
            return
        task.pending_signals |= sigs.sigbit(sig)
        task.fault_info = (sig, code, addr)

    def deliver_signals(self, task: Task) -> None:
        """On the way back to user mode: run default actions or push handler frames, lowest
        signal first, each against the mask the previous handler left; then settle a syscall
        that a signal interrupted (Linux's arch_do_signal_or_restart)."""
        while not task.exited:
            pending = sigs.pending_deliverable(task)
            if not pending:
                break
            sig = (pending & -pending).bit_length()
            bit = sigs.sigbit(sig)
            group = task.group
            if task.pending_signals & bit:
                task.pending_signals &= ~bit
                info = task.pending_info.pop(sig, None)
            elif sig >= SIGRTMIN and group.rt_queue.get(sig):
                queue = group.rt_queue[sig]
                info = queue.pop(0)
                if not queue:
                    group.shared_pending &= ~bit
            else:
                group.shared_pending &= ~bit
                info = group.shared_info.pop(sig, None)
            action = group.sighand.actions[sig]
            if action.handler == sigs.SIG_IGN:
                continue
            if action.handler == sigs.SIG_DFL:
                if sigs.default_kills(sig):
                    self.group_exit(group, sigs.wait_status_for_signal(sig))
                elif sig == SIGSTOP or (
                    sig in sigs.STOP_SIGNALS and not self.orphaned_pgrp(group.pgid)
                ):
                    self.stop_group(group, sig)
                continue
            if task.restart_code:
                self._restart_for_handler(task, action)
            if task.fault_info is not None and task.fault_info[0] == sig:
                _, code, addr = task.fault_info
                task.fault_info = None
                info = sigs.siginfo(sig, code, addr=addr)
            saved = task.restore_mask_after_signal
            task.restore_mask_after_signal = None
            try:
                sigs.setup_frame(task, sig, action, info or sigs.siginfo(sig, SI_USER), saved)
            except KernelError:  # no room for the frame: Linux kills with SIGSEGV
                self.group_exit(group, sigs.wait_status_for_signal(SIGSEGV))
        if task.exited:
            return
        if task.restart_code:  # no handler ran: the call starts again
            code, task.restart_code = task.restart_code, 0
            nr = NR_RESTART_SYSCALL if code == ERESTART_RESTARTBLOCK else task.restart_nr
            self._restart_syscall(task, nr)
        if task.restore_mask_after_signal is not None:  # sigsuspend & co., no handler ran
            task.blocked_signals = task.restore_mask_after_signal
            task.restore_mask_after_signal = None

    def _restart_for_handler(self, task: Task, action: sigs.SigAction) -> None:
        """A handler runs over an interrupted call: EINTR, or with SA_RESTART (ERESTARTSYS)
        or always (ERESTARTNOINTR) the call runs again after the handler returns."""
        code, task.restart_code = task.restart_code, 0
        if code == ERESTARTNOINTR or code == ERESTARTSYS and action.flags & SA_RESTART:
            self._restart_syscall(task, task.restart_nr)
        else:
            self.platform.set_reg(task, "rax", -EINTR)

    def _restart_syscall(self, task: Task, nr: int) -> None:
        """Point the task at its `syscall` instruction again, with rax = nr."""
        platform = self.platform
        platform.set_reg(task, "rax", nr)
        platform.set_reg(task, "rip", platform.get_reg(task, "rip") - 2)

    # ---- exit ------------------------------------------------------------------------

    def group_exit(self, group: ThreadGroup, status: int) -> None:
        """End every thread of group; status is the wait(2) status."""
        if group.exit_code is None:
            group.exit_code = status
        for t in list(group.tasks):
            self.exit_task(t)

    def exit_task(self, task: Task) -> None:
        """One thread ends. A thread other than the leader leaves its group at once (Linux
        reaps it itself); the process becomes a zombie when its last thread is gone."""
        if task.exited:
            return
        task.exited = True
        task.runnable = False
        if task.context is not None:  # asleep in a syscall: unwind the handler first
            self.contexts.unwind(task)
        mm = task.mm
        if task.robust_list[0]:
            futex.exit_robust_list(self, task)
        # mm_release: tell a joiner, unless nobody else can see the address space any more
        if task.clear_child_tid and mm.users > 1:
            try:
                mm.copy_out(task.clear_child_tid, b"\0\0\0\0")
                futex.wake(self, mm, task.clear_child_tid, 1, futex.BITSET_MATCH_ANY, False)
            except KernelError:
                pass
        if task.vfork_done is not None:
            done, task.vfork_done = task.vfork_done, None
            done.notify()
        files = task.files
        files.users -= 1
        if files.users == 0:
            files.close_all()
        mm.users -= 1
        if mm.users == 0:
            mm.destroy()
        if self.platform_current_is(task):
            self.platform.request_stop()  # no guest instruction may run on a freed mm
        self.platform.free_cpu(task.cpu)
        if self.threads.get(task.tid) is task:
            del self.threads[task.tid]
        group = task.group
        if task.tid != group.pid and task in group.tasks:
            group.tasks.remove(task)
        if all(t.exited for t in group.tasks):
            self.become_zombie(group)

    def de_thread(self, task: Task) -> None:
        """execve in a multi-threaded process: every other thread dies, and a thread other
        than the leader takes the leader's place and its pid (Linux's de_thread)."""
        group = task.group
        for t in list(group.tasks):
            if t is not task:
                self.exit_task(t)
        leader_pid = group.pid
        if task.tid != leader_pid:
            if self.threads.get(task.tid) is task:
                del self.threads[task.tid]
            task.tid = leader_pid
            self.threads[leader_pid] = task
        group.tasks = [task]

    def platform_current_is(self, task: Task) -> bool:
        return getattr(self.platform, "current", None) is task

    def become_zombie(self, group: ThreadGroup) -> None:
        group.zombie = True
        if group.exit_code is None:
            group.exit_code = 0
        init = self.init_group
        if group is init:
            self.shutdown(group.exit_code)
            return
        for child in group.children:
            child.parent = init
            child.exit_signal = SIGCHLD  # Linux's reparent_leader: "don't slay init"
            init.children.append(child)  # type: ignore[union-attr]
            if child.zombie:
                init.child_exit.notify()  # type: ignore[union-attr]
        group.children = []
        parent = group.parent
        if parent is None:
            self.tasks.pop(group.pid, None)
            return
        if parent is init and self.kernel_init:
            self.release_group(group)  # the minimal init reaps at once
            if group is self.main_group:
                self.shutdown(group.exit_code)
            return
        action = parent.sighand.actions[SIGCHLD]
        if action.handler == sigs.SIG_IGN or action.flags & SA_NOCLDWAIT:  # no zombie
            self.release_group(group)
        elif 0 < group.exit_signal <= 64:  # clone() takes any CSIGNAL; Linux sends a valid one
            sig = group.exit_signal
            # a guest init (SIGNAL_UNKILLABLE) drops what it has no handler for: a child made
            # with CLONE_PARENT and some exit signal must not kill it
            if not (parent is init and not self.kernel_init and sigs.is_unhandled(parent, sig)):
                self.send_signal(parent, sig, self._child_info(group, sig))
        parent.child_exit.notify()

    def _child_info(self, group: ThreadGroup, sig: int, code: int = 0) -> bytes:
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
        return sigs.siginfo(sig, code, pid=group.pid, uid=uid, status=value)

    def release_group(self, group: ThreadGroup) -> None:
        """Reap: the zombie's pid becomes free."""
        if group.parent is not None and group in group.parent.children:
            group.parent.children.remove(group)
        self.tasks.pop(group.pid, None)

    def shutdown(self, status: int) -> None:
        """pid 1 is gone: every other process is killed, as when a container's init exits."""
        if self.exit_status is not None:
            return
        self.exit_status = status
        for group in list(self.tasks.values()):
            for t in group.tasks:
                if not t.exited:
                    t.exited = True
                    t.runnable = False

    # ---- the run loop ------------------------------------------------------------------

    def run(self) -> int:
        """Run tasks until pid 1 is gone (or --timeout); the wait status of pid 1."""
        sched = self.sched
        while self.exit_status is None:
            if self.host_signals:
                self.deliver_host_signals()
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.timed_out = True
                print(f"twaron: timed out after {self.config.timeout:g} s", file=sys.stderr)
                self.shutdown(sigs.wait_status_for_signal(SIGKILL))
                break
            task = sched.pick()
            if task is None:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    continue  # the timeout, handled at the top of the loop
                self.deadlock()
                break
            try:
                if task.context is not None and not self.resume_syscall(task):
                    continue  # asleep again
                if task.pending_signals or task.group.shared_pending or task.restart_code:
                    self.deliver_signals(task)
                if not task.runnable or task.exited or task.group.stopped:
                    continue
                event, spent = self.run_user(task)
            except Exception:
                self.oops(task, "run loop", ())
                continue
            if task.runnable and not task.exited and not task.group.stopped:
                sched.put_prev(task, spent, event is Event.PREEMPT)
        self.platform.close()
        self.unwind_sleepers()
        return self.exit_status if self.exit_status is not None else 1 << 8

    def run_user(self, task: Task) -> tuple[Event, float]:
        """Run task's user code until the platform stops it, and answer why it stopped (a
        fault, an exception, signals due); (the event, the CPU time it ran)."""
        platform = self.platform
        clock = self.clock
        prof = profile.PROFILER
        if prof:
            t0, s0 = prof.now(), self.prof_syscall_ns
        start = clock.monotonic()
        event, info = platform.run(task)
        spent = clock.monotonic() - start  # the task's CPU time, syscalls included
        task.utime += spent
        group = task.group
        group.utime += spent
        if group.utime >= group.cpu_check:
            self.cpu_limit(group)
        if prof:  # guest code = time in run() less the syscalls answered inside it
            t1 = prof.now()
            if t0 >= prof.origin_ns:
                prof.add("platform.run", t0, t1 - t0, task.tid)
                prof.tally("guest", t1 - t0 - (self.prof_syscall_ns - s0))
        if event is Event.PAGE_FAULT:
            try:
                code = task.mm.fault(info)
            except KernelError:  # no frame for the fault: guest memory is exhausted
                self.oom_kill(task)
                code = 0  # the faulting task (if it survives) retries the access
            if prof:
                prof.phase("fault", t1, task.tid)
            if code & FAULT_SIGBUS:
                self.force_signal(task, SIGBUS, code & 0xFF, info)
            elif code:
                self.force_signal(task, SIGSEGV, code, info)
        elif event is Event.EXCEPTION:
            sig, code, at_rip = VECTOR_SIGNALS.get(info, (SIGSEGV, SI_KERNEL, False))
            addr = platform.get_reg(task, "rip") if at_rip else 0
            self.force_signal(task, sig, code, addr)
        elif event is Event.HALT:
            raise RuntimeError(f"platform halted (error {info})")
        if task.pending_signals or task.group.shared_pending or task.restart_code:
            self.deliver_signals(task)
        return event, spent

    def unwind_sleepers(self) -> None:
        """The run is over: unwind the handlers still asleep (their wait entries go)."""
        for group in list(self.tasks.values()):
            for t in group.tasks:
                if t.context is not None:
                    self.contexts.unwind(t)

    def cpu_limit(self, group: ThreadGroup) -> None:
        """RLIMIT_CPU (Linux's check_process_timers): SIGKILL at the hard limit; SIGXCPU at
        the soft limit, which then moves up a second (one SIGXCPU a second until the hard)."""
        if group.zombie:
            return
        soft, hard = group.rlimits.get(RLIMIT_CPU, (RLIM_INFINITY, RLIM_INFINITY))
        used = group.utime
        if hard != RLIM_INFINITY and used >= hard:
            self.send_signal(group, SIGKILL)
            return
        if soft != RLIM_INFINITY and used >= soft:
            if soft < hard:
                soft += 1
                group.rlimits[RLIMIT_CPU] = (soft, hard)
            self.send_signal(group, SIGXCPU)
        lim = min(soft, hard)
        group.cpu_check = float("inf") if lim == RLIM_INFINITY else float(lim)

    def oom_kill(self, task: Task) -> None:
        """A page fault found no free frame: kill the process with the most private
        writable memory mapped (Linux's OOM killer, roughly its badness score), with SIGKILL.
        pid 1 is spared while another process could be killed, as Linux spares init."""
        def badness(group: ThreadGroup) -> int:
            mm = group.tasks[0].mm if group.tasks else None
            if mm is None:
                return 0
            return sum(v.end - v.start for v in mm.vmas if v.prot & 2 and not v.shared)

        live = [g for g in self.tasks.values() if not g.zombie and g.tasks
                and not all(t.exited for t in g.tasks)]  # fmt: skip
        others = [g for g in live if g is not self.init_group] or live
        victim = max(others, key=badness, default=task.group)
        print(f"twaron: out of memory: killed process {victim.pid}", file=sys.stderr)
        self.group_exit(victim, sigs.wait_status_for_signal(SIGKILL))

    def deadlock(self) -> None:
        """Every task sleeps with nothing that could wake it: end the run like a hang would."""
        if self.exit_status is None and self.deadline is None:
            print("twaron: all processes are blocked; stopping", file=sys.stderr)
            self.exit_status = 1 << 8


def status_to_exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128+N for signal N."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def now() -> float:
    return time.monotonic()
