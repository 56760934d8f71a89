/* UDP-Lite (IPPROTO_UDPLITE) over lo, IPv4 and IPv6: socket() and SO_PROTOCOL, a port space
 * of its own (a UDP and a UDP-Lite socket share a port; datagrams reach only sockets of their
 * own protocol; ECONNREFUSED from a UDP-Lite port nobody holds), the datagram calls (sendto,
 * recvfrom, connect, sendmsg/recvmsg, MSG_TRUNC, SO_RCVTIMEO), the SOL_UDPLITE options
 * UDPLITE_SEND_CSCOV and UDPLITE_RECV_CSCOV (Linux's rounding, errors, their absence on UDP
 * sockets), the receiver's minimum coverage dropping datagrams covered less (and the drops
 * column of /proc/net/udplite), /proc/net/udplite and udplite6. */
#include "contract.h"
#include "inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/time.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#define SEND_CSCOV 10
#define RECV_CSCOV 11

static int getint(int fd, int level, int name, const char *label)
{
    int v = -99;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return -1;
    }
    printf("%s: %d (len %d)\n", label, v, (int)l);
    return v;
}

static void setint(int fd, int level, int name, int v, const char *label)
{
    CHECK_OK(label, setsockopt(fd, level, name, &v, sizeof v));
}

static void recv_now(const char *label, int fd)
{
    char buf[256];
    long n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld '%.*s'\n", label, n, (int)(n > 16 ? 16 : n), buf);
}

/* The line of /proc/net/FILE for a local port: whether it is there, and its drops column. */
static void proc_line(const char *file, int port)
{
    char path[64], line[512], want[16];
    snprintf(path, sizeof path, "/proc/net/%s", file);
    snprintf(want, sizeof want, ":%04X ", port);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, errname(errno));
        return;
    }
    int found = 0, lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        char *p = strstr(line, want);
        if (lines == 1 || !p || p - line > 60)
            continue;
        found = 1;
        /* the drops column is the last field */
        char *end = line + strlen(line);
        while (end > line && (end[-1] == '\n' || end[-1] == ' '))
            end--;
        *end = 0;
        char *d = strrchr(line, ' ');
        printf("%s: port listed, drops %s\n", path, d ? d + 1 : "?");
    }
    if (!found)
        printf("%s: port not listed\n", path);
    fclose(f);
}

static void basics(int family)
{
    const char *lo = family == AF_INET ? "127.0.0.1" : "::1";
    printf("--- family %s\n", family == AF_INET ? "AF_INET" : "AF_INET6");
    struct sockaddr_in a4 = sin4(lo, 7501);
    struct sockaddr_in6 a6 = sin6(lo, 7501);
    struct sockaddr *addr = family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6;
    socklen_t alen = family == AF_INET ? sizeof a4 : sizeof a6;

    CHECK("socket STREAM UDPLITE", socket(family, SOCK_STREAM, IPPROTO_UDPLITE));
    CHECK("socket SEQPACKET UDPLITE", socket(family, SOCK_SEQPACKET, IPPROTO_UDPLITE));
    int r = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
    BOOL("socket DGRAM UDPLITE", r >= 0);
    getint(r, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    getint(r, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    getint(r, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
    CHECK_OK("bind udplite 7501", bind(r, addr, alen));
    int u = socket(family, SOCK_DGRAM, 0);
    CHECK_OK("bind udp 7501 (other port space)", bind(u, addr, alen));
    int r2 = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
    CHECK("bind second udplite 7501", bind(r2, addr, alen));
    close(r2);

    int s = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
    CHECK("sendto udplite", sendto(s, "lite", 4, 0, addr, alen));
    int us = socket(family, SOCK_DGRAM, IPPROTO_UDP);
    CHECK("sendto udp", sendto(us, "plain", 5, 0, addr, alen));
    recv_now("udplite socket reads", r);
    recv_now("udplite socket again", r);
    recv_now("udp socket reads", u);
    recv_now("udp socket again", u);

    /* recvfrom's source address is the sender's port */
    CHECK("sendto again", sendto(s, "hello world", 11, 0, addr, alen));
    struct sockaddr_in6 from;
    socklen_t flen = sizeof from;
    char buf[64];
    CHECK("recvfrom MSG_TRUNC short buffer", recvfrom(r, buf, 5, MSG_TRUNC, (struct sockaddr *)&from, &flen));
    BOOL("source port is the sender's", ntohs(from.sin6_port) == port_of(s));
    printf("fromlen %d\n", (int)flen);

    /* connect, sendmsg/recvmsg with MSG_TRUNC in msg_flags */
    CHECK_OK("connect", connect(s, addr, alen));
    struct iovec iov = {(void *)"0123456789", 10};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK("sendmsg connected", sendmsg(s, &m, 0));
    char small[4];
    struct iovec riov = {small, sizeof small};
    struct msghdr rm = {0};
    rm.msg_iov = &riov;
    rm.msg_iovlen = 1;
    CHECK("recvmsg", recvmsg(r, &rm, 0));
    BOOL("msg_flags MSG_TRUNC", rm.msg_flags & MSG_TRUNC);

    /* ECONNREFUSED: a connected UDP-Lite socket to a port only UDP holds */
    int u2 = socket(family, SOCK_DGRAM, 0);
    struct sockaddr_in b4 = sin4(lo, 7502);
    struct sockaddr_in6 b6 = sin6(lo, 7502);
    struct sockaddr *baddr = family == AF_INET ? (struct sockaddr *)&b4 : (struct sockaddr *)&b6;
    CHECK_OK("bind udp 7502", bind(u2, baddr, alen));
    int c = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
    CHECK_OK("connect udplite to 7502", connect(c, baddr, alen));
    CHECK("send to udp-only port", send(c, "x", 1, 0));
    CHECK("next send", send(c, "x", 1, 0));
    recv_now("udp socket on 7502", u2);

    /* a receive timeout */
    struct timeval tv = {0, 20000};
    CHECK_OK("SO_RCVTIMEO", setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    CHECK("recv times out", recv(r, buf, sizeof buf, 0));

    int port = port_of(r);
    proc_line(family == AF_INET ? "udplite" : "udplite6", port);
    close(r), close(u), close(s), close(us), close(u2), close(c);
    proc_line(family == AF_INET ? "udplite" : "udplite6", port);
}

static void options(void)
{
    printf("--- options\n");
    int r = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    getint(r, SOL_UDPLITE, SEND_CSCOV, "SEND_CSCOV default");
    getint(r, SOL_UDPLITE, RECV_CSCOV, "RECV_CSCOV default");
    int vals[] = {0, 1, 7, 8, 9, 20, -5, 65535, 65536, 100000};
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "set SEND_CSCOV %d", vals[i]);
        setint(r, SOL_UDPLITE, SEND_CSCOV, vals[i], label);
        getint(r, SOL_UDPLITE, SEND_CSCOV, " get");
        snprintf(label, sizeof label, "set RECV_CSCOV %d", vals[i]);
        setint(r, SOL_UDPLITE, RECV_CSCOV, vals[i], label);
        getint(r, IPPROTO_UDPLITE, RECV_CSCOV, " get");
    }
    setint(r, SOL_UDP, SEND_CSCOV, 30, "SOL_UDP SEND_CSCOV 30");
    getint(r, SOL_UDPLITE, SEND_CSCOV, " get");
    short sh = 12;
    CHECK("setsockopt optlen 2", setsockopt(r, SOL_UDPLITE, SEND_CSCOV, &sh, sizeof sh));
    CHECK("setsockopt unknown optlen 2", setsockopt(r, SOL_UDPLITE, 99, &sh, sizeof sh));
    int v = 1;
    CHECK("setsockopt unknown", setsockopt(r, SOL_UDPLITE, 99, &v, sizeof v));
    CHECK("getsockopt unknown", getsockopt(r, SOL_UDPLITE, 99, &v, &(socklen_t){4}));
    CHECK("setsockopt bad pointer", setsockopt(r, SOL_UDPLITE, SEND_CSCOV, BAD_PTR, 4));
    socklen_t l = 2;
    unsigned char two[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    CHECK("getsockopt optlen 2", getsockopt(r, SOL_UDPLITE, SEND_CSCOV, two, &l));
    printf(" len %d bytes %02x %02x %02x\n", (int)l, two[0], two[1], two[2]);
    setint(r, SOL_UDPLITE, UDP_CORK, 5, "UDP_CORK at SOL_UDPLITE");
    getint(r, SOL_UDP, UDP_CORK, " get at SOL_UDP");
    setint(r, SOL_UDP, UDP_CORK, 0, "UDP_CORK 0");

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    setint(u, SOL_UDPLITE, SEND_CSCOV, 20, "udp: set SEND_CSCOV");
    setint(u, SOL_UDP, RECV_CSCOV, 20, "udp: set RECV_CSCOV");
    getint(u, SOL_UDPLITE, SEND_CSCOV, "udp: get SEND_CSCOV");
    getint(u, SOL_UDP, RECV_CSCOV, "udp: get RECV_CSCOV");
    getint(u, SOL_SOCKET, SO_PROTOCOL, "udp: SO_PROTOCOL");
    int t = socket(AF_INET, SOCK_STREAM, 0);
    setint(t, SOL_UDPLITE, SEND_CSCOV, 20, "tcp: set SEND_CSCOV");
    getint(t, SOL_UDPLITE, SEND_CSCOV, "tcp: get SEND_CSCOV");
    int r6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    setint(r6, SOL_UDPLITE, SEND_CSCOV, 3, "udplite6: set SEND_CSCOV 3");
    getint(r6, SOL_UDPLITE, SEND_CSCOV, "udplite6: get");
    close(r), close(u), close(t), close(r6);
}

static void send_len(int s, struct sockaddr_in *to, int n, const char *label)
{
    char buf[128];
    memset(buf, 'a' + n % 26, sizeof buf);
    CHECK(label, sendto(s, buf, n, 0, (struct sockaddr *)to, sizeof *to));
}

static void coverage(void)
{
    printf("--- coverage\n");
    struct sockaddr_in ra = sin4("127.0.0.1", 7503);
    int r = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    CHECK_OK("bind 7503", bind(r, (struct sockaddr *)&ra, sizeof ra));
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    setint(s, SOL_UDPLITE, SEND_CSCOV, 20, "sender covers 20");
    send_len(s, &ra, 40, "send 40 (partial: 20 of 48)");
    recv_now(" no minimum: received", r);
    setint(r, SOL_UDPLITE, RECV_CSCOV, 30, "receiver wants 30");
    send_len(s, &ra, 40, "send 40 (partial 20)");
    recv_now(" dropped", r);
    send_len(s, &ra, 10, "send 10 (20 >= 18: whole)");
    recv_now(" received", r);
    setint(s, SOL_UDPLITE, SEND_CSCOV, 30, "sender covers 30");
    send_len(s, &ra, 40, "send 40 (partial 30)");
    recv_now(" received", r);
    setint(s, SOL_UDPLITE, SEND_CSCOV, 0, "sender covers all");
    send_len(s, &ra, 40, "send 40 (whole)");
    recv_now(" received", r);
    setint(r, SOL_UDPLITE, RECV_CSCOV, 0, "receiver wants whole");
    setint(s, SOL_UDPLITE, SEND_CSCOV, 8, "sender covers 8");
    send_len(s, &ra, 40, "send 40 (partial 8)");
    recv_now(" dropped", r);
    send_len(s, &ra, 0, "send 0 (8 of 8: whole)");
    recv_now(" received", r);
    proc_line("udplite", 7503);
    close(r), close(s);
}

/* An AF_INET6 UDP-Lite socket bound to :: takes IPv4 UDP-Lite datagrams. */
static void mapped(void)
{
    printf("--- mapped\n");
    int r = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    struct sockaddr_in6 any = sin6("::", 7504);
    CHECK_OK("bind [::]:7504", bind(r, (struct sockaddr *)&any, sizeof any));
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    struct sockaddr_in to = sin4("127.0.0.1", 7504);
    CHECK("sendto 127.0.0.1", sendto(s, "v4", 2, 0, (struct sockaddr *)&to, sizeof to));
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    char buf[16];
    CHECK("recvfrom", recvfrom(r, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl));
    BOOL("from is v4-mapped", IN6_IS_ADDR_V4MAPPED(&from.sin6_addr));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_OK("connect udp to 7504", connect(u, (struct sockaddr *)&to, sizeof to));
    CHECK("udp send", send(u, "x", 1, 0));
    CHECK("udp send again (no UDP socket there)", send(u, "x", 1, 0));
    close(r), close(s), close(u);
}

int main(void)
{
    basics(AF_INET);
    basics(AF_INET6);
    options();
    coverage();
    mapped();
    return 0;
}
