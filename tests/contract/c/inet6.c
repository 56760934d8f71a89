/* AF_INET6 over lo: ::1, in6addr_any, IPv4-mapped addresses (::ffff:127.0.0.1) and
 * IPV6_V6ONLY (a socket bound to :: takes IPv4 connections and datagrams unless V6ONLY),
 * sockaddr_in6 layouts (28 bytes, and RFC 2133's 24), bind and connect errors, the IPv6
 * options, UDP between the families. */
#include "contract.h"
#include "inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void show(const char *label, struct sockaddr_storage *ss, socklen_t len)
{
    char ip[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        printf("%s: len=%d AF_INET6 %s port=%s flow=%u scope=%u\n", label, (int)len, ip,
               port == 0 ? "0" : port >= 32768 && port <= 60999 ? "ephemeral" : "fixed",
               a->sin6_flowinfo, a->sin6_scope_id);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        printf("%s: len=%d family=%d %s port=%s\n", label, (int)len, ss->ss_family, ip,
               port == 0 ? "0" : port >= 32768 && port <= 60999 ? "ephemeral" : "fixed");
    }
}

static void name(const char *label, int fd, int peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        show(label, &ss, len);
}

static int opt(int fd, int level, int name_)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name_, &v, &len) < 0)
        return -errno;
    return v;
}

static void try_connect(const char *label, int family, void *addr, socklen_t len, int l)
{
    int c = socket(family, SOCK_STREAM, 0);
    if (CHECK(label, connect(c, (struct sockaddr *)addr, len)) == 0) {
        name("  name", c, 0);
        name("  peer", c, 1);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int a = accept(l, (struct sockaddr *)&ss, &sl);
        show("  accepted from", &ss, sl);
        name("  accepted name", a, 0);
        close(a);
    }
    close(c);
}

int main(void)
{
    static char buf[70000];
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    printf("V6ONLY=%d HOPS=%d MHOPS=%d TCLASS=%d\n", opt(s, IPPROTO_IPV6, IPV6_V6ONLY),
           opt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS), opt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
           opt(s, IPPROTO_IPV6, IPV6_TCLASS));
    name("unbound", s, 0);
    struct sockaddr_in6 a = sin6("::1", 7501);
    CHECK("bind len 23", bind(s, (struct sockaddr *)&a, 23));
    CHECK("bind len 16", bind(s, (struct sockaddr *)&a, 16));
    struct sockaddr_in v4 = sin4("127.0.0.1", 7501);
    CHECK("bind AF_INET addr", bind(s, (struct sockaddr *)&v4, sizeof v4));
    struct sockaddr_in6 x = sin6("::2", 7501);
    CHECK("bind ::2", bind(s, (struct sockaddr *)&x, sizeof x));
    x = sin6("2001:db8::1", 7501);
    CHECK("bind 2001:db8::1", bind(s, (struct sockaddr *)&x, sizeof x));
    x = sin6("fe80::1", 7501);
    CHECK("bind fe80::1 no scope", bind(s, (struct sockaddr *)&x, sizeof x));
    x.sin6_scope_id = 77;
    CHECK("bind fe80::1 scope 77", bind(s, (struct sockaddr *)&x, sizeof x));
    x.sin6_scope_id = 1;
    CHECK("bind fe80::1 scope lo", bind(s, (struct sockaddr *)&x, sizeof x));
    x = sin6("::ffff:10.0.0.1", 7501);
    CHECK("bind mapped 10.0.0.1", bind(s, (struct sockaddr *)&x, sizeof x));
    CHECK("bind ::1 (24 bytes)", bind(s, (struct sockaddr *)&a, 24));
    name("bound", s, 0);
    CHECK("listen", listen(s, 8));
    try_connect("v6 to ::1", AF_INET6, &a, sizeof a, s);
    try_connect("v4 to 127.0.0.1 (v6 ::1 listener)", AF_INET, &v4, sizeof v4, s);
    close(s);

    /* :: takes both families */
    int any = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 wa = sin6("::", 7502);
    CHECK("bind ::", bind(any, (struct sockaddr *)&wa, sizeof wa));
    listen(any, 8);
    struct sockaddr_in6 t6 = sin6("::1", 7502);
    try_connect("v6 to ::", AF_INET6, &t6, sizeof t6, any);
    struct sockaddr_in t4 = sin4("127.0.0.3", 7502);
    try_connect("v4 to ::", AF_INET, &t4, sizeof t4, any);
    struct sockaddr_in6 tm = sin6("::ffff:127.0.0.1", 7502);
    try_connect("v6 mapped to ::", AF_INET6, &tm, sizeof tm, any);
    struct sockaddr_in6 tz = sin6("::", 7502);
    try_connect("v6 to :: (unspecified)", AF_INET6, &tz, sizeof tz, any);
    int v4s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in v4any = sin4("0.0.0.0", 7502);
    CHECK("v4 bind 0.0.0.0 same port", bind(v4s, (struct sockaddr *)&v4any, sizeof v4any));
    struct sockaddr_in v4lo = sin4("127.0.0.1", 7502);
    CHECK("v4 bind 127.0.0.1 same port", bind(v4s, (struct sockaddr *)&v4lo, sizeof v4lo));
    close(v4s);
    close(any);

    /* V6ONLY */
    int only = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    CHECK("set V6ONLY", setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    printf("V6ONLY=%d\n", opt(only, IPPROTO_IPV6, IPV6_V6ONLY));
    struct sockaddr_in6 oa = sin6("::", 7503);
    CHECK("bind :: v6only", bind(only, (struct sockaddr *)&oa, sizeof oa));
    CHECK("set V6ONLY after bind", setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    listen(only, 4);
    struct sockaddr_in o4 = sin4("127.0.0.1", 7503);
    try_connect("v4 to v6only", AF_INET, &o4, sizeof o4, only);
    int v4l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("v4 bind same port as v6only", bind(v4l, (struct sockaddr *)&o4, sizeof o4));
    listen(v4l, 4);
    try_connect("v4 to v4 beside v6only", AF_INET, &o4, sizeof o4, v4l);
    struct sockaddr_in6 o6 = sin6("::1", 7503);
    try_connect("v6 to v6only", AF_INET6, &o6, sizeof o6, only);
    int oc = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(oc, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 om = sin6("::ffff:127.0.0.1", 7503);
    CHECK("v6only connect to mapped", connect(oc, (struct sockaddr *)&om, sizeof om));
    CHECK("v6only bind mapped", bind(oc, (struct sockaddr *)&om, sizeof om));
    close(oc);
    close(v4l);
    close(only);

    /* connect errors */
    int e = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 nowhere = sin6("2001:db8::5", 80);
    CHECK("connect 2001:db8::5", connect(e, (struct sockaddr *)&nowhere, sizeof nowhere));
    nowhere = sin6("::ffff:10.1.1.1", 80);
    CHECK("connect mapped 10.1.1.1", connect(e, (struct sockaddr *)&nowhere, sizeof nowhere));
    nowhere = sin6("::1", 7599);
    CHECK("connect ::1 closed", connect(e, (struct sockaddr *)&nowhere, sizeof nowhere));
    CHECK("connect AF_INET addr", connect(e, (struct sockaddr *)&v4, sizeof v4));
    CHECK("connect len 20", connect(e, (struct sockaddr *)&a, 20));
    close(e);

    /* IPv6 options */
    int o = socket(AF_INET6, SOCK_DGRAM, 0);
    int v = 300;
    CHECK("HOPS 300", setsockopt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    v = 9;
    CHECK("HOPS 9", setsockopt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    printf("HOPS=%d\n", opt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
    v = -1;
    CHECK("HOPS -1", setsockopt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    printf("HOPS=%d\n", opt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
    v = 0x20;
    CHECK("TCLASS", setsockopt(o, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v));
    printf("TCLASS=%d\n", opt(o, IPPROTO_IPV6, IPV6_TCLASS));
    v = 1;
    CHECK("RECVERR", setsockopt(o, IPPROTO_IPV6, IPV6_RECVERR, &v, sizeof v));
    printf("RECVERR=%d RECVPKTINFO=%d MTU=%d\n", opt(o, IPPROTO_IPV6, IPV6_RECVERR),
           opt(o, IPPROTO_IPV6, IPV6_RECVPKTINFO), opt(o, IPPROTO_IPV6, IPV6_MTU));
    printf("IP_TTL on v6=%d\n", opt(o, IPPROTO_IP, IP_TTL));
    CHECK("unknown v6 opt", setsockopt(o, IPPROTO_IPV6, 999, &v, sizeof v));

    /* UDP across the families */
    struct sockaddr_in6 ua = sin6("::", 7504);
    CHECK("udp bind ::", bind(o, (struct sockaddr *)&ua, sizeof ua));
    int u4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in u4to = sin4("127.0.0.1", 7504);
    CHECK("v4 sendto v6 ::", sendto(u4, "four", 4, 0, (struct sockaddr *)&u4to, sizeof u4to));
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    CHECK("v6 recvfrom", recvfrom(o, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    show("  from", &from, fl);
    CHECK("v6 replies to mapped", sendto(o, "back", 4, 0, (struct sockaddr *)&from, fl));
    fl = sizeof from;
    CHECK("v4 gets reply", recvfrom(u4, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    show("  from", &from, fl);
    CHECK("v6 sendto AF_INET addr", sendto(o, "x", 1, 0, (struct sockaddr *)&u4to, sizeof u4to));
    CHECK("recv it", recv(o, buf, sizeof buf, MSG_DONTWAIT));
    int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 u6to = sin6("::1", 7504);
    CHECK("v6 sendto ::1", sendto(u6, "six", 3, 0, (struct sockaddr *)&u6to, sizeof u6to));
    fl = sizeof from;
    CHECK("v6 recvfrom v6", recvfrom(o, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    show("  from", &from, fl);
    CHECK("v6 connect", connect(u6, (struct sockaddr *)&u6to, sizeof u6to));
    name("  connected name", u6, 0);
    name("  connected peer", u6, 1);
    CHECK("sendto 65527", sendto(u6, buf, 65527, 0, NULL, 0));
    CHECK("sendto 65528", sendto(u6, buf, 65528, 0, NULL, 0));
    return 0;
}
