"""System V semaphore sets (Linux's ipc/sem.c).

A semop applies all its operations or none. One that cannot proceed sleeps in a queue and
is completed by whoever makes it possible: the waker performs the sleeper's operations on
its behalf, in Linux's queue order (update_queue: the per-semaphore queues of simple
operations, or the array's queue once complex ones wait; wait-for-zero operations in their
own queues), and wakes it with the result. So which waiter gets an increment is decided as
Linux decides it, not by which woken task runs first.

SEM_UNDO keeps, per process (per undo list: threads made with CLONE_SYSVSEM share one),
the adjustment that exit applies (exit_sem: clamped to 0..SEMVMX). A signal ends a sleep
with EINTR (semop is never restarted, signal(7)); semtimedop's timeout is EAGAIN; IPC_RMID
wakes sleepers with EIDRM.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    IPC_NOWAIT,
    SEM_UNDO,
    SEMAEM,
    SEMMAP,
    SEMMNU,
    SEMUME,
    SEMUSZ,
    SEMVMX,
)
from twaron.arch.x86_64.errno import EACCES, EAGAIN, EFBIG, EIDRM, EINTR, EINVAL, ENOSPC, ERANGE
from twaron.errors import KernelError
from twaron.ipc.util import (
    S_IRUGO,
    S_IWUGO,
    KernPerm,
    check_perms,
    ipcget,
    ipcperms,
    may_change,
    set_owner_mode,
    stat_lookup,
)
from twaron.wait import ALL_EVENTS, WaitQueue, need_context, wait_event

if TYPE_CHECKING:
    from twaron.ipc import IpcNamespace

# struct semid64_ds (x86-64): perm, otime, unused, ctime, unused, nsems, 2 unused
SEMID64_DS = struct.Struct("<48sqQqQQQQ")
SEMINFO = struct.Struct("<10i")
assert SEMID64_DS.size == 104 and SEMINFO.size == 40
PROC_HEADER = (b"       key      semid perms      nsems   uid   gid  cuid  cgid      otime      "
               b"ctime\n")  # fmt: skip

Sop = tuple[int, int, int]  # struct sembuf: sem_num, sem_op, sem_flg


class Sem:
    """One semaphore: its value, the pid of the last operation, the queues of simple
    (one-operation) sleepers."""

    __slots__ = ("semval", "sempid", "pending_alter", "pending_const", "otime")

    def __init__(self) -> None:
        self.semval = 0
        self.sempid = 0
        self.pending_alter: list[SemQueue] = []
        self.pending_const: list[SemQueue] = []
        self.otime = 0


class SemUndo:
    """A process's adjustments for one set (struct sem_undo); semid -1 once the set is gone."""

    __slots__ = ("semid", "semadj", "ulp")

    def __init__(self, semid: int, nsems: int, ulp: UndoList) -> None:
        self.semid = semid
        self.semadj = [0] * nsems
        self.ulp = ulp


class UndoList:
    """A process's SEM_UNDO records (struct sem_undo_list), newest first; shared by the
    threads made with CLONE_SYSVSEM."""

    __slots__ = ("undos", "refs")

    def __init__(self) -> None:
        self.undos: list[SemUndo] = []
        self.refs = 1


class SemQueue:
    """A sleeping semop (struct sem_queue)."""

    __slots__ = ("sops", "undo", "pid", "alter", "status", "blocking", "wait", "list")

    def __init__(self, sops: list[Sop], undo: SemUndo | None, pid: int, alter: bool) -> None:
        self.sops = sops
        self.undo = undo
        self.pid = pid
        self.alter = alter
        self.status: int | None = None  # None while it waits, then 0 or -errno
        self.blocking = 0  # index of the operation it waits on
        self.wait = WaitQueue()
        self.list: list[SemQueue] | None = None  # the queue it is in


class SemArray:
    def __init__(self, ns: IpcNamespace, key: int, flg: int, nsems: int) -> None:
        self.perm = KernPerm(key, flg)
        self.nsems = nsems
        self.sems = [Sem() for _ in range(nsems)]
        self.pending_alter: list[SemQueue] = []
        self.pending_const: list[SemQueue] = []
        self.complex_count = 0
        self.ctime = ns.now()
        self.undos: list[SemUndo] = []  # every process's undo record for this set

    def otime(self) -> int:
        return max(s.otime for s in self.sems)

    def pack(self) -> bytes:
        return SEMID64_DS.pack(self.perm.pack(), self.otime(), 0, self.ctime, 0, self.nsems,
                               0, 0)  # fmt: skip


# ---- the operations and the queues -------------------------------------------------------


def perform(sma: SemArray, q: SemQueue) -> int:
    """perform_atomic_semop: all of q's operations, or none. 0 done; 1 it must wait
    (q.blocking says on which); -EAGAIN (IPC_NOWAIT) or -ERANGE."""
    un = q.undo
    done: list[Sop] = []
    result = 0
    for i, sop in enumerate(q.sops):
        num, op, flg = sop
        cur = sma.sems[num]
        value = cur.semval
        if (op == 0 and value) or value + op < 0:
            q.blocking = i
            result = -EAGAIN if flg & IPC_NOWAIT else 1
            break
        value += op
        if value > SEMVMX:
            result = -ERANGE
            break
        if flg & SEM_UNDO:
            assert un is not None
            adj = un.semadj[num] - op
            if adj < -SEMAEM - 1 or adj > SEMAEM:
                result = -ERANGE
                break
            un.semadj[num] = adj
        cur.semval = value
        done.append(sop)
    if result:
        for num, op, flg in reversed(done):  # nothing happened after all
            sma.sems[num].semval -= op
            if flg & SEM_UNDO:
                un.semadj[num] += op  # type: ignore[union-attr]
        return result
    for num, _op, _flg in q.sops:
        sma.sems[num].sempid = q.pid
    return 0


def _unlink(sma: SemArray, q: SemQueue) -> None:
    if q.list is not None:
        q.list.remove(q)
        q.list = None
        if len(q.sops) > 1:
            sma.complex_count -= 1


def _wake(q: SemQueue, error: int) -> None:
    q.status = error
    q.wait.notify(ALL_EVENTS)


def _wake_const_ops(sma: SemArray, semnum: int) -> bool:
    """Wait-for-zero sleepers of one semaphore (or of the array) that can now go."""
    pending = sma.pending_const if semnum < 0 else sma.sems[semnum].pending_const
    completed = False
    for q in list(pending):
        if q.list is not pending:
            continue
        error = perform(sma, q)
        if error > 0:
            continue
        _unlink(sma, q)
        _wake(q, error)
        completed = completed or error == 0
    return completed


def _wakeup_zero(sma: SemArray, sops: list[Sop] | None) -> bool:
    """do_smart_wakeup_zero: after the semaphores sops touched (all if None) changed."""
    completed = got_zero = False
    nums = [num for num, _op, _flg in sops] if sops is not None else range(sma.nsems)
    for num in nums:
        if sma.sems[num].semval == 0:
            got_zero = True
            completed |= _wake_const_ops(sma, num)
    if got_zero:
        completed |= _wake_const_ops(sma, -1)
    return completed


def _update_queue(sma: SemArray, semnum: int) -> bool:
    """update_queue: complete the sleepers that can now go, in queue order; start over
    after a completed complex operation (it may have enabled earlier ones)."""
    pending = sma.pending_alter if semnum < 0 else sma.sems[semnum].pending_alter
    completed = False
    again = True
    while again:
        again = False
        for q in list(pending):
            if q.list is not pending:
                continue
            if semnum >= 0 and sma.sems[semnum].semval == 0:
                break  # only decrements wait here: none can go
            error = perform(sma, q)
            if error > 0:
                continue
            _unlink(sma, q)
            restart = False
            if error == 0:
                completed = True
                _wakeup_zero(sma, q.sops)
                restart = bool(sma.pending_alter) or len(q.sops) > 1  # check_restart
            _wake(q, error)
            if restart:
                again = True
                break
    return completed


def _smart_update(ns: IpcNamespace, sma: SemArray, sops: list[Sop] | None, otime: bool) -> None:
    """do_smart_update: wake what the change (by sops, or by anything when None) allows."""
    otime |= _wakeup_zero(sma, sops)
    if sma.pending_alter:
        otime |= _update_queue(sma, -1)
    elif sops is None:
        for i in range(sma.nsems):
            otime |= _update_queue(sma, i)
    else:
        for num, op, _flg in sops:
            if op > 0:
                otime |= _update_queue(sma, num)
    if otime:
        sma.sems[sops[0][0] if sops else 0].otime = ns.now()
    _unmerge(sma)


def _merge(sma: SemArray) -> None:
    """merge_queues: a complex operation is about to wait: every simple sleeper moves to the
    array's queue (each semaphore's in front of the previous one's, as list_splice does)."""
    for sem in sma.sems:
        for q in sem.pending_alter:
            q.list = sma.pending_alter
        sma.pending_alter[0:0] = sem.pending_alter
        sem.pending_alter = []


def _unmerge(sma: SemArray) -> None:
    """unmerge_queues: no complex operation waits any more: back to per-semaphore queues."""
    if sma.complex_count or not sma.pending_alter:
        return
    for q in sma.pending_alter:
        cur = sma.sems[q.sops[0][0]]
        cur.pending_alter.append(q)
        q.list = cur.pending_alter
    sma.pending_alter = []


def _enqueue(sma: SemArray, q: SemQueue) -> None:
    if len(q.sops) == 1:
        cur = sma.sems[q.sops[0][0]]
        if q.alter:
            lst = sma.pending_alter if sma.complex_count else cur.pending_alter
        else:
            lst = cur.pending_const
    else:
        if not sma.complex_count:
            _merge(sma)
        lst = sma.pending_alter if q.alter else sma.pending_const
        sma.complex_count += 1
    lst.append(q)
    q.list = lst


def _count(sma: SemArray, semnum: int, zero: bool) -> int:
    """count_semcnt: sleepers waiting on this semaphore (the first operation they block on):
    GETZCNT for wait-for-zero, GETNCNT for decrements."""
    sem = sma.sems[semnum]
    n = len(sem.pending_const if zero else sem.pending_alter)

    def waits_here(q: SemQueue) -> bool:
        num, op, _flg = q.sops[q.blocking]
        return num == semnum and (op == 0 if zero else op < 0)

    n += sum(1 for q in sma.pending_alter if waits_here(q))
    if zero:
        n += sum(1 for q in sma.pending_const if waits_here(q))
    return n


# ---- semget --------------------------------------------------------------------------------


def semget(ns: IpcNamespace, cred: Any, key: int, nsems: int, flg: int) -> int:
    if nsems < 0 or nsems > ns.sc_semmsl:
        raise KernelError(EINVAL)

    def new() -> int:
        if not nsems:
            raise KernelError(EINVAL)
        if ns.used_sems + nsems > ns.sc_semmns:
            raise KernelError(ENOSPC)
        ident = ns.sem_ids.add(SemArray(ns, key, flg, nsems), cred)
        ns.used_sems += nsems
        return ident

    def more_checks(sma: SemArray) -> None:
        if nsems > sma.nsems:
            raise KernelError(EINVAL)

    return ipcget(ns.sem_ids, key, flg, cred, new, more_checks)


# ---- semop / semtimedop --------------------------------------------------------------------


def _find_alloc_undo(ns: IpcNamespace, task: Any, semid: int) -> SemUndo:
    ulp = task.sysvsem
    if ulp is None:
        ulp = task.sysvsem = UndoList()
    for un in ulp.undos:
        if un.semid == semid:
            ulp.undos.remove(un)  # lookup_undo keeps the most recent first
            ulp.undos.insert(0, un)
            return un
    sma: SemArray = ns.sem_ids.check(semid)
    un = SemUndo(semid, sma.nsems, ulp)
    ulp.undos.insert(0, un)
    sma.undos.insert(0, un)
    return un


def semtimedop(ns: IpcNamespace, task: Any, semid: int, sops: list[Sop],
               deadline: float | None) -> int:  # fmt: skip
    """__do_semtimedop once the operations are copied in and counted."""
    if semid < 0:
        raise KernelError(EINVAL)
    top = max(num for num, _op, _flg in sops)
    undos = any(flg & SEM_UNDO for _num, _op, flg in sops)
    alter = any(op for _num, op, _flg in sops)
    un = _find_alloc_undo(ns, task, semid) if undos else None
    sma: SemArray = ns.sem_ids.check(semid)
    if top >= sma.nsems:
        raise KernelError(EFBIG)
    if not ipcperms(sma.perm, task.cred, S_IWUGO if alter else S_IRUGO):
        raise KernelError(EACCES)
    if un is not None and un.semid == -1:
        raise KernelError(EIDRM)
    q = SemQueue(sops, un, task.pid, alter)
    error = perform(sma, q)
    if error == 0:
        if alter:
            _smart_update(ns, sma, sops, True)
        else:
            sma.sems[sops[0][0]].otime = ns.now()
        return 0
    if error < 0:
        raise KernelError(-error)
    need_context()  # queued below: the sleep must not be started again from scratch
    _enqueue(sma, q)
    try:
        wait_event(((q.wait, ALL_EVENTS),), lambda: q.status is not None, deadline)
    except KernelError:
        if q.status is None:  # a signal, and nobody completed it meanwhile
            _unlink(sma, q)
            _unmerge(sma)
            raise KernelError(EINTR) from None
    finally:
        if q.status is None and q.list is not None:  # timed out, or the task is torn down
            _unlink(sma, q)
            _unmerge(sma)
    if q.status is None:
        raise KernelError(EAGAIN)
    if q.status < 0:
        raise KernelError(-q.status)
    return 0


# ---- semctl --------------------------------------------------------------------------------


def info(ns: IpcNamespace, cmd_is_sem_info: bool) -> tuple[bytes, int]:
    """IPC_INFO / SEM_INFO: struct seminfo and the highest index in use."""
    ids = ns.sem_ids
    usz, aem = (ids.in_use, ns.used_sems) if cmd_is_sem_info else (SEMUSZ, SEMAEM)
    return SEMINFO.pack(SEMMAP, ns.sc_semmni, ns.sc_semmns, SEMMNU, ns.sc_semmsl,
                        ns.sc_semopm, SEMUME, usz, SEMVMX, aem), ids.max_index()  # fmt: skip


def stat(ns: IpcNamespace, cred: Any, semid: int, by_index: bool, check: bool) -> tuple[bytes, int]:
    sma, ret = stat_lookup(ns.sem_ids, cred, semid, by_index, check)
    return sma.pack(), ret


def getall(ns: IpcNamespace, cred: Any, semid: int) -> list[int]:
    sma: SemArray = ns.sem_ids.check(semid)
    check_perms(sma.perm, cred, S_IRUGO)
    return [s.semval for s in sma.sems]


def setall_check(ns: IpcNamespace, cred: Any, semid: int) -> int:
    """SETALL's checks before the values are read in: the set's size."""
    sma: SemArray = ns.sem_ids.check(semid)
    check_perms(sma.perm, cred, S_IWUGO)
    return sma.nsems


def setall(ns: IpcNamespace, task: Any, semid: int, values: list[int]) -> None:
    if any(v > SEMVMX for v in values):
        raise KernelError(ERANGE)
    sma: SemArray = ns.sem_ids.check(semid)  # EIDRM in Linux if it went meanwhile
    for sem, v in zip(sma.sems, values, strict=True):
        sem.semval = v
        sem.sempid = task.pid
    for un in sma.undos:
        un.semadj = [0] * sma.nsems
    sma.ctime = ns.now()
    _smart_update(ns, sma, None, False)


def getone(ns: IpcNamespace, cred: Any, semid: int, semnum: int, what: str) -> int:
    """GETVAL, GETPID, GETNCNT, GETZCNT."""
    sma: SemArray = ns.sem_ids.check(semid)
    check_perms(sma.perm, cred, S_IRUGO)
    if semnum < 0 or semnum >= sma.nsems:
        raise KernelError(EINVAL)
    sem = sma.sems[semnum]
    if what == "val":
        return sem.semval
    if what == "pid":
        return sem.sempid
    return _count(sma, semnum, what == "zcnt")


def setval(ns: IpcNamespace, task: Any, semid: int, semnum: int, val: int) -> None:
    if val > SEMVMX or val < 0:
        raise KernelError(ERANGE)
    sma: SemArray = ns.sem_ids.check(semid)
    if semnum < 0 or semnum >= sma.nsems:
        raise KernelError(EINVAL)
    check_perms(sma.perm, task.cred, S_IWUGO)
    for un in sma.undos:
        un.semadj[semnum] = 0
    sem = sma.sems[semnum]
    sem.semval = val
    sem.sempid = task.pid
    sma.ctime = ns.now()
    _smart_update(ns, sma, None, False)


def set_perm(ns: IpcNamespace, cred: Any, semid: int, raw: bytes) -> None:
    sma: SemArray = ns.sem_ids.check(semid)
    set_owner_mode(sma.perm, cred, raw)
    sma.ctime = ns.now()


def rmid(ns: IpcNamespace, cred: Any, semid: int) -> None:
    """freeary: the undo records die, every sleeper fails EIDRM, the id goes."""
    sma: SemArray = ns.sem_ids.check(semid)
    may_change(sma.perm, cred)
    for un in sma.undos:
        un.semid = -1
        un.ulp.undos.remove(un)
    sma.undos = []
    queues = [sma.pending_const, sma.pending_alter]
    for sem in sma.sems:
        queues += [sem.pending_const, sem.pending_alter]
        sem.sempid = 0
    for lst in queues:
        for q in list(lst):
            _unlink(sma, q)
            _wake(q, -EIDRM)
    ns.sem_ids.remove(sma)
    ns.used_sems -= sma.nsems


# ---- exit ----------------------------------------------------------------------------------


def exit_sem(ns: IpcNamespace, task: Any) -> None:
    """A task ends: the last user of an undo list applies its adjustments (clamped to
    0..SEMVMX, as Linux does) and wakes whoever that lets go."""
    ulp: UndoList | None = task.sysvsem
    if ulp is None:
        return
    task.sysvsem = None
    ulp.refs -= 1
    if ulp.refs:
        return
    for un in ulp.undos:
        if un.semid == -1:
            continue
        try:
            sma: SemArray = ns.sem_ids.check(un.semid)
        except KernelError:
            continue
        if un in sma.undos:
            sma.undos.remove(un)
        for num, adj in enumerate(un.semadj):
            if adj:
                sem = sma.sems[num]
                sem.semval = min(max(sem.semval + adj, 0), SEMVMX)
                sem.sempid = task.pid
        _smart_update(ns, sma, None, True)
    ulp.undos = []


def share_undo_list(task: Any) -> UndoList:
    """clone(CLONE_SYSVSEM): the caller's undo list (made now if it has none), shared."""
    if task.sysvsem is None:
        task.sysvsem = UndoList()
    task.sysvsem.refs += 1
    return task.sysvsem


def proc_text(ns: IpcNamespace) -> bytes:
    """/proc/sysvipc/sem (sysvipc_sem_proc_show)."""
    lines = [PROC_HEADER]
    for sma in ns.sem_ids.sorted():
        p = sma.perm
        lines.append(b"%10d %10d  %4o %10u %5u %5u %5u %5u %10u %10u\n"
                     % (p.key, p.id, p.mode, sma.nsems, p.uid, p.gid, p.cuid, p.cgid,
                        sma.otime(), sma.ctime))  # fmt: skip
    return b"".join(lines)
