"""The network devices: lo only (Linux's net/core/dev_ioctl.c and devinet_ioctl). What the
interface ioctls answer on any socket (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME,
SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC) and on AF_INET sockets
(SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR), and what rtnetlink reports
(netlink.py) comes from here."""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    ARPHRD_LOOPBACK,
    IFF_LOOPBACK,
    IFF_LOWER_UP,
    IFF_RUNNING,
    IFF_UP,
    IFNAMSIZ,
    LO_MTU,
    LO_TXQLEN,
    SIOCGIFADDR,
    SIOCGIFBRDADDR,
    SIOCGIFCONF,
    SIOCGIFDSTADDR,
    SIOCGIFFLAGS,
    SIOCGIFHWADDR,
    SIOCGIFINDEX,
    SIOCGIFMETRIC,
    SIOCGIFMTU,
    SIOCGIFNAME,
    SIOCGIFNETMASK,
    SIOCGIFTXQLEN,
    SIOCSIFFLAGS,
    SIZEOF_IFREQ,
)
from twaron.arch.x86_64.errno import EADDRNOTAVAIL, ENODEV, ENOTTY, EPERM
from twaron.errors import KernelError

LO_NAME = b"lo"
LO_INDEX = 1
LO_FLAGS = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
LO_ADDR4 = bytes((127, 0, 0, 1))
LO_MASK4 = bytes((255, 0, 0, 0))
LO_ADDR6 = b"\0" * 15 + b"\1"

DEV_IOCTLS = frozenset((
    SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFMTU,
    SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR,
    SIOCGIFDSTADDR,
))  # fmt: skip
_INET_ONLY = frozenset((SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR))


def sockaddr_in(addr: bytes) -> bytes:
    return struct.pack("<HH", AF_INET, 0) + addr + b"\0" * 8


def dev_ioctl(task: Any, family: int, cmd: int, arg: int) -> int:
    """An interface ioctl on a socket of `family`; the ifreq (or ifconf) at arg."""
    mm = task.mm
    if cmd == SIOCGIFCONF:
        return _ifconf(task, arg)
    if cmd in _INET_ONLY and family != AF_INET:
        raise KernelError(ENOTTY)
    req = bytearray(mm.copy_in(arg, SIZEOF_IFREQ))
    name = bytes(req[:IFNAMSIZ - 1]).split(b"\0", 1)[0]
    if cmd == SIOCGIFNAME:
        index = struct.unpack_from("<i", req, IFNAMSIZ)[0]
        if index != LO_INDEX:
            raise KernelError(ENODEV)
        mm.copy_out(arg, LO_NAME.ljust(IFNAMSIZ, b"\0"))
        return 0
    if name.split(b":", 1)[0] != LO_NAME:
        raise KernelError(ENODEV)
    if cmd == SIOCSIFFLAGS:
        if task.cred.euid != 0:
            raise KernelError(EPERM)
        return 0  # lo stays up
    if name != LO_NAME and cmd in _INET_ONLY:
        raise KernelError(EADDRNOTAVAIL)  # no alias lo:N exists
    out = _answer(cmd)
    mm.copy_out(arg + IFNAMSIZ, out)
    return 0


def _answer(cmd: int) -> bytes:
    if cmd == SIOCGIFFLAGS:
        return struct.pack("<H", LO_FLAGS & 0xFFFF)
    if cmd == SIOCGIFINDEX:
        return struct.pack("<i", LO_INDEX)
    if cmd == SIOCGIFMTU:
        return struct.pack("<i", LO_MTU)
    if cmd == SIOCGIFTXQLEN:
        return struct.pack("<i", LO_TXQLEN)
    if cmd == SIOCGIFMETRIC:
        return struct.pack("<i", 0)
    if cmd == SIOCGIFHWADDR:
        return struct.pack("<H", ARPHRD_LOOPBACK) + b"\0" * 14
    if cmd in (SIOCGIFADDR, SIOCGIFDSTADDR):
        return sockaddr_in(LO_ADDR4)
    if cmd == SIOCGIFNETMASK:
        return sockaddr_in(LO_MASK4)
    if cmd == SIOCGIFBRDADDR:
        return sockaddr_in(b"\0\0\0\0")
    raise KernelError(ENOTTY)


def _ifconf(task: Any, arg: int) -> int:
    """dev_ifconf: one struct ifreq per IPv4 address (lo's 127.0.0.1); with a NULL buffer,
    the length needed."""
    mm = task.mm
    length, buf = struct.unpack("<i4xQ", mm.copy_in(arg, 16))
    entry = LO_NAME.ljust(IFNAMSIZ, b"\0") + sockaddr_in(LO_ADDR4).ljust(SIZEOF_IFREQ - IFNAMSIZ,
                                                                          b"\0")  # fmt: skip
    if not buf:
        done = len(entry)
    else:
        done = 0
        if length >= len(entry):
            mm.copy_out(buf, entry)
            done = len(entry)
    mm.copy_out(arg, struct.pack("<i", done))
    return 0
