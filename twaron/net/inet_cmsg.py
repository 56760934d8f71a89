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
    SIZEOF_IN6_PKTINFO,
    SIZEOF_IN_PKTINFO,
    SOL_IP,
    SOL_IPV6,
)
from twaron.arch.x86_64.errno import EINVAL, ENODEV, EPERM
from twaron.errors import KernelError
from twaron.net.socket import capable

_INT = struct.Struct("<i")
LO_IFINDEX = 1
MAPPED = b"\0" * 10 + b"\xff\xff"
ANY6 = b"\0" * 16
LOOP6 = b"\0" * 15 + b"\1"
_EXT_HDRS = frozenset((IPV6_2292HOPOPTS, IPV6_HOPOPTS, IPV6_2292DSTOPTS, IPV6_DSTOPTS,
                       IPV6_RTHDRDSTOPTS))  # fmt: skip
_RTHDRS = frozenset((IPV6_2292RTHDR, IPV6_RTHDR))
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

    __slots__ = ("hops", "tclass", "src")

    def __init__(self) -> None:
        self.hops = -1
        self.tclass: int | None = None
        self.src: bytes | None = None  # a source address from a PKTINFO message


def _int_msg(data: bytes) -> int:
    """The int of a message whose cmsg_len must be CMSG_LEN(sizeof(int))."""
    if len(data) != 4:
        raise KernelError(EINVAL)
    return _INT.unpack(data)[0]


def _check_ifindex(ifindex: int) -> None:
    if ifindex and ifindex != LO_IFINDEX:
        raise KernelError(ENODEV)


def send_ctl_v4(cmsgs: list[tuple[int, int, bytes]], allow_ipv6: bool) -> Ipc:
    """ip_cmsg_send: SOL_IP messages (an AF_INET6 socket sending to an IPv4 address may also
    give an IPV6_PKTINFO with a mapped address); the other levels are not IP's."""
    ipc = Ipc()
    for level, type_, data in cmsgs:
        if allow_ipv6 and level == SOL_IPV6 and type_ == IPV6_PKTINFO:
            if len(data) < SIZEOF_IN6_PKTINFO or data[:12] != MAPPED:
                raise KernelError(EINVAL)
            _check_ifindex(_INT.unpack_from(data, 16)[0])
            ipc.src = data[:16]
            continue
        if level != SOL_IP:
            continue
        if type_ == IP_RETOPTS:
            continue  # options are not modelled: an IP header without them
        if type_ == IP_PKTINFO:
            if len(data) != SIZEOF_IN_PKTINFO:
                raise KernelError(EINVAL)
            _check_ifindex(_INT.unpack_from(data)[0])
            spec_dst = data[4:8]
            if spec_dst != b"\0\0\0\0":
                ipc.src = MAPPED + spec_dst
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
    """ip6_datagram_send_ctl: SOL_IPV6 messages; any other level is not IPv6's."""
    ipc = Ipc()
    seen: set[int] = set()
    for level, type_, data in cmsgs:
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
