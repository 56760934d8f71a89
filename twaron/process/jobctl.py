"""What terminals need of processes (the process half of Linux's tty_jobctrl.c).

The tty layer (twaron/fs/tty.py) keeps sessions and foreground groups as numbers and reaches
this through `kernel.jobctl`, since fs/ may not import process/: signals for a process
group (kill_pgrp, as the line discipline's ISIG keys, SIGWINCH and hang-ups send them),
whether a group is orphaned, whether the caller ignores or blocks a signal, the session of
a process group, the processes of a session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import SIGHUP, SIGINT, SIGQUIT, SIGTERM
from twaron.process import exit as exits
from twaron.process import signal as sigs

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.process.task import Task, ThreadGroup

# Signals from the console that end the run when they reach a guest pid 1 without a handler
# (Linux would drop them: SIGNAL_UNKILLABLE; Ctrl-C on `twaron run -- sleep 9` would do
# nothing): the keys and the signals forwarded from the host that kill by default.
CONSOLE_ENDS_RUN = frozenset({SIGINT, SIGQUIT, SIGTERM, SIGHUP})


class JobControl:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def kill_pgrp(self, pgid: int, sig: int, console: bool = False) -> None:
        """kill_pgrp(pgrp, sig, priv=1): every process of the group. A guest pid 1 takes
        only what it has a handler for; from the console, a fatal signal it has none for
        ends the run instead."""
        kernel = self.kernel
        init = kernel.init_group
        for group in [g for g in kernel.pids.in_pgrp(pgid) if not g.zombie]:
            if group is init and not kernel.kernel_init and sigs.is_unhandled(group, sig):
                if console and sig in CONSOLE_ENDS_RUN:
                    exits.group_exit(kernel, group, sigs.wait_status_for_signal(sig))
                continue
            sigs.send_signal(kernel, group, sig)

    def signal_group(self, group: ThreadGroup, sig: int) -> None:
        """A signal for one process (SEND_SIG_PRIV): a hang-up's SIGHUP and SIGCONT."""
        kernel = self.kernel
        if group is kernel.init_group and not kernel.kernel_init and \
                sigs.is_unhandled(group, sig):
            return
        sigs.send_signal(kernel, group, sig)

    def pgrp_orphaned(self, pgid: int) -> bool:
        return sigs.orphaned_pgrp(self.kernel, pgid)

    def sig_ignored(self, task: Task, sig: int) -> bool:
        """tty_jobctrl's is_ignored: blocked by the thread, or SIG_IGN."""
        return bool(task.blocked_signals & sigs.sigbit(sig)) or \
            task.group.sighand.actions[sig].handler == sigs.SIG_IGN

    def pgrp_session(self, pgid: int) -> int | None:
        """session_of_pgrp(find_vpid(pgid)): the session of the group's processes, or of the
        process with that pid when no group has it; None when the number is nobody's."""
        groups = self.kernel.pids.groups
        for g in groups.values():
            if g.pgid == pgid:
                return g.sid
        g = groups.get(pgid)
        if g is not None:
            return g.sid
        t = self.kernel.pids.threads.get(pgid)
        return t.group.sid if t is not None else None

    def session_groups(self, sid: int) -> list[ThreadGroup]:
        return [g for g in self.kernel.pids.groups.values() if g.sid == sid]
