"""The deterministic scheduler (`twaron run --deterministic`): every scheduling choice comes
from a generator seeded by --seed, and every preemption point is a count of executed code or
of system calls, never a host timer. The same seed gives the same schedule; another seed
another one, which is what `twaron explore` uses to look for races.

The policy, after PCT (Burckhardt et al., "A Randomized Scheduler with Probabilistic
Guarantees of Finding Bugs", ASPLOS 2010), made simpler and denser:

- Every task gets a random priority when it is first made runnable; the runnable task with
  the highest priority runs.
- A scheduling point is taken whenever a task becomes runnable while another runs (a wake-up,
  a fork, a signal): the running task stops at the end of that system call and the highest
  priority runs on, possibly the newcomer (PCT's wake-up preemption).
- While other tasks are runnable, the running one is preempted at random points: after a
  number of bytes of executed code drawn from an exponential distribution of mean G, or
  after its k-th system call, k drawn from a geometric distribution of parameter P. The code
  budget is counted per translated block, so the platform then runs 0..15 more instructions
  one at a time (random too): a preemption can fall between any two instructions, between
  the load and the store of `counter++` as well. G and P
  are drawn once per run from the seed (G log-uniform in 4 KiB..1 MiB of code, P in
  1/64..1/4), so some seeds preempt often and some rarely. A preempted task goes below every
  other (PCT's priority change point), and so does a task that ran a whole time slice
  (SLICE, virtual) or called sched_yield: nothing can starve, and a spinning task lets the
  others run.
- A task alone on the CPU runs for a whole slice (capped at the next timer's deadline), so a
  deterministic run pays for preemptions only where there is something to interleave.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twaron.clock import CODE_BYTES_PER_NS, NSEC
from twaron.process.sched import HOST_CHECK_INTERVAL, Scheduler

if TYPE_CHECKING:
    from twaron.clock import VirtualClock
    from twaron.process.task import Task

SLICE = 0.01  # virtual seconds a task runs before it goes below the others
GAP_LOG2 = (12.0, 20.0)  # mean bytes of code between random preemptions: 4 KiB .. 1 MiB
SYSCALL_P_LOG2 = (2.0, 6.0)  # probability of a preemption at a system call: 1/4 .. 1/64
STEPS = 16  # a random preemption falls 0..STEPS-1 instructions into a translated block


class DeterministicScheduler(Scheduler):
    def __init__(self, clock: VirtualClock, seed: int) -> None:
        super().__init__(clock)  # type: ignore[arg-type]
        self.rng = random.Random(f"twaron-sched:{seed}")
        self.mean_gap = 2.0 ** self.rng.uniform(*GAP_LOG2)
        self.syscall_p = 2.0 ** -self.rng.uniform(*SYSCALL_P_LOG2)
        self.platform: Any = None  # set by the kernel once the platform exists
        self.running: Task | None = None  # the task of the current turn
        self.previous: Task | None = None
        self.code_random = False  # the turn's code budget is a random preemption point
        self.calls = 0  # the turn's syscall budget (0: none)
        self.bottom = 0.0  # the priority of the next task sent below all others
        self.switches = 0  # turns given to a task other than the previous one
        # Whether the run is over though tasks remain (--timeout taken at an input point):
        # the idle loop gives up then. Set by the kernel.
        self.give_up: Callable[[], bool] = lambda: False

    # ---- the run queue --------------------------------------------------------------------

    def enqueue(self, task: Task) -> None:
        if task.sched_prio is None:
            task.sched_prio = self.rng.uniform(1.0, 2.0)
        if not task.queued:
            task.queued = True
            self.runq.append(task)
        if self.running is not None and task is not self.running and self.platform is not None:
            self.platform.need_resched = True  # a scheduling point at the end of this call

    def requeue_front(self, task: Task) -> None:
        self.enqueue(task)

    def put_prev(self, task: Task, spent: float, preempted: bool) -> None:
        """task ran for `spent` virtual seconds and can run on: below every other task if a
        random preemption point or its slice ended the turn, else where its priority says."""
        self.running = None
        used = task.slice_used + spent
        p = self.platform
        preempted_here = (self.calls and not p.syscall_budget) or \
            (self.code_random and p.det.exhausted())  # fmt: skip
        if preempted_here or used >= SLICE:
            self.demote(task)
        else:
            task.slice_used = used
        self.enqueue(task)

    def yield_cpu(self, task: Task) -> None:
        self.demote(task)
        self.enqueue(task)

    def demote(self, task: Task) -> None:
        """PCT's priority change: below every other task; a fresh slice for next time."""
        task.sched_prio = self.bottom
        self.bottom -= 1.0
        task.slice_used = 0.0

    def _best(self) -> Task | None:
        """The runnable task of the highest priority, taken off the queue (tasks that
        cannot run leave it)."""
        best = None
        for task in list(self.runq):
            if not task.runnable or task.exited or task.group.stopped:
                self.runq.remove(task)
                task.queued = False
            elif best is None or task.sched_prio > best.sched_prio:  # type: ignore[operator]
                best = task
        if best is not None:
            self.runq.remove(best)
            best.queued = False
        return best

    # ---- choosing -------------------------------------------------------------------------

    def pick(self) -> Task | None:
        """The next task and its budget; with nothing runnable, time moves to the next timer
        at once, or the kernel waits for the outside world (an input point)."""
        self.running = None
        clock = self.clock
        last = None
        while True:
            now = clock.monotonic()
            if self.timers:
                self.expire_timers(now)
            if now - self._last_host_check >= HOST_CHECK_INTERVAL:
                self._last_host_check = now
                self.host_wait(0)
            if self.give_up():
                return None
            task = self._best()
            if task is not None:
                self._start_turn(task)
                return task
            deadline = self.next_deadline()
            if deadline is not None:
                if last != now:  # once per instant: input that is already there comes first
                    last = now
                    # (the time to the timer: a host socket a task waits on may answer
                    # meanwhile, live; the wait is still one input point)
                    self.host_wait(max(deadline - now, 0.0))
                    continue
                clock.advance_to(deadline)  # type: ignore[attr-defined]
                continue
            if not self.host_wait(None) or self.give_up():
                return None

    def _start_turn(self, task: Task) -> None:
        """Set the platform's budgets for task's turn (and note that it is the running one)."""
        others = any(t.runnable and not t.exited and not t.group.stopped for t in self.runq)
        left_ns = max(1, int((SLICE - task.slice_used) * NSEC))
        code = left_ns * CODE_BYTES_PER_NS
        calls = 0
        self.code_random = False
        if others:
            gap = max(1, int(self.rng.expovariate(1.0 / self.mean_gap)))
            if gap < code:
                code, self.code_random = gap, True
            calls = self._geometric(self.syscall_p)
        deadline = self.next_deadline()
        if deadline is not None:
            to_timer = max(1, math.ceil((deadline - self.clock.monotonic()) * NSEC))
            if to_timer * CODE_BYTES_PER_NS < code:
                code, self.code_random = to_timer * CODE_BYTES_PER_NS, False
        self.calls = calls
        steps = self.rng.randrange(STEPS) if self.code_random else 0
        self.platform.set_budget(code, calls, steps)
        self.platform.need_resched = False
        if self.previous is not task:
            self.switches += 1
        self.running = self.previous = task

    def _geometric(self, p: float) -> int:
        """The number of the first success in Bernoulli(p) trials (1, 2, ...)."""
        u = 1.0 - self.rng.random()  # in (0, 1]
        return 1 + int(math.log(u) / math.log(1.0 - p))
