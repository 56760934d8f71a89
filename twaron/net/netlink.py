"""AF_NETLINK, NETLINK_ROUTE only (Linux's net/netlink/af_netlink.c and the dump side of
net/core/rtnetlink.c): enough for glibc's getifaddrs and getaddrinfo's AI_ADDRCONFIG, `ip
link`, `ip addr`.

A socket's port id is its process's tgid for the first one bound (autobind at the first
send or bind with nl_pid 0), a negative number from -4096 down for the others. A request
(NLM_F_REQUEST) to the kernel (nl_pid 0) is answered at once into the sender's queue, one
datagram per reply as Linux's dumps send them: RTM_GETLINK, RTM_GETADDR (IPv4 and IPv6),
RTM_GETROUTE (lo's routes) with NLM_F_DUMP give their NEW* messages (NLM_F_MULTI) and then
NLMSG_DONE; each reply carries the request's sequence number and the requester's port id.
Other requests get NLMSG_ERROR (EOPNOTSUPP; 0 as the ACK of a request with NLM_F_ACK).
Multicast groups are kept but nothing is ever broadcast (the interfaces never change).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_UNSPEC,
    ARPHRD_LOOPBACK,
    IF_OPER_UNKNOWN,
    IFA_ADDRESS,
    IFA_CACHEINFO,
    IFA_F_PERMANENT,
    IFA_FLAGS,
    IFA_LABEL,
    IFA_LOCAL,
    IFLA_ADDRESS,
    IFLA_BROADCAST,
    IFLA_CARRIER,
    IFLA_GROUP,
    IFLA_IFNAME,
    IFLA_LINKMODE,
    IFLA_MAX_MTU,
    IFLA_MIN_MTU,
    IFLA_MTU,
    IFLA_NUM_RX_QUEUES,
    IFLA_NUM_TX_QUEUES,
    IFLA_OPERSTATE,
    IFLA_PROMISCUITY,
    IFLA_QDISC,
    IFLA_STATS,
    IFLA_STATS64,
    IFLA_TXQLEN,
    LO_MTU,
    LO_TXQLEN,
    MAX_LINKS,
    MSG_DONTWAIT,
    MSG_PEEK,
    MSG_TRUNC,
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    RT_SCOPE_HOST,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTA_DST,
    RTA_OIF,
    RTA_PREFSRC,
    RTA_PRIORITY,
    RTA_TABLE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_UNICAST,
    RTPROT_KERNEL,
    SOCK_DGRAM,
    SOCK_RAW,
    SOL_NETLINK,
)
from twaron.arch.x86_64.errno import (
    EADDRINUSE,
    EAGAIN,
    ECONNREFUSED,
    EINVAL,
    ENODEV,
    ENOPROTOOPT,
    EOPNOTSUPP,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
)
from twaron.errors import KernelError
from twaron.net import netdev
from twaron.net.socket import Family, NetNamespace, RecvResult, SendMsg, Sink, Sock, register
from twaron.wait import EVENT_ERR, EVENT_HUP, EVENT_IN

_NLMSGHDR = struct.Struct("<IHHII")  # len, type, flags, seq, pid
_SOCKADDR_NL = struct.Struct("<HHII")  # family, pad, pid, groups
_INT = struct.Struct("<i")
NLMSG_HDRLEN = 16
NLMSG_MIN_TYPE = 0x10


def _align(n: int) -> int:
    return (n + 3) & ~3


def nla(type_: int, payload: bytes) -> bytes:
    data = struct.pack("<HH", 4 + len(payload), type_) + payload
    return data + b"\0" * (_align(len(data)) - len(data))


def nlmsg(type_: int, flags: int, seq: int, pid: int, body: bytes) -> bytes:
    data = _NLMSGHDR.pack(NLMSG_HDRLEN + len(body), type_, flags, seq, pid) + body
    return data + b"\0" * (_align(len(data)) - len(data))


# ---- what rtnetlink reports -------------------------------------------------------------------


def link_msg(net: NetNamespace, flags: int, seq: int, pid: int) -> bytes:
    """RTM_NEWLINK for lo (rtnl_fill_ifinfo's attributes that programs read)."""
    tables = net.table(AF_INET)
    b, p = tables.lo_bytes, tables.lo_packets
    stats = [p, p, b, b] + [0] * 20  # rx/tx packets, rx/tx bytes, then the errors
    body = struct.pack("<BBHiII", AF_UNSPEC, 0, ARPHRD_LOOPBACK, netdev.LO_INDEX,
                       netdev.LO_FLAGS, 0)  # fmt: skip
    body += nla(IFLA_IFNAME, netdev.LO_NAME + b"\0")
    body += nla(IFLA_TXQLEN, struct.pack("<I", LO_TXQLEN))
    body += nla(IFLA_OPERSTATE, bytes((IF_OPER_UNKNOWN,)))
    body += nla(IFLA_LINKMODE, b"\0")
    body += nla(IFLA_MTU, struct.pack("<I", LO_MTU))
    body += nla(IFLA_MIN_MTU, struct.pack("<I", 0))
    body += nla(IFLA_MAX_MTU, struct.pack("<I", 0))
    body += nla(IFLA_GROUP, struct.pack("<I", 0))
    body += nla(IFLA_PROMISCUITY, struct.pack("<I", 0))
    body += nla(IFLA_NUM_TX_QUEUES, struct.pack("<I", 1))
    body += nla(IFLA_NUM_RX_QUEUES, struct.pack("<I", 1))
    body += nla(IFLA_CARRIER, b"\1")
    body += nla(IFLA_QDISC, b"noqueue\0")
    body += nla(IFLA_STATS, struct.pack("<24I", *(v & 0xFFFF_FFFF for v in stats)))
    body += nla(IFLA_ADDRESS, b"\0" * 6)
    body += nla(IFLA_BROADCAST, b"\0" * 6)
    body += nla(IFLA_STATS64, struct.pack("<24Q", *stats))
    return nlmsg(RTM_NEWLINK, flags, seq, pid, body)


def addr_msgs(family: int, flags: int, seq: int, pid: int) -> list[bytes]:
    """RTM_NEWADDR for 127.0.0.1/8 and ::1/128 (inet_fill_ifaddr, inet6_fill_ifaddr)."""
    cache = struct.pack("<IIII", 0xFFFF_FFFF, 0xFFFF_FFFF, 0, 0)
    out = []
    if family in (AF_UNSPEC, AF_INET):
        body = struct.pack("<BBBBI", AF_INET, 8, IFA_F_PERMANENT, RT_SCOPE_HOST, netdev.LO_INDEX)
        body += nla(IFA_ADDRESS, netdev.LO_ADDR4) + nla(IFA_LOCAL, netdev.LO_ADDR4)
        body += nla(IFA_LABEL, netdev.LO_NAME + b"\0")
        body += nla(IFA_FLAGS, struct.pack("<I", IFA_F_PERMANENT))
        body += nla(IFA_CACHEINFO, cache)
        out.append(nlmsg(RTM_NEWADDR, flags, seq, pid, body))
    if family in (AF_UNSPEC, AF_INET6):
        body = struct.pack("<BBBBI", AF_INET6, 128, IFA_F_PERMANENT, RT_SCOPE_HOST,
                           netdev.LO_INDEX)  # fmt: skip
        body += nla(IFA_ADDRESS, netdev.LO_ADDR6) + nla(IFA_CACHEINFO, cache)
        body += nla(IFA_FLAGS, struct.pack("<I", IFA_F_PERMANENT))
        out.append(nlmsg(RTM_NEWADDR, flags, seq, pid, body))
    return out


def route_msgs(family: int, flags: int, seq: int, pid: int) -> list[bytes]:
    """lo's routes: the local table's 127.0.0.0/8, 127.0.0.1 and 127.255.255.255, and ::1."""
    out = []
    oif = nla(RTA_OIF, struct.pack("<I", netdev.LO_INDEX))
    if family in (AF_UNSPEC, AF_INET):
        for dst, plen, rtype, scope in ((bytes((127, 0, 0, 0)), 8, RTN_LOCAL, RT_SCOPE_HOST),
                                        (netdev.LO_ADDR4, 32, RTN_LOCAL, RT_SCOPE_HOST),
                                        (bytes((127, 255, 255, 255)), 32, RTN_BROADCAST,
                                         253)):  # fmt: skip
            body = struct.pack("<BBBBBBBBI", AF_INET, plen, 0, 0, RT_TABLE_LOCAL,
                               RTPROT_KERNEL, scope, rtype, 0)  # fmt: skip
            body += nla(RTA_TABLE, struct.pack("<I", RT_TABLE_LOCAL)) + nla(RTA_DST, dst)
            body += nla(RTA_PREFSRC, netdev.LO_ADDR4) + oif
            out.append(nlmsg(RTM_NEWROUTE, flags, seq, pid, body))
    if family in (AF_UNSPEC, AF_INET6):
        body = struct.pack("<BBBBBBBBI", AF_INET6, 128, 0, 0, RT_TABLE_MAIN, RTPROT_KERNEL,
                           RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)  # fmt: skip
        body += nla(RTA_TABLE, struct.pack("<I", RT_TABLE_MAIN))
        body += nla(RTA_DST, netdev.LO_ADDR6) + nla(RTA_PRIORITY, struct.pack("<I", 256)) + oif
        out.append(nlmsg(RTM_NEWROUTE, flags, seq, pid, body))
    return out


def error_msg(err: int, req: bytes, seq: int, pid: int) -> bytes:
    """NLMSG_ERROR: the negative errno (0 for an ACK) and the request's header."""
    return nlmsg(NLMSG_ERROR, 0, seq, pid, _INT.pack(-err) + req[:NLMSG_HDRLEN])


# ---- the family and its sockets ----------------------------------------------------------------


class NetlinkTable:
    def __init__(self) -> None:
        self.ports: dict[int, NetlinkSock] = {}
        self.next_rover = -4096


class NetlinkFamily(Family):
    family = AF_NETLINK

    def create(self, net: NetNamespace, task: Any, type_: int, protocol: int) -> Sock:
        if type_ not in (SOCK_RAW, SOCK_DGRAM):
            raise KernelError(ESOCKTNOSUPPORT)
        if protocol < 0 or protocol >= MAX_LINKS or protocol != NETLINK_ROUTE:
            raise KernelError(EPROTONOSUPPORT)
        return NetlinkSock(net, type_, protocol)

    def new_table(self, net: NetNamespace) -> NetlinkTable:
        return NetlinkTable()


class NetlinkSock(Sock):
    family = AF_NETLINK

    def __init__(self, net: NetNamespace, type_: int, protocol: int) -> None:
        super().__init__(net, type_, protocol)
        self.table: NetlinkTable = net.table(AF_NETLINK)
        self.portid = 0
        self.groups = 0
        self.dst_portid = 0
        self.dst_group = 0
        self.queue: deque[bytes] = deque()
        self.nl_opts: dict[int, int] = {}

    def autobind(self, task: Any) -> None:
        """netlink_autobind: the tgid if free, else -4096, -4097, ..."""
        if self.portid:
            return
        pid = task.group.pid
        if pid in self.table.ports:
            pid = self.table.next_rover
            while pid in self.table.ports:
                pid -= 1
            self.table.next_rover = pid - 1
        self.portid = pid
        self.table.ports[pid] = self

    def bind(self, task: Any, addr: bytes) -> None:
        family, pid, groups = self._parse(addr)
        if self.portid:
            if pid and pid != self.portid:
                raise KernelError(EINVAL)
        elif pid:
            if pid in self.table.ports:
                raise KernelError(EADDRINUSE)
            self.portid = pid
            self.table.ports[pid] = self
        else:
            self.autobind(task)
        self.groups = groups

    def _parse(self, addr: bytes) -> tuple[int, int, int]:
        if len(addr) < _SOCKADDR_NL.size:
            raise KernelError(EINVAL)
        family, _pad, pid, groups = _SOCKADDR_NL.unpack_from(addr)
        if family != AF_NETLINK:
            raise KernelError(EINVAL)
        return family, pid & 0xFFFF_FFFF, groups

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        if len(addr) < 2:
            raise KernelError(EINVAL)
        if int.from_bytes(addr[:2], "little") == AF_UNSPEC:
            self.dst_portid = self.dst_group = 0
            return
        _, pid, groups = self._parse(addr)
        self.autobind(task)
        self.dst_portid = pid
        self.dst_group = groups

    def getname(self, peer: bool) -> bytes:
        if peer:
            return _SOCKADDR_NL.pack(AF_NETLINK, 0, self.dst_portid, self.dst_group)
        return _SOCKADDR_NL.pack(AF_NETLINK, 0, self.portid & 0xFFFF_FFFF, self.groups)

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        dst = self.dst_portid
        if msg.addr:
            _, dst, _groups = self._parse(msg.addr)
        self.autobind(task)
        if dst:
            other = self.table.ports.get(dst)
            if other is None:
                raise KernelError(ECONNREFUSED)
            other.enqueue(msg.data)
            return len(msg.data)
        self.rtnetlink(msg.data)
        return len(msg.data)

    def enqueue(self, data: bytes) -> None:
        self.queue.append(data)
        self.notify(EVENT_IN)

    def rtnetlink(self, data: bytes) -> None:
        """netlink_rcv_skb: each message in turn; a malformed one ends the batch."""
        pos = 0
        while pos + NLMSG_HDRLEN <= len(data):
            length, type_, flags, seq, _pid = _NLMSGHDR.unpack_from(data, pos)
            if length < NLMSG_HDRLEN or length > len(data) - pos:
                return
            req = data[pos : pos + length]
            pos += _align(length)
            if not flags & NLM_F_REQUEST or type_ < NLMSG_MIN_TYPE:
                continue
            self.request(type_, flags, seq, req)

    def request(self, type_: int, flags: int, seq: int, req: bytes) -> None:
        pid = self.portid & 0xFFFF_FFFF
        family = req[NLMSG_HDRLEN] if len(req) > NLMSG_HDRLEN else AF_UNSPEC
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        if type_ == RTM_GETLINK:
            if not dump:
                index = struct.unpack_from("<i", req, NLMSG_HDRLEN + 4)[0] \
                    if len(req) >= NLMSG_HDRLEN + 8 else 0  # fmt: skip
                if index not in (0, netdev.LO_INDEX):
                    self.enqueue(error_msg(ENODEV, req, seq, pid))
                    return
                self.enqueue(link_msg(self.net, 0, seq, pid))
            else:
                self.enqueue(link_msg(self.net, NLM_F_MULTI, seq, pid))
        elif type_ == RTM_GETADDR and dump:
            self.enqueue(b"".join(addr_msgs(family, NLM_F_MULTI, seq, pid)))
        elif type_ == RTM_GETROUTE and dump:
            self.enqueue(b"".join(route_msgs(family, NLM_F_MULTI, seq, pid)))
        else:
            self.enqueue(error_msg(EOPNOTSUPP, req, seq, pid))
            return
        if dump:
            self.enqueue(nlmsg(NLMSG_DONE, NLM_F_MULTI, seq, pid, _INT.pack(0)))
        elif flags & NLM_F_ACK:
            self.enqueue(error_msg(0, req, seq, pid))

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        """netlink_recvmsg: one datagram (MSG_TRUNC when cut; MSG_TRUNC in flags returns
        its whole length); the source is the kernel."""
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        while not self.queue:
            err = self.sock_error()
            if err:
                raise KernelError(err)
            self.would_block(deadline)
            ok = self.sleep(((self.wait, EVENT_IN | EVENT_HUP | EVENT_ERR),),
                            lambda: self.queue or self.err, deadline)  # fmt: skip
            if ok is None:
                raise KernelError(EAGAIN)
        data = self.queue[0] if flags & MSG_PEEK else self.queue.popleft()
        n = min(len(data), sink.size)
        sink.put(data[:n])
        addr = _SOCKADDR_NL.pack(AF_NETLINK, 0, 0, 0) if want_addr else None
        return RecvResult(len(data) if flags & MSG_TRUNC else n, addr,
                          MSG_TRUNC if n < len(data) else 0)  # fmt: skip

    def poll(self) -> int:
        mask = POLLOUT | POLLWRNORM
        if self.queue:
            mask |= POLLIN | POLLRDNORM
        return mask

    def inq_len(self) -> int:
        return len(self.queue[0]) if self.queue else 0

    def release(self) -> None:
        if self.portid and self.table.ports.get(self.portid) is self:
            del self.table.ports[self.portid]
        self.queue.clear()

    def setsockopt(self, task: Any, level: int, name: int, value: bytes) -> None:
        if level != SOL_NETLINK:
            raise KernelError(ENOPROTOOPT)
        if len(value) < 4:
            raise KernelError(EINVAL)
        if not 1 <= name <= 12:
            raise KernelError(ENOPROTOOPT)
        self.nl_opts[name] = _INT.unpack_from(value)[0]

    def getsockopt(self, task: Any, level: int, name: int, size: int) -> bytes:
        if level != SOL_NETLINK or not 1 <= name <= 12:
            raise KernelError(ENOPROTOOPT)
        if size < 4:
            raise KernelError(EINVAL)
        return _INT.pack(1 if self.nl_opts.get(name) else 0)


NETLINK = register(NetlinkFamily())
__all__ = ["NETLINK", "NetlinkSock"]
