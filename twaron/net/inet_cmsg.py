"""The IP and IPv6 control messages of datagram sockets (Linux's ip_cmsg_send and
ip_cmsg_recv_offset in net/ipv4/ip_sockglue.c, ip6_datagram_send_ctl and
ip6_datagram_recv_ctl in net/ipv6/datagram.c).

There are no packets, so what a receiver may learn of a datagram's IP header travels with it
as a `Header`: the destination address, the TTL (hop limit) and the TOS (traffic class) the
sender's options or control messages gave it. The receiver's IP_RECVTTL, IP_RECVTOS,
IP_PKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS and IPV6_RECVPKTINFO, as they are when
recvmsg runs (Linux keeps the header with the datagram), choose the control messages, in
Linux's order.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from twaron.arch.x86_64.constants import (
    AF_INET6,
    IP_PKTINFO,
    IP_PROTOCOL,
    IP_RECVTOS,
    IP_RECVTTL,
    IP_RETOPTS,
    IP_TOS,
    IP_TTL,
    IPDEFTTL,
    IPV6_2292DSTOPTS,
    IPV6_2292HOPLIMIT,
    IPV6_2292HOPOPTS,
    IPV6_2292PKTINFO,
    IPV6_2292RTHDR,
    IPV6_DONTFRAG,
    IPV6_DSTOPTS,
    IPV6_FLOWINFO,
    IPV6_HOPLIMIT,
    IPV6_HOPOPTS,
    IPV6_PKTINFO,
    IPV6_RECVHOPLIMIT,
    IPV6_RECVPKTINFO,
    IPV6_RECVTCLASS,
    IPV6_RTHDR,
    IPV6_RTHDRDSTOPTS,
    IPV6_TCLASS,
    MAX_IPOPTLEN,
    SIZEOF_IN6_PKTINFO,
    SIZEOF_IN_PKTINFO,
    SOL_IP,
    SOL_IPV6,
    SOL_SOCKET,
    SOL_UDP,
    UDP_SEGMENT,
)
from twaron.arch.x86_64.errno import EINVAL, ENETUNREACH, ENODEV, EPERM
from twaron.errors import KernelError
from twaron.net.socket import capable, sock_cmsg

_INT = struct.Struct("<i")
LO_IFINDEX = 1
MAPPED = b"\0" * 10 + b"\xff\xff"
ANY6 = b"\0" * 16
LOOP6 = b"\0" * 15 + b"\1"
_EXT_HDRS = frozenset((IPV6_2292HOPOPTS, IPV6_HOPOPTS, IPV6_2292DSTOPTS, IPV6_DSTOPTS,
                       IPV6_RTHDRDSTOPTS))  # fmt: skip
_RTHDRS = frozenset((IPV6_2292RTHDR, IPV6_RTHDR))
FLOWINFO_MASK = 0x0FFF_FFFF  # the traffic class and flow label bits of the first word
IPV6_SRCRT_TYPE_2 = 2  # the Mobile IPv6 routing header, the one type sendmsg takes


class Header(NamedTuple):
    """What a receiver may learn of a datagram besides its bytes and its source."""

    dst: bytes  # the destination address (16 bytes, IPv4 as ::ffff:a.b.c.d)
    hops: int  # TTL or hop limit
    tclass: int  # TOS or traffic class
    cscov: int = 0  # UDP-Lite: the checksum coverage when partial (0: the whole datagram)


class Ipc:
    """What one sendmsg's control messages ask for (Linux's ipcm_cookie / ipcm6_cookie): a
    hop limit of -1 is "the socket's own setting", a traffic class of None too."""

    __slots__ = ("hops", "tclass", "src", "oif")

    def __init__(self) -> None:
        self.hops = -1
        self.tclass: int | None = None
        self.src: bytes | None = None  # a source address from a PKTINFO message
        self.oif = 0  # IPv4: the interface a PKTINFO message names (the route checks it)


def _int_msg(data: bytes) -> int:
    """The int of a message whose cmsg_len must be CMSG_LEN(sizeof(int))."""
    if len(data) != 4:
        raise KernelError(EINVAL)
    return _INT.unpack(data)[0]


def _check_ifindex(ifindex: int) -> None:
    if ifindex and ifindex != LO_IFINDEX:
        raise KernelError(ENODEV)


def route_v4(ipc: Ipc) -> None:
    """ip_route_output_key_hash_rcu's checks of what PKTINFO asked: the source address
    first (EINVAL for a multicast or limited broadcast one, ENETUNREACH for one that is not
    a local address of lo: lo's broadcast address is not), then the interface (ENODEV)."""
    src = ipc.src
    if src is not None and src[12:] == b"\0\0\0\0":
        ipc.src = src = None
    if src is not None:
        a = src[12]
        if a & 0xF0 == 0xE0 or src[12:] == b"\xff" * 4:
            raise KernelError(EINVAL)
        if a != 127 or src[13:] == b"\xff" * 3:
            raise KernelError(ENETUNREACH)
    _check_ifindex(ipc.oif)


def udp_cmsg_send(cmsgs: list[tuple[int, int, bytes]]) -> bool:
    """udp_cmsg_send: SOL_UDP takes only UDP_SEGMENT, a u16 (GSO is not modelled: the
    datagram goes whole); whether other levels' messages are left for IP."""
    need_ip = False
    for level, type_, data in cmsgs:
        if level != SOL_UDP:
            need_ip = True
        elif type_ != UDP_SEGMENT or len(data) != 2:
            raise KernelError(EINVAL)
    return need_ip


def send_ctl_v4(task: Any, cmsgs: list[tuple[int, int, bytes]], allow_ipv6: bool) -> Ipc:
    """ip_cmsg_send: SOL_IP messages (an AF_INET6 socket sending to an IPv4 address may also
    give an IPV6_PKTINFO with a mapped address) and SOL_SOCKET ones, in their order; the
    other levels are not IP's."""
    ipc = Ipc()
    for level, type_, data in cmsgs:
        if allow_ipv6 and level == SOL_IPV6 and type_ == IPV6_PKTINFO:
            if len(data) < SIZEOF_IN6_PKTINFO or data[:12] != MAPPED:
                raise KernelError(EINVAL)
            ipc.oif = _INT.unpack_from(data, 16)[0] or ipc.oif
            ipc.src = data[:16]
            continue
        if level == SOL_SOCKET:
            sock_cmsg(task, type_, data)
            continue
        if level != SOL_IP:
            continue
        if type_ == IP_RETOPTS:
            # ip_options_get of at most 40 bytes; checked, not carried (nothing reads them)
            if not ip_options_ok(data[:MAX_IPOPTLEN], capable(task)):
                raise KernelError(EINVAL)
            continue
        if type_ == IP_PKTINFO:
            if len(data) != SIZEOF_IN_PKTINFO:
                raise KernelError(EINVAL)
            ipc.oif = _INT.unpack_from(data)[0] or ipc.oif
            ipc.src = MAPPED + data[4:8]
        elif type_ in (IP_TTL, IP_PROTOCOL):
            val = _int_msg(data)
            if not 1 <= val <= 255:
                raise KernelError(EINVAL)
            if type_ == IP_TTL:
                ipc.hops = val
        elif type_ == IP_TOS:
            if len(data) == 4:
                val = _INT.unpack(data)[0]
            elif len(data) == 1:
                val = data[0]
            else:
                raise KernelError(EINVAL)
            if not 0 <= val <= 255:
                raise KernelError(EINVAL)
            ipc.tclass = val
        else:
            raise KernelError(EINVAL)
    return ipc


def send_ctl_v6(task: Any, cmsgs: list[tuple[int, int, bytes]]) -> Ipc:
    """ip6_datagram_send_ctl: SOL_IPV6 and SOL_SOCKET messages, in their order; any other
    level is not IPv6's."""
    ipc = Ipc()
    seen: set[int] = set()
    flowinfo = 0  # checked, not carried: no flow labels on lo
    for level, type_, data in cmsgs:
        if level == SOL_SOCKET:
            sock_cmsg(task, type_, data)
            continue
        if level != SOL_IPV6:
            continue
        if type_ in (IPV6_PKTINFO, IPV6_2292PKTINFO):
            if len(data) < SIZEOF_IN6_PKTINFO:
                raise KernelError(EINVAL)
            _check_ifindex(_INT.unpack_from(data, 16)[0])
            addr = data[:16]
            if addr != ANY6:
                if addr != LOOP6:
                    raise KernelError(EINVAL)  # not an address of this host
                ipc.src = addr
        elif type_ == IPV6_FLOWINFO:
            if len(data) < 4:
                raise KernelError(EINVAL)
            flow = int.from_bytes(data[:4], "big")
            if flowinfo & FLOWINFO_MASK and (flowinfo ^ flow) & ~FLOWINFO_MASK:
                raise KernelError(EINVAL)  # a second one with other version bits
            flowinfo = flow & FLOWINFO_MASK
        elif type_ in (IPV6_2292HOPLIMIT, IPV6_HOPLIMIT):
            val = _int_msg(data)
            if not -1 <= val <= 0xFF:
                raise KernelError(EINVAL)
            ipc.hops = val
        elif type_ == IPV6_TCLASS:
            val = _int_msg(data)
            if not -1 <= val <= 0xFF:
                raise KernelError(EINVAL)
            ipc.tclass = val
        elif type_ == IPV6_DONTFRAG:
            if not 0 <= _int_msg(data) <= 1:
                raise KernelError(EINVAL)
        elif type_ in _EXT_HDRS:
            _ext_hdr(task, type_, data, seen)
        elif type_ in _RTHDRS:
            _rthdr(data)
        else:
            raise KernelError(EINVAL)
    return ipc


def _ext_hdr(task: Any, type_: int, data: bytes, seen: set[int]) -> None:
    """An options header: as long as its own length says, CAP_NET_RAW; one hop-by-hop
    header per message (and one RFC 2292 destination header). Accepted, not carried:
    nothing on lo reads them."""
    slot = _OPT_SLOT[type_]
    once = type_ in (IPV6_2292HOPOPTS, IPV6_HOPOPTS, IPV6_2292DSTOPTS)
    if (once and slot in seen) or len(data) < 2 or len(data) < (data[1] + 1) * 8:
        raise KernelError(EINVAL)
    if not capable(task):
        raise KernelError(EPERM)
    seen.add(slot)


_OPT_SLOT = {IPV6_2292HOPOPTS: 0, IPV6_HOPOPTS: 0, IPV6_2292DSTOPTS: 1, IPV6_DSTOPTS: 1,
             IPV6_RTHDRDSTOPTS: 2}  # fmt: skip


def _rthdr(data: bytes) -> None:
    """A routing header: only type 2 (one segment, hdrlen 2) is taken."""
    if len(data) < 4 or data[2] != IPV6_SRCRT_TYPE_2 or data[1] != 2 or data[3] != 1:
        raise KernelError(EINVAL)
    if len(data) < (data[1] + 1) * 8:
        raise KernelError(EINVAL)


IPOPT_END, IPOPT_NOOP, IPOPT_RR, IPOPT_TIMESTAMP = 0, 1, 7, 68
IPOPT_LSRR, IPOPT_SSRR, IPOPT_RA, IPOPT_CIPSO = 131, 137, 148, 134
IPOPT_TS_TSONLY, IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC = 0, 1, 3


def ip_options_ok(data: bytes, admin: bool) -> bool:
    """ip_options_get / __ip_options_compile for options a program gives (no packet): padded
    with IPOPT_END to a multiple of 4, each option's length within the rest, source routes,
    record-route and timestamp options well formed and once each, CIPSO never (no DOI is
    configured), unknown options only with CAP_NET_RAW."""
    opt = bytearray(data) + b"\0" * (-len(data) % 4)
    seen: set[int] = set()
    i = 0
    while i < len(opt):
        kind = opt[i]
        if kind == IPOPT_END:
            return True
        if kind == IPOPT_NOOP:
            i += 1
            continue
        left = len(opt) - i
        if left < 2 or not 2 <= opt[i + 1] <= left:
            return False
        if not _option_ok(kind, bytes(opt[i : i + opt[i + 1]]), seen, admin):
            return False
        i += opt[i + 1]
    return True


def _option_ok(kind: int, o: bytes, seen: set[int], admin: bool) -> bool:
    n = len(o)
    if kind in (IPOPT_LSRR, IPOPT_SSRR):
        if n < 3 or o[2] < 4 or IPOPT_LSRR in seen:
            return False
        seen.add(IPOPT_LSRR)  # one source route, loose or strict
        return o[2] == 4 and n >= 7 and (n - 3) & 3 == 0
    if kind == IPOPT_RR:
        if kind in seen or n < 3 or o[2] < 4 or (o[2] <= n and o[2] + 3 > n):
            return False
    elif kind == IPOPT_TIMESTAMP:
        if kind in seen or n < 4 or o[2] < 5:
            return False
        flag = o[3] & 0xF
        if o[2] <= n:
            if o[2] + 3 > n:
                return False
            if flag in (IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC):
                if o[2] + 7 > n:
                    return False
            elif flag != IPOPT_TS_TSONLY and not admin:
                return False
        elif flag != IPOPT_TS_PRESPEC and o[3] >> 4 == 15:
            return False
    elif kind == IPOPT_RA:
        return n >= 4
    elif kind == IPOPT_CIPSO:
        return False
    elif not admin:
        return False
    seen.add(kind)
    return True


# ---- receiving ----------------------------------------------------------------------------


def recv_ctl(sk: Any, hdr: Header) -> list[tuple[int, int, bytes]]:
    """The control messages recvmsg gives for a datagram (udp_recvmsg / udpv6_recvmsg): on
    an AF_INET6 socket IPV6_PKTINFO first, then the IPv4 messages for a datagram that came
    over IPv4, the IPv6 ones for the others."""
    out: list[tuple[int, int, bytes]] = []
    v4 = hdr.dst[:12] == MAPPED
    ip6 = sk.ip6
    if sk.family == AF_INET6 and ip6.get(IPV6_RECVPKTINFO):
        out.append((SOL_IPV6, IPV6_PKTINFO, hdr.dst + _INT.pack(LO_IFINDEX)))
    if v4:
        ip = sk.ip
        if ip.get(IP_PKTINFO):
            dst = hdr.dst[12:]
            out.append((SOL_IP, IP_PKTINFO, _INT.pack(LO_IFINDEX) + dst + dst))
        if ip.get(IP_RECVTTL):
            out.append((SOL_IP, IP_TTL, _INT.pack(hdr.hops)))
        if ip.get(IP_RECVTOS):
            out.append((SOL_IP, IP_TOS, bytes((hdr.tclass & 0xFF,))))
        return out
    if ip6.get(IPV6_RECVHOPLIMIT):
        out.append((SOL_IPV6, IPV6_HOPLIMIT, _INT.pack(hdr.hops)))
    if ip6.get(IPV6_RECVTCLASS):
        out.append((SOL_IPV6, IPV6_TCLASS, _INT.pack(hdr.tclass)))
    return out


def header_for(sk: Any, ipc: Ipc, dst: bytes) -> Header:
    """The header a datagram from sk to dst gets: the message's values, else the socket's
    (IP_TTL / IPV6_UNICAST_HOPS, IP_TOS / IPV6_TCLASS), else the route's (64, 0)."""
    if dst[:12] == MAPPED:
        hops = ipc.hops if ipc.hops > 0 else sk.ttl_or_default()
        tos = sk.tos if ipc.tclass is None else ipc.tclass
        return Header(dst, hops, tos)
    hops = ipc.hops if ipc.hops >= 0 else (sk.hops if sk.hops >= 0 else IPDEFTTL)
    # IPV6_TCLASS -1 in a message is not the default: Linux 6.18 sends it as 0xff (its
    # ip6_datagram_send_ctl keeps -1 and only the low byte reaches the header)
    tclass = sk.tclass if ipc.tclass is None else ipc.tclass & 0xFF
    return Header(dst, hops, tclass)
