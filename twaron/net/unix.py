"""AF_UNIX (Linux's net/unix/af_unix.c): stream, datagram and seqpacket sockets on one host.

Names: a path (a socket inode made in the file system with the umask; the socket is
reachable through that inode until it is unlinked or the socket closes), an abstract name
(a leading NUL byte; a namespace per socket type, as Linux hashes them), or none (autobind
gives a 5-hex-digit abstract name). The exact address lengths of getsockname, getpeername,
accept and recvfrom are Linux's: 2 for an unnamed socket, the path with its NUL, the
abstract name as bound.

Data: each send queues Skbs (Linux's sk_buffs) on the receiver, charged to the sender's
send buffer until read (a writer sleeps while its bytes in flight reach SO_SNDBUF). A
datagram or seqpacket Skb is one message; stream reads join Skbs, but never past one that
carried descriptors, nor (with SO_PASSCRED) across different senders' credentials. Skbs carry
the sender's credentials and descriptors (SCM_RIGHTS: Files kept open while in flight,
closed when the message is dropped unread).

Connections: connect makes the server's end of the connection at once (the embryo) and
queues it on the listener, where accept finds it; more than backlog+1 waiting make connect
sleep (or EAGAIN when non-blocking). A datagram socket connected to a socket that is not
connected back (/dev/log) waits while the receiver holds more than max_dgram_qlen messages.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_UNIX,
    AF_UNSPEC,
    MSG_DONTWAIT,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    PAGE_SIZE,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    RCV_SHUTDOWN,
    RLIMIT_NOFILE,
    S_IFMT,
    S_IFSOCK,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SIGPIPE,
    SIOCOUTQ,
    SO_ACCEPTCON_FLAG,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    SS_CONNECTED,
    SS_CONNECTING,
    SS_DISCONNECTING,
    SS_UNCONNECTED,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    UNIX_MAX_DGRAM_QLEN,
)
from twaron.arch.x86_64.errno import (
    EADDRINUSE,
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EEXIST,
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOENT,
    ENOSPC,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    EPROTONOSUPPORT,
    EPROTOTYPE,
    ESOCKTNOSUPPORT,
    ETOOMANYREFS,
)
from twaron.errors import KernelError
from twaron.fs import vfs
from twaron.fs.vfs import MAY_WRITE, File, Inode, Path
from twaron.net.socket import (
    NO_CREDS,
    Family,
    NetNamespace,
    RecvResult,
    SendMsg,
    Sink,
    Sock,
    Ucred,
    capable,
    register,
    task_ucred,
)
from twaron.process.signal import send_thread_signal
from twaron.wait import (
    ALL_EVENTS,
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    WaitEntry,
    WaitQueue,
    need_context,
)

SUN_PATH = 2  # offsetof(struct sockaddr_un, sun_path)
SOCKADDR_UN_SIZE = 110
UNNAMED = b"\x01\x00"  # an unbound socket's address: sa_family only
SKB_OVERHEAD = 576  # what an sk_buff costs beyond its data (struct and shared info)
SKB_MAX_HEAD = PAGE_SIZE - 320  # the linear part of a stream skb...
UNIX_SKB_FRAGS_SZ = 32768  # ...and its page fragments: one skb's most


def truesize(n: int) -> int:
    """The memory one skb of n bytes is charged for (SKB_TRUESIZE, roughly)."""
    return SKB_OVERHEAD + ((n + 63) & ~63)


class Skb:
    """One message (or a stream's chunk) in a receive queue."""

    __slots__ = ("data", "consumed", "owner", "creds", "fds", "fd_uid", "truesize")

    def __init__(self, data: bytes, owner: UnixSock, creds: Ucred,
                 fds: list[File] | None = None, fd_uid: int = 0) -> None:  # fmt: skip
        self.data = data
        self.consumed = 0  # bytes a stream reader took already
        self.owner = owner  # the sender: charged for the memory, its address is the source
        self.creds = creds  # NO_CREDS: the sender attached none (pid 0, ids unset)
        self.fds = fds  # SCM_RIGHTS in flight (a reference each)
        self.fd_uid = fd_uid  # whose descriptors in flight they count as
        self.truesize = truesize(len(data))
        owner.wmem += self.truesize

    def __len__(self) -> int:
        return len(self.data) - self.consumed

    def take_fds(self, net: NetNamespace) -> list[File] | None:
        """Detach the descriptors (the receiver now owns their references)."""
        fds, self.fds = self.fds, None
        if fds:
            net.inflight[self.fd_uid] -= len(fds)
        return fds

    def free(self, net: NetNamespace) -> None:
        """The skb leaves its queue: descriptors never received are closed, the sender's
        memory is given back (and its writers woken when it is writable again)."""
        for f in self.take_fds(net) or ():
            f.put()
        owner = self.owner
        owner.wmem -= self.truesize
        if owner.writable():
            owner.notify(EVENT_OUT)


class UnixTable:
    """A namespace's AF_UNIX names: abstract names by (type, address), path-bound sockets by
    their inode, and every socket (for /proc/net/unix)."""

    def __init__(self) -> None:
        self.socks: dict[UnixSock, None] = {}
        self.abstract: dict[tuple[int, bytes], UnixSock] = {}
        self.bsd: dict[Inode, UnixSock] = {}


# ---- the family ---------------------------------------------------------------------------


class UnixFamily(Family):
    family = AF_UNIX

    def create(self, net: NetNamespace, task: Any, type_: int, protocol: int) -> Sock:
        if protocol and protocol != AF_UNIX:
            raise KernelError(EPROTONOSUPPORT)
        cls = _TYPES.get(SOCK_DGRAM if type_ == SOCK_RAW else type_)
        if cls is None:
            raise KernelError(ESOCKTNOSUPPORT)
        return cls(net, protocol)

    def socketpair(self, a: Sock, b: Sock, task: Any) -> None:
        assert isinstance(a, UnixSock) and isinstance(b, UnixSock)
        a.peer, b.peer = b, a
        a.peercred = b.peercred = task_ucred(task, effective=True)
        a.state = b.state = TCP_ESTABLISHED

    def new_table(self, net: NetNamespace) -> UnixTable:
        return UnixTable()

    def proc_net(self, net: NetNamespace) -> dict[bytes, Callable[[], bytes]]:
        return {b"unix": lambda: proc_net_unix(net)}


def proc_net_unix(net: NetNamespace) -> bytes:
    """/proc/net/unix: Num RefCount Protocol Flags Type St Inode Path, as unix_seq_show."""
    lines = [b"Num       RefCount Protocol Flags    Type St Inode Path\n"]
    table: UnixTable = net.table(AF_UNIX)
    for sk in table.socks:
        flags = SO_ACCEPTCON_FLAG if sk.state == TCP_LISTEN else 0
        if sk.socket is not None:
            st = SS_CONNECTED if sk.state == TCP_ESTABLISHED else SS_UNCONNECTED
        else:
            st = SS_CONNECTING if sk.state == TCP_ESTABLISHED else SS_DISCONNECTING
        ino = sk.socket.inode.ino if sk.socket is not None else 0
        line = b"%016x: %08X %08X %08X %04X %02X %5d" % (
            0, sk.refcount(table), 0, flags, sk.type, st, ino)  # fmt: skip
        addr = sk.addr
        if addr is not None:
            name = addr[SUN_PATH:]
            if name[:1] == b"\0":
                line += b" @" + name[1:].replace(b"\0", b"@")
            else:
                line += b" " + name[:-1].replace(b"\0", b"@")
        lines.append(line + b"\n")
    return b"".join(lines)


# ---- the socket ---------------------------------------------------------------------------


class UnixSock(Sock):
    """What every AF_UNIX socket has: its name, its peer, its receive queue."""

    family = AF_UNIX

    def __init__(self, net: NetNamespace, protocol: int) -> None:
        super().__init__(net, self.sock_type, protocol)
        self.table: UnixTable = net.table(AF_UNIX)
        self.table.socks[self] = None
        self.peer: UnixSock | None = None
        self.addr: bytes | None = None  # the bound sockaddr_un, of the length Linux reports
        self.path: Path | None = None  # where a path-bound socket's inode is
        self.queue: deque[Skb] = deque()  # received messages
        self.embryos: deque[UnixSock] = deque()  # a listener's connections not yet accepted
        self.max_ack_backlog = UNIX_MAX_DGRAM_QLEN
        self.peer_wait = WaitQueue()  # senders waiting for room in this socket's queue
        self.peer_wake: WaitEntry | None = None  # a poller's relay on its peer's peer_wait
        self.wmem = 0  # bytes of this socket's skbs still queued somewhere
        self.rcv_seq = 0  # counts arrivals (a stream reader waits for a change)
        self.dead = False

    sock_type = SOCK_STREAM

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    # --- bookkeeping ---
    def writable(self) -> bool:
        """unix_writable: not listening and under a quarter of the send buffer in flight."""
        return self.state != TCP_LISTEN and self.wmem * 4 <= self.sndbuf

    def refcount(self, table: UnixTable) -> int:
        held = sum(1 for s in table.socks if s.peer is self)
        return 1 + held + (1 if self.socket is not None else 0)

    def recvq_full(self) -> bool:
        n = len(self.embryos) if self.state == TCP_LISTEN else len(self.queue)
        return n > self.max_ack_backlog

    def enqueue(self, skb: Skb) -> None:
        self.queue.append(skb)
        self.rcv_seq += 1
        self.notify(EVENT_IN)

    def inq_len(self) -> int:
        if self.state == TCP_LISTEN:
            raise KernelError(EINVAL)
        if self.type == SOCK_DGRAM:
            return len(self.queue[0]) if self.queue else 0
        return sum(len(skb) for skb in self.queue)

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        """SIOCOUTQ: the bytes this socket has in flight (unix_outq_len)."""
        if cmd == SIOCOUTQ:
            task.mm.copy_out(arg, struct.pack("<i", self.wmem))
            return 0
        return super().ioctl(task, cmd, arg)

    # --- names ---
    def getname(self, peer: bool) -> bytes:
        sk: UnixSock | None = self
        if peer:
            sk = self.peer
            if sk is None:
                raise KernelError(ENOTCONN)
        assert sk is not None
        return sk.addr if sk.addr is not None else UNNAMED

    def bind(self, task: Any, addr: bytes) -> None:
        if len(addr) == SUN_PATH and _family(addr) == AF_UNIX:
            self.autobind(task)
            return
        validate_addr(addr)
        if addr[SUN_PATH]:
            self._bind_bsd(task, addr)
        else:
            self._bind_abstract(addr)

    def _bind_bsd(self, task: Any, addr: bytes) -> None:
        """A socket inode at the path (EADDRINUSE if the name exists), then the binding
        (EINVAL if the socket has a name already: the new inode is removed again)."""
        path = _sun_path(addr)
        parent, last, trailing = vfs.lookup_parent_at(task, -100, path)
        mode = S_IFSOCK | (0o777 & ~task.fs.umask)
        try:
            if last in (b"", b".", b".."):
                raise KernelError(EEXIST)
            if trailing and vfs.lookup_child(task, parent, last) is None:
                raise KernelError(ENOENT)
            where = vfs.vfs_mknod(task, parent, last, mode)
        except KernelError as e:
            raise KernelError(EADDRINUSE if e.errno == EEXIST else e.errno) from None
        if self.addr is not None:
            vfs.vfs_unlink(task, parent, last)
            raise KernelError(EINVAL)
        self.addr = addr[:SUN_PATH] + path + b"\0"
        self.path = where
        self.table.bsd[where.inode] = self

    def _bind_abstract(self, addr: bytes) -> None:
        if self.addr is not None:
            raise KernelError(EINVAL)
        key = (self.type, addr)
        if key in self.table.abstract:
            raise KernelError(EADDRINUSE)
        self.addr = addr
        self.table.abstract[key] = self

    def autobind(self, task: Any) -> None:
        """A free abstract name of 5 hex digits, from a random start (Linux's unix_autobind);
        ENOSPC when all 2^20 are taken."""
        if self.addr is not None:
            return
        start = task.kernel.rng.u64() & 0xFFFFF
        n = start
        while True:
            n = (n + 1) & 0xFFFFF
            addr = b"\x01\x00\x00%05x" % n
            if (self.type, addr) not in self.table.abstract:
                break
            if n == start:
                raise KernelError(ENOSPC)
        self.addr = addr
        self.table.abstract[(self.type, addr)] = self

    def find_other(self, task: Any, addr: bytes) -> UnixSock:
        """unix_find_other: the socket bound to addr, of this socket's type."""
        if addr[SUN_PATH]:
            p = vfs.lookup(task, _sun_path(addr), True)
            inode = p.inode
            vfs.permission(inode, MAY_WRITE, task.cred)
            if inode.mode & S_IFMT != S_IFSOCK:
                raise KernelError(ECONNREFUSED)
            other = self.table.bsd.get(inode)
            if other is None:
                raise KernelError(ECONNREFUSED)
            if other.type != self.type:
                raise KernelError(EPROTOTYPE)
            return other
        other = self.table.abstract.get((self.type, addr))
        if other is None:
            raise KernelError(ECONNREFUSED)
        return other

    # --- shutdown and close ---
    def do_shutdown(self, task: Any, how: int) -> None:
        if how < 0 or how > 2:
            raise KernelError(EINVAL)
        mode = how + 1  # SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN, both
        self.shutdown |= mode
        self.notify(ALL_EVENTS)
        other = self.peer
        if other is not None and self.type in (SOCK_STREAM, SOCK_SEQPACKET):
            peer_mode = (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | \
                (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0)  # fmt: skip
            other.shutdown |= peer_mode
            other.notify(ALL_EVENTS)

    def release(self) -> None:
        self.release_sock(embryo=False)

    def release_sock(self, embryo: bool) -> None:
        """unix_release_sock: names go, the peer of a connection hangs up (ECONNRESET if we
        leave data unread or were never accepted), queued messages and connections are
        dropped (their descriptors closed)."""
        table = self.table
        table.socks.pop(self, None)
        if self.addr is not None and table.abstract.get((self.type, self.addr)) is self:
            del table.abstract[(self.type, self.addr)]
        if self.path is not None and table.bsd.get(self.path.inode) is self:
            del table.bsd[self.path.inode]
        self.path = None
        self.dead = True
        self.shutdown = SHUTDOWN_MASK
        state, self.state = self.state, TCP_CLOSE
        other, self.peer = self.peer, None
        self.peer_wait.notify(ALL_EVENTS)
        if other is not None:
            if self.type in (SOCK_STREAM, SOCK_SEQPACKET):
                other.shutdown = SHUTDOWN_MASK
                if self.queue or embryo:
                    other.err = ECONNRESET
                other.notify(ALL_EVENTS)
            self.peer_wake_disconnect()
        while self.queue:
            self.queue.popleft().free(self.net)
        if state == TCP_LISTEN:
            while self.embryos:
                self.embryos.popleft().release_sock(embryo=True)
        self.notify(ALL_EVENTS)

    # --- the dgram peer-wake relay (unix_dgram_peer_wake_*) ---
    def peer_wake_connect(self, other: UnixSock) -> None:
        if self.peer_wake is None:
            def relay(_mask: int) -> None:
                self.peer_wake_disconnect()
                self.notify(EVENT_OUT)

            self.peer_wake = other.peer_wait.add(ALL_EVENTS, relay)

    def peer_wake_disconnect(self) -> None:
        if self.peer_wake is not None:
            self.peer_wake.remove()
            self.peer_wake = None

    # --- sending: what the stream and datagram paths share ---
    def wait_wmem(self, task: Any, deadline: float | None) -> None:
        """sock_alloc_send_pskb's wait for send-buffer room: the pending error, EPIPE after
        SHUT_WR, EAGAIN when it would wait and may not."""
        while True:
            err = self.sock_error()
            if err:
                raise KernelError(err)
            if self.shutdown & SEND_SHUTDOWN:
                raise KernelError(EPIPE)
            if self.wmem < self.sndbuf:
                return
            self.would_block(deadline)
            ok = self.sleep(((self.wait, ALL_EVENTS),),
                            lambda: self.wmem < self.sndbuf or self.err or
                            self.shutdown & SEND_SHUTDOWN, deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EAGAIN)

    def skb_creds(self, task: Any, msg: SendMsg, other: UnixSock) -> Ucred:
        """maybe_add_creds: claimed credentials, else the sender's when either side has
        SO_PASSCRED (or the receiver is not yet accepted)."""
        if msg.creds is not None:
            return msg.creds
        if self.passcred or other.socket is None or other.passcred:
            return task_ucred(task)
        return NO_CREDS

    def attach_fds(self, task: Any, msg: SendMsg) -> tuple[list[File] | None, int]:
        """unix_attach_fds: references for the skb; ETOOMANYREFS when the sender's user has
        more descriptors in flight than its RLIMIT_NOFILE (root: no limit)."""
        if not msg.rights:
            return None, 0
        uid = task.cred.uid
        lim = task.group.rlimits.get(RLIMIT_NOFILE, (1024, 4096))[0]
        if self.net.inflight[uid] > lim and not capable(task):
            raise KernelError(ETOOMANYREFS)
        self.net.inflight[uid] += len(msg.rights)
        return [f.get() for f in msg.rights], uid

    def sigpipe(self, task: Any, flags: int) -> None:
        if not flags & MSG_NOSIGNAL:
            send_thread_signal(task.kernel, task, SIGPIPE)

    def copy_addr(self, skb: Skb, want: bool) -> bytes | None:
        """unix_copy_addr: the sender's name, if it has one (else nothing is reported)."""
        return skb.owner.addr if want else None


# ---- connection-oriented sockets (stream, seqpacket) --------------------------------------


class Connected(UnixSock):
    """listen, accept and connect of SOCK_STREAM and SOCK_SEQPACKET."""

    def listen(self, task: Any, backlog: int) -> None:
        if self.addr is None:
            raise KernelError(EINVAL)
        if self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise KernelError(EINVAL)
        if backlog > self.max_ack_backlog:
            self.peer_wait.notify(ALL_EVENTS)
        self.max_ack_backlog = backlog
        self.state = TCP_LISTEN
        self.peercred = task_ucred(task, effective=True)
        self.notify(ALL_EVENTS)

    def accept(self, task: Any, nonblock: bool) -> Sock:
        if self.state != TCP_LISTEN:
            raise KernelError(EINVAL)
        deadline = self.rcv_deadline(nonblock)
        while not self.embryos:
            err = self.sock_error()
            if err:
                raise KernelError(err)
            if self.shutdown & RCV_SHUTDOWN:
                raise KernelError(EINVAL)
            self.would_block(deadline)
            ok = self.sleep(((self.wait, ALL_EVENTS),),
                            lambda: self.embryos or self.err or self.shutdown & RCV_SHUTDOWN,
                            deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EAGAIN)
        newsk = self.embryos.popleft()
        self.peer_wait.notify(ALL_EVENTS)
        newsk.passcred = newsk.passcred or self.passcred
        return newsk

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        """unix_stream_connect: no EINPROGRESS for AF_UNIX; a full backlog is a wait (or
        EAGAIN)."""
        validate_addr(addr)
        if self.passcred and self.addr is None:
            self.autobind(task)
        deadline = self.snd_deadline(nonblock)
        while True:
            other = self.find_other(task, addr)
            if other.state != TCP_LISTEN or other.shutdown & RCV_SHUTDOWN:
                raise KernelError(ECONNREFUSED)
            if not other.recvq_full():
                break
            self.would_block(deadline)
            ok = self.sleep(((other.peer_wait, ALL_EVENTS),), partial(_room_or_gone, other),
                            deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EAGAIN)
        if self.state != TCP_CLOSE:
            raise KernelError(EISCONN if self.state == TCP_ESTABLISHED else EINVAL)
        newsk = type(self)(self.net, self.protocol)
        newsk.peer = self
        newsk.state = TCP_ESTABLISHED
        newsk.peercred = task_ucred(task, effective=True)
        newsk.addr = other.addr
        newsk.path = other.path
        self.peercred = other.peercred
        self.state = TCP_ESTABLISHED
        self.peer = newsk
        other.embryos.append(newsk)
        other.notify(EVENT_IN)


# ---- SOCK_STREAM ---------------------------------------------------------------------------


class UnixStream(Connected):
    sock_type = SOCK_STREAM

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        """unix_stream_sendmsg: chunks of at most half the send buffer, each waiting for
        room; EPIPE (with SIGPIPE unless MSG_NOSIGNAL) once the peer reads no more."""
        flags = msg.flags
        if flags & MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        if msg.addr:
            raise KernelError(EISCONN if self.state == TCP_ESTABLISHED else EOPNOTSUPP)
        other = self.peer
        if other is None:
            raise KernelError(ENOTCONN)
        if self.shutdown & SEND_SHUTDOWN:
            self.sigpipe(task, flags)
            raise KernelError(EPIPE)
        data = msg.data
        total = len(data)
        limit = min((self.sndbuf >> 1) - 64, SKB_MAX_HEAD + UNIX_SKB_FRAGS_SZ)
        nonblock = bool(flags & MSG_DONTWAIT)
        if not nonblock and self._would_wait(total, limit):
            need_context()  # it may sleep after a part went out
        deadline = self.snd_deadline(nonblock)
        sent = 0
        fds_sent = False
        while sent < total or (total == 0 and not fds_sent and msg.rights):
            size = min(total - sent, limit)
            try:
                self.wait_wmem(task, deadline)
            except KernelError:
                if sent:
                    return sent
                raise
            fds, uid = (None, 0) if fds_sent else self.attach_fds(task, msg)
            fds_sent = True
            if other.dead or other.shutdown & RCV_SHUTDOWN:
                for f in fds or ():
                    f.put()
                if fds:
                    self.net.inflight[uid] -= len(fds)
                if not sent:
                    self.sigpipe(task, flags)
                    raise KernelError(EPIPE)
                return sent
            skb = Skb(data[sent : sent + size], self, self.skb_creds(task, msg, other), fds, uid)
            other.enqueue(skb)
            sent += size
            if total == 0:
                break
        return sent

    def _would_wait(self, total: int, limit: int) -> bool:
        wmem = self.wmem
        sent = 0
        while sent < total:
            if wmem >= self.sndbuf:
                return True
            size = min(total - sent, limit)
            wmem += truesize(size)
            sent += size
        return False

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        """unix_stream_read_generic."""
        if self.state != TCP_ESTABLISHED:
            raise KernelError(EINVAL)
        if flags & MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        size = sink.size
        target = size if flags & MSG_WAITALL else min(self.rcvlowat, size)
        target = max(target, 1)
        peek = bool(flags & MSG_PEEK)
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        skip = max(self.peek_off, 0) if peek else 0
        if target > 1 and deadline != 0.0 and self._queued() - skip < target:
            need_context()  # it may sleep after taking a part
        copied = 0
        err = 0
        creds: Ucred | None = None
        check_creds = False
        fds: list[File] | None = None
        addr: bytes | None = None
        idx = 0  # the skb a peek is at
        while size:
            skb, idx, skip = self._next_skb(idx if peek else 0, skip)
            if skb is None:
                if copied >= target:
                    break
                err = self.sock_error()
                if err or self.shutdown & RCV_SHUTDOWN:
                    break
                if deadline == 0.0:
                    err = EAGAIN
                    break
                seq = self.rcv_seq
                try:
                    ok = self.sleep(((self.wait, EVENT_IN | EVENT_HUP | EVENT_ERR),),
                                    lambda s=seq: self.rcv_seq != s or self.err or  # type: ignore[misc]
                                    self.shutdown & RCV_SHUTDOWN, deadline)  # fmt: skip
                except KernelError:
                    if copied:
                        return RecvResult(copied, addr)
                    raise
                if ok is None:
                    deadline = 0.0
                continue
            if check_creds:
                if skb.creds != creds:
                    break
            elif self.passcred:
                creds = skb.creds
                check_creds = True
            if addr is None and want_addr:
                addr = self.copy_addr(skb, True)
            chunk = min(len(skb) - skip, size)
            start = skb.consumed + skip
            try:
                sink.put(skb.data[start : start + chunk])
            except KernelError:
                if not copied:
                    raise
                break
            copied += chunk
            size -= chunk
            if not peek:
                skb.consumed += chunk
                if self.peek_off >= 0:
                    self.peek_off = max(self.peek_off - chunk, 0)
                if skb.fds:
                    fds = skb.take_fds(self.net)
                if len(skb):
                    break
                self.queue.popleft()
                skb.free(self.net)
                if fds:
                    break
            else:
                if skb.fds:
                    fds = [f.get() for f in skb.fds]
                if self.peek_off >= 0:
                    self.peek_off += chunk
                if skb.fds:
                    break
                skip = 0
                idx += 1
                if idx >= len(self.queue):
                    break
        if not copied and err:
            for f in fds or ():
                f.put()
            raise KernelError(err)
        return RecvResult(copied, addr, 0, creds if check_creds else _NO_SCM, fds)

    def _next_skb(self, idx: int, skip: int) -> tuple[Skb | None, int, int]:
        """The skb `skip` bytes into the queue from idx (and what is left of skip)."""
        q = self.queue
        while idx < len(q):
            n = len(q[idx])
            if skip < n:
                return q[idx], idx, skip
            skip -= n
            idx += 1
        return None, idx, skip

    def _queued(self) -> int:
        return sum(len(skb) for skb in self.queue)

    def set_peek_off(self, val: int) -> None:
        self.peek_off = val

    @property
    def has_peek_off(self) -> bool:
        return True

    def poll(self) -> int:
        """unix_poll."""
        mask = 0
        if self.err:
            mask |= POLLERR
        if self.shutdown == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.queue or self.embryos:
            mask |= POLLIN | POLLRDNORM
        if self.state == TCP_CLOSE:
            mask |= POLLHUP
        if self.writable():
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask


_NO_SCM = Ucred(0, 0, 0)  # a receive that read nothing still reports SO_PASSCRED's zeros


# ---- SOCK_DGRAM -----------------------------------------------------------------------------


class UnixDgram(UnixSock):
    sock_type = SOCK_DGRAM

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        """unix_dgram_connect: sets the default destination (AF_UNSPEC: none); a peer
        connected elsewhere refuses (EPERM); changing peers drops what the old one sent."""
        if len(addr) < SUN_PATH:
            raise KernelError(EINVAL)
        other: UnixSock | None = None
        if _family(addr) != AF_UNSPEC:
            validate_addr(addr)
            if self.passcred and self.addr is None:
                self.autobind(task)
            other = self.find_other(task, addr)
            if not (other.peer is None or other.peer is self):
                raise KernelError(EPERM)
            self.state = TCP_ESTABLISHED
            other.state = TCP_ESTABLISHED
        old = self.peer
        self.peer = other
        if old is None:
            return
        if other is None:
            self.state = TCP_CLOSE
        self.peer_wake_disconnect()
        self.notify(EVENT_OUT)
        if other is not old:
            self.dgram_disconnected(old)
            if old.peer is None:
                old.state = TCP_CLOSE

    def dgram_disconnected(self, other: UnixSock) -> None:
        """unix_dgram_disconnected: what the old peer sent is dropped; if it was connected
        back to us, it hears ECONNRESET."""
        if self.queue:
            while self.queue:
                self.queue.popleft().free(self.net)
            self.peer_wait.notify(ALL_EVENTS)
            if not other.dead and other.peer is self:
                other.err = ECONNRESET
                other.notify(EVENT_ERR)

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        """unix_dgram_sendmsg: one message, whole or not at all."""
        flags = msg.flags
        if flags & MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        other: UnixSock | None = None
        if msg.addr:
            validate_addr(msg.addr)
        else:
            other = self.peer
            if other is None:
                raise KernelError(ENOTCONN)
        if self.passcred and self.addr is None:
            self.autobind(task)
        data = msg.data
        if len(data) > self.sndbuf - 32:
            raise KernelError(EMSGSIZE)
        deadline = self.snd_deadline(bool(flags & MSG_DONTWAIT))
        self.wait_wmem(task, deadline)
        while True:
            if other is None:
                if msg.addr is None:
                    raise KernelError(ECONNRESET)
                other = self.find_other(task, msg.addr)
            if not (other.peer is None or other.peer is self):
                raise KernelError(EPERM)
            if other.dead:
                if self.type == SOCK_SEQPACKET:
                    raise KernelError(EPIPE)
                if self.peer is other:
                    self.peer = None
                    self.peer_wake_disconnect()
                    self.state = TCP_CLOSE
                    self.dgram_disconnected(other)
                    raise KernelError(ECONNREFUSED)
                other = None
                continue
            if other.shutdown & RCV_SHUTDOWN:
                raise KernelError(EPIPE)
            if other is not self and other.peer is not self and other.recvq_full():
                self.would_block(deadline)
                ok = self.sleep(((other.peer_wait, ALL_EVENTS),),
                                partial(_room_or_gone, other), deadline)
                if ok is None:
                    raise KernelError(EAGAIN)
                if msg.addr:
                    other = None
                continue
            break
        fds, uid = self.attach_fds(task, msg)
        other.enqueue(Skb(data, self, self.skb_creds(task, msg, other), fds, uid))
        return len(data)

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        """__unix_dgram_recvmsg: one message; the rest of a longer one is dropped
        (MSG_TRUNC), MSG_TRUNC in flags returns its whole length."""
        if flags & MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        peek = bool(flags & MSG_PEEK)
        while True:
            err = self.sock_error()
            if err:
                raise KernelError(err)
            skb = self._first(peek)
            if skb is not None:
                break
            if deadline == 0.0 or not self._wait_packet(deadline):
                if self.type == SOCK_SEQPACKET and self.shutdown & RCV_SHUTDOWN:
                    return RecvResult(0)
                raise KernelError(EAGAIN)
            if not self.queue and (self.shutdown & RCV_SHUTDOWN):
                return RecvResult(0)
        skip = max(self.peek_off, 0) if peek else 0
        if not peek:
            self.queue.popleft()
        self.peer_wait.notify(EVENT_OUT)
        addr = self.copy_addr(skb, want_addr)
        length = len(skb.data) - skip
        n = length
        mflags = 0
        if sink.size < length:
            n = sink.size
            mflags |= MSG_TRUNC
        try:
            sink.put(skb.data[skip : skip + n])
        except KernelError:
            if not peek:
                skb.free(self.net)
            raise
        if peek:
            if self.peek_off >= 0:
                self.peek_off += n
            fds = [f.get() for f in skb.fds] if skb.fds else None
        else:
            if self.peek_off >= 0:
                self.peek_off = max(self.peek_off - len(skb.data), 0)
            fds = skb.take_fds(self.net)
            skb.free(self.net)
        ret = length if flags & MSG_TRUNC else n
        return RecvResult(ret, addr, mflags, skb.creds, fds)

    def _first(self, peek: bool) -> Skb | None:
        if not self.queue:
            return None
        if peek and self.peek_off > 0:
            off = self.peek_off
            for skb in self.queue:  # a peek offset walks over whole messages
                if off < len(skb.data):
                    return skb
                off -= len(skb.data)
            return None
        return self.queue[0]

    def _wait_packet(self, deadline: float | None) -> bool:
        """__skb_wait_for_more_packets: True once there may be something to read (or an
        error, or a shutdown: the loop above tells); False when the time ran out."""
        if self.shutdown & RCV_SHUTDOWN:
            return True
        if self.type == SOCK_SEQPACKET and self.state != TCP_ESTABLISHED:
            raise KernelError(ENOTCONN)
        seq = self.rcv_seq
        ok = self.sleep(((self.wait, EVENT_IN | EVENT_HUP | EVENT_ERR),),
                        lambda: self.rcv_seq != seq or self.err or self.shutdown & RCV_SHUTDOWN,
                        deadline)  # fmt: skip
        return ok is not None

    def set_peek_off(self, val: int) -> None:
        self.peek_off = val

    @property
    def has_peek_off(self) -> bool:
        return True

    def poll(self) -> int:
        """unix_dgram_poll."""
        mask = 0
        if self.err:
            mask |= POLLERR
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.shutdown == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.queue or self.embryos:
            mask |= POLLIN | POLLRDNORM
        if self.type == SOCK_SEQPACKET and self.state == TCP_CLOSE:
            mask |= POLLHUP
        writable = self.writable()
        other = self.peer
        if writable and other is not None and other.peer is not self and other.recvq_full() \
                and not other.dead:  # fmt: skip
            self.peer_wake_connect(other)
            writable = False
        if writable:
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask


# ---- SOCK_SEQPACKET ------------------------------------------------------------------------


class UnixSeqpacket(Connected, UnixDgram):
    """Connections as SOCK_STREAM, messages as SOCK_DGRAM."""

    sock_type = SOCK_SEQPACKET

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        Connected.connect(self, task, addr, nonblock)

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        err = self.sock_error()
        if err:
            raise KernelError(err)
        if self.state != TCP_ESTABLISHED:
            raise KernelError(ENOTCONN)
        msg.addr = None
        return UnixDgram.sendmsg(self, task, msg)

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        if self.state != TCP_ESTABLISHED:
            raise KernelError(ENOTCONN)
        return UnixDgram.recvmsg(self, task, sink, flags, want_addr)

    def poll(self) -> int:
        return UnixDgram.poll(self)


_TYPES: dict[int, type[UnixSock]] = {
    SOCK_STREAM: UnixStream,
    SOCK_DGRAM: UnixDgram,
    SOCK_SEQPACKET: UnixSeqpacket,
}


def _room_or_gone(other: UnixSock) -> bool:
    """What a sender waiting for room in other's queue waits for (unix_wait_for_peer)."""
    return other.dead or bool(other.shutdown & RCV_SHUTDOWN) or not other.recvq_full()


# ---- addresses ----------------------------------------------------------------------------


def _family(addr: bytes) -> int:
    return int.from_bytes(addr[:2], "little")


def validate_addr(addr: bytes) -> None:
    """unix_validate_addr: sa_family AF_UNIX and a name of 1 to 108 bytes."""
    if len(addr) <= SUN_PATH or len(addr) > SOCKADDR_UN_SIZE or _family(addr) != AF_UNIX:
        raise KernelError(EINVAL)


def _sun_path(addr: bytes) -> bytes:
    """A path name: sun_path up to its NUL (or the address's end: Linux ends it there)."""
    name = addr[SUN_PATH:]
    nul = name.find(0)
    return name if nul < 0 else name[:nul]


UNIX = register(UnixFamily())
__all__ = ["UNIX", "UnixSock", "proc_net_unix"]
