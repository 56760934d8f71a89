/* RFC 3542 ancillary data on datagram sockets over lo, and the IPv4 counterparts:
 * IPV6_RECVHOPLIMIT / IPV6_RECVTCLASS / IPV6_RECVPKTINFO make recvmsg give IPV6_HOPLIMIT,
 * IPV6_TCLASS and IPV6_PKTINFO (in Linux's order; the values the sender's options or its own
 * control messages gave the datagram), the IPV6_HOPLIMIT / IPV6_TCLASS / IPV6_PKTINFO /
 * IPV6_DONTFRAG messages sendmsg takes and their EINVAL/ENODEV checks, MSG_CTRUNC and what is
 * left when the control buffer is too small (put_cmsg), IP_RECVTTL / IP_RECVTOS / IP_PKTINFO
 * with IP_TTL / IP_TOS / IP_PKTINFO messages, an AF_INET6 socket receiving over IPv4, and
 * UDP-Lite sockets doing the same; the other messages an internet socket's sendmsg checks
 * (SOL_SOCKET's as __sock_cmsg_send, SOL_UDP's UDP_SEGMENT, IP_RETOPTS, IPV6_FLOWINFO). */
#include "contract.h"
#include "inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

static void setint(int fd, int level, int name, int v, const char *label)
{
    CHECK_OK(label, setsockopt(fd, level, name, &v, sizeof v));
}

/* One control message to send: level, type and data bytes. */
struct item {
    int level, type, len;
    unsigned char data[24];
};

static struct item int_item(int level, int type, int v)
{
    struct item it = {level, type, sizeof v, {0}};
    memcpy(it.data, &v, sizeof v);
    return it;
}

static long send_items(int fd, struct sockaddr *to, socklen_t tolen, struct item *items, int n)
{
    unsigned char ctl[256] = {0};
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        struct cmsghdr *c = (struct cmsghdr *)(ctl + used);
        c->cmsg_level = items[i].level;
        c->cmsg_type = items[i].type;
        c->cmsg_len = CMSG_LEN(items[i].len);
        memcpy(CMSG_DATA(c), items[i].data, items[i].len);
        used += CMSG_SPACE(items[i].len);
    }
    struct iovec iov = {(void *)"data", 4};
    struct msghdr m = {0};
    m.msg_name = to;
    m.msg_namelen = tolen;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = n ? ctl : NULL;
    m.msg_controllen = n ? used : 0;
    return sendmsg(fd, &m, 0);
}

static const char *type_name(int level, int type)
{
    if (level == IPPROTO_IPV6) {
        switch (type) {
        case IPV6_HOPLIMIT: return "IPV6_HOPLIMIT";
        case IPV6_TCLASS: return "IPV6_TCLASS";
        case IPV6_PKTINFO: return "IPV6_PKTINFO";
        }
    } else if (level == IPPROTO_IP) {
        switch (type) {
        case IP_TTL: return "IP_TTL";
        case IP_TOS: return "IP_TOS";
        case IP_PKTINFO: return "IP_PKTINFO";
        }
    }
    return "?";
}

/* recvmsg with a control buffer of ctlsize bytes (-1: msg_control NULL with 64 bytes);
 * print the data, the flags and each control message. */
static void recv_show(const char *label, int fd, int ctlsize)
{
    unsigned char ctl[512];
    memset(ctl, 0xee, sizeof ctl);
    char buf[16];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctlsize < 0 ? NULL : ctl;
    m.msg_controllen = ctlsize < 0 ? 64 : ctlsize;
    long n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld%s controllen=%d\n", label, n, m.msg_flags & MSG_CTRUNC ? " CTRUNC" : "",
           (int)m.msg_controllen);
    if (ctlsize <= 0)
        return;
    size_t off = 0;
    while (off + sizeof(struct cmsghdr) <= m.msg_controllen) {
        struct cmsghdr *c = (struct cmsghdr *)(ctl + off);
        int dlen = (int)c->cmsg_len - (int)CMSG_LEN(0);
        printf("  %s len=%d", type_name(c->cmsg_level, c->cmsg_type), (int)c->cmsg_len);
        unsigned char *d = CMSG_DATA(c);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && dlen >= 1)
            printf(" value=%d", d[0]);
        else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_level == IPPROTO_IPV6 && dlen >= 20) {
            char ip[64];
            inet_ntop(AF_INET6, d, ip, sizeof ip);
            printf(" addr=%s ifindex=%d", ip, *(int *)(d + 16));
        } else if (c->cmsg_type == IP_PKTINFO && c->cmsg_level == IPPROTO_IP && dlen >= 12) {
            char a[32], b[32];
            inet_ntop(AF_INET, d + 4, a, sizeof a);
            inet_ntop(AF_INET, d + 8, b, sizeof b);
            printf(" ifindex=%d spec_dst=%s addr=%s", *(int *)d, a, b);
        } else if (dlen >= 4)
            printf(" value=%d", *(int *)d);
        else {
            printf(" data:");
            for (int i = 0; i < dlen; i++)
                printf(" %02x", d[i]);
        }
        printf("\n");
        if (c->cmsg_len < sizeof(struct cmsghdr))
            break;
        off += CMSG_ALIGN(c->cmsg_len);
    }
}

static void v6(int proto)
{
    printf("=== IPv6 %s\n", proto == IPPROTO_UDPLITE ? "UDP-Lite" : "UDP");
    int r = socket(AF_INET6, SOCK_DGRAM, proto);
    struct sockaddr_in6 ra = sin6("::1", 7601);
    CHECK_OK("bind", bind(r, (struct sockaddr *)&ra, sizeof ra));
    int s = socket(AF_INET6, SOCK_DGRAM, proto);
    struct sockaddr *to = (struct sockaddr *)&ra;
    socklen_t tl = sizeof ra;
    struct item it[3];

    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("no option", r, 256);
    setint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("hop limit", r, 256);
    setint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5, "sender IPV6_UNICAST_HOPS 5");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("hop limit", r, 256);
    int hops[] = {2, 0, 255, -1, 256, -2};
    for (unsigned i = 0; i < sizeof hops / sizeof hops[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "send IPV6_HOPLIMIT %d", hops[i]);
        it[0] = int_item(IPPROTO_IPV6, IPV6_HOPLIMIT, hops[i]);
        if (CHECK(label, send_items(s, to, tl, it, 1)) >= 0)
            recv_show(" recv", r, 256);
    }
    setint(r, IPPROTO_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("both", r, 256);
    setint(s, IPPROTO_IPV6, IPV6_TCLASS, 0x28, "sender IPV6_TCLASS 0x28");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("both", r, 256);
    int tcs[] = {0x10, 0, 255, -1, 256, -2};
    for (unsigned i = 0; i < sizeof tcs / sizeof tcs[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "send IPV6_TCLASS %d", tcs[i]);
        it[0] = int_item(IPPROTO_IPV6, IPV6_TCLASS, tcs[i]);
        if (CHECK(label, send_items(s, to, tl, it, 1)) >= 0)
            recv_show(" recv", r, 256);
    }
    it[0] = int_item(IPPROTO_IPV6, IPV6_TCLASS, 0x44);
    it[1] = int_item(IPPROTO_IPV6, IPV6_HOPLIMIT, 9);
    CHECK("send both", send_items(s, to, tl, it, 2));
    recv_show(" recv", r, 256);

    /* malformed messages */
    it[0] = int_item(IPPROTO_IPV6, IPV6_TCLASS, 1);
    it[0].len = 5;
    CHECK("IPV6_TCLASS of 5 bytes", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IPV6, IPV6_HOPLIMIT, 1);
    it[0].len = 2;
    CHECK("IPV6_HOPLIMIT of 2 bytes", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IPV6, 1234, 1);
    CHECK("unknown IPv6 type", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IPV6, IPV6_DONTFRAG, 2);
    CHECK("IPV6_DONTFRAG 2", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IPV6, IPV6_DONTFRAG, 1);
    CHECK("IPV6_DONTFRAG 1", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    it[0] = int_item(IPPROTO_IP, IP_TTL, 0);
    CHECK("IP_TTL 0 to an IPv6 address (not IPv6's)", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    it[0] = int_item(9999, 1, 0);
    CHECK("unknown level", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);

    /* IPV6_PKTINFO: a source address of this host, interface lo */
    struct item pi = {IPPROTO_IPV6, IPV6_PKTINFO, 20, {0}};
    inet_pton(AF_INET6, "::1", pi.data);
    it[0] = pi;
    CHECK("IPV6_PKTINFO ::1", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    *(int *)(pi.data + 16) = 1;
    it[0] = pi;
    CHECK("IPV6_PKTINFO ::1 ifindex 1", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    *(int *)(pi.data + 16) = 77;
    it[0] = pi;
    CHECK("IPV6_PKTINFO ifindex 77", send_items(s, to, tl, it, 1));
    *(int *)(pi.data + 16) = 0;
    inet_pton(AF_INET6, "2001:db8::1", pi.data);
    it[0] = pi;
    CHECK("IPV6_PKTINFO 2001:db8::1", send_items(s, to, tl, it, 1));
    it[0] = pi;
    it[0].len = 16;
    CHECK("IPV6_PKTINFO of 16 bytes", send_items(s, to, tl, it, 1));

    /* IPV6_RECVPKTINFO comes first */
    setint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("three", r, 256);
    setint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, 0, "IPV6_RECVPKTINFO off");

    /* too small a control buffer */
    int sizes[] = {-1, 0, 1, 8, (int)CMSG_LEN(0) - 1, (int)CMSG_LEN(0), (int)CMSG_LEN(4) - 1,
                   (int)CMSG_LEN(4), (int)CMSG_SPACE(4), (int)CMSG_SPACE(4) + 1,
                   (int)CMSG_SPACE(4) + (int)CMSG_LEN(0), (int)CMSG_SPACE(4) + (int)CMSG_LEN(4) - 1,
                   (int)CMSG_SPACE(4) + (int)CMSG_LEN(4)};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char label[64];
        CHECK("plain send", send_items(s, to, tl, it, 0));
        snprintf(label, sizeof label, "control buffer %d", sizes[i]);
        recv_show(label, r, sizes[i]);
    }
    /* the options are read when recvmsg runs */
    CHECK("plain send", send_items(s, to, tl, it, 0));
    setint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 0, "IPV6_RECVHOPLIMIT off after the send");
    recv_show("tclass only", r, 256);
    /* read(2) and recv(2) just lose them */
    CHECK("plain send", send_items(s, to, tl, it, 0));
    char b[8];
    CHECK("recv", recv(r, b, sizeof b, MSG_DONTWAIT));
    close(r), close(s);
}

static void v4(int proto)
{
    printf("=== IPv4 %s\n", proto == IPPROTO_UDPLITE ? "UDP-Lite" : "UDP");
    int r = socket(AF_INET, SOCK_DGRAM, proto);
    struct sockaddr_in ra = sin4("127.0.0.1", 7602);
    CHECK_OK("bind", bind(r, (struct sockaddr *)&ra, sizeof ra));
    int s = socket(AF_INET, SOCK_DGRAM, proto);
    struct sockaddr *to = (struct sockaddr *)&ra;
    socklen_t tl = sizeof ra;
    struct item it[3];
    setint(r, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
    setint(r, IPPROTO_IP, IP_RECVTOS, 1, "IP_RECVTOS");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("ttl and tos", r, 256);
    setint(s, IPPROTO_IP, IP_TTL, 7, "sender IP_TTL 7");
    setint(s, IPPROTO_IP, IP_TOS, 0x20, "sender IP_TOS 0x20");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("ttl and tos", r, 256);
    int ttls[] = {3, 255, 0, 256, -1};
    for (unsigned i = 0; i < sizeof ttls / sizeof ttls[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "send IP_TTL %d", ttls[i]);
        it[0] = int_item(IPPROTO_IP, IP_TTL, ttls[i]);
        if (CHECK(label, send_items(s, to, tl, it, 1)) >= 0)
            recv_show(" recv", r, 256);
    }
    it[0] = int_item(IPPROTO_IP, IP_TOS, 0x48);
    CHECK("send IP_TOS int 0x48", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    it[0] = int_item(IPPROTO_IP, IP_TOS, 0x88);
    it[0].len = 1;
    CHECK("send IP_TOS byte 0x88", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    it[0].len = 2;
    CHECK("send IP_TOS of 2 bytes", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IP, IP_TOS, 300);
    CHECK("send IP_TOS 300", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IP, 77, 1);
    CHECK("unknown IP type", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_IPV6, IPV6_HOPLIMIT, 1000);
    CHECK("IPv6 message to an IPv4 socket (ignored)", send_items(s, to, tl, it, 1));
    recv_show(" recv", r, 256);
    struct item pi = {IPPROTO_IP, IP_PKTINFO, 12, {0}};
    inet_pton(AF_INET, "127.0.0.9", pi.data + 4);
    it[0] = pi;
    CHECK("IP_PKTINFO spec_dst 127.0.0.9", send_items(s, to, tl, it, 1));
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    char b[8];
    CHECK(" recvfrom", recvfrom(r, b, sizeof b, MSG_DONTWAIT, (struct sockaddr *)&from, &fl));
    BOOL(" source is 127.0.0.9", from.sin_addr.s_addr == htonl(0x7f000009));
    inet_pton(AF_INET, "10.1.2.3", pi.data + 4);
    it[0] = pi;
    CHECK("IP_PKTINFO spec_dst 10.1.2.3", send_items(s, to, tl, it, 1));
    *(int *)pi.data = 55;
    inet_pton(AF_INET, "0.0.0.0", pi.data + 4);
    it[0] = pi;
    CHECK("IP_PKTINFO ifindex 55", send_items(s, to, tl, it, 1));
    it[0].len = 8;
    CHECK("IP_PKTINFO of 8 bytes", send_items(s, to, tl, it, 1));
    setint(r, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    CHECK("plain send", send_items(s, to, tl, it, 0));
    recv_show("three", r, 256);
    close(r), close(s);
}

/* An AF_INET6 socket hearing IPv4: IP's messages (asked for at SOL_IP), not IPv6's. */
static void mapped(void)
{
    printf("=== mapped\n");
    int r = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 any = sin6("::", 7603);
    CHECK_OK("bind [::]:7603", bind(r, (struct sockaddr *)&any, sizeof any));
    setint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
    setint(r, IPPROTO_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin4("127.0.0.1", 7603);
    struct item it[2];
    CHECK("send over IPv4", send_items(s, (struct sockaddr *)&to, sizeof to, it, 0));
    recv_show("no IP options", r, 256);
    setint(r, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
    setint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    it[0] = int_item(IPPROTO_IP, IP_TTL, 33);
    CHECK("send over IPv4 with IP_TTL 33", send_items(s, (struct sockaddr *)&to, sizeof to, it, 1));
    recv_show("IP_TTL", r, 256);
    /* an AF_INET6 sender to a mapped address uses IP's messages */
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 m6 = sin6("::ffff:127.0.0.1", 7603);
    it[0] = int_item(IPPROTO_IP, IP_TTL, 44);
    it[1] = int_item(IPPROTO_IPV6, IPV6_HOPLIMIT, 1000);
    CHECK("AF_INET6 to mapped: IP_TTL 44, IPV6_HOPLIMIT 1000", send_items(s6, (struct sockaddr *)&m6, sizeof m6, it, 2));
    recv_show("IP_TTL", r, 256);
    it[0] = int_item(IPPROTO_IP, IP_TTL, 0);
    CHECK("AF_INET6 to mapped: IP_TTL 0", send_items(s6, (struct sockaddr *)&m6, sizeof m6, it, 1));
    close(r), close(s), close(s6);
}

static void others(void)
{
    printf("=== other messages\n");
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ra = sin4("127.0.0.1", 7604);
    CHECK_OK("bind", bind(r, (struct sockaddr *)&ra, sizeof ra));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr *to = (struct sockaddr *)&ra;
    socklen_t tl = sizeof ra;
    struct item it[2];
    it[0] = int_item(SOL_SOCKET, SCM_RIGHTS, 999);
    CHECK("SCM_RIGHTS of a bad fd (not AF_UNIX's: ignored)", send_items(s, to, tl, it, 1));
    it[0] = int_item(SOL_SOCKET, SCM_CREDENTIALS, 0);
    it[0].len = 0;
    CHECK("SCM_CREDENTIALS of 0 bytes (ignored)", send_items(s, to, tl, it, 1));
    it[0] = int_item(SOL_SOCKET, SO_MARK, 5);
    CHECK("SO_MARK", send_items(s, to, tl, it, 1));
    it[0].len = 2;
    CHECK("SO_MARK of 2 bytes", send_items(s, to, tl, it, 1));
    it[0] = int_item(SOL_SOCKET, SO_PRIORITY, 3);
    CHECK("SO_PRIORITY 3", send_items(s, to, tl, it, 1));
    it[0] = int_item(SOL_SOCKET, 99, 0);
    CHECK("SOL_SOCKET type 99", send_items(s, to, tl, it, 1));
    CHECK("SOL_SOCKET type 99 without an address", send_items(s, NULL, 0, it, 1));
    it[0] = int_item(IPPROTO_UDP, 103, 1000);
    it[0].len = 2;
    CHECK("UDP_SEGMENT u16", send_items(s, to, tl, it, 1));
    it[0].len = 4;
    CHECK("UDP_SEGMENT int", send_items(s, to, tl, it, 1));
    it[0] = int_item(IPPROTO_UDP, 104, 1);
    CHECK("SOL_UDP type 104", send_items(s, to, tl, it, 1));
    struct item opts = {IPPROTO_IP, IP_RETOPTS, 0, {0}};
    it[0] = opts;
    CHECK("IP_RETOPTS empty", send_items(s, to, tl, it, 1));
    unsigned char noops[] = {1, 1, 1, 0};
    memcpy(it[0].data, noops, 4), it[0].len = 4;
    CHECK("IP_RETOPTS NOOPs", send_items(s, to, tl, it, 1));
    unsigned char rr[] = {7, 7, 4, 0, 0, 0, 0, 0};
    memcpy(it[0].data, rr, 8), it[0].len = 8;
    CHECK("IP_RETOPTS record route", send_items(s, to, tl, it, 1));
    unsigned char badlen[] = {7, 9, 4, 0};
    memcpy(it[0].data, badlen, 4), it[0].len = 4;
    CHECK("IP_RETOPTS longer than given", send_items(s, to, tl, it, 1));
    unsigned char cipso[] = {134, 6, 0, 0, 0, 1, 0, 0};
    memcpy(it[0].data, cipso, 8), it[0].len = 8;
    CHECK("IP_RETOPTS CIPSO", send_items(s, to, tl, it, 1));
    struct item pi = {IPPROTO_IP, IP_PKTINFO, 12, {0}};
    const char *srcs[] = {"224.0.0.1", "0.1.2.3", "255.255.255.255", "127.255.255.255"};
    for (int i = 0; i < 4; i++) {
        char label[64];
        inet_pton(AF_INET, srcs[i], pi.data + 4);
        *(int *)pi.data = 77;
        it[0] = pi;
        snprintf(label, sizeof label, "IP_PKTINFO spec_dst %s ifindex 77", srcs[i]);
        CHECK(label, send_items(s, to, tl, it, 1));
    }
    char b[16];
    while (recv(r, b, sizeof b, MSG_DONTWAIT) >= 0)
        ;
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 r6a = sin6("::1", 7604);
    int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
    CHECK_OK("bind ::1", bind(r6, (struct sockaddr *)&r6a, sizeof r6a));
    uint32_t f1 = htonl(0x00012345), f2 = htonl(0x10012345);
    it[0] = (struct item){IPPROTO_IPV6, IPV6_FLOWINFO, 4, {0}};
    memcpy(it[0].data, &f1, 4);
    CHECK("IPV6_FLOWINFO", send_items(s6, (struct sockaddr *)&r6a, sizeof r6a, it, 1));
    it[1] = it[0];
    memcpy(it[1].data, &f2, 4);
    CHECK("IPV6_FLOWINFO twice, other version bits", send_items(s6, (struct sockaddr *)&r6a, sizeof r6a, it, 2));
    it[0] = int_item(SOL_SOCKET, 99, 0);
    CHECK("IPv6: SOL_SOCKET type 99", send_items(s6, (struct sockaddr *)&r6a, sizeof r6a, it, 1));

    /* TCP checks the SOL_SOCKET messages only: any error is EINVAL */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = sin4("127.0.0.1", 7605);
    CHECK_OK("tcp listen", bind(l, (struct sockaddr *)&la, sizeof la) || listen(l, 1));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_OK("tcp connect", connect(c, (struct sockaddr *)&la, sizeof la));
    it[0] = int_item(SOL_SOCKET, SCM_RIGHTS, 999);
    CHECK("tcp: SCM_RIGHTS of a bad fd", send_items(c, NULL, 0, it, 1));
    it[0] = int_item(SOL_SOCKET, 99, 0);
    CHECK("tcp: SOL_SOCKET type 99", send_items(c, NULL, 0, it, 1));
    it[0] = int_item(IPPROTO_IP, 77, 0);
    CHECK("tcp: unknown IP type (not looked at)", send_items(c, NULL, 0, it, 1));
    close(r), close(s), close(s6), close(r6), close(l), close(c);
}

int main(void)
{
    v6(IPPROTO_UDP);
    v6(IPPROTO_UDPLITE);
    v4(IPPROTO_UDP);
    v4(IPPROTO_UDPLITE);
    mapped();
    others();
    return 0;
}
