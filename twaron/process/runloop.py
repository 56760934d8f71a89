"""The run loop and the idle loop: the kernel's one thread of control.

Pick a runnable task; if it sleeps in a syscall, resume its handler; deliver its signals;
run its user code on the platform until something needs the kernel (a page fault, an
exception, a syscall that stopped the CPU, the end of a time slice), answer that, and put
the task back. With nothing runnable, the scheduler's idle wait sleeps until a timer or the
host (console input, a signal to twaron) can wake someone.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    POLLIN,
    SIGBUS,
    SIGFPE,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGTRAP,
    SIGTSTP,
    SIGWINCH,
    X86_TRAP_AC,
    X86_TRAP_BP,
    X86_TRAP_DB,
    X86_TRAP_DE,
    X86_TRAP_MF,
    X86_TRAP_SS,
    X86_TRAP_UD,
    X86_TRAP_XF,
)
from twaron.arch.x86_64.errno import ENOSPC
from twaron.errors import KernelError
from twaron.mm.address_space import BUS_ADRERR, FAULT_SIGBUS
from twaron.platform.base import Event
from twaron.process import accounting, timers
from twaron.process import signal as sigs
from twaron.process.sigframe import deliver_signals

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task

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


def run(kernel: Kernel) -> int:
    """Run tasks until pid 1 is gone (or --timeout); the wait status of pid 1."""
    sched = kernel.sched
    syscalls = kernel.syscalls
    clock = kernel.clock
    deterministic = clock.deterministic  # then host signals come at input points
    while kernel.exit_status is None:
        clock.maintain()  # the guest is stopped: the vDSO's data may change now
        if kernel.host_signals and not deterministic:
            deliver_host_signals(kernel)
        if kernel.out_of_time():
            kernel.timed_out = True
            kernel.console.restore()  # (a raw host terminal would print this askew)
            print(f"twaron: timed out after {kernel.config.timeout:g} s", file=sys.stderr)
            kernel.shutdown(sigs.wait_status_for_signal(SIGKILL))
            break
        task = sched.pick()
        if task is None:
            if kernel.out_of_time():
                continue  # the timeout, handled at the top of the loop
            deadlock(kernel)
            break
        kernel.current = task
        try:
            if task.context is not None and not syscalls.resume(task):
                continue  # asleep again
            if task.pending_signals or task.group.shared_pending or task.restart_code:
                deliver_signals(task)
            if not task.runnable or task.exited or task.group.stopped:
                continue
            event, spent = run_user(kernel, task)
        except Exception:
            kernel.oops(task, "run loop", ())
            continue
        if task.runnable and not task.exited and not task.group.stopped:
            sched.put_prev(task, spent, event is Event.PREEMPT)
    kernel.platform.close()
    unwind_sleepers(kernel)
    kernel.net.close()  # host sockets and --publish listeners
    kernel.hostpoll.close()
    kernel.fs.close()  # volumes' shared mappings written back, host trees' descriptors
    return kernel.exit_status if kernel.exit_status is not None else 1 << 8


def run_user(kernel: Kernel, task: Task) -> tuple[Event, float]:
    """Run task's user code until the platform stops it, and answer why it stopped (a
    fault, an exception, signals due); (the event, the CPU time it ran)."""
    platform = kernel.platform
    clock = kernel.clock
    prof = kernel.profiler
    if prof:
        t0, s0 = prof.now(), kernel.syscalls.prof_syscall_ns
    start = clock.monotonic()
    event, info = platform.run(task)
    spent = clock.monotonic() - start  # the task's CPU time, syscalls included
    if kernel.events is not None:  # record/replay: every turn on the CPU is an event
        kernel.events.turn(task.tid, event, info, clock.monotonic_ns())
    task.utime += spent
    group = task.group
    group.utime += spent
    if group.utime >= group.cpu_check:
        accounting.cpu_limit(kernel, group)
    if group.utime >= group.cpu_timer_next:
        timers.run_cpu_timers(kernel, group)
    if prof:  # guest code = time in run() less the syscalls answered inside it
        t1 = prof.now()
        if t0 >= prof.origin_ns:
            prof.add("platform.run", t0, t1 - t0, task.tid)
            prof.tally("guest", t1 - t0 - (kernel.syscalls.prof_syscall_ns - s0))
    if event is Event.PAGE_FAULT:
        try:
            code = task.mm.fault(info)
        except KernelError as e:
            if e.errno == ENOSPC:  # a shared mapping of a full tmpfs: SIGBUS, as Linux
                code = FAULT_SIGBUS | BUS_ADRERR
            else:  # no frame for the fault: guest memory is exhausted
                accounting.oom_kill(kernel, task)
                code = 0  # the faulting task (if it survives) retries the access
        if prof:
            prof.phase("fault", t1, task.tid)
        if code & FAULT_SIGBUS:
            sigs.force_signal(task, SIGBUS, code & 0xFF, info)
        elif code:
            sigs.force_signal(task, SIGSEGV, code, info)
    elif event is Event.EXCEPTION and not (info == X86_TRAP_UD and kernel.rdrand_rng is not None
                                           and _emulated(kernel, task)):  # fmt: skip
        sig, code, at_rip = VECTOR_SIGNALS.get(info, (SIGSEGV, SI_KERNEL, False))
        addr = platform.get_reg(task, "rip") if at_rip else 0
        sigs.force_signal(task, sig, code, addr)
    elif event is Event.HALT:
        raise RuntimeError(f"platform halted (error {info})")
    # A task asleep in a syscall is not on its way to user mode: a signal raised meanwhile
    # (a CPU-time timer, RLIMIT_CPU) wakes its handler, which settles first (run()).
    if task.context is None and (task.pending_signals or task.group.shared_pending
                                 or task.restart_code):  # fmt: skip
        deliver_signals(task)
    return event, spent


def _emulated(kernel: Kernel, task: Task) -> bool:
    """A deterministic kernel's #UD: RDRAND or RDSEED, emulated with seeded values?"""
    from twaron.process.determinism import emulate_random_insn

    return emulate_random_insn(kernel, task)


def unwind_sleepers(kernel: Kernel) -> None:
    """The run is over: unwind the handlers still asleep (their wait entries go)."""
    for task in list(kernel.pids.threads.values()):
        if task.context is not None:
            kernel.contexts.unwind(task)


def deadlock(kernel: Kernel) -> None:
    """Every task sleeps with nothing that could wake it: end the run like a hang would."""
    if kernel.exit_status is None and kernel.deadline is None:
        print("twaron: all processes are blocked; stopping", file=sys.stderr)
        kernel.exit_status = 1 << 8


# ---- the host: console input and signals to twaron ----------------------------------------


def host_wait(kernel: Kernel, timeout: float | None) -> bool:
    """The idle loop's wait on the host, through the kernel's host-fd poller: stdin while a
    guest task waits for console input (or, when the console has a line discipline, while
    it has room for input: Ctrl-C must reach it whoever reads), the wakeup pipe of host
    signals, host sockets a guest task waits for, --publish listeners; up to timeout seconds
    (0: a look while tasks run). False when nothing on the host could wake a guest task (the
    caller then sleeps or stops)."""
    poller = kernel.hostpoll
    console = kernel.console
    stdin = console.stdin
    if isinstance(stdin, int) and console.wants_input():
        if console.tty is not None:
            poller.want(stdin, POLLIN, lambda _m: console.pump_input())
        else:
            poller.want(stdin, POLLIN, lambda _m: console.wait.notify())
    if kernel.wakeup_fd is not None:
        poller.watch(kernel.wakeup_fd, POLLIN, partial(_drain_wakeup, kernel), persistent=True)
    if not poller:
        return False
    if kernel.deadline is not None:  # --timeout is the operator's wall clock
        left = max(0.0, kernel.deadline - time.monotonic())
        timeout = left if timeout is None else min(timeout, left)
    try:
        poller.poll(timeout)
    except (OSError, ValueError):
        if console.wait:
            console.wait.notify()
    if kernel.host_signals:
        deliver_host_signals(kernel)
    return True


def _drain_wakeup(kernel: Kernel, _mask: int) -> None:
    try:
        os.read(kernel.wakeup_fd, 512)  # type: ignore[arg-type]
    except OSError:
        pass


def others_want_cpu(kernel: Kernel) -> bool:
    """Read by the platform's timer thread: should the running task yield?"""
    sched = kernel.sched
    now = kernel.clock.monotonic()
    cur = getattr(kernel.platform, "current", None)
    return bool(
        sched.runq
        or (sched.timers and sched.timers[0][0] <= now)
        or kernel.host_signals
        or kernel.console.wait
        or kernel.console.input_pending()
        or (kernel.deadline is not None and time.monotonic() >= kernel.deadline)
        # RLIMIT_CPU and CPU-time timers are counted when run() returns: a limited task,
        # or one with such a timer armed, gets its slices
        or (cur is not None and cur.group.cpu_check != float("inf"))
        or (cur is not None and cur.group.cpu_timer_next != float("inf"))
        # a signal for the running task is delivered when run() returns
        or (cur is not None and bool(sigs.pending_deliverable(cur)))
    )


def deliver_host_signals(kernel: Kernel) -> None:
    """Signals that reached twaron (Ctrl-C in its terminal, kill) go to the guest's
    foreground process group. A console with a line discipline takes a window change as
    its own (SIGWINCH if the size changed)."""
    signals, kernel.host_signals = kernel.host_signals, []
    console = kernel.console
    main = kernel.main_group
    pgrp = console.foreground(main.pgid if main else 0)
    for sig in signals:
        if sig == SIGWINCH and console.tty is not None:
            console.host_resized()
            continue
        # pid 1 ignores signals it has no handler for; from the terminal that would make
        # Ctrl-C do nothing, so the run ends as --init would make it (jobctl.kill_pgrp).
        kernel.jobctl.kill_pgrp(pgrp, sig, console=True)
        init = kernel.init_group
        if sig == SIGTSTP and kernel.host_suspend is not None and init is not None and \
                init in kernel.pids.in_pgrp(pgrp) and sigs.is_default(init, sig):
            kernel.host_suspend()  # pid 1 cannot be stopped: twaron itself is, as unforwarded
