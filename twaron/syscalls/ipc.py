"""System V IPC system calls: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl,
msgget/msgsnd/msgrcv/msgctl. Arguments are decoded and user memory copied here, in Linux's
order (so the same errno wins); the objects live in the kernel's IPC namespace (twaron/ipc)."""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_INFO,
    IPC_NOWAIT,
    IPC_RMID,
    IPC_SET,
    IPC_STAT,
    MSG_COPY,
    MSG_EXCEPT,
    MSG_INFO,
    MSG_STAT,
    MSG_STAT_ANY,
    SEM_INFO,
    SEM_STAT,
    SEM_STAT_ANY,
    SETALL,
    SETVAL,
    SHM_INFO,
    SHM_LOCK,
    SHM_STAT,
    SHM_STAT_ANY,
    SHM_UNLOCK,
)
from twaron.arch.x86_64.errno import E2BIG, EINVAL
from twaron.errors import KernelError
from twaron.ipc import msg, sem, shm
from twaron.syscalls.mm import may_expand
from twaron.syscalls.table import s32, s64, syscall

_SEMBUF = struct.Struct("<Hhh")
_TIMESPEC = struct.Struct("<qq")
_LONG = struct.Struct("<q")
NSEC_PER_SEC = 1_000_000_000


# ---- shared memory -------------------------------------------------------------------------


@syscall("shmget")
def sys_shmget(task: Any, key: int, size: int, flg: int, *_: int) -> int:
    return shm.shmget(task.kernel.ipc, task.cred, s32(key), size, s32(flg))


@syscall("shmat")
def sys_shmat(task: Any, shmid: int, addr: int, flg: int, *_: int) -> int:
    def expand(length: int, start: int, fixed: bool) -> bool:
        return may_expand(task, length, start, fixed)

    return shm.shmat(task.kernel.ipc, task, s32(shmid), addr, s32(flg), expand)


@syscall("shmdt")
def sys_shmdt(task: Any, addr: int, *_: int) -> int:
    shm.shmdt(task.mm, addr)
    return 0


@syscall("shmctl")
def sys_shmctl(task: Any, shmid: int, cmd: int, buf: int, *_: int) -> int:
    shmid, cmd = s32(shmid), s32(cmd)
    if cmd < 0 or shmid < 0:
        raise KernelError(EINVAL)
    ns = task.kernel.ipc
    if cmd in (IPC_INFO, SHM_INFO):
        data, ret = shm.info(ns) if cmd == IPC_INFO else shm.shm_info(ns)
        task.mm.copy_out(buf, data)
        return ret
    if cmd in (IPC_STAT, SHM_STAT, SHM_STAT_ANY):
        data, ret = shm.stat(ns, task.cred, shmid, cmd != IPC_STAT, cmd != SHM_STAT_ANY)
        task.mm.copy_out(buf, data)
        return ret
    if cmd == IPC_SET:
        shm.set_perm(ns, task.cred, shmid, task.mm.copy_in(buf, shm.SHMID64_DS.size))
        return 0
    if cmd == IPC_RMID:
        shm.rmid(ns, task.cred, shmid)
        return 0
    if cmd in (SHM_LOCK, SHM_UNLOCK):
        shm.lock(ns, task, shmid, cmd)
        return 0
    raise KernelError(EINVAL)


# ---- semaphores ----------------------------------------------------------------------------


@syscall("semget")
def sys_semget(task: Any, key: int, nsems: int, flg: int, *_: int) -> int:
    return sem.semget(task.kernel.ipc, task.cred, s32(key), s32(nsems), s32(flg))


def _semtimedop(task: Any, semid: int, sops_addr: int, nsops: int, timeout: int) -> int:
    """do_semtimedop: the timeout read first, then the count, the operations, their checks."""
    ns = task.kernel.ipc
    ts = _TIMESPEC.unpack(task.mm.copy_in(timeout, 16)) if timeout else None
    nsops &= 0xFFFF_FFFF
    if nsops > ns.sc_semopm:
        raise KernelError(E2BIG)
    if nsops < 1:
        raise KernelError(EINVAL)
    raw = task.mm.copy_in(sops_addr, nsops * _SEMBUF.size)
    sops = [_SEMBUF.unpack_from(raw, i * _SEMBUF.size) for i in range(nsops)]
    semid = s32(semid)
    if semid < 0:
        raise KernelError(EINVAL)
    deadline = None
    if ts is not None:
        sec, nsec = ts
        if sec < 0 or not 0 <= nsec < NSEC_PER_SEC:
            raise KernelError(EINVAL)
        deadline = task.kernel.clock.monotonic() + sec + nsec / NSEC_PER_SEC
    return sem.semtimedop(ns, task, semid, sops, deadline)


@syscall("semop")
def sys_semop(task: Any, semid: int, sops: int, nsops: int, *_: int) -> int:
    return _semtimedop(task, semid, sops, nsops, 0)


@syscall("semtimedop")
def sys_semtimedop(task: Any, semid: int, sops: int, nsops: int, timeout: int, *_: int) -> int:
    return _semtimedop(task, semid, sops, nsops, timeout)


_GETONE = {GETVAL: "val", GETPID: "pid", GETNCNT: "ncnt", GETZCNT: "zcnt"}


@syscall("semctl")
def sys_semctl(task: Any, semid: int, semnum: int, cmd: int, arg: int, *_: int) -> int:
    semid, semnum, cmd = s32(semid), s32(semnum), s32(cmd)
    if semid < 0:
        raise KernelError(EINVAL)
    ns = task.kernel.ipc
    mm = task.mm
    if cmd in (IPC_INFO, SEM_INFO):
        data, ret = sem.info(ns, cmd == SEM_INFO)
        mm.copy_out(arg, data)
        return ret
    if cmd in (IPC_STAT, SEM_STAT, SEM_STAT_ANY):
        data, ret = sem.stat(ns, task.cred, semid, cmd != IPC_STAT, cmd != SEM_STAT_ANY)
        mm.copy_out(arg, data)
        return ret
    if cmd == GETALL:
        values = sem.getall(ns, task.cred, semid)
        mm.copy_out(arg, struct.pack(f"<{len(values)}H", *values))
        return 0
    if cmd == SETALL:
        n = sem.setall_check(ns, task.cred, semid)
        sem.setall(ns, task, semid, list(struct.unpack(f"<{n}H", mm.copy_in(arg, 2 * n))))
        return 0
    if cmd in _GETONE:
        return sem.getone(ns, task.cred, semid, semnum, _GETONE[cmd])
    if cmd == SETVAL:
        sem.setval(ns, task, semid, semnum, s32(arg))
        return 0
    if cmd == IPC_SET:
        sem.set_perm(ns, task.cred, semid, mm.copy_in(arg, sem.SEMID64_DS.size))
        return 0
    if cmd == IPC_RMID:
        sem.rmid(ns, task.cred, semid)
        return 0
    raise KernelError(EINVAL)


# ---- message queues ------------------------------------------------------------------------


@syscall("msgget")
def sys_msgget(task: Any, key: int, flg: int, *_: int) -> int:
    return msg.msgget(task.kernel.ipc, task.cred, s32(key), s32(flg))


@syscall("msgsnd")
def sys_msgsnd(task: Any, msqid: int, msgp: int, msgsz: int, flg: int, *_: int) -> int:
    mtype = _LONG.unpack(task.mm.copy_in(msgp, 8))[0]  # ksys_msgsnd reads mtype first
    ns = task.kernel.ipc
    msqid, size = s32(msqid), s64(msgsz)
    if size > ns.msg_ctlmax or size < 0 or msqid < 0 or mtype < 1:
        raise KernelError(EINVAL)
    text = task.mm.copy_in(msgp + 8, size) if size else b""
    msg.msgsnd(ns, task, msqid, mtype, text, s32(flg))
    return 0


@syscall("msgrcv")
def sys_msgrcv(task: Any, msqid: int, msgp: int, msgsz: int, msgtyp: int, flg: int,
               *_: int) -> int:  # fmt: skip
    ns = task.kernel.ipc
    msqid, bufsz, flg = s32(msqid), s64(msgsz), s32(flg)
    if msqid < 0 or bufsz < 0:
        raise KernelError(EINVAL)
    copy_size = 0
    if flg & MSG_COPY:
        if flg & MSG_EXCEPT or not flg & IPC_NOWAIT:
            raise KernelError(EINVAL)
        copy_size = min(bufsz, ns.msg_ctlmax)
        task.mm.copy_in(msgp, copy_size)  # prepare_copy reads the buffer it will fill
    m = msg.msgrcv(ns, task, msqid, bufsz, s64(msgtyp), flg, copy_size)
    # do_msg_fill: the message has left the queue; a bad buffer loses it (EFAULT)
    task.mm.copy_out(msgp, _LONG.pack(m.mtype))
    text = m.text[:bufsz]
    task.mm.copy_out(msgp + 8, text)
    return len(text)


@syscall("msgctl")
def sys_msgctl(task: Any, msqid: int, cmd: int, buf: int, *_: int) -> int:
    msqid, cmd = s32(msqid), s32(cmd)
    if msqid < 0 or cmd < 0:
        raise KernelError(EINVAL)
    ns = task.kernel.ipc
    if cmd in (IPC_INFO, MSG_INFO):
        data, ret = msg.info(ns, cmd == MSG_INFO)
        task.mm.copy_out(buf, data)
        return ret
    if cmd in (IPC_STAT, MSG_STAT, MSG_STAT_ANY):
        data, ret = msg.stat(ns, task.cred, msqid, cmd != IPC_STAT, cmd != MSG_STAT_ANY)
        task.mm.copy_out(buf, data)
        return ret
    if cmd == IPC_SET:
        msg.set_perm(ns, task.cred, msqid, task.mm.copy_in(buf, msg.MSQID64_DS.size))
        return 0
    if cmd == IPC_RMID:
        msg.rmid(ns, task.cred, msqid)
        return 0
    raise KernelError(EINVAL)
