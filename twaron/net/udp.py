"""UDP on lo (Linux's net/ipv4/udp.c, net/ipv6/udp.c, datagram.c): a datagram goes straight
into the receiving socket's queue, whole, or is dropped when that queue holds more than
SO_RCVBUF (as Linux drops it).

The receiver of a datagram is the socket bound to its port whose address takes it (bound to
the address itself before a wildcard; a connected socket only from its peer). When nobody is
there, Linux answers with ICMP port unreachable, which a connected socket (or one with
IP_RECVERR) hears as ECONNREFUSED on its next call: so here too. Datagrams to lo's broadcast
address 127.255.255.255 need SO_BROADCAST (EACCES) and reach every socket on the port.

UDP-Lite (IPPROTO_UDPLITE, RFC 3828; Linux's net/ipv4/udplite.c, net/ipv6/udplite.c) is the
same socket with a port space of its own and a checksum that may cover only the start of a
datagram (UDPLITE_SEND_CSCOV): a receiver that asked for a minimum coverage
(UDPLITE_RECV_CSCOV) drops datagrams covered less, as Linux's udp_queue_rcv_one_skb.

Each datagram counts in the namespace's SNMP MIBs (/proc/net/snmp's Udp and UdpLite lines,
snmp6's Udp6 and UdpLite6: twaron/net/snmp.py) where Linux counts it.

A datagram carries what its IP header would tell the receiver (inet_cmsg.Header): recvmsg
gives it as IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS, ... control messages when asked.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    IPDEFTTL,
    IPPROTO_UDP,
    IPPROTO_UDPLITE,
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SIN6_LEN_RFC2133,
    SIZEOF_SOCKADDR_IN,
    SIZEOF_UDPHDR,
    SO_BROADCAST,
    SOCK_DGRAM,
    SOL_UDP,
    SOL_UDPLITE,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    UDP_CORK,
    UDP_ENCAP,
    UDP_GRO,
    UDP_NO_CHECK6_RX,
    UDP_NO_CHECK6_TX,
    UDP_SEGMENT,
    UDPLITE_RECV_CSCOV,
    UDPLITE_SEND_CSCOV,
    USHRT_MAX,
)
from twaron.arch.x86_64.errno import (
    EACCES,
    EAFNOSUPPORT,
    EAGAIN,
    ECONNREFUSED,
    EDESTADDRREQ,
    EINVAL,
    EMSGSIZE,
    ENETUNREACH,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPIPE,
)
from twaron.errors import KernelError
from twaron.net.inet import (
    ANY4,
    ANY6,
    BCAST_LO,
    LOOP4,
    Addr,
    InetSock,
    PortTable,
    is_any,
    is_v4,
    pack_addr,
    parse_in,
    parse_in6,
    sa_family,
)
from twaron.net.inet_cmsg import (
    Header,
    Ipc,
    header_for,
    recv_ctl,
    route_v4,
    send_ctl_v4,
    send_ctl_v6,
    udp_cmsg_send,
)
from twaron.net.snmp import Mib
from twaron.net.socket import NetNamespace, RecvResult, SendMsg, Sink
from twaron.wait import ALL_EVENTS, EVENT_ERR, EVENT_HUP, EVENT_IN

_INT = struct.Struct("<i")
UDP4_MAX = 65507  # 65535 less the IPv4 and UDP headers
UDP6_MAX = 65527  # IPv6's payload length less the UDP header
SKB_OVERHEAD = 768  # what one queued datagram is charged beyond its bytes (truesize)


class UdpSock(InetSock):
    proto_name = "udp"

    def __init__(self, net: NetNamespace, family: int, task: Any,
                 protocol: int = IPPROTO_UDP) -> None:  # fmt: skip
        super().__init__(net, family, SOCK_DGRAM, protocol, task)
        self.lite = protocol == IPPROTO_UDPLITE
        if self.lite:
            self.proto_name = "udplite"
        self.queue: deque[tuple[bytes, Addr, Header | None]] = deque()
        self.rmem = 0
        self.drops = 0
        self.udp: dict[int, int] = {}
        self.pcslen = 0  # UDPLITE_SEND_CSCOV (0: the whole datagram)
        self.pcrlen = 0  # UDPLITE_RECV_CSCOV
        self.send_cc = False  # UDPLITE_SEND_CSCOV was set (Linux's UDPLITE_SEND_CC)
        self.recv_cc = False

    @property
    def ports(self) -> PortTable:
        return self.tables.udplite if self.lite else self.tables.udp

    # --- addresses ---
    def dest(self, addr: bytes) -> tuple[bytes, int] | None:
        """The destination of a sendto/connect address (udp_sendmsg / udpv6_sendmsg checks);
        None for an AF_UNSPEC address on an AF_INET6 socket (no address given)."""
        fam = sa_family(addr)
        if self.family == AF_INET6:
            if len(addr) < 2:
                raise KernelError(EINVAL)
            if fam == AF_INET:
                if self.v6only:
                    raise KernelError(ENETUNREACH)
                if len(addr) < SIZEOF_SOCKADDR_IN:
                    raise KernelError(EINVAL)
                return parse_in(addr)
            if fam == AF_UNSPEC:
                return None
            if fam != AF_INET6:
                raise KernelError(EINVAL)
            if len(addr) < SIN6_LEN_RFC2133:
                raise KernelError(EINVAL)
            ip, port, _ = parse_in6(addr)
            self.check_dest_family(ip)
            return ip, port
        if len(addr) < SIZEOF_SOCKADDR_IN:
            raise KernelError(EINVAL)
        if fam not in (AF_INET, AF_UNSPEC):
            raise KernelError(EAFNOSUPPORT)
        return parse_in(addr)

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        """inet_dgram_connect and ip4/ip6_datagram_connect: the default destination, and the
        source address the route gives (getsockname shows it)."""
        if len(addr) < 2:
            raise KernelError(EINVAL)
        if sa_family(addr) == AF_UNSPEC:
            self.disconnect()
            return
        self.autobind()
        fam = sa_family(addr)
        if self.family == AF_INET6 and fam == AF_INET:
            if self.v6only:
                raise KernelError(EINVAL)
            if len(addr) < SIZEOF_SOCKADDR_IN:
                raise KernelError(EINVAL)
            ip, port = parse_in(addr)
        else:
            ip, port, _ = self.parse_addr(addr, False)
            if self.family == AF_INET6:
                self.check_dest_family(ip)
        dst = self.route(ip)
        if dst == BCAST_LO and not self.opts.get(SO_BROADCAST):
            raise KernelError(EACCES)
        if self.bind_ip is None or is_any(self.bind_ip):
            self.local = (self.source_for(dst), self.local[1])
        self.remote = (dst, port)
        self.state = TCP_ESTABLISHED

    def disconnect(self) -> None:
        """udp_disconnect: no peer; the address goes back to the one bound (the wildcard if
        none), the port too unless bind chose it."""
        self.state = TCP_CLOSE
        self.remote = None
        wild = ANY6 if self.family == AF_INET6 else ANY4
        self.local = (self.bind_ip if self.bind_ip is not None else wild, self.local[1])
        if not self.user_bound:
            self.unbind()
            self.local = (self.local[0], 0)
        self.notify(ALL_EVENTS)

    # --- sending ---
    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        if msg.flags & MSG_OOB:
            raise KernelError(EOPNOTSUPP)
        dest = self.dest(msg.addr) if msg.addr else None
        if dest is None:
            if self.state != TCP_ESTABLISHED or self.remote is None:
                raise KernelError(EDESTADDRREQ)
            dst, port = self.remote
            ipc = self.send_ctl(msg, dst)
        else:
            ip, port = dest
            if port == 0:
                raise KernelError(EINVAL)
            ipc = self.send_ctl(msg, ip)
            dst = self.route(ip)
        data = msg.data
        limit = UDP4_MAX if is_v4(dst) else UDP6_MAX
        if len(data) > limit:
            raise KernelError(EMSGSIZE)
        if dst == BCAST_LO and not self.opts.get(SO_BROADCAST):
            raise KernelError(EACCES)
        err = self.sock_error()
        if err:
            raise KernelError(err)
        if self.shutdown & SEND_SHUTDOWN:
            raise KernelError(EPIPE)
        self.autobind()
        src = (ipc.src or self.source_for(dst), self.local[1])
        hdr = header_for(self, ipc, dst)
        if self.lite:
            hdr = hdr._replace(cscov=self.sender_cscov(len(data)))
        self.tables.lo_count(len(data))
        self.mib(is_v4(dst))["OutDatagrams"] += 1  # udp_send_skb: sent, whoever takes it
        self.deliver(data, src, dst, port, hdr)
        return len(data)

    def mib(self, v4: bool) -> Mib:
        """The SNMP MIB a datagram of this protocol counts in (twaron/net/snmp.py)."""
        return self.tables.udp_mibs.get(v4, self.lite)

    def send_ctl(self, msg: SendMsg, dst: bytes) -> Ipc:
        """The message's IP or IPv6 control messages (by where it goes: an AF_INET6 socket
        sending to an IPv4 address takes IP's, as udpv6_sendmsg hands it to udp_sendmsg); a
        source address they give must be one of lo's."""
        if not msg.cmsgs or not udp_cmsg_send(msg.cmsgs):
            return Ipc()
        task = self.net.current()
        if is_v4(dst):
            ipc = send_ctl_v4(task, msg.cmsgs, self.family == AF_INET6)
            route_v4(ipc)
            return ipc
        return send_ctl_v6(task, msg.cmsgs)

    def sender_cscov(self, size: int) -> int:
        """udplite_sender_cscov: the coverage a datagram of size bytes goes out with, 0 for
        the whole of it (UDPLITE_SEND_CSCOV unset, 0, or not below the UDP length)."""
        ulen = size + SIZEOF_UDPHDR
        if self.send_cc and 0 < self.pcslen < ulen:
            return self.pcslen
        return 0

    def deliver(self, data: bytes, src: Addr, dst: bytes, port: int,
                hdr: Header | None = None) -> None:  # fmt: skip
        """The socket(s) the datagram is for; ICMP port unreachable when none."""
        receivers = self.ports.lookup(
            dst, port, lambda s: isinstance(s, UdpSock) and s.accepts_from(src))
        if not receivers:
            if dst == BCAST_LO:  # __udp4_lib_mcast_deliver: no ICMP for a broadcast
                self.mib(True)["IgnoredMulti"] += 1
                return
            self.mib(is_v4(dst))["NoPorts"] += 1  # and ICMP port unreachable:
            if self.state == TCP_ESTABLISHED or self.recverr:
                self.err = ECONNREFUSED
                self.notify(EVENT_ERR)
            return
        if dst != BCAST_LO:
            receivers = receivers[:1]
        for r in receivers:
            assert isinstance(r, UdpSock)
            r.enqueue(data, src, hdr)

    def accepts_from(self, src: Addr) -> bool:
        return self.remote is None or self.remote == src

    def enqueue(self, data: bytes, src: Addr, hdr: Header | None = None) -> None:
        full = self.rmem > self.rcvbuf
        if full or not self.coverage_ok(hdr):
            self.drops += 1
            mib = self.mib(is_v4(src[0]))
            mib["InErrors"] += 1
            if full:  # __udp_queue_rcv_skb charges a full queue twice
                mib["RcvbufErrors"] += 1
            return
        self.queue.append((data, src, hdr))
        self.rmem += len(data) + SKB_OVERHEAD
        self.notify(EVENT_IN)

    # --- receiving ---
    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        """udp_recvmsg: one datagram; the rest of a longer one is lost (MSG_TRUNC), MSG_TRUNC
        in flags returns its whole length; a pending error first."""
        if flags & MSG_ERRQUEUE:
            raise KernelError(EAGAIN)
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        while True:
            err = self.sock_error()
            if err:
                raise KernelError(err)
            if self.queue:
                break
            if self.shutdown & RCV_SHUTDOWN:
                return RecvResult(0)
            self.would_block(deadline)
            ok = self.sleep(((self.wait, EVENT_IN | EVENT_HUP | EVENT_ERR),),
                            lambda: self.queue or self.err or self.shutdown & RCV_SHUTDOWN,
                            deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EAGAIN)
        data, src, hdr = self.queue[0]
        if not flags & MSG_PEEK:
            self.queue.popleft()
            self.rmem -= len(data) + SKB_OVERHEAD
            self.mib(is_v4(src[0]))["InDatagrams"] += 1  # udp_recvmsg counts what it takes
        n = min(len(data), sink.size)
        sink.put(data[:n])
        mflags = MSG_TRUNC if n < len(data) else 0
        addr = pack_addr(self.family, src) if want_addr else None
        res = RecvResult(len(data) if flags & MSG_TRUNC else n, addr, mflags)
        if self.ip or self.ip6:
            res.cmsgs = recv_ctl(self, hdr or Header(LOOP4, IPDEFTTL, 0)) or None
        return res

    def coverage_ok(self, hdr: Header | None) -> bool:
        """UDP-Lite: a receiver that set UDPLITE_RECV_CSCOV takes a partially covered
        datagram only if it covers at least that much (0: only whole coverage)."""
        if not self.recv_cc or hdr is None or not hdr.cscov:
            return True
        return self.pcrlen != 0 and hdr.cscov >= self.pcrlen

    # --- the rest ---
    def poll(self) -> int:
        """datagram_poll (udp_poll)."""
        mask = 0
        if self.err:
            mask |= POLLERR
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.shutdown == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.queue:
            mask |= POLLIN | POLLRDNORM
        mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask

    def inq_len(self) -> int:
        return len(self.queue[0][0]) if self.queue else 0

    def do_shutdown(self, task: Any, how: int) -> None:
        if how < 0 or how > 2:
            raise KernelError(EINVAL)
        self.shutdown |= how + 1
        self.notify(ALL_EVENTS)
        if self.state == TCP_CLOSE:
            raise KernelError(ENOTCONN)

    def release(self) -> None:
        self.queue.clear()
        self.forget()

    def set_proto(self, task: Any, level: int, name: int, value: bytes) -> None:
        """udp_lib_setsockopt: SOL_UDP and SOL_UDPLITE are one level (the length is checked
        first); the coverage options are UDP-Lite's only."""
        if level not in (SOL_UDP, SOL_UDPLITE):
            raise KernelError(ENOPROTOOPT)
        if len(value) < 4:
            raise KernelError(EINVAL)
        val = _INT.unpack_from(value)[0]
        if name in (UDPLITE_SEND_CSCOV, UDPLITE_RECV_CSCOV):
            self.set_cscov(name, val)
        elif name == UDP_SEGMENT:
            if not 0 <= val <= USHRT_MAX:
                raise KernelError(EINVAL)
            self.udp[name] = val
        elif name in _UDP_FLAGS:
            self.udp[name] = 1 if val else 0
        elif name in _UDP_OPTS:
            self.udp[name] = val
        else:
            raise KernelError(ENOPROTOOPT)

    def set_cscov(self, name: int, val: int) -> None:
        """A coverage below the header's 8 bytes is 8, one above 65535 is 65535; 0 is the
        whole datagram."""
        if not self.lite:
            raise KernelError(ENOPROTOOPT)
        if val != 0 and val < SIZEOF_UDPHDR:
            val = SIZEOF_UDPHDR
        elif val > USHRT_MAX:
            val = USHRT_MAX
        if name == UDPLITE_SEND_CSCOV:
            self.pcslen, self.send_cc = val, True
        else:
            self.pcrlen, self.recv_cc = val, True

    def get_proto(self, task: Any, level: int, name: int, size: int) -> bytes:
        if level not in (SOL_UDP, SOL_UDPLITE):
            raise self.no_level()
        if name == UDPLITE_SEND_CSCOV:
            return _INT.pack(self.pcslen)  # 0 on a UDP socket: the whole datagram
        if name == UDPLITE_RECV_CSCOV:
            return _INT.pack(self.pcrlen)
        if name not in _UDP_OPTS:
            raise KernelError(ENOPROTOOPT)
        return _INT.pack(self.udp.get(name, 0))


_UDP_FLAGS = frozenset((UDP_CORK, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX, UDP_GRO))
_UDP_OPTS = frozenset((UDP_CORK, UDP_ENCAP, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX, UDP_SEGMENT,
                       UDP_GRO))  # fmt: skip
assert ENOTCONN
