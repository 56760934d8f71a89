"""The SNMP counters of a network namespace: /proc/net/snmp and /proc/net/snmp6 (Linux's
net/ipv4/proc.c snmp_seq_show, net/ipv6/proc.c snmp6_seq_show), in Linux 6.18's layout.

Counted: UDP's and UDP-Lite's MIBs (Linux's udp_statistics, udplite_statistics and their
IPv6 twins), by the datagram's IP version (an IPv4 datagram through an AF_INET6 socket counts
in the IPv4 lines, as Linux's udp_sendmsg and udpv6_recvmsg do), where Linux counts:
OutDatagrams when one goes out, NoPorts when nobody holds its port (IgnoredMulti for a
broadcast nobody hears), InDatagrams when a recvmsg takes one (not a peek), InErrors when a
receiver drops one (with RcvbufErrors when its queue is full, as __udp_queue_rcv_skb).
TCP's MIB (Linux's tcp_statistics, one per namespace for both IP versions), where Linux counts:
ActiveOpens when connect sends its SYN (tcp_connect), PassiveOpens when a listener's child is
made (tcp_create_openreq_child), AttemptFails when a connection dies in SYN_SENT (tcp_done),
and by tcp_set_state: CurrEstab, the connections in ESTABLISHED or CLOSE_WAIT (RFC 1213, as
Linux 6.10 on), EstabResets, the ones that go from either straight to CLOSE (a reset). The
segments are counted as twaron's lo would carry them (InSegs and OutSegs alike: every segment
sent on lo is received there): the handshake's three, a refused SYN and its RST, one per
65483 bytes of data (lo's MSS), a FIN and its ACK, and each RST (also OutRsts); the pure ACKs
of data Linux sends are not. A connection bridged to the host (--publish) counts its guest
end only.
Not counted: the IP and ICMP MIBs show their constants (forwarding off, as
net.ipv4.ip_forward says; the TTL of net.ipv4.ip_default_ttl) and zeros: twaron's lo carries
no packets, and nothing reaches IP's counters.
"""

from __future__ import annotations

from twaron.arch.x86_64.constants import (
    IPDEFTTL,
    IPV4_FORWARD_DEFAULT,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
)

UDP_FIELDS = ("InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors",
              "SndbufErrors", "InCsumErrors", "IgnoredMulti", "MemErrors")  # fmt: skip
UDPLITE6_FIELDS = tuple(f for f in UDP_FIELDS if f != "IgnoredMulti")  # snmp6_udplite6_list

Mib = dict[str, int]

IP_FIELDS = ("Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams "
             "InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes "
             "ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates "
             "OutTransmits").split()  # fmt: skip
ICMP_FIELDS = ("InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs "
               "InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps "
               "InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal "
               "OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs "
               "OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps "
               "OutAddrMasks OutAddrMaskReps").split()  # fmt: skip
TCP_FIELDS = ("RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
              "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts "
              "InCsumErrors").split()  # fmt: skip
IP6_FIELDS = ("InReceives InHdrErrors InTooBigErrors InNoRoutes InAddrErrors InUnknownProtos "
              "InTruncatedPkts InDiscards InDelivers OutForwDatagrams OutRequests OutDiscards "
              "OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails "
              "FragCreates InMcastPkts OutMcastPkts InOctets OutOctets InMcastOctets "
              "OutMcastOctets InBcastOctets OutBcastOctets InNoECTPkts InECT1Pkts InECT0Pkts "
              "InCEPkts OutTransmits").split()  # fmt: skip
ICMP6_FIELDS = ("InMsgs InErrors OutMsgs OutErrors InCsumErrors OutRateLimitHost "
                "InDestUnreachs InPktTooBigs InTimeExcds InParmProblems InEchos InEchoReplies "
                "InGroupMembQueries InGroupMembResponses InGroupMembReductions "
                "InRouterSolicits InRouterAdvertisements InNeighborSolicits "
                "InNeighborAdvertisements InRedirects InMLDv2Reports OutDestUnreachs "
                "OutPktTooBigs OutTimeExcds OutParmProblems OutEchos OutEchoReplies "
                "OutGroupMembQueries OutGroupMembResponses OutGroupMembReductions "
                "OutRouterSolicits OutRouterAdvertisements OutNeighborSolicits "
                "OutNeighborAdvertisements OutRedirects OutMLDv2Reports").split()  # fmt: skip

# the values of the MIBs twaron does not count: Linux's constants, else 0; Forwarding is 1
# when forwarding, 2 when not (RFC 1213's ipForwarding: net.ipv4.ip_forward's)
IP_FIXED = {"Forwarding": 1 if IPV4_FORWARD_DEFAULT else 2, "DefaultTTL": IPDEFTTL}
TCP_FIXED = {"RtoAlgorithm": 1, "RtoMin": 200, "RtoMax": 120000, "MaxConn": -1}
LO_MSS = 65483  # lo's MTU (65536) less the IP and TCP headers and the timestamp option
_COUNTED_STATES = (TCP_ESTABLISHED, TCP_CLOSE_WAIT)  # CurrEstab's


def tcp_mib() -> Mib:
    """A namespace's TCP MIB: the counters twaron counts (the rest are TCP_FIXED or 0)."""
    return dict.fromkeys(("ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
                          "CurrEstab", "InSegs", "OutSegs", "OutRsts"), 0)  # fmt: skip


def tcp_set_state(mib: Mib, old: int, new: int) -> None:
    """What Linux's tcp_set_state counts of a state change: a connection is current while
    ESTABLISHED or CLOSE_WAIT, and reset when it leaves either for CLOSE."""
    if old in _COUNTED_STATES:
        if new not in _COUNTED_STATES:
            mib["CurrEstab"] -= 1
            if new == TCP_CLOSE:
                mib["EstabResets"] += 1
    elif new == TCP_ESTABLISHED:
        mib["CurrEstab"] += 1


def tcp_segments(mib: Mib, n: int) -> None:
    """n segments through lo: each sent and received in the namespace."""
    mib["InSegs"] += n
    mib["OutSegs"] += n


def data_segments(nbytes: int) -> int:
    """The segments a send of nbytes takes on lo (one for none: urgent or empty)."""
    return max(1, -(-nbytes // LO_MSS))


class UdpMibs:
    """A namespace's four UDP MIBs: by IP version and by protocol (UDP or UDP-Lite)."""

    __slots__ = ("mibs",)

    def __init__(self) -> None:
        self.mibs: dict[tuple[bool, bool], Mib] = {
            (v6, lite): dict.fromkeys(UDP_FIELDS, 0) for v6 in (False, True)
            for lite in (False, True)}  # fmt: skip

    def get(self, v4: bool, lite: bool) -> Mib:
        """The MIB a datagram counts in: its IP version's, its protocol's."""
        return self.mibs[not v4, lite]


def _snmp_pair(name: str, fields: list[str] | tuple[str, ...], values: dict[str, int]) -> bytes:
    """Two lines: the names, then the values (snmp_seq_show's "Udp: InDatagrams ...")."""
    head = b"%s: %s\n" % (name.encode(), " ".join(fields).encode())
    vals = b"%s: %s\n" % (name.encode(), " ".join(str(values.get(f, 0)) for f in fields).encode())
    return head + vals


def snmp(mibs: UdpMibs, tcp: Mib) -> bytes:
    """/proc/net/snmp. (No IcmpMsg lines: Linux prints them only for ICMP types seen.)"""
    return b"".join((
        _snmp_pair("Ip", IP_FIELDS, IP_FIXED),
        _snmp_pair("Icmp", ICMP_FIELDS, {}),
        _snmp_pair("Tcp", TCP_FIELDS, {**TCP_FIXED, **tcp}),
        _snmp_pair("Udp", UDP_FIELDS, mibs.get(True, False)),
        _snmp_pair("UdpLite", UDP_FIELDS, mibs.get(True, True)),
    ))  # fmt: skip


def _snmp6_lines(prefix: str, fields: tuple[str, ...] | list[str], values: dict[str, int]) -> bytes:
    return b"".join(b"%-32s\t%d\n" % ((prefix + f).encode(), values.get(f, 0)) for f in fields)


def snmp6(mibs: UdpMibs) -> bytes:
    """/proc/net/snmp6: one "Name<pad to 32>\\tvalue" line per counter."""
    return b"".join((
        _snmp6_lines("Ip6", IP6_FIELDS, {}),
        _snmp6_lines("Icmp6", ICMP6_FIELDS, {}),
        _snmp6_lines("Udp6", UDP_FIELDS, mibs.get(False, False)),
        _snmp6_lines("UdpLite6", UDPLITE6_FIELDS, mibs.get(False, True)),
    ))  # fmt: skip
