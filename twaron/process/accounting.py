"""Resource accounting: RLIMIT_CPU (Linux's posix-cpu-timers check) and the OOM killer.

CPU time is the time a task spends in Platform.run, syscalls answered inside it included
(the run loop adds it up); it is all user time.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import PROT_WRITE, RLIM_INFINITY, RLIMIT_CPU, SIGKILL, SIGXCPU
from twaron.process import exit as exits
from twaron.process import signal as sigs

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup


def cpu_limit(kernel: Kernel, group: ThreadGroup) -> None:
    """RLIMIT_CPU (Linux's check_process_timers): SIGKILL at the hard limit; SIGXCPU at the
    soft limit, which then moves up a second (one SIGXCPU a second until the hard)."""
    if group.zombie:
        return
    soft, hard = group.rlimits.get(RLIMIT_CPU, (RLIM_INFINITY, RLIM_INFINITY))
    used = group.utime
    if hard != RLIM_INFINITY and used >= hard:
        sigs.send_signal(kernel, group, SIGKILL)
        return
    if soft != RLIM_INFINITY and used >= soft:
        if soft < hard:
            soft += 1
            group.rlimits[RLIMIT_CPU] = (soft, hard)
        sigs.send_signal(kernel, group, SIGXCPU)
    lim = min(soft, hard)
    group.cpu_check = float("inf") if lim == RLIM_INFINITY else float(lim)


def oom_kill(kernel: Kernel, task: Task) -> None:
    """A page fault found no free frame: kill the process with the most private writable
    memory mapped (Linux's OOM killer, roughly its badness score), with SIGKILL. pid 1 is
    spared while another process could be killed, as Linux spares init."""

    def badness(group: ThreadGroup) -> int:
        mm = group.tasks[0].mm if group.tasks else None
        if mm is None:
            return 0
        return sum(v.end - v.start for v in mm.vmas if v.prot & PROT_WRITE and not v.shared)

    live = kernel.pids.live()
    others = [g for g in live if g is not kernel.init_group] or live
    victim = max(others, key=badness, default=task.group)
    print(f"twaron: out of memory: killed process {victim.pid}", file=sys.stderr)
    exits.group_exit(kernel, victim, sigs.wait_status_for_signal(SIGKILL))
