"""Host sockets in a deterministic kernel: `--net host` and `--publish` with `--deterministic`,
`--record FILE` and `twaron replay FILE`.

What a host socket brings in is input from outside, as stdin is: it enters the kernel only at
input points (process/determinism.py), as events that a record keeps with the point's number.

- The guest's side of each host socket keeps in the kernel everything the guest can observe
  of it: the bytes received, end of file, a reset, a connect's outcome, the connections
  waiting for accept (`DetHostSock` for --net host, `DetBridge` for a published connection,
  `DetTcpPort` and `DetUdpPort` for the published ports). The guest reads and polls that
  state only, and it changes only when `DetNet.deliver` applies an event at an input point.
- Live (a deterministic run, recorded or not): at each input point `DetNet.watches` says which
  host fds are worth a look and `DetNet.take` turns what they have into events: `data`, `eof`,
  `error` (with its errno), `connected` (with the connect's errno), `accept` (with the peer's
  and the connection's own address), and for published ports `pub_accept` and `pub_dgram`.
- A call that asks the host something at once (socket, bind, listen, an option, a name, the
  immediate answer of connect, a datagram's send) is a *host call*: made live, its result is
  kept in the record in call order (`{"host": N, "op": ..., "sock": ID, ...}`), and a replay
  takes it from there.
- What the guest sends goes to the host as the host socket takes it (the guest never waits
  for the host: a send is done once queued) and into the event hash, so a replay in which
  the guest sends other bytes diverges at the next check.
- Replay: no host socket is opened at all; events and host calls come from the record.

Sockets are named by a number given in the order the kernel makes them (deterministic).
The guarantee for a live network run is that its record replays: two live runs differ
where the host's network did.
"""

from __future__ import annotations

import base64
import ctypes
import errno as host_errno
import json
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    MSG_DONTWAIT,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRNORM,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SIGPIPE,
    SIOCATMARK,
    SIOCOUTQ,
    SO_ERROR,
    SOCK_STREAM,
    TCP_LISTEN,
)
from twaron.arch.x86_64.errno import (
    EAGAIN,
    EALREADY,
    EINPROGRESS,
    EINVAL,
    EIO,
    EISCONN,
    ENOTCONN,
    EPIPE,
)
from twaron.config import Publish
from twaron.errors import KernelError
from twaron.net.hostnet import EINPROGRESS_HOST, HostSock, _oserror, libc
from twaron.net.inet import LOOP4
from twaron.net.publish import WINDOW, Bridge, UdpBridge, host_listener
from twaron.net.socket import NetNamespace, RecvResult, SendMsg, Sink, Sock
from twaron.net.tcp import TcpSock
from twaron.process.determinism import diverge
from twaron.process.record import InputEvent
from twaron.process.signal import send_thread_signal
from twaron.wait import ALL_EVENTS, need_context

RX_LIMIT = 1 << 20  # bytes of a connection the kernel holds before it stops reading the host
CHUNK = 256 << 10  # bytes read from one host socket at one input point
DGRAM_LIMIT = 256  # datagrams queued on one socket
ACCEPT_LIMIT = 64  # connections accepted from one host listener at one input point

NEW, CONNECTING, CONNECTED, LISTENING = range(4)


def net_event(op: str, sock: int, data: bytes = b"", err: int = 0, addr: bytes = b"",
              host: Any = None) -> InputEvent:  # fmt: skip
    return InputEvent("net", data, op=op, sock=sock, err=err, addr=addr, host=host)


class DetNet:
    """A deterministic kernel's host sockets: their ids, the live host ends, the host calls."""

    def __init__(self, net: NetNamespace, replay: bool) -> None:
        self.net = net
        self.kernel = net.kernel
        self.replay = replay
        self.writer: Any = None  # the RecordWriter of --record
        self.calls: deque[dict[str, Any]] = deque()  # replay: the recorded host calls
        self.call_no = 0
        self.last_id = 0
        self.socks: dict[int, Any] = {}  # id -> the guest side an event may be for
        self.ports: list[Any] = []  # the published ports, in --publish order
        self.live: dict[Any, None] = {}  # the objects with a live host end (ordered)

    # ---- ids -------------------------------------------------------------------------------

    def new_id(self, obj: Any) -> int:
        self.last_id += 1
        self.socks[self.last_id] = obj
        return self.last_id

    def drop(self, sid: int) -> None:
        self.socks.pop(sid, None)

    # ---- host calls --------------------------------------------------------------------------

    def host_call(self, op: str, sid: int, fn: Callable[[], Any]) -> Any:
        """fn()'s result (None, an int or bytes; KernelError for an error): made on the host
        and recorded, or on replay the record's."""
        no = self.call_no
        self.call_no += 1
        if self.replay:
            return self._replayed(no, op, sid)
        try:
            value, err = fn(), 0
        except KernelError as e:
            value, err = None, e.errno
        if self.writer is not None:
            line: dict[str, Any] = {"host": no, "op": op, "sock": sid}
            if err:
                line["err"] = err
            elif isinstance(value, bytes):
                line["data"] = base64.b64encode(value).decode()
            elif isinstance(value, int):
                line["ret"] = value
            self.writer.line(line)
        if err:
            raise KernelError(err)
        return value

    def _replayed(self, no: int, op: str, sid: int) -> Any:
        if not self.calls:
            self._diverge(f"the replay makes host call {no} ({op} on socket {sid}) and the "
                          "record holds no more")  # fmt: skip
        call = self.calls.popleft()
        if (call["host"], call["op"], call["sock"]) != (no, op, sid):
            self._diverge(f"host call {no}: the replay asks {op} of socket {sid}, the record "
                          f"holds {call['op']} of socket {call['sock']}")  # fmt: skip
        if call.get("err"):
            raise KernelError(call["err"])
        if "data" in call:
            return call["data"]
        return call.get("ret")

    def _diverge(self, message: str) -> None:
        diverge(self.kernel, message)
        raise KernelError(EIO)

    def unused_calls(self) -> str | None:
        """After a replay: the record's host calls it never made, if any."""
        if self.calls:
            call = self.calls[0]
            return (f"the record holds host call {call['host']} ({call['op']} on socket "
                    f"{call['sock']}) that the replay never made")  # fmt: skip
        return None

    # ---- what the guest sends --------------------------------------------------------------

    def sent(self, obj: Any, data: bytes) -> None:
        """The guest sent data on obj: into the event hash, and (live) to the host."""
        stream = self.kernel.events
        if stream is not None:
            stream.net_output(obj.sid, data)
        if obj.live_hs is not None:
            obj.out += data
            obj.live_flush()

    # ---- live: the input points' look at the host ----------------------------------------

    def attach(self, obj: Any, hs: socket.socket) -> None:
        """obj's host end is hs (live runs only)."""
        hs.setblocking(False)
        obj.live_hs = hs
        self.live[obj] = None
        self.net.closers[obj] = obj.live_close

    def detach(self, obj: Any) -> None:
        self.live.pop(obj, None)
        self.net.closers.pop(obj, None)

    def watches(self) -> list[tuple[int, int, Any]]:
        """(fd, events, obj) of each host end worth a look now; pending output goes first."""
        out = []
        for obj in list(self.live):
            obj.live_flush()
            hs = obj.live_hs
            if hs is None:
                continue
            events = obj.live_interest()
            if events:
                out.append((hs.fileno(), events, obj))
        return out

    def awaited(self) -> bool:
        """Whether a guest task waits (or polls) for a host socket's input now."""
        for obj in self.live:
            queue = obj.guest_queue()
            if queue is not None and queue.entries:
                return True
        return False

    def pending(self) -> bool:
        """An event to take without waiting (an error met while sending)."""
        return any(getattr(obj, "flush_err", 0) for obj in self.live)

    def take(self, watches: list[tuple[int, int, Any]], ready: dict[int, int]) -> list[InputEvent]:
        events: list[InputEvent] = []
        for fd, _, obj in watches:
            revents = ready.get(fd, 0)
            if revents or getattr(obj, "flush_err", 0):
                events += obj.live_take(revents)
        return events

    # ---- both: an event's effect -------------------------------------------------------------

    def deliver(self, event: InputEvent) -> None:
        if event.op.startswith("pub_"):
            target = self.ports[event.sock] if 0 <= event.sock < len(self.ports) else None
        else:
            target = self.socks.get(event.sock)
        if target is None:
            diverge(self.kernel, f"the record's {event.op} input is for socket {event.sock}, "
                    "which the replay does not have")  # fmt: skip
            return
        try:
            target.take_event(event)
        except (ValueError, KeyError, TypeError) as e:
            diverge(self.kernel, f"the record's {event.op} input does not fit socket "
                    f"{event.sock} here ({e})")  # fmt: skip


def _raw_name(fd: int, peer: bool) -> bytes:
    buf = ctypes.create_string_buffer(128)
    length = ctypes.c_uint32(128)
    fn = libc().getpeername if peer else libc().getsockname
    if fn(fd, buf, ctypes.byref(length)) < 0:
        return b""
    return buf.raw[: length.value]


def _recvfrom(fd: int, size: int) -> tuple[bytes, bytes]:
    """One datagram and its source (raw sockaddr); OSError as the host's."""
    buf = ctypes.create_string_buffer(size)
    abuf = ctypes.create_string_buffer(128)
    alen = ctypes.c_uint32(128)
    ret = libc().recvfrom(fd, buf, size, MSG_DONTWAIT, abuf, ctypes.byref(alen))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, host_errno.errorcode.get(err, "error"))
    return buf.raw[: min(ret, size)], abuf.raw[: alen.value]


class LiveEnd:
    """The live host end an object may have: queued output and how it is flushed."""

    live_hs: socket.socket | None = None
    det: DetNet
    sid: int

    def live_init(self) -> None:
        self.out = bytearray()  # guest bytes the host socket has not taken yet
        self.fin_pending = False  # shut the host's sending side once out is empty
        self.flush_err = 0  # a send error, taken at the next input point
        self.host_done = False  # the guest side is gone: close the host end once flushed

    def live_flush(self) -> None:
        hs = self.live_hs
        if hs is None:
            return
        while self.out:
            try:
                n = hs.send(self.out[:CHUNK], socket.MSG_NOSIGNAL)
            except BlockingIOError:
                return
            except OSError as e:
                self.flush_err = e.errno or EPIPE
                self.out.clear()
                break
            del self.out[:n]
        if self.fin_pending:
            self.fin_pending = False
            try:
                hs.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if self.host_done and not self.out:
            self.live_close()

    def live_close(self) -> None:
        hs, self.live_hs = self.live_hs, None
        self.det.detach(self)
        if hs is None:
            return
        if self.out:  # the end of the run: what the guest sent last, as far as it goes
            try:
                hs.settimeout(1.0)
                hs.sendall(self.out)
            except OSError:
                pass
        hs.close()

    def guest_queue(self) -> Any:
        """The wait queue of the guest socket that this host end's input is for."""
        return None

    def take_flush_err(self) -> list[InputEvent]:
        err, self.flush_err = self.flush_err, 0
        if err and not self.host_done:
            return [net_event("error", self.sid, err=err)]
        return []


# ---- --net host ------------------------------------------------------------------------------


class DetHostSock(LiveEnd, HostSock):
    """A --net host socket of a deterministic kernel: host calls recorded, what comes from the
    host kept in the kernel and changed at input points."""

    def __init__(self, net: NetNamespace, family: int, type_: int, protocol: int,
                 task: Any, accepted: bool = False) -> None:  # fmt: skip
        Sock.__init__(self, net, type_, protocol)
        self.family = family
        self.det: DetNet = net.kernel.det_net
        self.fd = -1
        self.hs = None  # type: ignore[assignment]
        self.connecting = False
        self.live_init()
        self.phase = CONNECTED if accepted else NEW
        self.rx = bytearray()
        self.rx_eof = False
        self.reset = False
        self.dgrams: deque[tuple[bytes, bytes | None]] = deque()
        self.acceptq: deque[DetHostSock] = deque()
        self.names: dict[bool, bytes] = {}
        self.sid = self.det.new_id(self)
        if not accepted:
            self.det.host_call("socket", self.sid, lambda: self._open(family, type_, protocol))

    def _open(self, family: int, type_: int, protocol: int) -> None:
        try:
            hs = socket.socket(family, type_ | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                               protocol)  # fmt: skip
        except OSError as e:
            raise _oserror(e) from None
        self.set_host(hs)

    def set_host(self, hs: socket.socket) -> None:
        self.hs = hs
        self.fd = hs.fileno()
        self.det.attach(self, hs)

    @property
    def stream(self) -> bool:
        return self.type == SOCK_STREAM

    def _call(self, op: str, fn: Callable[[], Any]) -> Any:
        return self.det.host_call(op, self.sid, fn)

    # --- the calls ---
    def bind(self, task: Any, addr: bytes) -> None:
        self._call("bind", lambda: HostSock.bind(self, task, addr))

    def listen(self, task: Any, backlog: int) -> None:
        self._call("listen", lambda: HostSock.listen(self, task, backlog))
        if self.stream:
            self.phase = LISTENING

    def getname(self, peer: bool) -> bytes:
        if peer in self.names:
            return self.names[peer]
        return bytes(self._call("getpeername" if peer else "getsockname",
                                lambda: HostSock.getname(self, peer)))  # fmt: skip

    def accept(self, task: Any, nonblock: bool) -> Sock:
        if self.phase != LISTENING:
            raise KernelError(EINVAL)
        deadline = self.rcv_deadline(nonblock)
        def ready() -> bool:
            return bool(self.acceptq) or self.phase != LISTENING

        got = self.sleep(((self.wait, ALL_EVENTS),), ready, deadline)
        if not got:
            raise KernelError(EAGAIN)
        if self.phase != LISTENING:
            raise KernelError(EINVAL)
        return self.acceptq.popleft()

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        if not self.stream:
            self._call("connect", lambda: self._host_connect(addr))
            return
        deadline = self.snd_deadline(nonblock)
        if self.phase == CONNECTED:
            raise KernelError(EISCONN)
        if self.phase == LISTENING:
            raise KernelError(EISCONN)
        if self.phase == NEW:
            if deadline != 0.0:
                need_context()  # the host connect is made once, then the task may sleep
            err = self._call("connect", lambda: self._host_connect(addr))
            if err == 0:
                self.phase = CONNECTED
                return
            self.phase = CONNECTING
            if deadline == 0.0:
                raise KernelError(EINPROGRESS)
        elif deadline == 0.0:
            raise KernelError(EALREADY)
        self._wait_connected(deadline)

    def _host_connect(self, addr: bytes) -> int:
        """The host's immediate answer: 0, EINPROGRESS, or KernelError."""
        ret = libc().connect(self.fd, addr, len(addr))
        err = ctypes.get_errno() if ret < 0 else 0
        if err == EINPROGRESS_HOST and self.stream:
            return EINPROGRESS
        if err:
            raise KernelError(err)
        return 0

    def _wait_connected(self, deadline: float | None) -> None:
        done = self.sleep(((self.wait, ALL_EVENTS),), lambda: self.phase != CONNECTING,
                          deadline)  # fmt: skip
        if not done:
            raise KernelError(EINPROGRESS)
        err = self.sock_error()
        if err:
            raise KernelError(err)

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        if not self.stream:
            ret = self._call("sendto", lambda: self._host_sendto(msg))
            self._hash_only(msg.data)
            return int(ret)
        flags = msg.flags
        if self.phase == CONNECTING:
            deadline = self.snd_deadline(bool(flags & MSG_DONTWAIT))
            self.would_block(deadline)
            self._wait_connected(deadline)
        if self.err or self.shutdown & SEND_SHUTDOWN or self.phase != CONNECTED:
            err = self.sock_error() or EPIPE
            if err == EPIPE and not flags & MSG_NOSIGNAL:
                send_thread_signal(task.kernel, task, SIGPIPE)
            raise KernelError(err)
        if msg.data:
            self.det.sent(self, bytes(msg.data))
        return len(msg.data)

    def _hash_only(self, data: bytes) -> None:
        stream = self.det.kernel.events
        if stream is not None:
            stream.net_output(self.sid, bytes(data))

    def _host_sendto(self, msg: SendMsg) -> int:
        addr = msg.addr or None
        flags = (msg.flags & ~MSG_DONTWAIT) | MSG_DONTWAIT | MSG_NOSIGNAL
        ret = libc().sendto(self.fd, msg.data, len(msg.data), flags, addr,
                            len(addr) if addr else 0)  # fmt: skip
        if ret < 0:
            raise KernelError(ctypes.get_errno())
        return int(ret)

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        if not self.stream:
            return self._recv_dgram(sink, flags, want_addr)
        if self.phase == LISTENING:
            raise KernelError(ENOTCONN)
        if flags & MSG_OOB:
            raise KernelError(EINVAL)  # no urgent data comes through a record
        if self.phase == NEW and not (self.rx or self.rx_eof or self.err):
            raise KernelError(ENOTCONN)
        size = sink.size
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        want = size if flags & MSG_WAITALL else 1

        def ready() -> bool:
            return len(self.rx) >= want or self.rx_eof or bool(self.err) or \
                bool(self.shutdown & RCV_SHUTDOWN)  # fmt: skip

        if size <= 0:
            return RecvResult(0)
        if not self.sleep(((self.wait, ALL_EVENTS),), ready, deadline):
            raise KernelError(EAGAIN)
        if self.rx:
            n = min(size, len(self.rx))
            sink.put(bytes(self.rx[:n]))
            if not flags & MSG_PEEK:
                del self.rx[:n]
            return RecvResult(n)
        if self.err:
            raise KernelError(self.sock_error())
        return RecvResult(0)

    def _recv_dgram(self, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        if not self.sleep(((self.wait, ALL_EVENTS),), lambda: bool(self.dgrams or self.err),
                          deadline):  # fmt: skip
            raise KernelError(EAGAIN)
        if self.err:
            raise KernelError(self.sock_error())
        data, addr = self.dgrams[0]
        n = min(sink.size, len(data))
        sink.put(data[:n])
        if not flags & MSG_PEEK:
            self.dgrams.popleft()
        mflags = MSG_TRUNC if len(data) > sink.size else 0
        ret = len(data) if flags & MSG_TRUNC else n
        return RecvResult(ret, addr if want_addr else None, mflags)

    def do_shutdown(self, task: Any, how: int) -> None:
        if not self.stream:
            self._call("shutdown", lambda: HostSock.do_shutdown(self, task, how))
            return
        if self.phase not in (CONNECTED, LISTENING):
            raise KernelError(ENOTCONN)
        mask = how + 1  # SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2 -> RCV 1, SEND 2, both 3
        if mask & SEND_SHUTDOWN and not self.shutdown & SEND_SHUTDOWN:
            self.fin_pending = True
        self.shutdown |= mask
        self.live_flush()
        self.notify(ALL_EVENTS)

    def poll(self) -> int:
        if not self.stream:
            mask = POLLOUT | POLLWRNORM
            if self.dgrams:
                mask |= POLLIN | POLLRDNORM
            return mask | (POLLERR if self.err else 0)
        if self.phase == LISTENING:
            return POLLIN | POLLRDNORM if self.acceptq else 0
        if self.phase == CONNECTING:
            return 0
        mask = POLLERR if self.err else 0
        if self.phase == NEW:
            return mask | POLLOUT | POLLWRNORM | POLLHUP
        if self.reset or (self.rx_eof and self.shutdown & SEND_SHUTDOWN):
            mask |= POLLHUP
        if self.rx_eof or self.shutdown & RCV_SHUTDOWN:
            mask |= POLLIN | POLLRDNORM | POLLRDHUP
        if self.rx:
            mask |= POLLIN | POLLRDNORM
        return mask | POLLOUT | POLLWRNORM

    def release(self) -> None:
        self.det.drop(self.sid)
        for child in self.acceptq:
            child.release()
        self.acceptq.clear()
        self.host_done = True
        self.phase = NEW
        self.live_flush()

    def close_host(self) -> None:
        self.live_close()

    def inq_len(self) -> int:
        if not self.stream:
            return len(self.dgrams[0][0]) if self.dgrams else 0
        return len(self.rx)

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd in (SIOCATMARK, SIOCOUTQ):  # nothing urgent; all sent as far as the guest knows
            task.mm.copy_out(arg, struct.pack("<i", 0))
            return 0
        return Sock.ioctl(self, task, cmd, arg)

    def get_sol_socket(self, task: Any, name: int, size: int) -> bytes:
        if name == SO_ERROR:
            return struct.pack("<i", self.sock_error())
        return HostSock.get_sol_socket(self, task, name, size)

    def _host_set(self, level: int, name: int, value: bytes) -> None:
        self._call("setsockopt", lambda: HostSock._host_set(self, level, name, value))

    def _host_get(self, level: int, name: int, size: int) -> bytes:
        return bytes(self._call("getsockopt", lambda: HostSock._host_get(self, level, name, size)))

    def arm(self, events: int) -> None:
        pass  # the kernel's host poller is not used: input points look at the host

    def guest_queue(self) -> Any:
        return None if self.host_done else self.wait

    # --- live: what the host has ---
    def live_interest(self) -> int:
        events = POLLOUT if self.out else 0
        if self.host_done:
            return events
        if not self.stream:
            return events | (POLLIN if len(self.dgrams) < DGRAM_LIMIT else 0)
        if self.phase == CONNECTING:
            return events | POLLOUT
        if self.phase == LISTENING:
            return events | POLLIN
        if self.phase == CONNECTED and not (self.rx_eof or self.reset) and \
                len(self.rx) < RX_LIMIT:  # fmt: skip
            events |= POLLIN
        return events

    def live_take(self, revents: int) -> list[InputEvent]:
        events = self.take_flush_err()
        hs = self.live_hs
        if events or self.host_done or hs is None:
            return events
        if not self.stream:
            return self._take_dgrams()
        if self.phase == CONNECTING:
            if revents & (POLLOUT | POLLERR | POLLHUP):
                err = hs.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                return [net_event("connected", self.sid, err=err)]
            return []
        if self.phase == LISTENING:
            return self._take_accepts(hs)
        if self.phase == CONNECTED and revents & (POLLIN | POLLERR | POLLHUP) and \
                not (self.rx_eof or self.reset):  # fmt: skip
            return [_read_event(self.sid, hs, min(CHUNK, RX_LIMIT - len(self.rx)))]
        return []

    def _take_accepts(self, hs: socket.socket) -> list[InputEvent]:
        events = []
        for _ in range(ACCEPT_LIMIT):
            try:
                conn, _ = hs.accept()
            except OSError:
                break
            fd = conn.fileno()
            events.append(net_event("accept", self.sid, data=_raw_name(fd, False),
                                    addr=_raw_name(fd, True), host=conn))  # fmt: skip
        return events

    def _take_dgrams(self) -> list[InputEvent]:
        events = []
        for _ in range(DGRAM_LIMIT - len(self.dgrams)):
            try:
                data, addr = _recvfrom(self.fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                events.append(net_event("error", self.sid, err=e.errno or EIO))
                break
            events.append(net_event("data", self.sid, data=data, addr=addr))
        return events

    # --- an event at an input point ---
    def take_event(self, event: InputEvent) -> None:
        op = event.op
        if op == "data":
            if self.stream:
                self.rx += event.data
            else:
                self.dgrams.append((event.data, event.addr or None))
        elif op == "eof":
            self.rx_eof = True
        elif op == "error":
            self.err = event.err
            if self.stream:
                self.reset = self.rx_eof = True
                self.shutdown |= RCV_SHUTDOWN | SEND_SHUTDOWN
        elif op == "connected":
            if self.phase != CONNECTING:
                raise ValueError("the socket is not connecting")
            self.phase = NEW if event.err else CONNECTED
            self.err = event.err
        elif op == "accept":
            if self.phase != LISTENING:
                raise ValueError("the socket is not listening")
            child = DetHostSock(self.net, self.family, self.type, self.protocol, None, True)
            child.names = {False: event.data, True: event.addr}
            if event.host is not None:
                child.set_host(event.host)
            self.acceptq.append(child)
        else:
            raise ValueError(f"no {op} input for a --net host socket")
        self.notify(ALL_EVENTS)


def _read_event(sid: int, hs: socket.socket, size: int) -> InputEvent:
    """What a connected host socket has: data, end of file or an error."""
    try:
        data = hs.recv(max(size, 1))
    except BlockingIOError:
        return net_event("data", sid)
    except OSError as e:
        return net_event("error", sid, err=e.errno or EIO)
    return net_event("data", sid, data=data) if data else net_event("eof", sid)


# ---- --publish ---------------------------------------------------------------------------------


def start_publish(det: DetNet, publishes: list[Publish]) -> None:
    """The published ports of a deterministic kernel: live, listening on the host (OSError if
    a port is taken); on replay, nothing on the host."""
    try:
        for index, pub in enumerate(publishes):
            hs = None if det.replay else host_listener(pub)
            port: Any = (DetTcpPort if pub.proto == "tcp" else DetUdpPort)(det, index, pub)
            det.ports.append(port)
            if hs is not None:
                det.attach(port, hs)
    except OSError:
        det.net.close()
        raise




class _Port(LiveEnd):
    def __init__(self, det: DetNet, index: int, pub: Publish) -> None:
        self.det = det
        self.net = det.net
        self.sid = index
        self.guest_port = pub.guest_port
        self.live_init()

    def live_interest(self) -> int:
        return POLLIN


class DetTcpPort(_Port):
    """A published TCP port: host connections come in as pub_accept inputs."""

    def live_take(self, revents: int) -> list[InputEvent]:
        events = []
        hs = self.live_hs
        for _ in range(ACCEPT_LIMIT if hs is not None else 0):
            try:
                conn, _ = hs.accept()  # type: ignore[union-attr]
            except OSError:
                break
            events.append(net_event("pub_accept", self.sid, host=conn))
        return events

    def take_event(self, event: InputEvent) -> None:
        if event.op != "pub_accept":
            raise ValueError(f"no {event.op} input for a published TCP port")
        conn = event.host
        tables = self.net.table(AF_INET)
        found = tables.tcp.lookup(LOOP4, self.guest_port, lambda s: s.state == TCP_LISTEN)
        listener = found[0] if found else None
        if listener is None or listener.acceptq_full():
            if conn is not None:
                conn.close()  # nobody listens in the guest: refused, as docker's proxy does
            return
        bridge = DetBridge(self.net, self.det, conn)
        bridge.local = (LOOP4, 0)
        bridge.bind_port(LOOP4, 0, parity=0)
        bridge.remote = (LOOP4, self.guest_port)
        bridge.state = 2  # TCP_SYN_SENT while the listener takes it
        listener.establish(bridge)


class DetBridge(LiveEnd, Bridge):
    """The client end of a published connection in a deterministic kernel: host bytes come as
    inputs, guest bytes go to the host (live) and into the event hash."""

    def __init__(self, net: NetNamespace, det: DetNet, conn: socket.socket | None) -> None:
        TcpSock.__init__(self, net, AF_INET, None)
        self.det = det
        self.conn = conn  # type: ignore[assignment]
        self.fd = -1
        self.guest_fin = False
        self.host_eof = False
        self.closed = False
        self.poller = net.kernel.hostpoll
        self.live_init()
        self.sid = det.new_id(self)
        if conn is not None:
            det.attach(self, conn)

    # --- the guest end's view: the window never fills (the host's pace is not an input) ---
    def window(self) -> int:
        return WINDOW

    def rcv_room(self) -> int:
        return 1 << 30 if self.closed else WINDOW

    def rcv_data(self, data: bytes, urgent: bool) -> bool:
        if self.closed:
            return False
        self.det.sent(self, bytes(data))
        return True

    def rcv_fin(self) -> None:
        self.guest_fin = True
        self.fin_pending = True
        self.live_flush()
        if self.host_eof:
            self.guest_close()

    def rcv_rst(self) -> None:
        hs = self.live_hs
        if hs is not None:
            try:
                hs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.out.clear()
        self.peer = None
        self.guest_close()

    def peer_consumed(self) -> None:
        pass  # the host is read at input points, as the guest's room allows then

    def pump(self) -> None:
        pass

    def flush(self) -> None:
        self.live_flush()

    def guest_close(self) -> None:
        """The connection is over for the guest (a deterministic instant); the host end
        closes once what the guest sent went out."""
        if not self.closed:
            self.closed = True
            self.det.drop(self.sid)
            self.forget()
        self.host_done = True
        self.live_flush()

    def close_conn(self) -> None:
        self.guest_close()

    # --- live ---
    def guest_queue(self) -> Any:
        peer = self.peer
        return peer.wait if isinstance(peer, TcpSock) and not self.closed else None

    def _room(self) -> int:
        peer = self.peer
        return peer.rcv_room() if isinstance(peer, TcpSock) and not self.closed else 0

    def live_interest(self) -> int:
        events = POLLOUT if self.out else 0
        if not self.host_done and not self.host_eof and self._room() > 0:
            events |= POLLIN
        return events

    def live_take(self, revents: int) -> list[InputEvent]:
        events = self.take_flush_err()
        hs = self.live_hs
        if events or self.host_done or self.host_eof or hs is None:
            return events
        room = self._room()
        if revents & (POLLIN | POLLERR | POLLHUP) and room > 0:
            return [_read_event(self.sid, hs, min(room, CHUNK))]
        return []

    def take_event(self, event: InputEvent) -> None:
        peer = self.peer
        if event.op == "data":
            if isinstance(peer, TcpSock) and event.data:
                self.net_count(len(event.data))
                peer.rcv_data(event.data, False)
        elif event.op == "eof":
            self.host_eof = True
            if isinstance(peer, TcpSock):
                peer.rcv_fin()
            if self.guest_fin:
                self.guest_close()
        elif event.op == "error":
            self.peer = None
            self.guest_close()
            if peer is not None:
                peer.rcv_rst()
        else:
            raise ValueError(f"no {event.op} input for a published connection")


class DetUdpPort(_Port):
    """A published UDP port: host datagrams come in as pub_dgram inputs (addr: the peer)."""

    def __init__(self, det: DetNet, index: int, pub: Publish) -> None:
        super().__init__(det, index, pub)
        self.peers: dict[bytes, DetUdpBridge] = {}

    def live_take(self, revents: int) -> list[InputEvent]:
        events = []
        hs = self.live_hs
        for _ in range(DGRAM_LIMIT if hs is not None else 0):
            try:
                data, peer = hs.recvfrom(65535)  # type: ignore[union-attr]
            except OSError:
                break
            key = json.dumps(list(peer)).encode()
            events.append(net_event("pub_dgram", self.sid, data=data, addr=key))
        return events

    def take_event(self, event: InputEvent) -> None:
        if event.op != "pub_dgram":
            raise ValueError(f"no {event.op} input for a published UDP port")
        bridge = self.peers.get(event.addr)
        if bridge is None:
            peer = tuple(json.loads(event.addr))
            bridge = self.peers[event.addr] = DetUdpBridge(self, peer)
        bridge.deliver(event.data, bridge.local, LOOP4, self.guest_port)

    def live_close(self) -> None:
        super().live_close()
        for bridge in self.peers.values():
            bridge.forget()


class DetUdpBridge(UdpBridge):
    """A host peer's address in the guest: what the guest sends there is hashed and (live)
    sent to the peer."""

    def __init__(self, port: DetUdpPort, peer: tuple[Any, ...]) -> None:
        super().__init__(port.net, port, peer)  # type: ignore[arg-type]
        self.det = port.det
        self.sid = port.det.new_id(self)

    def enqueue(self, data: bytes, src: Any, hdr: Any = None) -> None:
        stream = self.det.kernel.events
        if stream is not None:
            stream.net_output(self.sid, bytes(data))
        hs = self.port.live_hs  # type: ignore[attr-defined]
        if hs is not None:
            try:
                hs.sendto(data, self.peer_addr)
            except OSError:
                pass  # a datagram the host does not take is lost, as on a network

    def take_event(self, event: InputEvent) -> None:
        raise ValueError("no input for a published UDP peer")
