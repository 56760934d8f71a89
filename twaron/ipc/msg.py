"""System V message queues (Linux's ipc/msg.c).

A message goes straight to the first sleeping receiver that wants it (pipelined_send; one
whose buffer is too small fails E2BIG and the message is offered on), else to the tail of
the queue. A receiver takes the first message of the type it asks for (msgtyp 0: any; > 0:
that type, or any other with MSG_EXCEPT; < 0: the lowest type up to |msgtyp|), or with
MSG_COPY (and IPC_NOWAIT) a copy of the message at that position. A full queue (MSGMNB bytes,
or as many messages as bytes) makes senders sleep; every receive wakes those whose message
now fits. IPC_RMID fails sleepers with EIDRM; a signal ends a sleep with ERESTARTNOHAND.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    IPC_NOWAIT,
    MSG_COPY,
    MSG_EXCEPT,
    MSG_NOERROR,
    MSGMAP,
    MSGPOOL,
    MSGSEG,
    MSGSSZ,
    MSGTQL,
)
from twaron.arch.x86_64.errno import E2BIG, EAGAIN, EIDRM, EINVAL, ENOMSG, EPERM
from twaron.errors import KernelError
from twaron.ipc.util import (
    S_IRUGO,
    S_IWUGO,
    KernPerm,
    check_perms,
    ipcget,
    may_change,
    stat_lookup,
    update_perm,
)
from twaron.wait import ALL_EVENTS, WaitQueue, need_context, wait_event

if TYPE_CHECKING:
    from twaron.ipc import IpcNamespace

# struct msqid64_ds: perm, stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid, 2 unused
MSQID64_DS = struct.Struct("<48sqqqQQQiiQQ")
MSGINFO = struct.Struct("<7iH2x")
assert MSQID64_DS.size == 120 and MSGINFO.size == 32
QBYTES_OFFSET = 88  # msg_qbytes in struct msqid64_ds (IPC_SET reads it)
INT_MAX = (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
PROC_HEADER = (b"       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid"
               b"  cgid      stime      rtime      ctime\n")  # fmt: skip

SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL, SEARCH_NUMBER = 1, 2, 3, 4, 5


class Message:
    __slots__ = ("mtype", "text")

    def __init__(self, mtype: int, text: bytes) -> None:
        self.mtype = mtype
        self.text = text


class Receiver:
    """A sleeping msgrcv (struct msg_receiver)."""

    __slots__ = ("msgtype", "mode", "maxsize", "pid", "result", "kicked", "wait")

    def __init__(self, msgtype: int, mode: int, maxsize: int, pid: int) -> None:
        self.msgtype = msgtype
        self.mode = mode
        self.maxsize = maxsize
        self.pid = pid
        self.result: Message | int | None = None  # a message, or -errno
        self.kicked = False  # IPC_SET: look again (the permissions may have changed)
        self.wait = WaitQueue()


class Sender:
    """A sleeping msgsnd (struct msg_sender)."""

    __slots__ = ("size", "woken", "wait")

    def __init__(self, size: int) -> None:
        self.size = size
        self.woken = False
        self.wait = WaitQueue()


class MsgQueue:
    def __init__(self, ns: IpcNamespace, key: int, flg: int) -> None:
        self.perm = KernPerm(key, flg)
        self.stime = self.rtime = 0
        self.ctime = ns.now()
        self.cbytes = 0
        self.qbytes = ns.msg_ctlmnb
        self.lspid = self.lrpid = 0
        self.messages: list[Message] = []
        self.receivers: list[Receiver] = []
        self.senders: list[Sender] = []

    def fits(self, size: int) -> bool:
        """msg_fits_inqueue: room for the bytes, and for one more message."""
        return size + self.cbytes <= self.qbytes and 1 + len(self.messages) <= self.qbytes

    def pack(self) -> bytes:
        return MSQID64_DS.pack(self.perm.pack(), self.stime, self.rtime, self.ctime,
                               self.cbytes, len(self.messages), self.qbytes, self.lspid,
                               self.lrpid, 0, 0)  # fmt: skip


def _testmsg(m: Message, msgtype: int, mode: int) -> bool:
    if mode == SEARCH_EQUAL:
        return m.mtype == msgtype
    if mode == SEARCH_NOTEQUAL:
        return m.mtype != msgtype
    if mode == SEARCH_LESSEQUAL:
        return m.mtype <= msgtype
    return True  # SEARCH_ANY, SEARCH_NUMBER


def _ss_wakeup(q: MsgQueue, kill: bool) -> None:
    """Wake the sleeping senders whose message now fits (all of them when the queue goes);
    those that still do not fit move to the tail, in their order (ss_wakeup)."""
    for s in list(q.senders):
        if not kill and not q.fits(s.size):
            q.senders.remove(s)
            q.senders.append(s)
            continue
        if kill:
            q.senders.remove(s)
        s.woken = True
        s.wait.notify(ALL_EVENTS)


def _expunge(q: MsgQueue, error: int) -> None:
    """expunge_all: every sleeping receiver fails with error (EIDRM), or (EAGAIN: IPC_SET)
    looks again."""
    for r in q.receivers:
        if error == -EAGAIN:
            r.kicked = True
        else:
            r.result = error
        r.wait.notify(ALL_EVENTS)


# ---- msgget --------------------------------------------------------------------------------


def msgget(ns: IpcNamespace, cred: Any, key: int, flg: int) -> int:
    def new() -> int:
        return ns.msg_ids.add(MsgQueue(ns, key, flg), cred)

    return ipcget(ns.msg_ids, key, flg, cred, new)


# ---- msgsnd --------------------------------------------------------------------------------


def msgsnd(ns: IpcNamespace, task: Any, msqid: int, mtype: int, text: bytes, flg: int) -> None:
    """do_msgsnd once the message is copied in and checked."""
    q: MsgQueue = ns.msg_ids.check(msqid)
    size = len(text)
    while True:
        check_perms(q.perm, task.cred, S_IWUGO)
        if q.perm.deleted:
            raise KernelError(EIDRM)
        if q.fits(size):
            break
        if flg & IPC_NOWAIT:
            raise KernelError(EAGAIN)
        need_context()  # it waits in the queue's list of senders
        s = Sender(size)
        q.senders.append(s)
        try:
            wait_event(((s.wait, ALL_EVENTS),), lambda s=s: s.woken)  # type: ignore[misc]
        except KernelError:
            if q.perm.deleted:
                raise KernelError(EIDRM) from None
            raise
        finally:
            if s in q.senders:
                q.senders.remove(s)
        if q.perm.deleted:
            raise KernelError(EIDRM)
    q.lspid = task.pid
    q.stime = ns.now()
    msg = Message(mtype, text)
    if not _pipelined_send(ns, q, msg):
        q.messages.append(msg)
        q.cbytes += size
        ns.msg_bytes += size
        ns.msg_hdrs += 1


def _pipelined_send(ns: IpcNamespace, q: MsgQueue, msg: Message) -> bool:
    for r in list(q.receivers):
        if not _testmsg(msg, r.msgtype, r.mode):
            continue
        q.receivers.remove(r)
        if r.maxsize < len(msg.text):
            r.result = -E2BIG
            r.wait.notify(ALL_EVENTS)
            continue
        q.lrpid = r.pid
        q.rtime = ns.now()
        r.result = msg
        r.wait.notify(ALL_EVENTS)
        return True
    return False


# ---- msgrcv --------------------------------------------------------------------------------


def _convert_mode(msgtyp: int, flg: int) -> tuple[int, int]:
    if flg & MSG_COPY:
        return msgtyp, SEARCH_NUMBER
    if msgtyp == 0:
        return msgtyp, SEARCH_ANY
    if msgtyp < 0:
        return (LONG_MAX if msgtyp == LONG_MIN else -msgtyp), SEARCH_LESSEQUAL
    return msgtyp, SEARCH_NOTEQUAL if flg & MSG_EXCEPT else SEARCH_EQUAL


def _find(q: MsgQueue, msgtyp: int, mode: int) -> Message | None:
    """find_msg: the first match; for "lowest type up to msgtyp", the first message of the
    lowest type; for MSG_COPY, the message at position msgtyp."""
    found = None
    count = 0
    for m in q.messages:
        if not _testmsg(m, msgtyp, mode):
            continue
        if mode == SEARCH_LESSEQUAL and m.mtype != 1:
            msgtyp = m.mtype - 1
            found = m
        elif mode == SEARCH_NUMBER:
            if msgtyp == count:
                return m
        else:
            return m
        count += 1
    return found


def msgrcv(ns: IpcNamespace, task: Any, msqid: int, bufsz: int, msgtyp: int, flg: int,
           copy_size: int = 0) -> Message:  # fmt: skip
    """do_msgrcv after the argument checks: the message taken (or copied, MSG_COPY)."""
    msgtyp, mode = _convert_mode(msgtyp, flg)
    q: MsgQueue = ns.msg_ids.check(msqid)
    while True:
        check_perms(q.perm, task.cred, S_IRUGO)
        if q.perm.deleted:
            raise KernelError(EIDRM)
        msg = _find(q, msgtyp, mode)
        if msg is not None:
            if bufsz < len(msg.text) and not flg & MSG_NOERROR:
                raise KernelError(E2BIG)
            if flg & MSG_COPY:
                if len(msg.text) > copy_size:
                    raise KernelError(EINVAL)  # copy_msg: the copy has no room
                return Message(msg.mtype, msg.text)
            _take(ns, q, msg, task)
            return msg
        if flg & IPC_NOWAIT:
            raise KernelError(ENOMSG)
        need_context()  # it waits in the queue's list of receivers
        r = Receiver(msgtyp, mode, INT_MAX if flg & MSG_NOERROR else bufsz, task.tid)
        q.receivers.append(r)
        try:
            wait_event(((r.wait, ALL_EVENTS),),
                       lambda r=r: r.result is not None or r.kicked)  # type: ignore[misc]
        except KernelError:
            if r.result is None:
                raise  # ERESTARTNOHAND under msgrcv's rule
        finally:
            if r in q.receivers:
                q.receivers.remove(r)
        result = r.result
        if isinstance(result, Message):
            return result
        if result is not None:
            raise KernelError(-result)


def _take(ns: IpcNamespace, q: MsgQueue, msg: Message, task: Any) -> None:
    q.messages.remove(msg)
    q.rtime = ns.now()
    q.lrpid = task.pid
    q.cbytes -= len(msg.text)
    ns.msg_bytes -= len(msg.text)
    ns.msg_hdrs -= 1
    _ss_wakeup(q, False)


# ---- msgctl --------------------------------------------------------------------------------


def info(ns: IpcNamespace, msg_info: bool) -> tuple[bytes, int]:
    """IPC_INFO / MSG_INFO: struct msginfo and the highest index in use."""
    ids = ns.msg_ids
    if msg_info:
        pool, mmap, tql = ids.in_use, ns.msg_hdrs, ns.msg_bytes
    else:
        pool, mmap, tql = MSGPOOL, MSGMAP, MSGTQL
    return MSGINFO.pack(pool, mmap, ns.msg_ctlmax, ns.msg_ctlmnb, ns.msg_ctlmni, MSGSSZ, tql,
                        MSGSEG), ids.max_index()  # fmt: skip


def stat(ns: IpcNamespace, cred: Any, msqid: int, by_index: bool, check: bool) -> tuple[bytes, int]:
    q, ret = stat_lookup(ns.msg_ids, cred, msqid, by_index, check)
    return q.pack(), ret


def set_perm(ns: IpcNamespace, cred: Any, msqid: int, raw: bytes) -> None:
    """IPC_SET: owner, mode and msg_qbytes (above msgmnb needs root); sleepers look again."""
    q: MsgQueue = ns.msg_ids.check(msqid)
    may_change(q.perm, cred)
    qbytes = struct.unpack_from("<Q", raw, QBYTES_OFFSET)[0]
    if qbytes > ns.msg_ctlmnb and cred.euid != 0:
        raise KernelError(EPERM)
    _key, uid, gid, _cuid, _cgid, mode = struct.unpack_from("<iIIIII", raw)
    update_perm(q.perm, uid, gid, mode)
    q.qbytes = qbytes
    q.ctime = ns.now()
    _expunge(q, -EAGAIN)
    _ss_wakeup(q, False)


def rmid(ns: IpcNamespace, cred: Any, msqid: int) -> None:
    """freeque: sleeping receivers fail EIDRM, senders are woken to find it gone."""
    q: MsgQueue = ns.msg_ids.check(msqid)
    may_change(q.perm, cred)
    _expunge(q, -EIDRM)
    _ss_wakeup(q, True)
    ns.msg_ids.remove(q)
    ns.msg_hdrs -= len(q.messages)
    ns.msg_bytes -= q.cbytes
    q.messages = []


def proc_text(ns: IpcNamespace) -> bytes:
    """/proc/sysvipc/msg (sysvipc_msg_proc_show)."""
    lines = [PROC_HEADER]
    for q in ns.msg_ids.sorted():
        p = q.perm
        lines.append(b"%10d %10d  %4o  %10u %10u %5u %5u %5u %5u %5u %5u %10u %10u %10u\n"
                     % (p.key, p.id, p.mode, q.cbytes, len(q.messages), q.lspid, q.lrpid,
                        p.uid, p.gid, p.cuid, p.cgid, q.stime, q.rtime, q.ctime))  # fmt: skip
    return b"".join(lines)
