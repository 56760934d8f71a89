"""Syscall contexts: handlers that sleep where they stand.

Most system calls finish without waiting, and they run directly on the platform's stack
(inside Unicorn's syscall hook, or KVM's exit handler): nothing is spent on them here. A
handler that must wait asks the wait layer for its context (wait.current()); on the platform's
stack it has none, so the wait layer raises NeedContext before the handler has changed
anything, and the syscall layer runs the handler again from the start in a TaskContext: a
greenlet, a Python stack of its own. There the handler can sleep (TaskContext.block): the
greenlet switches back to its caller, the platform leaves the guest, the scheduler runs other
tasks, and when the task is woken the run loop switches into the greenlet again and the
handler goes on with its local state, as xv6's sleep() or gVisor's Task.Block would.

Why greenlets and not generators: with generators every function between the syscall and
the sleep (read -> file op -> pipe) would have to be one, and every call a `yield from`; a
greenlet lets ordinary functions sleep. What it costs is in README.md ("The blocking path").

Contexts are pooled per kernel: making a greenlet costs a Python data stack (an mmap), a
switch into a parked one a few hundred nanoseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, getcurrent

from twaron.arch.x86_64.errno import ERESTARTSYS
from twaron.errors import KernelError
from twaron.process import signal as sigs
from twaron.wait import Callback, Context, NeedContext, SleepRestart

if TYPE_CHECKING:
    from collections.abc import Callable

    from twaron.process.task import Task

SLEEPING = "sleeping"  # what a context hands its caller when its handler went to sleep
DONE = "done"
INTERRUPT = "interrupt"  # what a sleeping handler is resumed with to end its sleep now


class TaskExit(BaseException):  # noqa: N818 - unwinds a killed task's sleeping handler
    """Thrown into a sleeping handler whose task is being torn down."""


class TaskContext(Context):
    """One handler's stack; reused for the next handler once this one has returned."""

    def __init__(self, pool: ContextPool) -> None:
        super().__init__(run=self._serve)
        self.pool = pool
        self.task: Task | None = None
        self.caller: Any = None  # the greenlet to switch back to (hook or run loop)
        self.nr = 0
        self.args: tuple[int, ...] = ()
        self.watch_state: Any = None  # syscalls/watch.py: the watched call asleep here

    def _serve(self, job: tuple[Task, int, Any, tuple[int, ...]]) -> None:
        while True:
            task, self.nr, handler, self.args = job
            self.task = task
            self.watch_state = None  # none left by a call whose task was killed asleep
            try:
                result = self.pool.runner(task, self.nr, handler, self.args)
            except TaskExit:
                result = None
            self.task = None
            job = self.caller.switch((DONE, result))

    # ---- the two sides of a switch ------------------------------------------------------

    def enter(self, job: Any = None) -> tuple[str, int | None]:
        """Start a handler (job), resume the sleeping one (no job), or end its sleep with a
        signal (INTERRUPT); returns (SLEEPING, None) if it went (back) to sleep, (DONE,
        result) once it returned."""
        self.caller = getcurrent()
        return self.switch(job) if job is not None else self.switch()

    def block(self, deadline: float | None, interruptible: bool) -> bool:
        task = self.task
        assert task is not None
        if interruptible and sigs.pending_deliverable(task):
            raise KernelError(ERESTARTSYS)
        kernel = task.kernel
        if deadline is not None and kernel.clock.monotonic() >= deadline:
            return False
        kernel.sched.sleep(task, deadline)
        task.sleep_interruptible = interruptible
        if self.caller.switch((SLEEPING, None)) == INTERRUPT:
            raise KernelError(ERESTARTSYS)
        return not task.timed_out

    def waker(self) -> Callback:
        return self.task.wake  # type: ignore[union-attr]


class RestartSleep:
    """A handler asleep without a stack of its own (wait.SleepRestart): the queues it waits
    on, and the call to make again from its start once it is woken. The run loop, signals
    and teardown see it where they see a TaskContext (task.context)."""

    __slots__ = ("nr", "handler", "args", "entries", "interruptible", "watch_state", "hold")
    dead = False

    def __init__(self, nr: int, handler: Any, args: tuple[int, ...]) -> None:
        self.nr = nr
        self.handler = handler
        self.args = args
        self.entries: list[Any] = []
        self.interruptible = True
        self.watch_state: Any = None
        self.hold: Any = None  # what the call keeps while it sleeps (SleepRestart.hold)

    def let_go(self) -> None:
        for entry in self.entries:
            entry.remove()
        self.entries = []

    def end(self) -> None:
        """The call is over (it returned, failed, was interrupted or its task is gone)."""
        self.let_go()
        hold = self.hold
        if hold is not None:
            self.hold = None
            hold.put()


def _restart_sys(_task: Task) -> None:
    raise KernelError(ERESTARTSYS)  # a signal ends the sleep: through the runner's rule


class ContextPool:
    """The kernel's contexts: those parked for reuse, and the runner they call handlers
    through (the syscall layer's, which turns errors into errnos and bugs into oopses)."""

    def __init__(self, runner: Callable[..., int | None]) -> None:
        self.runner = runner
        self.free: list[TaskContext] = []
        self.last_done: TaskContext | None = None  # the context whose handler just returned
        self.made: list[TaskContext] = []  # every context, for close()

    def start(self, task: Task, nr: int, handler: Any, args: tuple[int, ...]) -> int | None:
        """Run handler in a context; its result, or None if it sleeps (the task then holds
        the context until the run loop resumes it to completion)."""
        ctx = self.free.pop() if self.free else self._new()
        task.context = ctx
        return self._settle(task, ctx, ctx.enter((task, nr, handler, args)))

    def sleep(self, task: Task, nr: int, handler: Any, args: tuple[int, ...], why: SleepRestart,
              asleep: RestartSleep | None = None) -> int | None:  # fmt: skip
        """handler raised SleepRestart: task sleeps in the syscall (None, task.context set),
        or the call ends with ERESTARTSYS at once when a signal is already pending (as
        TaskContext.block would)."""
        ended = None
        if why.interruptible and sigs.pending_deliverable(task):
            ended = _restart_sys
        elif why.deadline is not None and task.kernel.clock.monotonic() >= why.deadline:
            ended = why.expired
        if ended is not None:
            if asleep is not None:
                asleep.end()
            return self.runner(task, nr, ended, ())
        if asleep is None:
            if why.again is not None:  # wait_tail: the rest of the call, not the handler
                handler, args = why.again, ()
            s = RestartSleep(nr, handler, args)
            if why.hold is not None:
                why.hold.get()
                s.hold = why.hold
        else:
            s = asleep
        s.interruptible = why.interruptible
        wake = task.wake
        s.entries = [queue.add(mask, wake) for queue, mask in why.waits]
        task.context = s
        task.kernel.sched.sleep(task, why.deadline)
        task.sleep_interruptible = why.interruptible
        return None

    def _again(self, task: Task, s: RestartSleep, how: Any) -> tuple[bool, int | None]:
        """resume() of a RestartSleep: the handler runs again from its start; what it waits
        for is looked at before a pending signal, as Linux's do_wait does (sleep() then
        ends the call with ERESTARTSYS). INTERRUPT ends it at once."""
        s.let_go()
        task.context = None
        if how == INTERRUPT:
            s.end()
            return True, self.runner(task, s.nr, _restart_sys, ())
        try:
            ret = self.runner(task, s.nr, s.handler, s.args)
        except SleepRestart as why:  # (sleep() ends s if the call ends there)
            ret = self.sleep(task, s.nr, s.handler, s.args, why, s)
            return task.context is None, ret
        except NeedContext:  # (it wants a stack after all: a handler run from its start)
            s.end()
            ret = self.start(task, s.nr, s.handler, s.args)
            return task.context is None, ret
        s.end()
        return True, ret

    def _new(self) -> TaskContext:
        ctx = TaskContext(self)
        self.made.append(ctx)
        return ctx

    def close(self) -> None:
        """The run is over: end every context, parked or still asleep in a killed task's
        handler. A suspended greenlet's frames are invisible to Python's garbage collector,
        so a parked context would keep the whole kernel (guest RAM included) alive."""
        for ctx in self.made:
            if not ctx.dead and ctx is not getcurrent():
                try:
                    ctx.throw(GreenletExit)
                except Exception:  # noqa: BLE001 - a handler's cleanup after the run is over
                    pass
        self.made.clear()
        self.free.clear()
        self.last_done = None

    def resume(self, task: Task, how: Any = None) -> tuple[bool, int | None]:
        """Switch into task's sleeping handler (how=INTERRUPT: its sleep ends as if a signal
        came): (True, result) once it returned, (False, None) if it went to sleep again."""
        ctx = task.context
        assert ctx is not None
        if type(ctx) is RestartSleep:
            return self._again(task, ctx, how)
        state = ctx.enter(how)
        done = state[0] == DONE
        return done, self._settle(task, ctx, state)

    def _settle(self, task: Task, ctx: TaskContext, state: tuple[str, int | None]) -> int | None:
        if state[0] == DONE:
            task.context = None
            self.last_done = ctx
            self.free.append(ctx)
        return state[1]

    def unwind(self, task: Task) -> None:
        """task is being torn down while its handler sleeps: unwind the handler (its finally
        clauses run, its wait entries go) and take the context back."""
        ctx = task.context
        if type(ctx) is RestartSleep:
            ctx.end()
            task.context = None
            return
        if ctx is None or ctx is getcurrent() or ctx.dead:
            return
        ctx.caller = getcurrent()
        state = ctx.throw(TaskExit)
        self._settle(task, ctx, state)
