/* A glibc client and server over TCP on lo: getifaddrs (netlink dumps), getaddrinfo of
 * "localhost" with AI_ADDRCONFIG (netlink, /etc/hosts through nsswitch), getnameinfo, a server
 * on the IPv6 wildcard taking an IPv4 and an IPv6 client, a request and its answer each. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void show_sorted(const char *label, char **lines, int n)
{
    qsort(lines, n, sizeof *lines, cmp);
    for (int i = 0; i < n; i++) {
        printf("%s: %s\n", label, lines[i]);
        free(lines[i]);
    }
}

static void interfaces(void)
{
    struct ifaddrs *ifs, *i;
    if (getifaddrs(&ifs) < 0) {
        printf("getifaddrs: %s\n", strerror(errno));
        return;
    }
    char *lines[32];
    int n = 0;
    for (i = ifs; i && n < 32; i = i->ifa_next) {
        char addr[64] = "-";
        int fam = i->ifa_addr ? i->ifa_addr->sa_family : -1;
        if (fam == AF_INET || fam == AF_INET6)
            getnameinfo(i->ifa_addr, fam == AF_INET ? sizeof(struct sockaddr_in)
                                                    : sizeof(struct sockaddr_in6),
                        addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
        asprintf(&lines[n++], "%s family=%s up=%d loopback=%d addr=%s", i->ifa_name,
                 fam == AF_INET ? "inet" : fam == AF_INET6 ? "inet6" : fam == AF_PACKET ? "packet" : "?",
                 !!(i->ifa_flags & IFF_UP), !!(i->ifa_flags & IFF_LOOPBACK), addr);
    }
    freeifaddrs(ifs);
    show_sorted("ifaddr", lines, n);
}

static void resolve(const char *host, int flags)
{
    struct addrinfo hints = {0}, *res, *r;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    int e = getaddrinfo(host, "7801", &hints, &res);
    if (e) {
        printf("getaddrinfo %s: %s\n", host, gai_strerror(e));
        return;
    }
    char *lines[16];
    int n = 0;
    for (r = res; r && n < 16; r = r->ai_next) {
        char addr[64], port[16];
        getnameinfo(r->ai_addr, r->ai_addrlen, addr, sizeof addr, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        asprintf(&lines[n++], "%s %s port %s", r->ai_family == AF_INET6 ? "inet6" : "inet", addr,
                 port);
    }
    freeaddrinfo(res);
    char label[64];
    snprintf(label, sizeof label, "getaddrinfo %s%s", host, flags & AI_ADDRCONFIG ? " ADDRCONFIG" : "");
    show_sorted(label, lines, n);
}

static int client(int family, const char *host)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, "7801", &hints, &res))
        return 10;
    int c = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(c, res->ai_addr, res->ai_addrlen) < 0)
        return 11;
    freeaddrinfo(res);
    char msg[64], buf[128];
    snprintf(msg, sizeof msg, "hello from %s", host);
    if (write(c, msg, strlen(msg)) != (ssize_t)strlen(msg))
        return 12;
    shutdown(c, SHUT_WR);
    ssize_t n = 0, r;
    while ((r = read(c, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    printf("client %s got: %s\n", host, buf);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    interfaces();
    resolve("localhost", 0);
    resolve("localhost", AI_ADDRCONFIG);
    resolve("127.0.0.1", AI_NUMERICHOST);
    resolve("::1", AI_NUMERICHOST);
    resolve("no-such-host.invalid", 0);

    int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(7801);
    a.sin6_addr = in6addr_any;
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) {
        printf("server: %s\n", strerror(errno));
        return 1;
    }
    const char *hosts[] = {"127.0.0.1", "::1"};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(client(i ? AF_INET6 : AF_INET, hosts[i]));
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
        char host[64], buf[128] = {0};
        getnameinfo((struct sockaddr *)&peer, pl, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        ssize_t n = 0, r;
        while ((r = read(s, buf + n, sizeof buf - 1 - n)) > 0)
            n += r;
        printf("server: from %s: %s\n", host, buf);
        char reply[192];
        snprintf(reply, sizeof reply, "echo: %s", buf);
        write(s, reply, strlen(reply));
        close(s);
        int st;
        waitpid(pid, &st, 0);
        printf("client exit: %d\n", WEXITSTATUS(st));
    }
    return 0;
}
