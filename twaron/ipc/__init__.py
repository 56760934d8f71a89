"""System V IPC: shared memory (shm.py), semaphore sets (sem.py) and message queues (msg.py),
as Linux's ipc/ has them.

A kernel has one IPC namespace (`IpcNamespace`, the Kernel's `ipc`): the three tables of
objects with Linux's ids and keys, the limits /proc/sys/kernel shows, and the totals the
*_INFO commands report. Nothing lives in module globals: two kernels share no segment.
The syscalls (syscalls/ipc.py) decode arguments and call in here; process/ calls
`sem.exit_sem` when a task ends (SEM_UNDO) and the memory of a segment is a page cache
mapped MAP_SHARED through mm, so fork, exec and exit attach and detach through the VMAs.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    MSGMAX,
    MSGMNB,
    MSGMNI,
    SEMMNI,
    SEMMNS,
    SEMMSL,
    SEMOPM,
    SHMALL,
    SHMMAX,
    SHMMNI,
    TMPFS_MAGIC,
)
from twaron.fs.vfs import SuperBlock
from twaron.ipc.util import IpcIds


class IpcNamespace:
    """One kernel's System V IPC objects and limits (Linux's ipc_namespace)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.shm_ctlmax = SHMMAX
        self.shm_ctlall = SHMALL
        self.shm_ctlmni = SHMMNI
        self.shm_tot = 0  # pages of all segments
        self.shm_ids = IpcIds(SHMMNI)
        # the segments' files: a shmem mount of their own, as Linux's shm_mnt
        self.shm_sb = SuperBlock("shm", TMPFS_MAGIC, kernel.mem, clock=kernel.clock.realtime_ns,
                                 pseudo=True)  # fmt: skip
        self.sc_semmsl, self.sc_semmns = SEMMSL, SEMMNS
        self.sc_semopm, self.sc_semmni = SEMOPM, SEMMNI
        self.used_sems = 0
        self.sem_ids = IpcIds(SEMMNI)
        self.msg_ctlmax, self.msg_ctlmnb, self.msg_ctlmni = MSGMAX, MSGMNB, MSGMNI
        self.msg_bytes = 0  # bytes of all queued messages
        self.msg_hdrs = 0  # queued messages
        self.msg_ids = IpcIds(MSGMNI)

    def now(self) -> int:
        """Seconds since the epoch, for the *_time fields."""
        return int(self.kernel.clock.realtime())

    def current_pid(self) -> int:
        """The tgid of the task whose syscall runs (Linux's task_tgid(current))."""
        cur = self.kernel.current
        return cur.pid if cur is not None else 0

    # ---- /proc/sysvipc and /proc/sys/kernel ------------------------------------------------
    def proc_shm(self) -> bytes:
        from twaron.ipc import shm

        return shm.proc_text(self)

    def proc_sem(self) -> bytes:
        from twaron.ipc import sem

        return sem.proc_text(self)

    def proc_msg(self) -> bytes:
        from twaron.ipc import msg

        return msg.proc_text(self)

    def sysctls(self) -> dict[bytes, bytes]:
        """/proc/sys/kernel's IPC limits, as Linux prints them."""
        return {
            b"shmmax": b"%d\n" % self.shm_ctlmax,
            b"shmall": b"%d\n" % self.shm_ctlall,
            b"shmmni": b"%d\n" % self.shm_ctlmni,
            b"sem": b"%d\t%d\t%d\t%d\n" % (self.sc_semmsl, self.sc_semmns, self.sc_semopm,
                                          self.sc_semmni),  # fmt: skip
            b"msgmax": b"%d\n" % self.msg_ctlmax,
            b"msgmnb": b"%d\n" % self.msg_ctlmnb,
            b"msgmni": b"%d\n" % self.msg_ctlmni,
        }
