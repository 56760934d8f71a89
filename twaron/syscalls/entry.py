"""The syscall boundary (Linux's do_syscall_64): where every system call enters the kernel.

The platform calls `syscall(task, nr, a0..a5)` while the guest is stopped at its `syscall`
instruction (inside Unicorn's hook or KVM's exit handler) and writes the result to rax. Here:
the registry's handler runs; KernelError becomes -errno; a handler that must sleep is run
again in a context (process/context.py), or sleeps without one to run again from its start
when woken (wait.wait_restartable), and the platform is asked to stop; a signal that
ends a sleep leaves its restart code for signal delivery; any other exception is an oops.

Hooks, fault injection, --trace, -c and --timeline enter through a wrapper
(watched_syscall, see syscalls/watch.py), `twaron profile` through another
(profiled_syscall): the platform is given the plain entry unless one of them is on, so the
plain path pays nothing for them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent

from twaron.arch.x86_64.errno import EINTR, ENOSYS, ERESTARTSYS
from twaron.errors import KernelError
from twaron.process.context import INTERRUPT, ContextPool
from twaron.syscalls import registry
from twaron.syscalls.registry import NR_MAX
from twaron.wait import NeedContext, SleepRestart

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task

# `twaron profile`: the phase a syscall's time counts towards (every other call: "syscall").
PROFILE_SYSCALL_PHASES = {
    "clone": "fork", "clone3": "fork", "fork": "fork", "vfork": "fork",
    "execve": "execve", "execveat": "execve", "wait4": "wait", "waitid": "wait",
    "exit": "exit", "exit_group": "exit",
}  # fmt: skip


class SyscallEntry:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.registry = registry.load()
        self.table = self.registry.handlers
        self.interrupt_errno = self.registry.interrupt_errno
        self.contexts = ContextPool(self.run_handler)
        self.unimplemented_calls = kernel.unimplemented_calls
        self.trace_out: Any = sys.stderr
        self.prof_syscall_ns = 0  # time spent in syscall handlers, counted while profiling
        self.platform: Any = None  # set once the platform exists (it takes our entry point)
        self.watch: Any = None  # syscalls/watch.py's Watch, when anything watches calls
        self.unwatched: Any = None  # what the watched entry calls for calls it does not watch
        from twaron.syscalls.watch import wants_watch

        kernel.hooks.listeners.append(self.hooks_changed)
        if wants_watch(kernel.config, kernel.profiler) or kernel.hooks:
            self.enable_watch()

    def entry_point(self) -> Any:
        """What the platform calls: the plain entry, the timed one when profiling, the
        watched one when hooks, injection, tracing, -c or the timeline are on; inside the
        event hash of a recorded or replayed run (process/record.py)."""
        if self.watch is not None:
            inner = self.watched_syscall
        else:
            inner = self.syscall if self.kernel.profiler is None else self.profiled_syscall
        events = getattr(self.kernel, "events", None)
        return inner if events is None else events.wrap(inner)

    def enable_watch(self) -> None:
        """Put the watch in place (from boot, or when the first hook is registered)."""
        from twaron.syscalls.watch import Watch

        if self.watch is None:
            self.unwatched = self.syscall if self.kernel.profiler is None else \
                self.profiled_syscall  # fmt: skip
            self.watch = self.kernel.watch = Watch(self)
            if self.platform is not None:
                self.platform.syscall_entry = self.entry_point()

    def hooks_changed(self) -> None:
        if self.watch is None:
            self.enable_watch()
        else:
            self.watch.refresh()

    # ---- the boundary -------------------------------------------------------------------

    def syscall(self, task: Task, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                a5: int) -> int | None:  # fmt: skip
        """The value for rax, or None (the handler set the registers itself, or it sleeps:
        then the platform stops and the run loop resumes the handler when it is woken)."""
        handler = self.table[nr] if nr < NR_MAX else None
        if handler is None:
            self.unimplemented_calls[nr] += 1
            ret: int | None = -ENOSYS
        else:
            try:
                ret = handler(task, a0, a1, a2, a3, a4, a5)
            except KernelError as e:
                ret = -e.errno if e.errno < ERESTARTSYS else self.interrupted(task, nr, e)
            except SleepRestart as why:  # it sleeps, to run again from its start when woken
                ret = self.contexts.sleep(task, nr, handler, (a0, a1, a2, a3, a4, a5), why)
                if ret is None:
                    self.platform.request_stop()
            except NeedContext:  # it must sleep: again from the start, where it can
                ret = self.contexts.start(task, nr, handler, (a0, a1, a2, a3, a4, a5))
                if ret is None:
                    self.platform.request_stop()
            except Exception:
                self.kernel.oops(task, self.registry.name(nr), (a0, a1, a2, a3, a4, a5))
                ret = None
        if task.pending_signals or task.group.shared_pending:
            self.platform.request_stop()
        return ret

    def dispatch(self, task: Task, nr: int, handler: Any, args: Any) -> int | None:
        """syscall() with the handler given (the watch's: possibly wrapped in a delay)."""
        if handler is None:
            self.unimplemented_calls[nr] += 1
            ret: int | None = -ENOSYS
        else:
            try:
                ret = handler(task, *args)
            except KernelError as e:
                ret = -e.errno if e.errno < ERESTARTSYS else self.interrupted(task, nr, e)
            except NeedContext:
                ret = self.contexts.start(task, nr, handler, tuple(args))
                if ret is None:
                    self.platform.request_stop()
            except Exception:
                self.kernel.oops(task, self.registry.name(nr), tuple(args))
                ret = None
        if task.pending_signals or task.group.shared_pending:
            self.platform.request_stop()
        return ret

    def run_handler(self, task: Task, nr: int, handler: Any, args: tuple[int, ...]) -> int | None:
        """syscall()'s classification of a handler's outcome, for handlers that run in a
        context."""
        try:
            return handler(task, *args)
        except KernelError as e:
            return -e.errno if e.errno < ERESTARTSYS else self.interrupted(task, nr, e)
        except Exception:
            self.kernel.oops(task, self.registry.name(nr), args)
            return None

    def interrupted(self, task: Task, nr: int, e: KernelError) -> int:
        """A signal ended the call's sleep: its restart code per the registry's rule, kept on
        the task until signal delivery decides between EINTR and a restart (sigframe.py)."""
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

    def resume(self, task: Task, how: Any = None) -> bool:
        """Switch into task's sleeping handler; True when it finished and the task may go on
        to user mode (its result is in rax), False when it sleeps again or is gone."""
        watch = self.watch
        if watch is not None:
            ctx = task.context
            watch.resuming(task)
            done, ret = self.contexts.resume(task, how)
            ret = watch.resumed(task, ctx, done, ret)
        else:
            done, ret = self.contexts.resume(task, how)
        if not done or task.exited:
            return False
        if ret is not None:
            self.platform.finish_syscall(task, ret)
        return True

    def interrupt(self, task: Task) -> None:
        """End task's interruptible sleep now, as a signal would, and let its handler return
        (ERESTARTSYS, or the part it did): a group stop does this to every sleeping thread,
        as Linux's signal_wake_up makes them leave their syscalls before they stop."""
        ctx = task.context
        if ctx is None or ctx is getcurrent() or ctx.dead or not task.sleep_interruptible:
            return
        task.wake()  # it stays out of the CPU while its group is stopped
        self.resume(task, INTERRUPT)

    # ---- twaron profile -----------------------------------------------------------------

    def profiled_syscall(self, task: Task, nr: int, a0: int, a1: int, a2: int, a3: int,
                         a4: int, a5: int) -> int | None:  # fmt: skip
        """syscall(), timed: each call is a timeline event "sys.NAME" and counts towards one
        of the phases fork, execve, wait, exit or (every other call) syscall."""
        prof = self.kernel.profiler
        t0 = prof.now()
        ret = self.syscall(task, nr, a0, a1, a2, a3, a4, a5)
        self.profile_account(task, nr, t0, prof.now() - t0)
        return ret

    def profile_account(self, task: Task, nr: int, t0: int, dur: int) -> None:
        prof = self.kernel.profiler
        self.prof_syscall_ns += dur
        if t0 >= prof.origin_ns:  # began after the last reset
            name = self.registry.name(nr)
            prof.add("sys." + name, t0, dur, task.tid)
            prof.tally(PROFILE_SYSCALL_PHASES.get(name, "syscall"), dur)

    # ---- hooks, injection, --trace, -c, --timeline ------------------------------------

    def watched_syscall(self, task: Task, nr: int, a0: int, a1: int, a2: int, a3: int,
                        a4: int, a5: int) -> int | None:  # fmt: skip
        """syscall() for a kernel with a watch: calls nothing watches take the plain path."""
        if nr >= NR_MAX or not self.watch.wanted[nr]:
            return self.unwatched(task, nr, a0, a1, a2, a3, a4, a5)
        prof = self.kernel.profiler
        if prof is None:
            return self.watch.call(task, nr, [a0, a1, a2, a3, a4, a5])
        t0 = prof.now()
        ret = self.watch.call(task, nr, [a0, a1, a2, a3, a4, a5])
        self.profile_account(task, nr, t0, prof.now() - t0)
        return ret
