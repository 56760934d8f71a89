"""TCP on lo (Linux's net/ipv4/tcp.c, tcp_input.c, inet_connection_sock.c), without packets.

A connection is two byte queues: each end's receive queue (`Stream`) is filled by the other
end's sends, up to a window (the receiver's SO_RCVBUF when set, else what Linux's autotuning
would reach); a sender waits while the window is full. The handshake, FIN and RST are
method calls on the peer (`rcv_data`, `rcv_fin`, `rcv_rst`), made at once, as the loopback
device delivers them before the sending call returns. What a program sees follows Linux:

- connect: a listener on the address takes the connection at once into its accept queue
  (at most backlog+1 waiting, more wait in SYN_SENT until accept makes room, as Linux's
  dropped SYNs are retried); no listener is ECONNREFUSED (a non-blocking connect says
  EINPROGRESS first and reports it through SO_ERROR and POLLERR); a second connect says
  EALREADY while pending, 0 once, then EISCONN.
- close: FIN when everything was read (the peer reads EOF and may go on writing until it
  closes too; data sent to a closed socket is answered with RST), RST when unread data is
  left or SO_LINGER is on with a zero timeout: the peer's next receive gets ECONNRESET after
  the data it had, its next send ECONNRESET (EPIPE in CLOSE_WAIT) and EPIPE after that.
- urgent data (MSG_OOB): the last byte of an OOB send is the urgent byte, read with
  MSG_OOB (or in line with SO_OOBINLINE), SIOCATMARK at the mark, POLLPRI while pending.
- TIME_WAIT is not modelled: a closed connection frees its port at once.

`Endpoint` is what a sender sees of the other end: a TcpSock, or a bridge to a host
connection (--publish, hostnet.py).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET6,
    AF_UNSPEC,
    MAX_TCP_KEEPCNT,
    MAX_TCP_KEEPIDLE,
    MAX_TCP_KEEPINTVL,
    MAX_TCP_SYNCNT,
    MAX_TCP_WINDOW,
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRNORM,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SIGPIPE,
    SIOCATMARK,
    SIOCOUTQ,
    SO_KEEPALIVE,
    SO_OOBINLINE,
    SOCK_MIN_RCVBUF,
    SOCK_STREAM,
    SOL_TCP,
    SS_CONNECTED,
    SS_CONNECTING,
    SS_DISCONNECTING,
    SS_UNCONNECTED,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CONGESTION,
    TCP_CORK,
    TCP_DEFER_ACCEPT,
    TCP_ESTABLISHED,
    TCP_FASTOPEN,
    TCP_FASTOPEN_CONNECT,
    TCP_FASTOPEN_NO_COOKIE,
    TCP_FIN_TIMEOUT,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_INFO,
    TCP_INQ,
    TCP_KEEPCNT,
    TCP_KEEPCNT_DEFAULT,
    TCP_KEEPIDLE,
    TCP_KEEPIDLE_DEFAULT,
    TCP_KEEPINTVL,
    TCP_KEEPINTVL_DEFAULT,
    TCP_LAST_ACK,
    TCP_LINGER2,
    TCP_LISTEN,
    TCP_MAXSEG,
    TCP_MIN_MSS,
    TCP_MSS_DEFAULT,
    TCP_MSS_LO,
    TCP_NODELAY,
    TCP_NOTSENT_LOWAT,
    TCP_QUICKACK,
    TCP_RMEM_DEFAULT,
    TCP_SYN_SENT,
    TCP_SYNCNT,
    TCP_SYNCNT_DEFAULT,
    TCP_THIN_DUPACK,
    TCP_THIN_LINEAR_TIMEOUTS,
    TCP_TIMESTAMP,
    TCP_TX_DELAY,
    TCP_USER_TIMEOUT,
    TCP_WINDOW_CLAMP,
    TCP_WMEM_DEFAULT,
)
from twaron.arch.x86_64.errno import (
    EADDRINUSE,
    EAGAIN,
    EALREADY,
    ECONNABORTED,
    ECONNREFUSED,
    ECONNRESET,
    EINPROGRESS,
    EINVAL,
    EISCONN,
    ENOENT,
    ENOPROTOOPT,
    ENOTCONN,
    EPIPE,
)
from twaron.errors import KernelError
from twaron.net.inet import ANY4, ANY6, InetSock, PortTable, sa_family
from twaron.net.snmp import data_segments, tcp_segments, tcp_set_state
from twaron.net.socket import NetNamespace, RecvResult, SendMsg, Sink, sock_cmsg_send
from twaron.process.signal import send_thread_signal
from twaron.wait import (
    ALL_EVENTS,
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    EVENT_PRI,
    need_context,
)

_INT = struct.Struct("<i")
AUTOTUNED_WINDOW = 1 << 20  # what a receive window grows to when SO_RCVBUF is not set
URG_VALID = 1  # urgent byte state (tp->urg_data): pending ...
URG_READ = 2  # ... or taken with MSG_OOB
CONGESTION = b"cubic"
TCP_CA_NAME_MAX = 16
TCP_FIN_TIMEOUT_MAX = 120
TCP_RTO_MAX = 120
_CONNECTED_STATES = (TCP_ESTABLISHED, TCP_CLOSE_WAIT)


class Stream:
    """A receive queue: the bytes arrived and not yet read, as the chunks they came in."""

    __slots__ = ("chunks", "off", "size", "copied")

    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.off = 0  # bytes of chunks[0] already read
        self.size = 0
        self.copied = 0  # bytes read since the connection began (copied_seq)

    @property
    def rcv_nxt(self) -> int:
        return self.copied + self.size

    def push(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)

    def peek(self, skip: int, n: int) -> bytes:
        out = []
        pos = -self.off
        for c in self.chunks:
            end = pos + len(c)
            if end > skip:
                lo = max(skip - pos, 0)
                hi = min(len(c), skip + n - pos)
                out.append(c[lo:hi])
                if pos + hi >= skip + n:
                    break
            pos = end
        return b"".join(out)

    def take(self, n: int) -> bytes:
        out = []
        left = n
        chunks = self.chunks
        while left:
            c = chunks[0]
            avail = len(c) - self.off
            if avail <= left:
                out.append(c[self.off :] if self.off else c)
                chunks.popleft()
                self.off = 0
                left -= avail
            else:
                out.append(c[self.off : self.off + left])
                self.off += left
                left = 0
        self.size -= n
        self.copied += n
        return out[0] if len(out) == 1 else b"".join(out)

    def clear(self) -> None:
        self.copied += self.size
        self.chunks.clear()
        self.off = 0
        self.size = 0


class Endpoint:
    """The other end of a connection, as a sender sees it."""

    def rcv_room(self) -> int:
        raise NotImplementedError

    def rcv_data(self, data: bytes, urgent: bool) -> bool:
        """Queue data (its last byte urgent); False when the end is gone (the sender then
        takes a reset)."""
        raise NotImplementedError

    def rcv_fin(self) -> None:
        raise NotImplementedError

    def rcv_rst(self) -> None:
        raise NotImplementedError

    def peer_consumed(self) -> None:
        """The other end read some of what this end sent: room in its window."""


class TcpSock(InetSock, Endpoint):
    proto_name = "tcp"
    counted = True  # it counts in the namespace's TCP MIB (a --publish bridge's host end not)

    def __init__(self, net: NetNamespace, family: int, task: Any) -> None:
        super().__init__(net, family, SOCK_STREAM, 6, task)
        self.sndbuf = TCP_WMEM_DEFAULT
        self.rcvbuf = TCP_RMEM_DEFAULT
        self.rx = Stream()
        self.peer: Endpoint | None = None
        self.sock_state = SS_UNCONNECTED  # the socket's view (struct socket's state)
        self.fin_rcvd = False  # SOCK_DONE
        self.fin_sent = False
        self.accept_q: deque[TcpSock] = deque()
        self.syn_wait: deque[TcpSock] = deque()  # connectors waiting for room in accept_q
        self.syn_listener: TcpSock | None = None  # the listener this connector waits on
        self.backlog = 0
        self.urg = 0  # 0, URG_VALID, URG_READ
        self.urg_seq = 0
        self.urg_byte = 0
        self.tcp: dict[int, int] = {}  # SOL_TCP options kept and reported back
        self.user_mss = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.segs_out = 0
        self.segs_in = 0
        self.established_at = 0.0

    @property
    def ports(self) -> PortTable:
        return self.tables.tcp

    # --- the namespace's TCP MIB (/proc/net/snmp's Tcp: twaron/net/snmp.py) ---
    def set_state(self, state: int) -> None:
        """tcp_set_state: the new state, and what the MIB counts of the change."""
        if self.counted:
            tcp_set_state(self.tables.tcp_mib, self.state, state)
        self.state = state

    def count(self, field: str, segments: int = 0) -> None:
        """One more of the MIB's field (if any), and segments through lo."""
        if self.counted:
            mib = self.tables.tcp_mib
            if field:
                mib[field] += 1
            if segments:
                tcp_segments(mib, segments)

    def peer_named(self) -> bool:
        return self.state not in (TCP_CLOSE, TCP_SYN_SENT)

    # --- the receive window ---
    def window(self) -> int:
        return AUTOTUNED_WINDOW if self.rcvbuf == TCP_RMEM_DEFAULT else self.rcvbuf

    def rcv_room(self) -> int:
        if self.socket is None and self.state not in _CONNECTED_STATES:
            return 1 << 30  # an orphan takes anything (and resets the sender)
        return max(self.window() - self.rx.size, 0)

    def writable(self) -> bool:
        """sk_stream_is_writeable: a third of the window free."""
        peer = self.peer
        if peer is None:
            return True
        if isinstance(peer, TcpSock):
            return peer.rcv_room() * 3 >= peer.window()
        return peer.rcv_room() > 0

    # --- what the other end does to this one ---
    def rcv_data(self, data: bytes, urgent: bool) -> bool:
        if self.socket is None and self.state not in _CONNECTED_STATES:
            return False  # an orphan (closed file): the sender is reset
        if self.shutdown & RCV_SHUTDOWN and self.fin_rcvd:
            return False
        if self.state == TCP_FIN_WAIT1:
            self.set_state(TCP_FIN_WAIT2)  # the data carries the ACK of our FIN
        self.rx.push(data)
        self.bytes_received += len(data)
        self.segs_in += 1
        if urgent and data:
            if self.urg and self.urg_seq == self.rx.copied and not self.opts.get(SO_OOBINLINE):
                self.rx.take(1)  # tcp_check_urg: the old urgent byte at the mark is dropped
            self.urg = URG_VALID
            self.urg_seq = self.rx.rcv_nxt - 1
            self.urg_byte = data[-1]
            self.notify(EVENT_PRI | EVENT_IN)
        else:
            self.notify(EVENT_IN)
        return True

    def rcv_fin(self) -> None:
        """tcp_fin: EOF for the reader; ESTABLISHED -> CLOSE_WAIT, FIN_WAIT -> (TIME_WAIT,
        not modelled) CLOSE."""
        self.fin_rcvd = True
        self.shutdown |= RCV_SHUTDOWN
        if self.state == TCP_ESTABLISHED:
            self.set_state(TCP_CLOSE_WAIT)
        elif self.state in (TCP_FIN_WAIT1, TCP_FIN_WAIT2):
            self.done()
        self.notify(ALL_EVENTS)

    def rcv_rst(self) -> None:
        """tcp_reset: the error by state, then tcp_done."""
        self.count("OutRsts", 1)  # lo: whoever sent it is in this namespace
        if self.state == TCP_SYN_SENT:
            self.err = ECONNREFUSED
        elif self.state == TCP_CLOSE_WAIT:
            self.err = EPIPE
        elif self.state == TCP_CLOSE:
            return
        else:
            self.err = ECONNRESET
        self.done()
        self.notify(ALL_EVENTS)

    def peer_consumed(self) -> None:
        self.notify(EVENT_OUT)

    def done(self) -> None:
        """tcp_done: CLOSE, both directions shut, the peer forgotten; an autobound port is
        given back, an orphan leaves the tables."""
        if self.state == TCP_SYN_SENT:
            self.count("AttemptFails")
        self.set_state(TCP_CLOSE)
        self.shutdown = SHUTDOWN_MASK
        self.peer = None
        if self.socket is None:
            self.forget()
        elif not self.user_bound:
            self.unbind()

    def abort(self) -> None:
        """Send RST (tcp_send_active_reset) and close."""
        peer, self.peer = self.peer, None
        self.done()
        if peer is not None:
            peer.rcv_rst()

    def send_fin(self) -> None:
        """tcp_close_state + tcp_send_fin; the peer acknowledges at once."""
        if self.fin_sent:
            return
        self.fin_sent = True
        if self.state == TCP_ESTABLISHED:
            self.set_state(TCP_FIN_WAIT1)  # the peer's ACK of the FIN is delayed
        elif self.state == TCP_CLOSE_WAIT:
            self.set_state(TCP_LAST_ACK)
        peer = self.peer
        if peer is not None:
            self.count("", 2)  # the FIN and its ACK
            peer.rcv_fin()
        if self.state == TCP_LAST_ACK:
            self.done()

    # --- listen, connect, accept ---
    def listen(self, task: Any, backlog: int) -> None:
        if self.sock_state != SS_UNCONNECTED or self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise KernelError(EINVAL)
        if self.state != TCP_LISTEN:
            table = self.ports
            if not self.bound_port:
                self.bind_port(self.local[0], 0)
            elif table.conflict(self, self.local[0], self.bound_port, listening=True):
                raise KernelError(EADDRINUSE)  # inet_csk_listen_start's second get_port
            self.set_state(TCP_LISTEN)
            self.user_bound = True
        self.backlog = backlog
        self.admit()
        self.notify(ALL_EVENTS)

    def acceptq_full(self) -> bool:
        return len(self.accept_q) > self.backlog

    def admit(self) -> None:
        """Connectors waiting for room get it (their SYN retried)."""
        while self.syn_wait and not self.acceptq_full() and self.state == TCP_LISTEN:
            client = self.syn_wait.popleft()
            client.syn_listener = None
            if client.state == TCP_SYN_SENT and not client.dead:
                self.establish(client)

    def establish(self, client: TcpSock) -> None:
        """The handshake: a child of the listener joined to client, queued for accept."""
        child = TcpSock(self.net, self.family, None)
        child.owner_uid = self.owner_uid
        child.opts = dict(self.opts)
        child.tcp = dict(self.tcp)
        child.ip = dict(self.ip)
        child.ip6 = dict(self.ip6)
        child.sndbuf, child.rcvbuf = self.sndbuf, self.rcvbuf
        child.linger, child.lingertime = self.linger, self.lingertime
        child.user_mss = self.user_mss
        child.tos, child.ttl, child.tclass, child.hops = self.tos, self.ttl, self.tclass, self.hops
        child.v6only = self.v6only
        assert client.remote is not None
        child.local = client.remote
        child.remote = client.local
        child.bound_port = client.remote[1]
        child.user_bound = True
        self.ports.add(child, child.bound_port)
        self.count("PassiveOpens", 2)  # the SYN-ACK and the ACK (the SYN was counted)
        child.set_state(TCP_ESTABLISHED)
        child.sock_state = SS_CONNECTED
        child.peer = client
        client.peer = child
        client.set_state(TCP_ESTABLISHED)
        now = self.net.monotonic()
        child.established_at = client.established_at = now
        child.segs_in = client.segs_in = 1
        child.segs_out = client.segs_out = 1
        self.accept_q.append(child)
        self.notify(EVENT_IN)
        client.notify(ALL_EVENTS)

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        """__inet_stream_connect."""
        if len(addr) < 2:
            raise KernelError(EINVAL)
        if sa_family(addr) == AF_UNSPEC:
            self.disconnect()
            self.sock_state = SS_UNCONNECTED
            return
        if self.sock_state == SS_CONNECTED:
            raise KernelError(EISCONN)
        err = EALREADY
        if self.sock_state != SS_CONNECTING:
            if self.state != TCP_CLOSE:
                raise KernelError(EISCONN)
            self.start_connect(addr)
            self.sock_state = SS_CONNECTING
            err = EINPROGRESS
        deadline = self.snd_deadline(nonblock)
        if err == EINPROGRESS and deadline == 0.0:
            # Linux holds the socket's lock through connect: the SYN-ACK (or RST) that lo
            # answers with is processed after the call returns, however fast it is.
            raise KernelError(EINPROGRESS)
        if self.state == TCP_SYN_SENT:
            if deadline == 0.0:
                raise KernelError(err)
            ok = self.sleep(((self.wait, ALL_EVENTS),), lambda: self.state != TCP_SYN_SENT,
                            deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EINPROGRESS)
        if self.state == TCP_CLOSE:
            e = self.sock_error() or ECONNABORTED
            self.sock_state = SS_UNCONNECTED
            self.clear()  # tcp_disconnect: ready for another connect
            raise KernelError(e)
        self.sock_state = SS_CONNECTED

    def start_connect(self, addr: bytes) -> None:
        """tcp_v4_connect / tcp_v6_connect: route, source address, port, then the SYN."""
        ip, port, _scope = self.parse_addr(addr, False)
        if self.family == AF_INET6:
            self.check_dest_family(ip)
        dst = self.route(ip)
        if not port:
            # Linux sends a SYN to port 0, and nobody answers it: refused
            pass
        src = self.source_for(dst)
        if not self.bound_port:
            self.local = (src, 0)
            self.bind_port(src, 0, parity=0)
        else:
            self.local = (src, self.local[1])
        self.remote = (dst, port)
        self.set_state(TCP_SYN_SENT)
        self.err = 0
        self.count("ActiveOpens", 1)  # tcp_connect: the SYN goes out
        self.send_syn()

    def send_syn(self) -> None:
        assert self.remote is not None
        dst, port = self.remote
        found = self.ports.lookup(dst, port, lambda s: s.state == TCP_LISTEN) if port else []
        if not found:
            self.rcv_rst()
            return
        listener = found[0]
        assert isinstance(listener, TcpSock)
        if listener.acceptq_full():
            listener.syn_wait.append(self)
            self.syn_listener = listener
            return
        listener.establish(self)

    def accept(self, task: Any, nonblock: bool) -> TcpSock:
        if self.state != TCP_LISTEN:
            raise KernelError(EINVAL)
        deadline = self.rcv_deadline(nonblock)
        while not self.accept_q:
            self.would_block(deadline)
            ok = self.sleep(((self.wait, ALL_EVENTS),),
                            lambda: self.accept_q or self.state != TCP_LISTEN, deadline)
            if ok is None:
                raise KernelError(EAGAIN)
            if self.state != TCP_LISTEN:
                raise KernelError(EINVAL)
        child = self.accept_q.popleft()
        self.admit()
        return child

    def disconnect(self) -> None:
        """tcp_disconnect (connect with AF_UNSPEC, shutdown of a listener)."""
        old = self.state
        if old == TCP_LISTEN:
            self.stop_listening()
        elif old == TCP_SYN_SENT:
            self.cancel_syn()
            self.err = ECONNRESET
        elif old not in (TCP_CLOSE,):
            peer, self.peer = self.peer, None
            if peer is not None and old in (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_FIN_WAIT1,
                                             TCP_FIN_WAIT2):  # fmt: skip
                peer.rcv_rst()
                self.err = ECONNRESET
        self.clear()
        self.notify(ALL_EVENTS)

    def clear(self) -> None:
        """A closed socket made ready for another connect or listen."""
        self.set_state(TCP_CLOSE)
        self.rx.clear()
        self.urg = 0
        self.fin_rcvd = self.fin_sent = False
        self.peer = None
        self.remote = None
        self.shutdown = 0
        if not self.user_bound:
            self.unbind()
            self.local = (self.bind_ip or (ANY6 if self.family == AF_INET6 else ANY4), 0)

    def cancel_syn(self) -> None:
        listener, self.syn_listener = self.syn_listener, None
        if listener is not None and self in listener.syn_wait:
            listener.syn_wait.remove(self)

    def stop_listening(self) -> None:
        """inet_csk_listen_stop: queued connections are reset, waiting connectors refused."""
        self.set_state(TCP_CLOSE)
        while self.accept_q:
            child = self.accept_q.popleft()
            child.socket = None
            child.abort()
            child.forget()
        while self.syn_wait:
            client = self.syn_wait.popleft()
            client.syn_listener = None
            client.rcv_rst()
        self.notify(ALL_EVENTS)

    # --- close and shutdown ---
    def release(self) -> None:
        """tcp_close: RST when unread data is left or SO_LINGER says so, else FIN."""
        state = self.state
        if state == TCP_LISTEN:
            self.stop_listening()
        elif state == TCP_SYN_SENT:
            self.cancel_syn()
        elif state != TCP_CLOSE:
            if self.rx.size or (self.linger is not None and self.lingertime == 0):
                self.rx.clear()
                self.abort()
            else:
                self.send_fin()
        if self.state in (TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT):
            self.forget()
        self.notify(ALL_EVENTS)

    def do_shutdown(self, task: Any, how: int) -> None:
        """inet_shutdown."""
        if how < 0 or how > 2:
            raise KernelError(EINVAL)
        mode = how + 1
        if self.sock_state == SS_CONNECTING:
            self.sock_state = SS_DISCONNECTING if self.state in (TCP_SYN_SENT, TCP_CLOSE) \
                else SS_CONNECTED  # fmt: skip
        state = self.state
        err = 0
        if state == TCP_LISTEN:
            if mode & RCV_SHUTDOWN:
                self.disconnect()
                self.sock_state = SS_UNCONNECTED
        elif state == TCP_SYN_SENT:
            self.disconnect()
            self.sock_state = SS_UNCONNECTED
        else:
            if state == TCP_CLOSE:
                err = ENOTCONN
            self.shutdown |= mode
            if mode & SEND_SHUTDOWN and state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT):
                self.send_fin()
        self.notify(ALL_EVENTS)
        if err:
            raise KernelError(err)

    # --- sending ---
    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        """tcp_sendmsg_locked: waits for the connection, then for window room; a send cut
        short by a signal or the timeout returns what went out."""
        flags = msg.flags
        data = msg.data
        total = len(data)
        nonblock = bool(flags & MSG_DONTWAIT)
        deadline = self.snd_deadline(nonblock)
        if self.state not in _CONNECTED_STATES:
            if self.state == TCP_SYN_SENT:
                self.would_block(deadline)
                self.sleep(((self.wait, ALL_EVENTS),), lambda: self.state != TCP_SYN_SENT,
                           deadline)  # fmt: skip
            if self.state not in _CONNECTED_STATES:
                return self.send_error(task, flags, 0)
        if msg.cmsgs:
            try:
                sock_cmsg_send(task, msg.cmsgs)
            except KernelError:
                raise KernelError(EINVAL) from None  # whatever the message's error
        if not nonblock and self.peer is not None and total > self.peer.rcv_room():
            need_context()  # it may sleep after a part went out
        sent = 0
        oob = bool(flags & MSG_OOB)
        while sent < total or (total == 0 and sent == 0):
            if self.err or self.shutdown & SEND_SHUTDOWN:
                return self.send_error(task, flags, sent)
            peer = self.peer
            if peer is None:
                return self.send_error(task, flags, sent)
            if total == 0:
                return 0
            room = peer.rcv_room()
            if room <= 0:
                if deadline == 0.0:
                    if sent:
                        return sent
                    raise KernelError(EAGAIN)
                try:
                    ok = self.sleep(((self.wait, ALL_EVENTS),), self.send_ready, deadline)
                except KernelError:
                    if sent:
                        return sent
                    raise
                if ok is None:
                    if sent:
                        return sent
                    raise KernelError(EAGAIN)
                continue
            chunk = data[sent : sent + room] if sent or room < total else data
            last = sent + len(chunk) == total
            if not peer.rcv_data(chunk, oob and last):
                self.rcv_rst()  # the other end was gone: it answered with RST
                return sent + len(chunk)
            self.net_count(len(chunk))
            self.count("", data_segments(len(chunk)))
            self.bytes_sent += len(chunk)
            self.segs_out += 1
            sent += len(chunk)
        return sent

    def send_ready(self) -> bool:
        return bool(self.err or self.shutdown & SEND_SHUTDOWN or self.peer is None
                    or self.writable())  # fmt: skip

    def send_error(self, task: Any, flags: int, sent: int) -> int:
        """do_error: what was sent, else sk_stream_error (the pending error, else EPIPE and
        SIGPIPE unless MSG_NOSIGNAL)."""
        if sent:
            return sent
        err = self.sock_error() or EPIPE
        if err == EPIPE and not flags & MSG_NOSIGNAL:
            send_thread_signal(task.kernel, task, SIGPIPE)
        raise KernelError(err)

    def net_count(self, n: int) -> None:
        self.tables.lo_count(n)

    # --- receiving ---
    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        """tcp_recvmsg_locked."""
        if self.state == TCP_LISTEN:
            raise KernelError(ENOTCONN)
        if flags & MSG_OOB:
            return self.recv_urg(sink, flags)
        if flags & MSG_ERRQUEUE:
            raise KernelError(EAGAIN)
        size = sink.size
        peek = bool(flags & MSG_PEEK)
        target = size if flags & MSG_WAITALL else min(self.rcvlowat, size)
        target = max(target, 1)
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        if target > 1 and deadline != 0.0 and self.rx.size < target:
            need_context()  # it may sleep after taking a part
        copied = 0
        at = 0  # where a peek reads from (the queue's head for a read)
        while copied < size:
            n, skip = self.readable_run(at, size - copied)
            if skip:  # the urgent byte, read out of band (or lost): not in the stream
                if peek:
                    at += skip
                else:
                    self.rx.take(skip)
                    self.urg_passed()
                continue
            if n:
                if peek:
                    data = self.rx.peek(at, n)
                    at += n
                else:
                    data = self.rx.take(n)
                    self.urg_passed()
                if not flags & MSG_TRUNC:
                    try:
                        sink.put(data)
                    except KernelError:
                        if not copied:
                            raise
                        break
                else:
                    sink.done += len(data)
                copied += n
                if not peek and self.peer is not None:
                    self.peer.peer_consumed()
                if self.urg and self.urg_seq == self.rx.copied + at:
                    break  # a read stops at the urgent mark
                continue
            if copied >= target:
                break
            if copied:
                if self.err or self.state == TCP_CLOSE or self.shutdown & RCV_SHUTDOWN or \
                        deadline == 0.0:  # fmt: skip
                    break
            else:
                if self.fin_rcvd:
                    break
                if self.err:
                    raise KernelError(self.sock_error())
                if self.shutdown & RCV_SHUTDOWN:
                    break
                if self.state == TCP_CLOSE:
                    raise KernelError(ENOTCONN)
                if deadline == 0.0:
                    raise KernelError(EAGAIN)
            have = self.rx.size
            try:
                ok = self.sleep(((self.wait, EVENT_IN | EVENT_HUP | EVENT_ERR),),
                                lambda h=have: self.rx.size != h or self.err or  # type: ignore[misc]
                                self.shutdown & RCV_SHUTDOWN, deadline)  # fmt: skip
            except KernelError:
                if copied:
                    break
                raise
            if ok is None:
                if copied:
                    break
                raise KernelError(EAGAIN)
        return RecvResult(copied, self.peer_addr() if want_addr else None)

    def peer_addr(self) -> bytes | None:
        return None  # a TCP receive reports no address (msg_namelen 0)

    def readable_run(self, at: int, limit: int) -> tuple[int, int]:
        """(bytes readable from offset `at` up to the urgent mark, bytes to skip first: the
        out-of-band byte when the read starts on it)."""
        avail = self.rx.size - at
        if avail <= 0:
            return 0, 0
        pos = self.rx.copied + at
        if self.urg:
            off = self.urg_seq - pos
            if off == 0 and not self.opts.get(SO_OOBINLINE):
                return 0, 1
            if 0 < off < avail:
                avail = off
        return min(avail, limit), 0

    def urg_passed(self) -> None:
        if self.urg and self.rx.copied > self.urg_seq:
            self.urg = 0

    def recv_urg(self, sink: Sink, flags: int) -> RecvResult:
        """tcp_recv_urg: the urgent byte, once."""
        if self.opts.get(SO_OOBINLINE) or not self.urg or self.urg == URG_READ:
            raise KernelError(EINVAL)
        if self.state == TCP_CLOSE and not self.fin_rcvd:
            raise KernelError(ENOTCONN)
        if not flags & MSG_PEEK:
            self.urg = URG_READ
        if sink.size > 0:
            if not flags & MSG_TRUNC:
                sink.put(bytes((self.urg_byte,)))
            return RecvResult(1, None, MSG_OOB)
        return RecvResult(0, None, MSG_OOB | MSG_TRUNC)

    # --- readiness and ioctls ---
    def poll(self) -> int:
        """tcp_poll."""
        state = self.state
        if state == TCP_LISTEN:
            return POLLIN | POLLRDNORM if self.accept_q else 0
        mask = 0
        if self.shutdown == SHUTDOWN_MASK or state == TCP_CLOSE:
            mask |= POLLHUP
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLIN | POLLRDNORM | POLLRDHUP
        if state != TCP_SYN_SENT:
            readable = self.rx.size
            if self.urg == URG_VALID and not self.opts.get(SO_OOBINLINE) and \
                    self.urg_seq >= self.rx.copied:  # fmt: skip
                readable -= 1
            if readable >= max(self.rcvlowat, 1) or (readable > 0 and self.fin_rcvd):
                mask |= POLLIN | POLLRDNORM
            if not self.shutdown & SEND_SHUTDOWN:
                if self.writable():
                    mask |= POLLOUT | POLLWRNORM
            else:
                mask |= POLLOUT | POLLWRNORM
            if self.urg == URG_VALID:
                mask |= POLLPRI
        if self.err:
            mask |= POLLERR
        return mask

    def inq_len(self) -> int:
        if self.state == TCP_LISTEN:
            raise KernelError(EINVAL)
        return self.rx.size

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd == SIOCATMARK:
            val = int(bool(self.urg) and self.urg_seq == self.rx.copied)
        elif cmd == SIOCOUTQ:
            if self.state == TCP_LISTEN:
                raise KernelError(EINVAL)
            val = 0
        else:
            return super().ioctl(task, cmd, arg)
        task.mm.copy_out(arg, _INT.pack(val))
        return 0

    # --- SOL_TCP (do_tcp_setsockopt / do_tcp_getsockopt) ---
    def set_proto(self, task: Any, level: int, name: int, value: bytes) -> None:
        if level != SOL_TCP:
            raise KernelError(ENOPROTOOPT)
        if name == TCP_CONGESTION:
            if not value:
                raise KernelError(EINVAL)
            algo = value[: TCP_CA_NAME_MAX - 1].split(b"\0", 1)[0]
            if algo not in (b"cubic", b"reno"):
                raise KernelError(ENOENT)
            self.tcp[TCP_CONGESTION] = 1 if algo == b"reno" else 0
            return
        if name not in _TCP_INT_OPTS:
            raise KernelError(ENOPROTOOPT)
        if len(value) < 4:
            raise KernelError(EINVAL)
        val = _INT.unpack_from(value)[0]
        check = _TCP_RANGES.get(name)
        if check is not None and not check(val):
            raise KernelError(EINVAL)
        if name == TCP_MAXSEG:
            self.user_mss = val
        elif name == TCP_LINGER2:
            self.tcp[name] = -1 if val < 0 else min(val, TCP_FIN_TIMEOUT_MAX)
        elif name == TCP_DEFER_ACCEPT:
            self.tcp[name] = _retrans_to_secs(_secs_to_retrans(val)) if val > 0 else 0
        elif name == TCP_WINDOW_CLAMP:
            if not val:
                if self.state != TCP_CLOSE:
                    raise KernelError(EINVAL)
                self.tcp[name] = 0
            else:
                self.tcp[name] = max(val, SOCK_MIN_RCVBUF // 2)
        elif name in (TCP_NODELAY, TCP_CORK, TCP_QUICKACK, TCP_THIN_LINEAR_TIMEOUTS,
                      TCP_THIN_DUPACK, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_NO_COOKIE,
                      TCP_INQ):  # fmt: skip
            self.tcp[name] = 1 if val else 0
        elif name == TCP_TIMESTAMP:
            self.tcp[name] = val
        else:
            self.tcp[name] = val

    def get_proto(self, task: Any, level: int, name: int, size: int) -> bytes:
        if level != SOL_TCP:
            raise self.no_level()
        if name == TCP_INFO:
            return self.tcp_info()
        if name == TCP_CONGESTION:
            algo = b"reno" if self.tcp.get(TCP_CONGESTION) else CONGESTION
            return algo.ljust(TCP_CA_NAME_MAX, b"\0")[:size]
        if name == TCP_MAXSEG:
            if self.state in (TCP_CLOSE, TCP_LISTEN):
                return _INT.pack(self.user_mss or TCP_MSS_DEFAULT)
            return _INT.pack(min(self.user_mss, TCP_MSS_LO) if self.user_mss else TCP_MSS_LO)
        if name == TCP_LINGER2:
            val = self.tcp.get(name, 0)
            return _INT.pack(val if val < 0 else (val or TCP_FIN_TIMEOUT))
        if name == TCP_TIMESTAMP:
            return _INT.pack(int(self.net.monotonic() * 1000) & 0xFFFF_FFFF
                             + self.tcp.get(name, 0))  # fmt: skip
        if name in _TCP_INT_OPTS:
            return _INT.pack(self.tcp.get(name, _TCP_DEFAULTS.get(name, 0)))
        raise KernelError(ENOPROTOOPT)

    def tcp_info(self) -> bytes:
        """struct tcp_info (the fields Linux 6.x fills, up to tcpi_total_rto_time), with the
        figures of an idle loopback connection: rtt tens of microseconds, rto 200 ms."""
        connected = self.state not in (TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT)
        mss = (min(self.user_mss, TCP_MSS_LO) if self.user_mss else TCP_MSS_LO) \
            if connected else (self.user_mss or TCP_MSS_DEFAULT)  # fmt: skip
        rtt = 30 if connected else 0
        now_ms = int((self.net.monotonic() - self.established_at) * 1000) if connected else 0
        head = struct.pack("<8B", self.state, 0, 0, 0, 0, 7 if connected else 0,
                           0x77 if connected else 0, 0)  # fmt: skip
        u32 = [
            203333 if connected else 1000000,  # rto (us)
            40000 if connected else 0,  # ato
            mss, TCP_MSS_DEFAULT,  # snd_mss, rcv_mss
            0, 0, 0, 0, 0,  # unacked, sacked, lost, retrans, fackets
            now_ms, 0, now_ms, now_ms,  # last_data_sent, last_ack_sent, last_data/ack_recv
            65535 if connected else 0,  # pmtu
            65483 if connected else 0,  # rcv_ssthresh
            rtt, rtt // 2 if rtt else 250000,  # rtt, rttvar (us)
            0x7FFF_FFFF,  # snd_ssthresh (TCP_INFINITE_SSTHRESH)
            10,  # snd_cwnd
            65483 if connected else 0,  # advmss
            3,  # reordering
            0, 65483 if connected else 0,  # rcv_rtt, rcv_space
            0,  # total_retrans
        ]
        body = struct.pack(f"<{len(u32)}I", *u32)
        body += struct.pack("<QQQQ", 0, 0xFFFF_FFFF_FFFF_FFFF, self.bytes_sent,
                            self.bytes_received)  # fmt: skip
        body += struct.pack("<IIIIII", self.segs_out, self.segs_in, 0, rtt, self.segs_in,
                            self.segs_out)  # fmt: skip
        body += struct.pack("<QQQQ", 0, 0, 0, 0)  # delivery_rate, busy, rwnd/sndbuf limited
        body += struct.pack("<II", self.segs_out, 0)  # delivered, delivered_ce
        body += struct.pack("<QQIIIIII", self.bytes_sent, 0, 0, 0, 0,
                            self.window() if connected else 0,
                            self.window() if connected else 0, 0)  # fmt: skip
        body += struct.pack("<HHI", 0, 0, 0)
        return head + body


def _secs_to_retrans(seconds: int, timeout: int = 1, rto_max: int = TCP_RTO_MAX) -> int:
    res = 0
    if seconds > 0:
        period = timeout
        res = 1
        while seconds > period and res < 255:
            res += 1
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return res


def _retrans_to_secs(retrans: int, timeout: int = 1, rto_max: int = TCP_RTO_MAX) -> int:
    period = 0
    if retrans > 0:
        period = timeout
        while retrans > 1:
            retrans -= 1
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return period


_TCP_INT_OPTS = frozenset((
    TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT,
    TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_QUICKACK, TCP_USER_TIMEOUT,
    TCP_NOTSENT_LOWAT, TCP_FASTOPEN, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_NO_COOKIE,
    TCP_THIN_LINEAR_TIMEOUTS, TCP_THIN_DUPACK, TCP_TIMESTAMP, TCP_INQ, TCP_TX_DELAY,
))  # fmt: skip
_TCP_DEFAULTS = {
    TCP_KEEPIDLE: TCP_KEEPIDLE_DEFAULT, TCP_KEEPINTVL: TCP_KEEPINTVL_DEFAULT,
    TCP_KEEPCNT: TCP_KEEPCNT_DEFAULT, TCP_SYNCNT: TCP_SYNCNT_DEFAULT, TCP_QUICKACK: 1,
}  # fmt: skip
_TCP_RANGES = {
    TCP_MAXSEG: lambda v: v == 0 or TCP_MIN_MSS <= v <= MAX_TCP_WINDOW,
    TCP_KEEPIDLE: lambda v: 1 <= v <= MAX_TCP_KEEPIDLE,
    TCP_KEEPINTVL: lambda v: 1 <= v <= MAX_TCP_KEEPINTVL,
    TCP_KEEPCNT: lambda v: 1 <= v <= MAX_TCP_KEEPCNT,
    TCP_SYNCNT: lambda v: 1 <= v <= MAX_TCP_SYNCNT,
    TCP_USER_TIMEOUT: lambda v: v >= 0,
    TCP_FASTOPEN: lambda v: v >= 0,
    TCP_TX_DELAY: lambda v: v >= 0,
}  # fmt: skip
assert SO_KEEPALIVE and EVENT_OUT and AF_INET6
