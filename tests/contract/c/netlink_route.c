/* NETLINK_ROUTE: the port id (autobind: the pid; a second socket gets another), dumps of
 * RTM_GETLINK and RTM_GETADDR (IPv4 and IPv6) parsed as ip(8) would: each reply carries the
 * request's sequence number and the socket's port id, NLM_F_MULTI, then NLMSG_DONE; a
 * request for one link; an unknown request's NLMSG_ERROR; NLM_F_ACK; the errors of bind
 * and socket. Only what is deterministic is printed (lo's name, flags, addresses). */
#include "contract.h"
#include <arpa/inet.h>
/* musl-gcc has no kernel headers: the few definitions of linux/netlink.h and rtnetlink.h */
struct sockaddr_nl { unsigned short nl_family, nl_pad; unsigned nl_pid, nl_groups; };
struct nlmsghdr { unsigned nlmsg_len; unsigned short nlmsg_type, nlmsg_flags; unsigned nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct ifinfomsg { unsigned char ifi_family, __pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct ifaddrmsg { unsigned char ifa_family, ifa_prefixlen, ifa_flags, ifa_scope; unsigned ifa_index; };
struct rtattr { unsigned short rta_len, rta_type; };
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 1
#define NLM_F_MULTI 2
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define IFLA_ADDRESS 1
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_TXQLEN 13
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define NLMSG_ALIGN(len) (((len) + 3) & ~3)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_DATA(nlh) ((void *)((char *)(nlh) + NLMSG_HDRLEN))
#define NLMSG_NEXT(nlh, len) ((len) -= NLMSG_ALIGN((nlh)->nlmsg_len), (struct nlmsghdr *)((char *)(nlh) + NLMSG_ALIGN((nlh)->nlmsg_len)))
#define NLMSG_OK(nlh, len) ((len) >= (int)sizeof(struct nlmsghdr) && (nlh)->nlmsg_len >= sizeof(struct nlmsghdr) && (nlh)->nlmsg_len <= (unsigned)(len))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define RTA_ALIGN(len) (((len) + 3) & ~3)
#define RTA_OK(rta, len) ((len) >= (int)sizeof(struct rtattr) && (rta)->rta_len >= sizeof(struct rtattr) && (rta)->rta_len <= (len))
#define RTA_NEXT(rta, attrlen) ((attrlen) -= RTA_ALIGN((rta)->rta_len), (struct rtattr *)(((char *)(rta)) + RTA_ALIGN((rta)->rta_len)))
#define RTA_DATA(rta) ((void *)(((char *)(rta)) + RTA_ALIGN(sizeof(struct rtattr))))
#define RTA_PAYLOAD(rta) ((int)((rta)->rta_len) - RTA_ALIGN(sizeof(struct rtattr)))
#define IFLA_RTA(r) ((struct rtattr *)(((char *)(r)) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFLA_PAYLOAD(n) ((int)((n)->nlmsg_len - NLMSG_LENGTH(sizeof(struct ifinfomsg))))
#define IFA_RTA(r) ((struct rtattr *)(((char *)(r)) + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#define IFA_PAYLOAD(n) ((int)((n)->nlmsg_len - NLMSG_LENGTH(sizeof(struct ifaddrmsg))))
#include <net/if.h>
#include <sys/socket.h>

static char buf[65536];

static int request(int s, int type, int flags, int seq, int family)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | flags;
    req.h.nlmsg_seq = seq;
    req.i.ifi_family = family;
    struct sockaddr_nl k = {AF_NETLINK};
    return sendto(s, &req, sizeof req, 0, (struct sockaddr *)&k, sizeof k);
}

static void show_link(struct nlmsghdr *h)
{
    struct ifinfomsg *i = NLMSG_DATA(h);
    printf("  link index=%d type=%d flags UP=%d LOOPBACK=%d RUNNING=%d LOWER_UP=%d", i->ifi_index,
           i->ifi_type, !!(i->ifi_flags & IFF_UP), !!(i->ifi_flags & IFF_LOOPBACK),
           !!(i->ifi_flags & IFF_RUNNING), !!(i->ifi_flags & 0x10000));
    int len = IFLA_PAYLOAD(h);
    for (struct rtattr *a = IFLA_RTA(i); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME)
            printf(" name=%s", (char *)RTA_DATA(a));
        if (a->rta_type == IFLA_MTU)
            printf(" mtu=%u", *(unsigned *)RTA_DATA(a));
        if (a->rta_type == IFLA_ADDRESS)
            printf(" addrlen=%d", (int)RTA_PAYLOAD(a));
        if (a->rta_type == IFLA_TXQLEN)
            printf(" txqlen=%u", *(unsigned *)RTA_DATA(a));
    }
    printf("\n");
}

static void show_addr(struct nlmsghdr *h)
{
    struct ifaddrmsg *i = NLMSG_DATA(h);
    printf("  addr family=%d prefix=%d scope=%d index=%d", i->ifa_family, i->ifa_prefixlen,
           i->ifa_scope, i->ifa_index);
    int len = IFA_PAYLOAD(h);
    for (struct rtattr *a = IFA_RTA(i); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        char ip[64];
        if (a->rta_type == IFA_ADDRESS || a->rta_type == IFA_LOCAL) {
            inet_ntop(i->ifa_family, RTA_DATA(a), ip, sizeof ip);
            printf(" %s=%s", a->rta_type == IFA_ADDRESS ? "address" : "local", ip);
        }
        if (a->rta_type == IFA_LABEL)
            printf(" label=%s", (char *)RTA_DATA(a));
    }
    printf("\n");
}

static void dump(int s, unsigned portid, int type, int seq, int family)
{
    printf("request %d seq %d: %d\n", type, seq, request(s, type, NLM_F_DUMP, seq, family) > 0);
    int done = 0, bad = 0, multi = 1;
    while (!done) {
        struct sockaddr_nl from;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {&from, sizeof from, &iov, 1, NULL, 0, 0};
        int n = recvmsg(s, &m, 0);
        if (n <= 0) {
            printf("recv: %s\n", errname(errno));
            return;
        }
        if (from.nl_pid != 0 || m.msg_namelen != sizeof from)
            bad++;
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != (unsigned)seq || h->nlmsg_pid != portid)
                bad++;
            if (!(h->nlmsg_flags & NLM_F_MULTI))
                multi = 0;
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                printf("  done, payload %d\n", (int)(h->nlmsg_len - NLMSG_HDRLEN));
            } else if (h->nlmsg_type == RTM_NEWLINK)
                show_link(h);
            else if (h->nlmsg_type == RTM_NEWADDR)
                show_addr(h);
            else if (h->nlmsg_type == NLMSG_ERROR)
                printf("  error %d\n", ((struct nlmsgerr *)NLMSG_DATA(h))->error);
        }
    }
    printf("  bad seq/pid/source: %d, all NLM_F_MULTI: %d\n", bad, multi);
}

int main(void)
{
    CHECK("socket bad protocol", socket(AF_NETLINK, SOCK_RAW, 99));
    CHECK("socket stream", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK_OK("socket", s);
    struct sockaddr_nl a;
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("unbound: len=%d family=%d pid=%u\n", (int)len, a.nl_family, a.nl_pid);
    struct sockaddr_nl b = {AF_NETLINK};
    CHECK("bind short", bind(s, (struct sockaddr *)&b, 4));
    b.nl_family = AF_INET;
    CHECK("bind wrong family", bind(s, (struct sockaddr *)&b, sizeof b));
    b.nl_family = AF_NETLINK;
    CHECK("bind", bind(s, (struct sockaddr *)&b, sizeof b));
    len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("bound: pid is getpid: %d\n", a.nl_pid == (unsigned)getpid());
    unsigned portid = a.nl_pid;
    int s2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    CHECK("bind second", bind(s2, (struct sockaddr *)&b, sizeof b));
    len = sizeof a;
    getsockname(s2, (struct sockaddr *)&a, &len);
    printf("second: differs %d negative %d\n", a.nl_pid != portid, (int)a.nl_pid < 0);
    struct sockaddr_nl taken = {AF_NETLINK, 0, portid, 0};
    int s3 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    CHECK("bind taken pid", bind(s3, (struct sockaddr *)&taken, sizeof taken));
    len = sizeof a;
    CHECK("getpeername", getpeername(s, (struct sockaddr *)&a, &len));
    printf("peer pid: %u\n", a.nl_pid);

    dump(s, portid, RTM_GETLINK, 100, AF_UNSPEC);
    dump(s, portid, RTM_GETADDR, 101, AF_UNSPEC);
    dump(s, portid, RTM_GETADDR, 102, AF_INET);
    dump(s, portid, RTM_GETADDR, 103, AF_INET6);

    /* one link, with an ACK */
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } one;
    memset(&one, 0, sizeof one);
    one.h.nlmsg_len = sizeof one;
    one.h.nlmsg_type = RTM_GETLINK;
    one.h.nlmsg_flags = NLM_F_REQUEST;
    one.h.nlmsg_seq = 200;
    one.i.ifi_index = 1;
    CHECK("get link 1", send(s, &one, sizeof one, 0) > 0);
    int n = recv(s, buf, sizeof buf, 0);
    struct nlmsghdr *h = (void *)buf;
    printf("reply type=%d seq=%u multi=%d\n", h->nlmsg_type, h->nlmsg_seq,
           !!(h->nlmsg_flags & NLM_F_MULTI));
    if (h->nlmsg_type == RTM_NEWLINK)
        show_link(h);
    one.i.ifi_index = 77;
    one.h.nlmsg_seq = 201;
    send(s, &one, sizeof one, 0);
    n = recv(s, buf, sizeof buf, 0);
    printf("link 77: type=%d error=%d len ok=%d\n", h->nlmsg_type,
           ((struct nlmsgerr *)NLMSG_DATA(h))->error, n >= (int)(NLMSG_HDRLEN + sizeof(struct nlmsgerr)));
    /* a small buffer: MSG_TRUNC */
    request(s, RTM_GETLINK, NLM_F_DUMP, 300, AF_UNSPEC);
    n = recv(s, buf, 16, MSG_TRUNC);
    printf("truncated recv returns more: %d\n", n > 16);
    n = recv(s, buf, sizeof buf, 0);
    printf("then DONE: %d\n", ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_DONE);
    CHECK("nothing left", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    return 0;
}
