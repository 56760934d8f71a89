/* The UDP and UDP-Lite counters of /proc/net/snmp ("Udp:" and "UdpLite:") and /proc/net/snmp6
 * (Udp6*, UdpLite6*), as deltas over what this program does on lo: OutDatagrams per datagram
 * sent (also to a port nobody holds), NoPorts for that one (IgnoredMulti for a broadcast, and
 * no ECONNREFUSED), InDatagrams per datagram read (not when only peeked), InErrors for one
 * dropped for its UDP-Lite coverage, RcvbufErrors (with InErrors) for one dropped at a full
 * receive queue. An IPv4 datagram counts in the IPv4 lines even through an AF_INET6 socket (a
 * v4-mapped address); UDP and UDP-Lite count apart. The files' layout too (names, order).
 * The native run has a network namespace of its own: nothing else moves these counters. */
#include "contract.h"
#include "inet.h"
#include <netinet/udp.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define SOL_UDPLITE 136
#define SEND_CSCOV 10
#define RECV_CSCOV 11

enum { IN, NOPORTS, INERR, OUT, RCVBUF, SNDBUF, CSUM, IGNMULTI, MEMERR, NFIELDS };
static const char *names[NFIELDS] = {"InDatagrams", "NoPorts", "InErrors", "OutDatagrams",
                                     "RcvbufErrors", "SndbufErrors", "InCsumErrors",
                                     "IgnoredMulti", "MemErrors"};
/* [0] Udp, [1] UdpLite, [2] Udp6, [3] UdpLite6 */
static const char *mibs[4] = {"Udp", "UdpLite", "Udp6", "UdpLite6"};
static long before[4][NFIELDS], now[4][NFIELDS];

static void read_snmp(long c[4][NFIELDS])
{
    char line[1024];
    memset(c, 0, sizeof(long) * 4 * NFIELDS);
    FILE *f = fopen("/proc/net/snmp", "r");
    int heads = 0;
    while (f && fgets(line, sizeof line, f)) {
        int m = !strncmp(line, "Udp: ", 5) ? 0 : !strncmp(line, "UdpLite: ", 9) ? 1 : -1;
        if (m < 0)
            continue;
        if (!(heads & (1 << m))) {  /* the first line names the fields */
            heads |= 1 << m;
            continue;
        }
        char *p = strchr(line, ' ');
        for (int i = 0; i < NFIELDS && p; i++)
            c[m][i] = strtol(p, &p, 10);
    }
    if (f)
        fclose(f);
    f = fopen("/proc/net/snmp6", "r");
    while (f && fgets(line, sizeof line, f)) {
        char name[64];
        long v;
        if (sscanf(line, "%63s %ld", name, &v) != 2)
            continue;
        for (int m = 2; m < 4; m++) {
            size_t n = strlen(mibs[m]);
            if (strncmp(name, mibs[m], n))
                continue;
            for (int i = 0; i < NFIELDS; i++)
                if (!strcmp(name + n, names[i]))
                    c[m][i] = v;
        }
    }
    if (f)
        fclose(f);
}

/* The counters that moved since the last call, as "label: Mib Field +N ...". */
static void deltas(const char *label)
{
    read_snmp(now);
    printf("%s:", label);
    int any = 0;
    for (int m = 0; m < 4; m++)
        for (int i = 0; i < NFIELDS; i++)
            if (now[m][i] != before[m][i]) {
                printf(" %s%s %+ld", mibs[m], names[i], now[m][i] - before[m][i]);
                any = 1;
            }
    printf("%s\n", any ? "" : " none");
    memcpy(before, now, sizeof now);
}

static int sock(int family, int proto, struct sockaddr *addr, socklen_t len)
{
    int fd = socket(family, SOCK_DGRAM, proto);
    if (fd < 0 || (addr && bind(fd, addr, len) < 0)) {
        printf("setup failed: %s\n", errname(errno));
        exit(99);
    }
    return fd;
}

static void drain(int fd)
{
    char buf[2048];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        ;
}

/* A receiver bound to a free port of 127.0.0.1 (*r), a sender (*s); the receiver's address */
static struct sockaddr_in pair4(int proto, int *r, int *s)
{
    struct sockaddr_in any = sin4("127.0.0.1", 0);
    *r = sock(AF_INET, proto, (struct sockaddr *)&any, sizeof any);
    *s = sock(AF_INET, proto, NULL, 0);
    return sin4("127.0.0.1", port_of(*r));
}

static void v4(int proto)
{
    int r, s;
    struct sockaddr_in to = pair4(proto, &r, &s);
    char buf[64];
    sendto(s, "one", 3, 0, (struct sockaddr *)&to, sizeof to);
    sendto(s, "two", 3, 0, (struct sockaddr *)&to, sizeof to);
    deltas("  two sent");
    recv(r, buf, sizeof buf, MSG_PEEK);
    deltas("  one peeked");
    recv(r, buf, sizeof buf, 0);
    recv(r, buf, sizeof buf, 0);
    deltas("  two read");
    CHECK("  read from an empty queue", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    deltas("  nothing read");
    close(r);
    sendto(s, "lost", 4, 0, (struct sockaddr *)&to, sizeof to);  /* nobody holds the port now */
    deltas("  sent to a port nobody holds");
    close(s);
}

static void coverage(void)
{
    int r, s, v = 20;
    struct sockaddr_in to = pair4(IPPROTO_UDPLITE, &r, &s);
    setsockopt(r, SOL_UDPLITE, RECV_CSCOV, &v, sizeof v);
    v = 10;
    setsockopt(s, SOL_UDPLITE, SEND_CSCOV, &v, sizeof v);
    sendto(s, "covered too little", 18, 0, (struct sockaddr *)&to, sizeof to);
    deltas("  covered less than the receiver wants");
    close(r);
    close(s);
}

static void broadcast(void)
{
    int s = sock(AF_INET, IPPROTO_UDPLITE, NULL, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    struct sockaddr_in to = sin4("127.255.255.255", 9);
    CHECK("  connect to lo's broadcast address", connect(s, (struct sockaddr *)&to, sizeof to));
    CHECK("  send (nobody on the port)", send(s, "x", 1, 0));
    CHECK("  send again (no ICMP: no ECONNREFUSED)", send(s, "x", 1, 0));
    deltas("  two broadcast");
    close(s);
}

static void rcvbuf(void)
{
    int r, s, v = 1024;
    struct sockaddr_in to = pair4(IPPROTO_UDPLITE, &r, &s);
    setsockopt(r, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    static char big[1000];
    for (int i = 0; i < 20; i++)
        sendto(s, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to);
    read_snmp(now);
    long dropped = now[1][RCVBUF] - before[1][RCVBUF];
    BOOL("  some dropped at a full queue", dropped > 0);
    BOOL("  InErrors counted them too", now[1][INERR] - before[1][INERR] == dropped);
    BOOL("  OutDatagrams counted every one", now[1][OUT] - before[1][OUT] == 20);
    drain(r);
    read_snmp(now);
    BOOL("  InDatagrams: those that were queued", now[1][IN] - before[1][IN] == 20 - dropped);
    memcpy(before, now, sizeof now);
    close(r);
    close(s);
}

static void v6(int proto)
{
    struct sockaddr_in6 any = sin6("::1", 0);
    int r = sock(AF_INET6, proto, (struct sockaddr *)&any, sizeof any);
    int s = sock(AF_INET6, proto, NULL, 0);
    struct sockaddr_in6 to = sin6("::1", port_of(r));
    char buf[64];
    sendto(s, "one", 3, 0, (struct sockaddr *)&to, sizeof to);
    sendto(s, "two", 3, 0, (struct sockaddr *)&to, sizeof to);
    deltas("  two sent");
    recv(r, buf, sizeof buf, 0);
    recv(r, buf, sizeof buf, 0);
    deltas("  two read");
    close(r);
    sendto(s, "lost", 4, 0, (struct sockaddr *)&to, sizeof to);
    deltas("  sent to a port nobody holds");
    close(s);

    /* IPv4 through AF_INET6 sockets: the IPv4 lines count it */
    struct sockaddr_in6 wild = sin6("::", 0);
    r = sock(AF_INET6, proto, (struct sockaddr *)&wild, sizeof wild);
    s = sock(AF_INET6, proto, NULL, 0);
    to = sin6("::ffff:127.0.0.1", port_of(r));
    sendto(s, "mapped", 6, 0, (struct sockaddr *)&to, sizeof to);
    recv(r, buf, sizeof buf, 0);
    deltas("  v4-mapped, sent and read");
    close(r);
    close(s);
}

static void layout(void)
{
    char line[1024];
    FILE *f = fopen("/proc/net/snmp", "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (n++ % 2 == 0)  /* the names, not the values */
            fputs(line, stdout);
    }
    if (f)
        fclose(f);
    f = fopen("/proc/net/snmp6", "r");
    n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!strncmp(line, "Icmp6InType", 11) || !strncmp(line, "Icmp6OutType", 12))
            continue;  /* one per ICMPv6 type seen: lo's own traffic decides */
        n++;
        if (!tab || tab - line != 32)
            printf("snmp6: a name not in 32 columns: %s", line);
        if (!strncmp(line, "Udp", 3))
            printf("snmp6: %.*s\n", (int)strcspn(line, " \t"), line);
    }
    printf("snmp6: %d counters\n", n);
    if (f)
        fclose(f);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    layout();
    read_snmp(before);
    printf("UDP-Lite over IPv4\n");
    v4(IPPROTO_UDPLITE);
    printf("UDP over IPv4\n");
    v4(IPPROTO_UDP);
    printf("UDP-Lite coverage\n");
    coverage();
    printf("UDP-Lite broadcast\n");
    broadcast();
    printf("UDP-Lite receive buffer\n");
    rcvbuf();
    printf("UDP-Lite over IPv6\n");
    v6(IPPROTO_UDPLITE);
    printf("UDP over IPv6\n");
    v6(IPPROTO_UDP);
    return 0;
}
