"""The pid table (Linux's pid allocator and pid hash): processes by pid, threads by tid.

Pids and tids share one number space, as in Linux: a new task gets the next number not in
use by a live thread or a process (zombies keep theirs until reaped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup


class PidTable:
    def __init__(self) -> None:
        self.groups: dict[int, ThreadGroup] = {}  # pid -> process (zombies until reaped)
        self.threads: dict[int, Task] = {}  # tid -> live thread
        self.last = 0

    def alloc(self) -> int:
        pid = self.last + 1
        while pid in self.threads or pid in self.groups:
            pid += 1
        self.last = pid
        return pid

    def add_thread(self, task: Task) -> None:
        self.threads[task.tid] = task

    def add_group(self, group: ThreadGroup) -> None:
        self.groups[group.pid] = group

    def remove_thread(self, task: Task) -> None:
        if self.threads.get(task.tid) is task:
            del self.threads[task.tid]

    def remove_group(self, group: ThreadGroup) -> None:
        if self.groups.get(group.pid) is group:
            del self.groups[group.pid]

    def retid(self, task: Task, tid: int) -> None:
        """execve from a thread: it takes its leader's tid (Linux's de_thread)."""
        self.remove_thread(task)
        task.tid = tid
        self.threads[tid] = task

    def live(self) -> list[ThreadGroup]:
        """Processes that still have a running thread."""
        return [g for g in self.groups.values()
                if not g.zombie and any(not t.exited for t in g.tasks)]  # fmt: skip

    def in_pgrp(self, pgid: int) -> list[ThreadGroup]:
        return [g for g in self.groups.values() if g.pgid == pgid]
