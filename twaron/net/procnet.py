"""/proc/net/tcp, tcp6, udp, udp6, udplite, udplite6 and dev, in the columns Linux prints
(tcp4_seq_show, tcp6_seq_show, udp4_format_sock, udp6_seq_show, dev_seq_show); snmp and snmp6
come from twaron/net/snmp.py. Addresses are printed as Linux prints them: each 32-bit word of
the network-order address as a native (little-endian) hex number, the port in host order.
Kernel pointers show as zeros (kptr_restrict)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import AF_INET, AF_INET6, TCP_LISTEN
from twaron.net import snmp
from twaron.net.socket import NetNamespace

TMPSZ = 150  # the width /proc/net/tcp pads its lines to (less the newline)
UDP_WIDTH = 127
TCP_HEADER = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"  # noqa: E501
TCP6_HEADER = b"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"  # noqa: E501
UDP_HEADER = b"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"  # noqa: E501
UDP6_HEADER = b"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"  # noqa: E501
DEV_HEADER = (b"Inter-|   Receive                                                |  Transmit\n"
              b" face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
              b"packets errs drop fifo colls carrier compressed\n")  # fmt: skip


def files(net: NetNamespace) -> dict[bytes, Callable[[], bytes]]:
    return {
        b"tcp": lambda: tcp(net, AF_INET),
        b"tcp6": lambda: tcp(net, AF_INET6),
        b"udp": lambda: udp(net, AF_INET),
        b"udp6": lambda: udp(net, AF_INET6),
        b"udplite": lambda: udp(net, AF_INET, "udplite"),
        b"udplite6": lambda: udp(net, AF_INET6, "udplite"),
        b"dev": lambda: dev(net),
        b"snmp": lambda: snmp.snmp(net.table(AF_INET).udp_mibs, net.table(AF_INET).tcp_mib),
        b"snmp6": lambda: snmp.snmp6(net.table(AF_INET).udp_mibs),
        b"if_inet6": lambda: b"%s %02x %02x %02x %02x %8s\n" % (
            b"0" * 31 + b"1", 1, 128, 0x10, 0x80, b"lo"),  # fmt: skip
    }


def _addr(family: int, ip: bytes) -> bytes:
    if family == AF_INET:
        return b"%08X" % struct.unpack("<I", ip[12:16])[0]
    return b"".join(b"%08X" % w for w in struct.unpack("<4I", ip))


def _socks(net: NetNamespace, family: int, proto: str) -> list[Any]:
    tables = net.table(AF_INET)
    return [sk for sk in tables.socks if sk.family == family and sk.proto_name == proto
            and not sk.dead and (sk.bound_port or sk.remote is not None)]  # fmt: skip


def _ino(sk: Any) -> int:
    return sk.socket.inode.ino if sk.socket is not None else 0


def tcp(net: NetNamespace, family: int) -> bytes:
    out = [TCP_HEADER.ljust(TMPSZ - 1) + b"\n" if family == AF_INET else TCP6_HEADER]
    for i, sk in enumerate(_socks(net, family, "tcp")):
        rip, rport = sk.remote if sk.remote is not None and sk.state != TCP_LISTEN else \
            (b"\0" * 16, 0)  # fmt: skip
        lip, lport = sk.local
        listening = sk.state == TCP_LISTEN
        rx = len(sk.accept_q) if listening else sk.rx.size
        line = b"%4d: %s:%04X %s:%04X %02X %08X:%08X %02X:%08X %08X %5u %8d %u %d %016x %u %u %u %u %d" % (  # noqa: E501
            i, _addr(family, lip), lport, _addr(family, rip), rport, sk.state, 0, rx, 0, 0, 0,
            sk.owner_uid, 0, _ino(sk), 1 if listening else 2, 0, 100 if listening else 20,
            0 if listening else 4, 0, 10, 0 if listening else -1)  # fmt: skip
        out.append(line.ljust(TMPSZ - 1) + b"\n" if family == AF_INET else line + b"\n")
    return b"".join(out)


def udp(net: NetNamespace, family: int, proto: str = "udp") -> bytes:
    out = [UDP_HEADER.ljust(UDP_WIDTH) + b"\n" if family == AF_INET else UDP6_HEADER]
    for sk in _socks(net, family, proto):
        rip, rport = sk.remote if sk.remote is not None else (b"\0" * 16, 0)
        lip, lport = sk.local
        line = b"%5d: %s:%04X %s:%04X %02X %08X:%08X %02X:%08X %08X %5u %8d %u %d %016x %u" % (
            lport & 127, _addr(family, lip), lport, _addr(family, rip), rport, sk.state, 0,
            sk.rmem, 0, 0, 0, sk.owner_uid, 0, _ino(sk), 2, 0, sk.drops)  # fmt: skip
        out.append(line.ljust(UDP_WIDTH) + b"\n" if family == AF_INET else line + b"\n")
    return b"".join(out)


def dev(net: NetNamespace) -> bytes:
    t = net.table(AF_INET)
    b, p = t.lo_bytes, t.lo_packets
    line = b"%6s: %7u %7u %4u %4u %4u %5u %10u %9u %8u %7u %4u %4u %4u %5u %7u %10u\n" % (
        b"lo", b, p, 0, 0, 0, 0, 0, 0, b, p, 0, 0, 0, 0, 0, 0)  # fmt: skip
    return DEV_HEADER + line
