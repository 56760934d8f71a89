/* The TCP counters of /proc/net/snmp ("Tcp:"), as deltas over what this program does on lo:
 * ActiveOpens per connect (a refused one too, with AttemptFails), PassiveOpens per connection
 * a listener takes, CurrEstab for the connections in ESTABLISHED or CLOSE_WAIT (each end of a
 * loopback connection counts: +2 per connection, -1 per end that closes), EstabResets per end
 * that a reset closes, OutRsts per RST; IPv6 connections count in the same line. InSegs and
 * OutSegs only as "grew" (how many segments Linux sends is its own business). The Tcp line's
 * constants, and the Ip line's Forwarding and DefaultTTL beside net.ipv4.ip_forward and
 * ip_default_ttl. The native run has a network namespace of its own: nothing else moves these
 * counters. */
#include "contract.h"
#include "inet.h"
#include <netinet/tcp.h>

enum { RTOALG, RTOMIN, RTOMAX, MAXCONN, ACTIVE, PASSIVE, FAILS, RESETS, CURR, INSEGS, OUTSEGS,
       RETRANS, INERRS, OUTRSTS, NFIELDS };
static const char *names[NFIELDS] = {"RtoAlgorithm", "RtoMin", "RtoMax", "MaxConn",
                                     "ActiveOpens", "PassiveOpens", "AttemptFails",
                                     "EstabResets", "CurrEstab", "InSegs", "OutSegs",
                                     "RetransSegs", "InErrs", "OutRsts"};
static long before[NFIELDS], now[NFIELDS], ip[2];

/* The second line of a "Name: ..." pair: its values. */
static void read_pair(const char *name, long *v, int n)
{
    char line[1024];
    size_t len = strlen(name);
    int seen = 0;
    FILE *f = fopen("/proc/net/snmp", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) || line[len] != ':' || !seen++)
            continue;
        char *p = line + len + 1;
        for (int i = 0; i < n; i++)
            v[i] = strtol(p, &p, 10);
    }
    if (f)
        fclose(f);
}

/* The counters that moved since the last call, as "label: Field +N ..." (segments: grew). */
static void deltas(const char *label)
{
    read_pair("Tcp", now, NFIELDS);
    printf("%s:", label);
    int any = 0;
    for (int i = ACTIVE; i < NFIELDS; i++) {
        long d = now[i] - before[i];
        if (!d)
            continue;
        any = 1;
        if (i == INSEGS || i == OUTSEGS)
            printf(" %s grew", names[i]);
        else
            printf(" %s %+ld", names[i], d);
    }
    printf("%s\n", any ? "" : " none");
    memcpy(before, now, sizeof now);
}

static int listener(int family)
{
    int fd = socket(family, SOCK_STREAM, 0);
    struct sockaddr_in a4 = sin4("127.0.0.1", 0);
    struct sockaddr_in6 a6 = sin6("::1", 0);
    int r = family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof a4)
                              : bind(fd, (struct sockaddr *)&a6, sizeof a6);
    if (fd < 0 || r < 0 || listen(fd, 4) < 0) {
        printf("setup failed: %s\n", errname(errno));
        exit(99);
    }
    return fd;
}

static long connect_to(int fd, int family, int port)
{
    struct sockaddr_in a4 = sin4("127.0.0.1", port);
    struct sockaddr_in6 a6 = sin6("::1", port);
    return family == AF_INET ? connect(fd, (struct sockaddr *)&a4, sizeof a4)
                             : connect(fd, (struct sockaddr *)&a6, sizeof a6);
}

static void lifetime(int family)
{
    char buf[16];
    int l = listener(family);
    deltas("  listen");
    int c = socket(family, SOCK_STREAM, 0);
    CHECK("  connect", connect_to(c, family, port_of(l)));
    deltas("  connected");
    int s = accept(l, NULL, NULL);
    deltas("  accepted");
    CHECK("  send", send(c, "hello", 5, 0));
    CHECK("  recv", recv(s, buf, sizeof buf, 0));
    deltas("  5 bytes");
    close(c);
    deltas("  client closed (server in CLOSE_WAIT)");
    CHECK("  server reads EOF", recv(s, buf, sizeof buf, 0));
    deltas("  EOF read");
    close(s);
    deltas("  server closed");
    close(l);
    deltas("  listener closed");
}

static void refused(void)
{
    int l = listener(AF_INET), port = port_of(l);
    close(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("  connect to a port nobody listens on", connect_to(c, AF_INET, port));
    deltas("  refused");
    close(c);
    deltas("  its socket closed");
}

static void reset(void)
{
    char buf[16];
    int l = listener(AF_INET);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect_to(c, AF_INET, port_of(l));
    int s = accept(l, NULL, NULL);
    send(s, "unread", 6, 0);
    deltas("  connected, 6 bytes sent to the client");
    close(c);  /* unread data: RST */
    deltas("  client closed with unread data");
    CHECK("  server's recv", recv(s, buf, sizeof buf, 0));
    close(s);
    deltas("  server closed");

    c = socket(AF_INET, SOCK_STREAM, 0);
    connect_to(c, AF_INET, port_of(l));
    s = accept(l, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    deltas("  connected again");
    close(s);  /* SO_LINGER with no time: RST */
    deltas("  server closed with SO_LINGER 0");
    CHECK("  client's recv", recv(c, buf, sizeof buf, 0));
    close(c);
    deltas("  client closed");
    close(l);
}

static void constants(void)
{
    read_pair("Ip", ip, 2);
    long fwd = -1, ttl = -1;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
    if (f) {
        fscanf(f, "%ld", &fwd);
        fclose(f);
    }
    f = fopen("/proc/sys/net/ipv4/ip_default_ttl", "r");
    if (f) {
        fscanf(f, "%ld", &ttl);
        fclose(f);
    }
    printf("Ip: Forwarding %ld (ip_forward %ld), DefaultTTL %ld (ip_default_ttl %ld)\n",
           ip[0], fwd, ip[1], ttl);
    printf("Tcp:");
    for (int i = RTOALG; i <= MAXCONN; i++)
        printf(" %s %ld", names[i], before[i]);
    printf("\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    read_pair("Tcp", before, NFIELDS);
    constants();
    printf("IPv4 connection:\n");
    lifetime(AF_INET);
    printf("IPv6 connection:\n");
    lifetime(AF_INET6);
    printf("refused:\n");
    refused();
    printf("reset:\n");
    reset();
    return 0;
}
