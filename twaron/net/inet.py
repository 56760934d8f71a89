"""AF_INET and AF_INET6 (Linux's net/ipv4/af_inet.c, net/ipv6/af_inet6.c, inet_hashtables.c,
ip_sockglue.c, ipv6_sockglue.c): what TCP and UDP share.

With `--net none` (the default) a kernel's only interface is lo: 127.0.0.0/8 and ::1, as a
fresh network namespace with lo up. There are no packets: a TCP connection is two byte
queues joined back to back (tcp.py) and a UDP datagram goes straight to the receiving
socket's queue (udp.py); what a program can observe follows Linux (addresses, ports, bind
conflicts, errors, readiness). With `--net host` the families make host sockets instead
(hostnet.py).

Addresses: a socket's local and remote addresses are kept as (16-byte IPv6 address, port),
an IPv4 address as its IPv4-mapped form ::ffff:a.b.c.d (as Linux's sk_v6_rcv_saddr), so one
table serves both families: an AF_INET6 socket bound to :: takes IPv4 connections unless
IPV6_V6ONLY, one bound to ::ffff:127.0.0.1 is an IPv4 socket in all but its family.

Routing with only lo: 127.0.0.0/8 and ::1 are local (the source address chosen for them is
127.0.0.1 and ::1, as lo's routes say); 0.0.0.0 and :: as a destination mean the loopback
address; 127.255.255.255 is lo's broadcast address (EACCES without SO_BROADCAST); every
other destination is ENETUNREACH and binding to an address that is not lo's is EADDRNOTAVAIL.

Not modelled: TIME_WAIT (a closed connection frees its port at once, so a server restarted
on the same port never sees EADDRINUSE from its old connections), retransmission and its
timers (TCP_USER_TIMEOUT, keepalive probes: kept and reported only), raw and ICMP sockets.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    IP_BIND_ADDRESS_NO_PORT,
    IP_FREEBIND,
    IP_HDRINCL,
    IP_LOCAL_PORT_RANGE_HIGH,
    IP_LOCAL_PORT_RANGE_LOW,
    IP_MTU,
    IP_MTU_DISCOVER,
    IP_MTU_LO,
    IP_MULTICAST_ALL,
    IP_MULTICAST_LOOP,
    IP_MULTICAST_TTL,
    IP_OPTIONS,
    IP_PASSSEC,
    IP_PKTINFO,
    IP_PMTUDISC_OMIT,
    IP_RECVERR,
    IP_RECVERR_RFC4884,
    IP_RECVFRAGSIZE,
    IP_RECVOPTS,
    IP_RECVTOS,
    IP_RECVTTL,
    IP_RETOPTS,
    IP_TOS,
    IP_TRANSPARENT,
    IP_TTL,
    IPDEFTTL,
    IPPROTO_ICMP,
    IPPROTO_IP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_UDPLITE,
    IPV6_AUTOFLOWLABEL,
    IPV6_FREEBIND,
    IPV6_HOPLIMIT,
    IPV6_MTU,
    IPV6_MTU_DISCOVER,
    IPV6_MULTICAST_HOPS,
    IPV6_MULTICAST_LOOP,
    IPV6_RECVERR,
    IPV6_RECVERR_RFC4884,
    IPV6_RECVHOPLIMIT,
    IPV6_RECVPKTINFO,
    IPV6_RECVTCLASS,
    IPV6_TCLASS,
    IPV6_UNICAST_HOPS,
    IPV6_V6ONLY,
    PROT_SOCK,
    SIN6_LEN_RFC2133,
    SIZEOF_SOCKADDR_IN,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_IP,
    SOL_IPV6,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
)
from twaron.arch.x86_64.errno import (
    EACCES,
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAFNOSUPPORT,
    EINVAL,
    ENETUNREACH,
    ENODEV,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
)
from twaron.errors import KernelError
from twaron.net.snmp import UdpMibs, tcp_mib
from twaron.net.socket import Family, NetNamespace, Sock, capable, register

_INT = struct.Struct("<i")
IPPROTO_MAX = 263
MAPPED = b"\0" * 10 + b"\xff\xff"  # the prefix of an IPv4-mapped IPv6 address
ANY6 = b"\0" * 16
ANY4 = MAPPED + b"\0\0\0\0"
LOOP4 = MAPPED + bytes((127, 0, 0, 1))
LOOP6 = b"\0" * 15 + b"\1"
BCAST_LO = MAPPED + bytes((127, 255, 255, 255))
LO_IFINDEX = 1

Addr = tuple[bytes, int]  # (16-byte address, port)


# ---- addresses ------------------------------------------------------------------------------


def is_v4(ip: bytes) -> bool:
    return ip[:12] == MAPPED


def is_any(ip: bytes) -> bool:
    return ip in (ANY6, ANY4)


def v4_local(ip: bytes) -> bool:
    """An address lo has (127.0.0.0/8)."""
    return is_v4(ip) and ip[12] == 127


def v4_bcast(ip: bytes) -> bool:
    return ip == BCAST_LO or ip == MAPPED + b"\xff\xff\xff\xff"


def v4_mcast(ip: bytes) -> bool:
    return is_v4(ip) and ip[12] & 0xF0 == 0xE0


def local_addr(ip: bytes) -> bool:
    """An address of this host (on lo)."""
    return v4_local(ip) or ip == LOOP6


def pack_addr(family: int, addr: Addr) -> bytes:
    """struct sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) as Linux reports them; an
    AF_INET6 socket shows IPv4 peers as ::ffff:a.b.c.d."""
    ip, port = addr
    if family == AF_INET:
        return struct.pack("<H", AF_INET) + struct.pack(">H", port) + ip[12:] + b"\0" * 8
    return struct.pack("<H", AF_INET6) + struct.pack(">HI", port, 0) + ip + b"\0" * 4


def parse_in(addr: bytes) -> Addr:
    """A sockaddr_in the caller checked the length of."""
    port = struct.unpack_from(">H", addr, 2)[0]
    return MAPPED + addr[4:8], port


def parse_in6(addr: bytes) -> tuple[bytes, int, int]:
    """A sockaddr_in6: (address, port, scope id; 0 when the address is RFC 2133's 24 bytes)."""
    port = struct.unpack_from(">H", addr, 2)[0]
    scope = struct.unpack_from("<I", addr, 24)[0] if len(addr) >= 28 else 0
    return addr[8:24], port, scope


def sa_family(addr: bytes) -> int:
    return int.from_bytes(addr[:2], "little") if len(addr) >= 2 else -1


def needs_scope(ip: bytes) -> bool:
    """Link-local unicast (fe80::/10) and link-local multicast (ff02::/16)."""
    return (ip[0] == 0xFE and ip[1] & 0xC0 == 0x80) or (ip[0] == 0xFF and ip[1] & 0x0F == 2)


# ---- the namespace's tables -------------------------------------------------------------------


class PortTable:
    """One protocol's bound sockets by port (Linux's bind hash buckets): bind conflicts,
    ephemeral ports, and the lookup of the socket an arriving connection or datagram is
    for."""

    def __init__(self, net: NetNamespace) -> None:
        self.net = net
        self.ports: dict[int, list[InetSock]] = {}

    def add(self, sk: InetSock, port: int) -> None:
        self.ports.setdefault(port, []).append(sk)

    def remove(self, sk: InetSock, port: int) -> None:
        socks = self.ports.get(port)
        if socks and sk in socks:
            socks.remove(sk)
            if not socks:
                del self.ports[port]

    def conflict(self, sk: InetSock, ip: bytes, port: int, listening: bool = False) -> bool:
        """inet_csk_bind_conflict / udp_lib_lport_inuse: another socket on the port whose
        address overlaps, unless both have SO_REUSEADDR (and, for TCP, neither listens) or
        both have SO_REUSEPORT and the same owner."""
        for other in self.ports.get(port, ()):
            if other is sk or not addrs_overlap(sk, ip, other, other.local[0]):
                continue
            reuse = sk.reuseaddr and other.reuseaddr
            if reuse and other.state != TCP_LISTEN:
                continue
            if sk.reuseport and other.reuseport and sk.owner_uid == other.owner_uid:
                continue
            return True
        return False

    def ephemeral(self, sk: InetSock, ip: bytes, parity: int) -> int:
        """A port from ip_local_port_range, from a random start: an unused one of the
        preferred parity (Linux: odd for bind(0), even for connect's autobind), else an
        unused one of the other, else one whose users do not conflict; EADDRINUSE when none
        is left."""
        low, high = IP_LOCAL_PORT_RANGE_LOW, IP_LOCAL_PORT_RANGE_HIGH
        span = high - low + 1
        start = self.net.kernel.rng.u64() % span
        ports = self.ports
        for want in (parity, parity ^ 1):
            for i in range(span):
                port = low + (start + i) % span
                if port & 1 == want and port not in ports:
                    return port
        for i in range(span):
            port = low + (start + i) % span
            if not self.conflict(sk, ip, port):
                return port
        raise KernelError(EADDRINUSE)

    def lookup(self, ip: bytes, port: int, accept: Callable[[InetSock], bool]) -> list[InetSock]:
        """The sockets on port that take traffic for ip (and that `accept` agrees to), best
        match first: a socket bound to ip itself before a wildcard, the newest first among
        equals (Linux's hash chains put new sockets at the head)."""
        found = []
        for sk in reversed(self.ports.get(port, ())):
            if not accept(sk) or not sk.takes(ip):
                continue
            score = 2 if sk.local[0] == ip else 1
            if sk.family == AF_INET:
                score += 1  # an IPv4 socket before an AF_INET6 one bound to ::
            found.append((score, sk))
        found.sort(key=lambda t: -t[0])
        return [sk for _, sk in found]


def addrs_overlap(a: InetSock, ip_a: bytes, b: InetSock, ip_b: bytes) -> bool:
    """Two bindings on one port that would take the same traffic (the address checks of
    inet_rcv_saddr_equal)."""
    if ip_a == ip_b:
        return True
    v6only_a = a.v6only and a.family == AF_INET6
    v6only_b = b.v6only and b.family == AF_INET6
    return _covers(ip_a, v6only_a, ip_b) or _covers(ip_b, v6only_b, ip_a)


def _covers(wild: bytes, v6only: bool, ip: bytes) -> bool:
    """Whether a binding to `wild` takes traffic for `ip`."""
    if wild == ANY6:
        return not (v6only and is_v4(ip))
    if wild == ANY4:
        return is_v4(ip)
    return False


class InetTables:
    """A namespace's TCP, UDP and UDP-Lite ports, and every socket (for /proc/net/tcp,
    udp and udplite)."""

    def __init__(self, net: NetNamespace) -> None:
        self.tcp = PortTable(net)
        self.udp = PortTable(net)
        self.udplite = PortTable(net)  # UDP-Lite's ports are its own (Linux's udplite_table)
        self.socks: dict[InetSock, None] = {}
        self.lo_packets = 0  # lo's counters (/proc/net/dev, IFLA_STATS): what was sent
        self.lo_bytes = 0
        self.udp_mibs = UdpMibs()  # /proc/net/snmp's Udp and UdpLite, snmp6's Udp6, UdpLite6
        self.tcp_mib = tcp_mib()  # /proc/net/snmp's Tcp (both IP versions)

    def lo_count(self, n: int) -> None:
        """One segment or datagram of n bytes through lo (with its IP and TCP/UDP
        headers, roughly)."""
        self.lo_packets += 1
        self.lo_bytes += n + 52


# ---- the socket -------------------------------------------------------------------------------


class InetSock(Sock):
    """What TCP and UDP sockets of both families share: the addresses, binding, the IP and
    IPv6 option levels."""

    proto_name = "?"

    def __init__(self, net: NetNamespace, family: int, type_: int, protocol: int,
                 task: Any) -> None:  # fmt: skip
        super().__init__(net, type_, protocol)
        self.family = family
        self.tables: InetTables = net.table(AF_INET)
        self.tables.socks[self] = None
        self.local: Addr = (ANY6 if family == AF_INET6 else ANY4, 0)
        self.remote: Addr | None = None
        self.bound_port = 0  # the port this socket holds in its table (0: none)
        self.user_bound = False  # bind() chose the port (a disconnect keeps it)
        self.bind_ip: bytes | None = None  # the address bind() chose
        self.owner_uid = task.cred.euid if task is not None else 0
        self.v6only = False
        self.ip: dict[int, int] = {}  # SOL_IP options kept and reported back
        self.ip6: dict[int, int] = {}  # SOL_IPV6 options
        self.ttl = -1  # IP_TTL: -1 is the default (64)
        self.tos = 0
        self.hops = -1  # IPV6_UNICAST_HOPS
        self.tclass = 0
        self.recverr = False
        self.dead = False

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def ports(self) -> PortTable:
        raise NotImplementedError

    @property
    def reuseaddr(self) -> bool:
        return bool(self.opts.get(SO_REUSEADDR))

    @property
    def reuseport(self) -> bool:
        return bool(self.opts.get(SO_REUSEPORT))

    def takes(self, ip: bytes) -> bool:
        """Whether traffic for ip reaches this socket's binding."""
        mine = self.local[0]
        if mine == ip:
            return True
        if self.family == AF_INET6 and self.v6only and is_v4(ip):
            return False
        return _covers(mine, False, ip)

    # --- names ---
    def getname(self, peer: bool) -> bytes:
        if peer:
            if self.remote is None or not self.peer_named():
                raise KernelError(ENOTCONN)
            return pack_addr(self.family, self.remote)
        return pack_addr(self.family, self.local)

    def peer_named(self) -> bool:
        return True

    def parse_addr(self, addr: bytes, for_bind: bool) -> tuple[bytes, int, int]:
        """The (address, port, scope id) of a sockaddr for this socket's family, with the
        length and family checks of inet_bind / inet6_bind (and their connect twins)."""
        if self.family == AF_INET:
            if len(addr) < SIZEOF_SOCKADDR_IN:
                raise KernelError(EINVAL)
            ip, port = parse_in(addr)
            fam = sa_family(addr)
            if fam != AF_INET:
                # inet_bind accepts AF_UNSPEC for INADDR_ANY (compatibility games)
                if not (for_bind and fam == AF_UNSPEC and ip == ANY4):
                    raise KernelError(EAFNOSUPPORT)
            return ip, port, 0
        if len(addr) < SIN6_LEN_RFC2133:
            raise KernelError(EINVAL)
        if sa_family(addr) != AF_INET6:
            raise KernelError(EAFNOSUPPORT)
        return parse_in6(addr)

    def bind(self, task: Any, addr: bytes) -> None:
        ip, port, scope = self.parse_addr(addr, True)
        if self.family == AF_INET6:
            self.check_bind6(ip, scope)
        elif not (ip == ANY4 or v4_local(ip) or v4_bcast(ip) or v4_mcast(ip)) \
                and not self.freebind():  # fmt: skip
            raise KernelError(EADDRNOTAVAIL)
        if port and port < PROT_SOCK and not capable(task):
            raise KernelError(EACCES)
        if self.bound_port or self.state != TCP_CLOSE:
            raise KernelError(EINVAL)
        self.bind_port(ip, port)
        self.user_bound = True
        self.bind_ip = ip

    def check_bind6(self, ip: bytes, scope: int) -> None:
        """inet6_bind's address checks."""
        if is_v4(ip):
            if self.v6only:
                raise KernelError(EINVAL)
            if not (ip == ANY4 or v4_local(ip) or v4_bcast(ip) or v4_mcast(ip)) \
                    and not self.freebind():  # fmt: skip
                raise KernelError(EADDRNOTAVAIL)
            return
        if ip == ANY6 or ip == LOOP6:
            return
        if needs_scope(ip):
            if not scope:
                raise KernelError(EINVAL)
            if scope != LO_IFINDEX:
                raise KernelError(ENODEV)
        if ip[0] == 0xFF:
            return  # multicast: no check
        if not self.freebind():
            raise KernelError(EADDRNOTAVAIL)

    def freebind(self) -> bool:
        return bool(self.ip.get(IP_FREEBIND) or self.ip.get(IP_TRANSPARENT)
                    or self.ip6.get(IPV6_FREEBIND))  # fmt: skip

    def bind_port(self, ip: bytes, port: int, parity: int = 1) -> None:
        """Take (ip, port) in the table: a free ephemeral port for 0, EADDRINUSE on a
        conflict."""
        table = self.ports
        if port == 0:
            port = table.ephemeral(self, ip, parity)
        elif table.conflict(self, ip, port):
            raise KernelError(EADDRINUSE)
        self.local = (ip, port)
        self.bound_port = port
        table.add(self, port)

    def autobind(self) -> None:
        """An ephemeral port for a socket that sends or connects unbound."""
        if not self.bound_port:
            self.bind_port(self.local[0], 0, parity=0)

    def unbind(self) -> None:
        if self.bound_port:
            self.ports.remove(self, self.bound_port)
            self.bound_port = 0

    def forget(self) -> None:
        """The socket is gone for good: out of its tables."""
        self.unbind()
        self.tables.socks.pop(self, None)
        self.dead = True

    # --- routes ---
    def route(self, ip: bytes) -> bytes:
        """The destination, with Linux's meaning for the unspecified address (connect to
        0.0.0.0 or :: reaches the loopback address); ENETUNREACH where lo has no route."""
        if ip == ANY4:
            return LOOP4
        if ip == ANY6:
            return LOOP4 if is_v4(self.local[0]) and self.family == AF_INET6 else LOOP6
        if local_addr(ip) or ip == BCAST_LO:
            return ip
        raise KernelError(ENETUNREACH)

    def source_for(self, dst: bytes) -> bytes:
        """The local address a connection or datagram to dst gets: the bound one, else
        lo's (127.0.0.1 for 127.0.0.0/8, ::1)."""
        mine = self.local[0]
        if not is_any(mine) and not v4_bcast(mine) and not v4_mcast(mine):
            return mine
        return LOOP4 if is_v4(dst) else LOOP6

    def check_dest_family(self, ip: bytes) -> None:
        """An AF_INET6 socket with IPV6_V6ONLY reaches no IPv4 address."""
        if self.family == AF_INET6 and is_v4(ip) and self.v6only:
            raise KernelError(ENETUNREACH)

    # --- the IP and IPv6 levels (do_ip_setsockopt / do_ipv6_setsockopt) ---
    def setsockopt(self, task: Any, level: int, name: int, value: bytes) -> None:
        if level == SOL_IP:
            self.set_ip(task, name, value)
        elif level == SOL_IPV6 and self.family == AF_INET6:
            self.set_ipv6(task, name, value)
        else:
            self.set_proto(task, level, name, value)

    def getsockopt(self, task: Any, level: int, name: int, size: int) -> bytes:
        if level == SOL_IP:
            return self.get_ip(name, size)
        if level == SOL_IPV6 and self.family == AF_INET6:
            return self.get_ipv6(name, size)
        return self.get_proto(task, level, name, size)

    def set_proto(self, task: Any, level: int, name: int, value: bytes) -> None:
        raise KernelError(ENOPROTOOPT)

    def get_proto(self, task: Any, level: int, name: int, size: int) -> bytes:
        raise self.no_level()

    def no_level(self) -> KernelError:
        """getsockopt at a level neither IP's nor the protocol's: ip_getsockopt says
        EOPNOTSUPP, ipv6_getsockopt ENOPROTOOPT."""
        return KernelError(EOPNOTSUPP if self.family == AF_INET else ENOPROTOOPT)

    def set_ip(self, task: Any, name: int, value: bytes) -> None:
        if name in (IP_OPTIONS, IP_RETOPTS):
            if len(value) > 40:
                raise KernelError(EINVAL)
            self.ip[name] = 0
            return
        if name not in _IP_INT_OPTS:
            raise KernelError(ENOPROTOOPT)
        val = _int_or_byte(value)
        if name == IP_TTL:
            if val != -1 and not 1 <= val <= 255:
                raise KernelError(EINVAL)
            self.ttl = val
        elif name == IP_TOS:
            if self.type == SOCK_STREAM:
                val = (val & ~3) | (self.tos & 3)
            self.tos = val & 0xFF
        elif name == IP_MTU_DISCOVER:
            if not 0 <= val <= IP_PMTUDISC_OMIT:
                raise KernelError(EINVAL)
            self.ip[name] = val
        elif name == IP_MULTICAST_TTL:
            if self.type == SOCK_STREAM:
                raise KernelError(EINVAL)
            if val == -1:
                val = 1
            if not 0 <= val <= 255:
                raise KernelError(EINVAL)
            self.ip[name] = val
        elif name == IP_MTU:
            raise KernelError(ENOPROTOOPT)
        elif name == IP_HDRINCL:
            if self.type != SOCK_RAW:
                raise KernelError(ENOPROTOOPT)
        elif name == IP_TRANSPARENT and not capable(task):
            raise KernelError(EPERM)
        else:
            self.ip[name] = 1 if val else 0
            if name == IP_RECVERR:
                self.recverr = bool(val)

    def get_ip(self, name: int, size: int) -> bytes:
        if name == IP_TTL:
            return _INT.pack(IPDEFTTL if self.ttl == -1 else self.ttl)
        if name == IP_TOS:
            return _INT.pack(self.tos)
        if name == IP_MTU:
            if self.remote is None or self.state == TCP_CLOSE and self.type == SOCK_STREAM:
                raise KernelError(ENOTCONN)
            return _INT.pack(IP_MTU_LO)
        if name in (IP_OPTIONS,):
            return b""
        if name == IP_MULTICAST_TTL:
            return _INT.pack(self.ip.get(name, 1))
        if name in (IP_MULTICAST_LOOP, IP_MULTICAST_ALL):
            return _INT.pack(self.ip.get(name, 1))
        if name == IP_MTU_DISCOVER:
            return _INT.pack(self.ip.get(name, 1))  # IP_PMTUDISC_WANT (ip_no_pmtu_disc 0)
        if name in _IP_INT_OPTS:
            return _INT.pack(self.ip.get(name, 0))
        raise KernelError(ENOPROTOOPT)

    def set_ipv6(self, task: Any, name: int, value: bytes) -> None:
        if name not in _IPV6_INT_OPTS:
            raise KernelError(ENOPROTOOPT)
        if len(value) < 4:
            raise KernelError(EINVAL)
        val = _INT.unpack_from(value)[0]
        if name == IPV6_V6ONLY:
            if self.bound_port or self.state != TCP_CLOSE:
                raise KernelError(EINVAL)
            self.v6only = bool(val)
        elif name in (IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS):
            if val > 255 or val < -1:
                raise KernelError(EINVAL)
            if name == IPV6_UNICAST_HOPS:
                self.hops = val
            else:
                self.ip6[name] = val
        elif name == IPV6_TCLASS:
            if val < -1 or val > 0xFF:
                raise KernelError(EINVAL)
            self.tclass = 0 if val == -1 else val
        elif name == IPV6_MTU_DISCOVER:
            if not 0 <= val <= IP_PMTUDISC_OMIT:
                raise KernelError(EINVAL)
            self.ip6[name] = val
        elif name == IPV6_MTU:
            if val and val < 1280:
                raise KernelError(EINVAL)
            self.ip6[name] = val
        else:
            self.ip6[name] = 1 if val else 0
            if name == IPV6_RECVERR:
                self.recverr = bool(val)

    def get_ipv6(self, name: int, size: int) -> bytes:
        if name == IPV6_V6ONLY:
            return _INT.pack(int(self.v6only))
        if name == IPV6_UNICAST_HOPS:
            return _INT.pack(IPDEFTTL if self.hops == -1 else self.hops)
        if name == IPV6_MULTICAST_HOPS:
            val = self.ip6.get(name, -1)
            return _INT.pack(1 if val == -1 else val)
        if name == IPV6_TCLASS:
            return _INT.pack(self.tclass)
        if name == IPV6_MTU:
            if self.remote is None:
                raise KernelError(ENOTCONN)
            return _INT.pack(IP_MTU_LO)
        if name == IPV6_MULTICAST_LOOP:
            return _INT.pack(self.ip6.get(name, 1))
        if name == IPV6_MTU_DISCOVER:
            return _INT.pack(self.ip6.get(name, 1))
        if name == IPV6_AUTOFLOWLABEL:
            return _INT.pack(self.ip6.get(name, 1 if self.type == SOCK_STREAM else 0))
        if name in _IPV6_INT_OPTS:
            return _INT.pack(self.ip6.get(name, 0))
        raise KernelError(ENOPROTOOPT)

    def ttl_or_default(self) -> int:
        return IPDEFTTL if self.ttl == -1 else self.ttl


def _int_or_byte(value: bytes) -> int:
    """ip_setsockopt's int-or-char options: an int from 4 bytes, a byte from fewer, EINVAL
    for none."""
    if len(value) >= 4:
        return _INT.unpack_from(value)[0]
    if len(value) >= 1:
        return value[0]
    raise KernelError(EINVAL)


_IP_INT_OPTS = frozenset((
    IP_TOS, IP_TTL, IP_HDRINCL, IP_RECVOPTS, IP_PKTINFO, IP_MTU_DISCOVER, IP_RECVERR,
    IP_RECVTTL, IP_RECVTOS, IP_MTU, IP_FREEBIND, IP_PASSSEC, IP_TRANSPARENT,
    IP_BIND_ADDRESS_NO_PORT, IP_RECVFRAGSIZE, IP_RECVERR_RFC4884, IP_MULTICAST_TTL,
    IP_MULTICAST_LOOP, IP_MULTICAST_ALL, IP_OPTIONS, IP_RETOPTS,
))  # fmt: skip
_IPV6_INT_OPTS = frozenset((
    IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_TCLASS,
    IPV6_RECVERR, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVTCLASS,
    IPV6_MTU_DISCOVER, IPV6_MTU, IPV6_AUTOFLOWLABEL, IPV6_FREEBIND, IPV6_RECVERR_RFC4884,
))  # fmt: skip


# ---- the families -----------------------------------------------------------------------------


class InetFamily(Family):
    """inet_create / inet6_create: SOCK_STREAM is TCP, SOCK_DGRAM UDP (or UDP-Lite when
    asked for); raw and ICMP sockets are not provided."""

    def __init__(self, family: int) -> None:
        self.family = family

    def create(self, net: NetNamespace, task: Any, type_: int, protocol: int) -> Sock:
        if protocol < 0 or protocol >= IPPROTO_MAX:
            raise KernelError(EINVAL)
        if type_ == SOCK_STREAM:
            if protocol not in (IPPROTO_IP, IPPROTO_TCP):
                raise KernelError(EPROTONOSUPPORT)
            return self.make(net, task, SOCK_STREAM, IPPROTO_TCP)
        if type_ == SOCK_DGRAM:
            if protocol == IPPROTO_ICMP and self.family == AF_INET:
                raise KernelError(EACCES)  # ping sockets: net.ipv4.ping_group_range "1 0"
            if protocol not in (IPPROTO_IP, IPPROTO_UDP, IPPROTO_UDPLITE):
                raise KernelError(EPROTONOSUPPORT)
            return self.make(net, task, SOCK_DGRAM, protocol or IPPROTO_UDP)
        if type_ == SOCK_RAW:
            raise KernelError(EPERM if not capable(task) else ESOCKTNOSUPPORT)
        raise KernelError(ESOCKTNOSUPPORT)

    def make(self, net: NetNamespace, task: Any, type_: int, protocol: int) -> Sock:
        mode = getattr(net.kernel.config, "net", "none")
        if mode == "host":
            from twaron.net import hostnet

            if net.kernel.det_net is not None:  # deterministic: inputs at input points
                from twaron.net.detnet import DetHostSock

                return DetHostSock(net, self.family, type_, protocol, task)
            return hostnet.HostSock(net, self.family, type_, protocol, task)
        if type_ == SOCK_STREAM:
            from twaron.net.tcp import TcpSock

            return TcpSock(net, self.family, task)
        from twaron.net.udp import UdpSock

        return UdpSock(net, self.family, task, protocol)

    def new_table(self, net: NetNamespace) -> Any:
        return InetTables(net) if self.family == AF_INET else None

    def proc_net(self, net: NetNamespace) -> dict[bytes, Callable[[], bytes]]:
        if self.family != AF_INET:
            return {}
        from twaron.net import procnet

        return procnet.files(net)


INET = register(InetFamily(AF_INET))
INET6 = register(InetFamily(AF_INET6))
__all__ = ["INET", "INET6", "InetSock", "pack_addr"]
assert TCP_ESTABLISHED and IPPROTO_UDP
