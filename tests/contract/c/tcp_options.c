/* TCP and IP socket options: defaults, values kept and reported back, the range checks
 * (EINVAL), short lengths, unknown names (ENOPROTOOPT), what an accepted socket inherits,
 * TCP_MAXSEG before and after connecting, TCP_INFO's state, IP_TTL, IP_TOS, IP_RECVERR,
 * IP_MTU (ENOTCONN before connecting), TCP_CONGESTION. */
#include "contract.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void get(const char *label, int fd, int level, int name)
{
    int v = -12345;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        printf("get %s: -1 %s\n", label, errname(errno));
    else
        printf("get %s: %d (len %d)\n", label, v, (int)len);
}

static void set(const char *label, int fd, int level, int name, int v)
{
    char l[64];
    snprintf(l, sizeof l, "set %s=%d", label, v);
    CHECK(l, setsockopt(fd, level, name, &v, sizeof v));
}

#define OPT(fd, level, name) get(#name, fd, level, name)

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int tcp_int[] = {TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL,
                     TCP_KEEPCNT, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP,
                     TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, TCP_FASTOPEN};
    const char *tcp_names[] = {"TCP_NODELAY", "TCP_MAXSEG", "TCP_CORK", "TCP_KEEPIDLE",
                               "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_LINGER2",
                               "TCP_DEFER_ACCEPT", "TCP_WINDOW_CLAMP", "TCP_QUICKACK",
                               "TCP_USER_TIMEOUT", "TCP_NOTSENT_LOWAT", "TCP_FASTOPEN"};
    for (int i = 0; i < 14; i++)
        get(tcp_names[i], s, IPPROTO_TCP, tcp_int[i]);

    set("TCP_NODELAY", s, IPPROTO_TCP, TCP_NODELAY, 5);
    OPT(s, IPPROTO_TCP, TCP_NODELAY);
    set("TCP_CORK", s, IPPROTO_TCP, TCP_CORK, 1);
    OPT(s, IPPROTO_TCP, TCP_CORK);
    set("TCP_CORK", s, IPPROTO_TCP, TCP_CORK, 0);
    set("TCP_KEEPIDLE", s, IPPROTO_TCP, TCP_KEEPIDLE, 30);
    set("TCP_KEEPIDLE", s, IPPROTO_TCP, TCP_KEEPIDLE, 0);
    set("TCP_KEEPIDLE", s, IPPROTO_TCP, TCP_KEEPIDLE, 32768);
    OPT(s, IPPROTO_TCP, TCP_KEEPIDLE);
    set("TCP_KEEPINTVL", s, IPPROTO_TCP, TCP_KEEPINTVL, 5);
    set("TCP_KEEPINTVL", s, IPPROTO_TCP, TCP_KEEPINTVL, -1);
    OPT(s, IPPROTO_TCP, TCP_KEEPINTVL);
    set("TCP_KEEPCNT", s, IPPROTO_TCP, TCP_KEEPCNT, 3);
    set("TCP_KEEPCNT", s, IPPROTO_TCP, TCP_KEEPCNT, 128);
    OPT(s, IPPROTO_TCP, TCP_KEEPCNT);
    set("TCP_SYNCNT", s, IPPROTO_TCP, TCP_SYNCNT, 0);
    set("TCP_SYNCNT", s, IPPROTO_TCP, TCP_SYNCNT, 2);
    OPT(s, IPPROTO_TCP, TCP_SYNCNT);
    set("TCP_MAXSEG", s, IPPROTO_TCP, TCP_MAXSEG, 10);
    set("TCP_MAXSEG", s, IPPROTO_TCP, TCP_MAXSEG, 40000);
    set("TCP_MAXSEG", s, IPPROTO_TCP, TCP_MAXSEG, 1400);
    OPT(s, IPPROTO_TCP, TCP_MAXSEG);
    set("TCP_USER_TIMEOUT", s, IPPROTO_TCP, TCP_USER_TIMEOUT, -1);
    set("TCP_USER_TIMEOUT", s, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
    OPT(s, IPPROTO_TCP, TCP_USER_TIMEOUT);
    set("TCP_QUICKACK", s, IPPROTO_TCP, TCP_QUICKACK, 0);
    OPT(s, IPPROTO_TCP, TCP_QUICKACK);
    set("TCP_LINGER2", s, IPPROTO_TCP, TCP_LINGER2, 30);
    OPT(s, IPPROTO_TCP, TCP_LINGER2);
    set("TCP_LINGER2", s, IPPROTO_TCP, TCP_LINGER2, -5);
    OPT(s, IPPROTO_TCP, TCP_LINGER2);
    set("TCP_LINGER2", s, IPPROTO_TCP, TCP_LINGER2, 1000);
    OPT(s, IPPROTO_TCP, TCP_LINGER2);
    set("TCP_DEFER_ACCEPT", s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    OPT(s, IPPROTO_TCP, TCP_DEFER_ACCEPT);
    set("TCP_WINDOW_CLAMP", s, IPPROTO_TCP, TCP_WINDOW_CLAMP, 100);
    OPT(s, IPPROTO_TCP, TCP_WINDOW_CLAMP);
    set("TCP_NOTSENT_LOWAT", s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
    OPT(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT);
    short sh = 1;
    CHECK("set TCP_NODELAY short", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &sh, sizeof sh));
    CHECK("set TCP_NODELAY efault", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, BAD_PTR, 4));
    int v = 1;
    CHECK("set TCP 999", setsockopt(s, IPPROTO_TCP, 999, &v, sizeof v));
    CHECK("set level 99", setsockopt(s, 99, 1, &v, sizeof v));
    CHECK("set SOL_UDP on tcp", setsockopt(s, IPPROTO_UDP, 1, &v, sizeof v));
    CHECK("set SOL_IPV6 on v4", setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
    socklen_t len = 4;
    CHECK("get TCP 999", getsockopt(s, IPPROTO_TCP, 999, &v, &len));
    len = 2;
    CHECK("get TCP_NODELAY len 2", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len));
    printf("len after: %d\n", (int)len);
    len = -1;
    CHECK("get len -1", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len));
    char cc[32] = {0};
    len = sizeof cc;
    CHECK("get TCP_CONGESTION", getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &len));
    printf("congestion len: %d\n", (int)len);
    CHECK("set TCP_CONGESTION cubic", setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5));
    CHECK("set TCP_CONGESTION nope", setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "nope", 4));
    len = sizeof cc;
    getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &len);
    printf("congestion: %s\n", cc);

    /* IP level */
    OPT(s, IPPROTO_IP, IP_TTL);
    set("IP_TTL", s, IPPROTO_IP, IP_TTL, 0);
    set("IP_TTL", s, IPPROTO_IP, IP_TTL, 256);
    set("IP_TTL", s, IPPROTO_IP, IP_TTL, 7);
    OPT(s, IPPROTO_IP, IP_TTL);
    set("IP_TTL", s, IPPROTO_IP, IP_TTL, -1);
    OPT(s, IPPROTO_IP, IP_TTL);
    OPT(s, IPPROTO_IP, IP_TOS);
    set("IP_TOS", s, IPPROTO_IP, IP_TOS, 0x2f);
    OPT(s, IPPROTO_IP, IP_TOS);
    OPT(s, IPPROTO_IP, IP_RECVERR);
    set("IP_RECVERR", s, IPPROTO_IP, IP_RECVERR, 9);
    OPT(s, IPPROTO_IP, IP_RECVERR);
    OPT(s, IPPROTO_IP, IP_MTU);
    OPT(s, IPPROTO_IP, IP_MTU_DISCOVER);
    set("IP_MTU_DISCOVER", s, IPPROTO_IP, IP_MTU_DISCOVER, 9);
    OPT(s, IPPROTO_IP, IP_MULTICAST_TTL);
    OPT(s, IPPROTO_IP, IP_PKTINFO);
    OPT(s, IPPROTO_IP, IP_FREEBIND);
    CHECK("get IP 200", getsockopt(s, IPPROTO_IP, 200, &v, &len));
    char byte = 9;
    CHECK("set IP_TTL one byte", setsockopt(s, IPPROTO_IP, IP_TTL, &byte, 1));
    OPT(s, IPPROTO_IP, IP_TTL);

    /* SOL_SOCKET options on TCP */
    set("SO_KEEPALIVE", s, SOL_SOCKET, SO_KEEPALIVE, 1);
    OPT(s, SOL_SOCKET, SO_KEEPALIVE);
    set("SO_REUSEPORT", s, SOL_SOCKET, SO_REUSEPORT, 1);
    OPT(s, SOL_SOCKET, SO_REUSEPORT);
    set("SO_SNDBUF", s, SOL_SOCKET, SO_SNDBUF, 65536);
    OPT(s, SOL_SOCKET, SO_SNDBUF);
    set("SO_OOBINLINE", s, SOL_SOCKET, SO_OOBINLINE, 1);
    OPT(s, SOL_SOCKET, SO_OOBINLINE);
    set("SO_BROADCAST", s, SOL_SOCKET, SO_BROADCAST, 1);
    OPT(s, SOL_SOCKET, SO_BROADCAST);

    /* a connection: MSS, TCP_INFO, IP_MTU, inheritance */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {AF_INET, htons(7301), {htonl(INADDR_LOOPBACK)}};
    bind(l, (struct sockaddr *)&a, sizeof a);
    set("l TCP_NODELAY", l, IPPROTO_TCP, TCP_NODELAY, 1);
    set("l TCP_KEEPIDLE", l, IPPROTO_TCP, TCP_KEEPIDLE, 99);
    set("l SO_KEEPALIVE", l, SOL_SOCKET, SO_KEEPALIVE, 1);
    set("l IP_TTL", l, IPPROTO_IP, IP_TTL, 33);
    struct tcp_info ti;
    len = sizeof ti;
    getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len);
    printf("closed: tcpi_state=%d len ok=%d\n", ti.tcpi_state, len == sizeof ti);
    listen(l, 4);
    len = sizeof ti;
    getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len);
    printf("listen: tcpi_state=%d\n", ti.tcpi_state);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    OPT(c, IPPROTO_TCP, TCP_MAXSEG);
    CHECK("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    int acc = accept(l, NULL, NULL);
    OPT(c, IPPROTO_TCP, TCP_MAXSEG);
    OPT(c, IPPROTO_IP, IP_MTU);
    OPT(acc, IPPROTO_TCP, TCP_NODELAY);
    OPT(acc, IPPROTO_TCP, TCP_KEEPIDLE);
    OPT(acc, SOL_SOCKET, SO_KEEPALIVE);
    OPT(acc, IPPROTO_IP, IP_TTL);
    send(c, "hello", 5, 0);
    len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    CHECK("TCP_INFO", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len));
    printf("established: tcpi_state=%d rtt plausible=%d rto plausible=%d mss>0=%d\n",
           ti.tcpi_state, ti.tcpi_rtt > 0 && ti.tcpi_rtt < 1000000,
           ti.tcpi_rto >= 200000 && ti.tcpi_rto < 3000000, ti.tcpi_snd_mss > 0);
    len = 8;
    CHECK("TCP_INFO short", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len));
    printf("short len: %d\n", (int)len);
    set("TCP_WINDOW_CLAMP 0 connected", c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
    close(c);
    close(acc);
    close(l);
    close(s);
    return 0;
}
