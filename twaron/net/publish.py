"""`--publish [HOST_ADDR:]HOST_PORT:GUEST_PORT[/udp]` with `--net none` (docker run's -p):
twaron listens on the host (127.0.0.1 unless an address is given) and joins what arrives to
the guest's socket on GUEST_PORT.

TCP: each accepted host connection becomes a connection to the guest's listener (as if a
client on 127.0.0.1 connected), its client end a `Bridge` that copies between the guest
connection's byte queues and the host socket: host bytes go to the guest as its window
allows (the host side is not read while the guest's queue is full), guest bytes to the host
as the host socket takes them; FIN and RST go across both ways. A connection that arrives
while no guest socket listens on the port (or its queue is full) is closed at once, as
docker's proxy does.

UDP: each host peer gets a guest-side address of its own (127.0.0.1 and an ephemeral port),
from which its datagrams reach the guest's socket on GUEST_PORT and to which the guest's
replies go back to that peer.

All host sockets are non-blocking and watched by the kernel's host poller.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any

from twaron.arch.x86_64.constants import AF_INET, POLLERR, POLLHUP, POLLIN, POLLOUT, TCP_LISTEN
from twaron.config import Publish
from twaron.net.inet import LOOP4
from twaron.net.socket import NetNamespace
from twaron.net.tcp import TcpSock
from twaron.net.udp import UdpSock

WINDOW = 256 << 10  # bytes from the guest a bridge holds while the host socket is slow
CHUNK = 64 << 10


def start(net: NetNamespace, publishes: list[Publish]) -> None:
    """Listen on the host for each published port (OSError if a host port is taken: the
    ports opened before it are closed again)."""
    try:
        for pub in publishes:
            _listen(net, pub)
    except OSError:
        net.close()
        raise


def host_listener(pub: Publish) -> socket.socket:
    """The host socket of a published port: bound (and listening, for TCP), non-blocking.
    OSError if the host refuses it (the port is taken)."""
    fam = socket.AF_INET6 if ":" in pub.host_addr else socket.AF_INET
    kind = socket.SOCK_DGRAM if pub.proto == "udp" else socket.SOCK_STREAM
    hs = socket.socket(fam, kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        hs.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hs.bind((pub.host_addr, pub.host_port))
        if kind == socket.SOCK_STREAM:
            hs.listen(128)
    except OSError:
        hs.close()
        raise
    return hs


def _listen(net: NetNamespace, pub: Publish) -> None:
    hs = host_listener(pub)
    tcp = hs.type == socket.SOCK_STREAM
    port = (TcpListener if tcp else UdpPort)(net, hs, pub.guest_port)
    net.closers[port] = port.close


class TcpListener:
    """A published TCP port: accepts on the host, connects to the guest."""

    def __init__(self, net: NetNamespace, hs: socket.socket, guest_port: int) -> None:
        self.net = net
        self.hs = hs
        self.guest_port = guest_port
        self.poller = net.kernel.hostpoll
        self.poller.watch(hs.fileno(), POLLIN, self.ready, persistent=True)

    def ready(self, _mask: int) -> None:
        while True:
            try:
                conn, _ = self.hs.accept()
            except OSError:
                return
            conn.setblocking(False)
            self.join(conn)

    def join(self, conn: socket.socket) -> None:
        tables = self.net.table(AF_INET)
        found = tables.tcp.lookup(LOOP4, self.guest_port, lambda s: s.state == TCP_LISTEN)
        listener = found[0] if found else None
        if listener is None or listener.acceptq_full():
            conn.close()  # nobody listens in the guest: refused, as docker's proxy does
            return
        bridge = Bridge(self.net, conn)
        bridge.local = (LOOP4, 0)
        bridge.bind_port(LOOP4, 0, parity=0)
        bridge.remote = (LOOP4, self.guest_port)
        bridge.state = 2  # TCP_SYN_SENT while the listener takes it
        listener.establish(bridge)
        bridge.pump()

    def close(self) -> None:
        self.poller.forget(self.hs.fileno())
        self.hs.close()


class Bridge(TcpSock):
    """The client end of a published connection: a TcpSock without a file whose other side
    is a host socket."""

    counted = False  # the client is outside: only the guest's end counts in the TCP MIB

    def __init__(self, net: NetNamespace, conn: socket.socket) -> None:
        super().__init__(net, AF_INET, None)
        self.conn = conn
        self.fd = conn.fileno()
        self.out = bytearray()  # guest bytes the host socket has not taken yet
        self.guest_fin = False  # the guest shut its sending side: shut the host's after out
        self.host_eof = False
        self.closed = False
        self.poller = net.kernel.hostpoll
        net.closers[self] = self.close_conn

    # --- the guest end's view of this end ---
    def window(self) -> int:
        return WINDOW

    def rcv_room(self) -> int:
        return 1 << 30 if self.closed else max(WINDOW - len(self.out), 0)

    def rcv_data(self, data: bytes, urgent: bool) -> bool:
        if self.closed:
            return False
        self.out += data
        self.flush()
        return True

    def rcv_fin(self) -> None:
        self.guest_fin = True
        self.flush()

    def rcv_rst(self) -> None:
        if not self.closed:
            try:
                self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))  # fmt: skip
            except OSError:
                pass
        self.peer = None
        self.close_conn()

    def peer_consumed(self) -> None:
        self.pump()

    # --- the host side ---
    def flush(self) -> None:
        """Guest bytes to the host socket, as much as it takes now; the rest when writable."""
        if self.closed:
            return
        while self.out:
            try:
                n = self.conn.send(self.out[:CHUNK])
            except BlockingIOError:
                self.poller.want(self.fd, POLLOUT, self.host_ready)
                return
            except OSError:
                self.host_reset()
                return
            del self.out[:n]
            peer = self.peer
            if peer is not None:
                peer.notify(POLLOUT)
        if self.guest_fin:
            try:
                self.conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if self.host_eof:
                self.close_conn()

    def pump(self) -> None:
        """Host bytes to the guest, as its window allows; waits on the host otherwise."""
        peer = self.peer
        while not self.closed and not self.host_eof and isinstance(peer, TcpSock):
            room = peer.rcv_room()
            if room <= 0:
                return  # the guest reads first (peer_consumed calls again)
            try:
                data = self.conn.recv(min(room, CHUNK))
            except BlockingIOError:
                self.poller.want(self.fd, POLLIN, self.host_ready)
                return
            except OSError:
                self.host_reset()
                return
            if not data:
                self.host_eof = True
                peer.rcv_fin()
                if self.guest_fin and not self.out:
                    self.close_conn()
                return
            self.net_count(len(data))
            peer.rcv_data(data, False)

    def host_ready(self, mask: int) -> None:
        if mask & POLLOUT:
            self.flush()
        if mask & (POLLIN | POLLERR | POLLHUP):
            self.pump()

    def host_reset(self) -> None:
        peer, self.peer = self.peer, None
        self.close_conn()
        if peer is not None:
            peer.rcv_rst()

    def close_conn(self) -> None:
        if not self.closed:
            self.closed = True
            self.net.closers.pop(self, None)
            self.poller.forget(self.fd)
            self.conn.close()
            self.forget()


class UdpPort:
    """A published UDP port: each host peer has a guest-side address of its own."""

    def __init__(self, net: NetNamespace, hs: socket.socket, guest_port: int) -> None:
        self.net = net
        self.hs = hs
        self.guest_port = guest_port
        self.peers: dict[Any, UdpBridge] = {}
        self.poller = net.kernel.hostpoll
        self.poller.watch(hs.fileno(), POLLIN, self.ready, persistent=True)

    def ready(self, _mask: int) -> None:
        while True:
            try:
                data, peer = self.hs.recvfrom(65535)
            except OSError:
                return
            bridge = self.peers.get(peer)
            if bridge is None:
                bridge = self.peers[peer] = UdpBridge(self.net, self, peer)
            bridge.deliver(data, bridge.local, LOOP4, self.guest_port)

    def close(self) -> None:
        self.poller.forget(self.hs.fileno())
        self.hs.close()
        for b in self.peers.values():
            b.forget()


class UdpBridge(UdpSock):
    """A host peer's address in the guest: what the guest sends there goes to the peer."""

    def __init__(self, net: NetNamespace, port: UdpPort, peer: Any) -> None:
        super().__init__(net, AF_INET, None)
        self.port = port
        self.peer_addr = peer
        self.local = (LOOP4, 0)
        self.bind_port(LOOP4, 0, parity=0)

    def enqueue(self, data: bytes, src: Any, hdr: Any = None) -> None:
        try:
            self.port.hs.sendto(data, self.peer_addr)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED):
                raise
