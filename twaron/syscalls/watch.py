"""Watching and steering syscalls: Python hooks, fault injection, --trace, -c, --timeline.

All of it sits behind one wrapper of the syscall entry (SyscallEntry.watched_syscall),
chosen when the kernel boots with any of it asked for, or installed in the platform the
moment a hook is first registered; a kernel without it runs the plain entry and pays
nothing. Inside the wrapper a bytearray says which syscall numbers are watched at all, so a
kernel that only hooks `connect` spends one index on every other call.

A watched call goes: arguments formatted at entry (when traced or on the timeline), the
injection due for this call of this thread (strace's counting), the before-hooks, then the
handler (or not: an injected or hook-chosen result replaces it), then - at once, or when
a call that slept finally returns (SyscallEntry.resume) - the after-hooks, the trace line,
the -c count and the timeline slice. Kernel events reach the watch from the process layer
through `kernel.watch` (None when off): exec (process/execve.py), process exit
(process/exit.py), a signal taken (process/signal.py get_signal) and wake-ups (Task.wake),
for the exec/exit/signal hooks and the timeline.

A hook that raises ends the run: the error and its traceback are kept in
kernel.hook_errors and printed, every task is stopped as at --timeout, and nothing of it is
counted as a kernel oops.
"""

from __future__ import annotations

import random
import sys
import traceback
import weakref
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import SIGKILL
from twaron.arch.x86_64.errno import ENOMEM, ENOSYS
from twaron.errors import KernelError
from twaron.process import signal as sigs
from twaron.syscalls.hooks import (
    ExecEvent,
    ExitEvent,
    HookError,
    Hooks,
    SignalEvent,
    SyscallCall,
    hook_name,
)
from twaron.syscalls.inject import Injection, parse_inject
from twaron.syscalls.registry import NR_MAX
from twaron.syscalls.summary import Summary
from twaron.wait import need_context, sleep_until

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup
    from twaron.syscalls.entry import SyscallEntry

MEMORY_CALLS = ("mmap", "mremap", "brk")  # what --fail-mem fails
NO_RESULT = frozenset({"exit", "exit_group"})  # calls that never return
EXEC_CALLS = frozenset({"execve", "execveat"})


class Pending:
    """One watched call between its entry and its return (which may come much later)."""

    __slots__ = ("nr", "args", "t0", "entry", "call", "injected", "slept", "sleep_t0")

    def __init__(self, nr: int, args: list[int], t0: int) -> None:
        self.nr = nr
        self.args = args
        self.t0 = t0
        self.entry: list[str | None] | None = None  # arguments formatted at entry
        self.call: SyscallCall | None = None
        self.injected = False
        self.slept = 0  # ns spent asleep (not counted as the call's time by -c)
        self.sleep_t0 = 0


def wants_watch(config: Any, profiler: Any = None) -> bool:
    """Does this configuration need the watched entry from boot? (A Timeline as profiler:
    `twaron profile --trace-out`.)"""
    return bool(config.trace or config.trace_filter or config.summary or config.inject
                or config.fault or config.fail_mem or config.timeline or config.hooks
                or hasattr(profiler, "flow"))  # fmt: skip


class Watch:
    def __init__(self, entry: SyscallEntry) -> None:
        kernel = entry.kernel
        config = kernel.config
        reg = entry.registry
        self.entry = entry
        self.kernel: Kernel = kernel
        self.registry = reg
        self.names = [reg.name(nr) for nr in range(NR_MAX)]
        self.trace_set: frozenset[int] = frozenset()
        if config.trace or config.trace_filter:
            self.trace_set = reg.select(config.trace_filter or "all")
        self.summary = Summary() if config.summary else None
        prof = kernel.profiler
        self.timeline: Any = prof if hasattr(prof, "flow") else None  # a twaron.timeline
        self.injections: list[Injection | None] = [None] * NR_MAX
        for text, fault in [(t, False) for t in config.inject] + [(t, True) for t in config.fault]:
            inj = parse_inject(text, reg.select, fault=fault)
            for nr in inj.nrs:
                self.injections[nr] = inj  # the later expression holds for a call
        self.fail_mem = float(config.fail_mem or 0.0)
        self.memory_calls = {reg.by_name[n].nr for n in MEMORY_CALLS}
        self.brk_nr = reg.by_name["brk"].nr
        # seeded by --seed (apart from kernel.rng, so the guest's random stream is the same
        # with and without --fail-mem)
        self.rng = random.Random(f"fail-mem:{config.seed}") if config.seed is not None \
            else random.Random()  # fmt: skip
        self.counts: weakref.WeakKeyDictionary[Task, dict[int, int]] = weakref.WeakKeyDictionary()
        self.hooks: Hooks = kernel.hooks
        self.before: list[list[Callable[..., Any]] | None] = [None] * NR_MAX
        self.after: list[list[Callable[..., Any]] | None] = [None] * NR_MAX
        self.wanted = bytearray(NR_MAX)
        self.active: Task | None = None  # whose syscall runs now: the waker of a wake-up
        self.wakes: dict[Task, tuple[int, int]] = {}  # woken task -> (when, waker's tid)
        self.refresh()

    # ---- which calls are watched ---------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild the per-number tables (a hook was added)."""
        before: list[list[Any] | None] = [None] * NR_MAX
        after: list[list[Any] | None] = [None] * NR_MAX
        for when, key, fn in self.hooks.syscall_hooks:
            table = before if when == "before" else after
            for nr in self.select_key(key):
                hooks = table[nr]
                if hooks is None:
                    hooks = table[nr] = []
                hooks.append(fn)
        self.before, self.after = before, after
        every = self.summary is not None or self.timeline is not None
        for nr in range(NR_MAX):
            self.wanted[nr] = bool(
                every or nr in self.trace_set or before[nr] or after[nr]
                or self.injections[nr] is not None
                or (self.fail_mem and nr in self.memory_calls))  # fmt: skip

    def select_key(self, key: str | int) -> frozenset[int]:
        if isinstance(key, int):
            if not 0 <= key < NR_MAX:
                raise ValueError(f"syscall number {key} out of range")
            return frozenset((key,))
        return self.registry.select(key)

    # ---- a call ---------------------------------------------------------------------------

    def call(self, task: Task, nr: int, args: list[int]) -> int | None:
        entry = self.entry
        p = Pending(nr, args, perf_counter_ns())
        if nr in self.trace_set or self.timeline is not None:
            p.entry = self._format_entry(task, nr, args)
        handler = entry.table[nr]
        override: int | None = None
        delays = (0, 0)
        inj = self.injections[nr]
        if inj is not None and inj.due(self._count(task, nr)):
            if inj.signal:
                sigs.send_thread_signal(self.kernel, task, inj.signal)
                if task.exited:  # a signal that kills at once: the call never runs
                    return self.finish(task, p, None)
            if inj.replaces:
                override = inj.result
                p.injected = True
            delays = (inj.delay_enter, inj.delay_exit)
        elif self.fail_mem and nr in self.memory_calls and self.rng.random() * 100 < self.fail_mem:
            override = task.mm.brk if nr == self.brk_nr else -ENOMEM  # brk refuses: same break
            p.injected = True
        before = self.before[nr]
        if before is not None:
            call = p.call = SyscallCall(task, nr, self.names[nr], args)
            for fn in before:
                if not self.run_hook(fn, call, f"before('{self.names[nr]}') hook {hook_name(fn)}"):
                    return -ENOSYS  # the run is over
            if call.override is not None:
                override = call.override
        if delays != (0, 0):
            handler = _delayed(handler, override, delays)
        elif override is not None:
            if task.pending_signals or task.group.shared_pending:
                entry.platform.request_stop()  # an injected signal is delivered on return
            return self.finish(task, p, override)
        self.active = task
        try:
            ret = entry.dispatch(task, nr, handler, args)
        finally:
            self.active = None
        if ret is None and task.context is not None and not task.exited:  # asleep
            task.context.watch_state = p
            p.sleep_t0 = perf_counter_ns()
            if nr in self.trace_set:
                self._write(task, f"{self.names[nr]}(... <unfinished ...>")
            return None
        return self.finish(task, p, ret)

    def _count(self, task: Task, nr: int) -> int:
        """This thread's calls of nr so far, this one included (strace counts per tracee)."""
        counts = self.counts.get(task)
        if counts is None:
            counts = self.counts[task] = {}
        n = counts[nr] = counts.get(nr, 0) + 1
        return n

    def finish(self, task: Task, p: Pending, ret: int | None, prefix: str = "") -> int | None:
        """The call returns ret (None: it set the registers itself, or did not return);
        prefix: what --trace prints before the line of a call that slept."""
        t1 = perf_counter_ns()
        nr = p.nr
        name = self.names[nr]
        returned = not task.exited and name not in NO_RESULT
        # what the caller sees: a successful execve set the registers itself, and is 0
        shown = 0 if ret is None and returned and name in EXEC_CALLS else ret
        after = self.after[nr]
        if after is not None and returned:
            call = p.call or SyscallCall(task, nr, name, p.args)
            call.phase, call.result = "after", shown
            for fn in after:
                if not self.run_hook(fn, call, f"after('{name}') hook {hook_name(fn)}"):
                    return ret
            if ret is not None and call.result is not None:
                ret = shown = call.result
        if not returned:
            shown = None
        if nr in self.trace_set:
            self._write(task, prefix + self._line(task, p, shown))
        if self.summary is not None and returned:
            self.summary.count(nr, shown or 0, t1 - p.t0 - p.slept)
        if self.timeline is not None:
            self._slice(task, p, shown, t1)
        return ret

    # ---- sleeping calls (SyscallEntry.resume) ---------------------------------------------

    def resuming(self, task: Task) -> None:
        """The run loop switches into task's sleeping handler: its sleep ends here."""
        ctx = task.context
        p = ctx.watch_state if ctx is not None else None
        self.active = task
        if p is None:
            return
        now = perf_counter_ns()
        p.slept += now - p.sleep_t0
        tl = self.timeline
        if tl is not None:
            tl.slice("blocked", "sched", p.sleep_t0, now - p.sleep_t0, task.tid)
            woken = self.wakes.pop(task, None)
            if woken is not None:
                tl.flow(woken[0], woken[1], now, task.tid)

    def resumed(self, task: Task, ctx: Any, done: bool, ret: int | None) -> int | None:
        """After the switch: the call returned (done) or sleeps again."""
        self.active = None
        p = ctx.watch_state if ctx is not None else None
        if p is None:
            return ret
        if not done:
            p.sleep_t0 = perf_counter_ns()
            return ret
        ctx.watch_state = None
        if task.exited:
            return ret
        return self.finish(task, p, ret, "<... resumed> ")

    # ---- kernel events --------------------------------------------------------------------

    def woken(self, task: Task) -> None:
        """Task.wake: remember who woke a task asleep in a syscall, for the timeline's flow."""
        waker = self.active
        if self.timeline is not None and waker is not None and waker is not task \
                and task.context is not None:  # fmt: skip
            self.wakes[task] = (perf_counter_ns(), waker.tid)

    def exec_done(self, task: Task, path: bytes, argv: list[bytes], envp: list[bytes]) -> None:
        tl = self.timeline
        if tl is not None:
            tl.thread(task.tid, task.pid, task.comm)
            tl.instant("exec", "process", task.tid,
                       {"path": path.decode(errors="replace"),
                        "argv": [a.decode(errors="replace") for a in argv]})  # fmt: skip
        if self.hooks.exec_hooks:
            event = ExecEvent(task, path, list(argv), list(envp))
            for fn in list(self.hooks.exec_hooks):
                if not self.run_hook(fn, event, f"on_exec hook {hook_name(fn)}"):
                    return

    def first_exec(self, task: Task, path: bytes, argv: list[bytes], envp: list[bytes],
                   ns: int) -> None:  # fmt: skip
        """The kernel exec'd PROGRAM (no syscall of the guest's): traced and counted as the
        execve strace sees its child make first."""
        nr = self.registry.by_name["execve"].nr
        if nr in self.trace_set:
            from twaron.syscalls.trace import quote

            args = ", ".join(quote(a) for a in argv)
            self._write(task, f"execve({quote(path)}, [{args}], [/* {len(envp)} vars */]) = 0")
        if self.summary is not None:
            self.summary.count(nr, 0, ns)

    def process_exit(self, group: ThreadGroup) -> None:
        status = group.exit_code or 0
        leader = next((t for t in group.tasks if t.tid == group.pid), None)
        comm = leader.comm.decode(errors="replace") if leader is not None else ""
        tl = self.timeline
        if tl is not None:
            tl.instant("exit", "process", group.pid, {"status": status})
        if self.hooks.exit_hooks:
            event = ExitEvent(group.pid, comm, status, group.utime + group.cutime,
                              group.stime + group.cstime)  # fmt: skip
            for fn in list(self.hooks.exit_hooks):
                if not self.run_hook(fn, event, f"on_exit hook {hook_name(fn)}"):
                    return

    def signal_taken(self, task: Task, sig: int, handler: int) -> None:
        action = "ignore" if handler == sigs.SIG_IGN else \
            "default" if handler == sigs.SIG_DFL else "handler"  # fmt: skip
        tl = self.timeline
        if tl is not None:
            from twaron.syscalls.trace import signal_name

            tl.instant(signal_name(sig), "signal", task.tid, {"action": action})
        if self.hooks.signal_hooks:
            event = SignalEvent(task, sig, action)
            for fn in list(self.hooks.signal_hooks):
                if not self.run_hook(fn, event, f"on_signal hook {hook_name(fn)}"):
                    return

    # ---- hooks that fail ------------------------------------------------------------------

    def run_hook(self, fn: Callable[[Any], Any], arg: Any, where: str) -> bool:
        """Call a hook; False (and the run ended) if it raised."""
        if self.kernel.exit_status is not None and self.kernel.hook_errors:
            return False  # an earlier hook already ended the run
        try:
            fn(arg)
        except Exception:
            self.hook_failed(where)
            return False
        return True

    def hook_failed(self, where: str) -> None:
        kernel = self.kernel
        error = HookError(where, traceback.format_exc())
        kernel.hook_errors.append(error)
        print(error.report(), file=sys.stderr, flush=True)
        kernel.shutdown(sigs.wait_status_for_signal(SIGKILL))
        if kernel.platform is not None:
            kernel.platform.request_stop()

    # ---- --trace and the timeline ---------------------------------------------------------

    def _format_entry(self, task: Task, nr: int, args: list[int]) -> list[str | None] | None:
        from twaron.syscalls.trace import format_entry

        try:
            return format_entry(task, nr, args)
        except Exception:  # noqa: BLE001 - tracing must never take the kernel down
            return None

    def _line(self, task: Task, p: Pending, ret: int | None) -> str:
        from twaron.syscalls.trace import format_syscall

        try:
            line = format_syscall(task, p.nr, p.args, ret, entry=p.entry)
        except Exception:  # noqa: BLE001
            line = f"{self.names[p.nr]}(...) = {ret}"
        return line + " (INJECTED)" if p.injected else line

    def _write(self, task: Task, line: str) -> None:
        out = self.entry.trace_out
        out.write(f"[pid {task.tid:>5}] {line}\n")
        out.flush()

    def _slice(self, task: Task, p: Pending, ret: int | None, t1: int) -> None:
        tl = self.timeline
        tl.thread(task.tid, task.pid, task.comm)
        line = self._line(task, p, ret)
        args = {"call": line[: line.rindex(" = ")] if " = " in line else line,
                "result": line[line.rindex(" = ") + 3 :] if " = " in line else "?"}  # fmt: skip
        tl.slice(self.names[p.nr], "syscall", p.t0, t1 - p.t0, task.tid, args)

    # ---- the end --------------------------------------------------------------------------

    def report(self, out: Any) -> None:
        """At the end of the run: -c's table."""
        if self.summary is not None:
            out.write(self.summary.table(self.registry.name))
            out.flush()


def _delayed(handler: Any, override: int | None, delays: tuple[int, int]) -> Any:
    """The handler with strace's delay_enter/delay_exit around it (and in place of it when
    the call is replaced). The delay holds the thread (uninterruptibly, as a tracer would)
    while the other tasks run, so it needs a context: the whole call runs in one."""

    def delayed(task: Task, *args: int) -> int | None:
        need_context()  # before the handler: it must not run twice
        clock = task.kernel.clock
        if delays[0]:
            sleep_until(clock.monotonic() + delays[0] / 1e6, interruptible=False)
        try:
            if override is not None:
                ret: int | None = override
            elif handler is None:
                ret = -ENOSYS
            else:
                ret = handler(task, *args)
        except KernelError:
            if delays[1]:
                sleep_until(clock.monotonic() + delays[1] / 1e6, interruptible=False)
            raise
        if delays[1]:
            sleep_until(clock.monotonic() + delays[1] / 1e6, interruptible=False)
        return ret

    return delayed
