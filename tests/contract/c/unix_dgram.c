/* AF_UNIX SOCK_DGRAM: message boundaries, MSG_TRUNC (reported and as a flag), MSG_PEEK,
 * sendto/recvfrom with path and abstract addresses (the source address and its length),
 * connect/disconnect (AF_UNSPEC), EPERM to a socket connected elsewhere, ECONNREFUSED once
 * the peer is gone, the receive queue limit (EAGAIN), EMSGSIZE, poll, recvmmsg/sendmmsg. */
#include "contract.h"
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *path, int abstract)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        memcpy(a->sun_path + 1, path, strlen(path));
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    }
    strcpy(a->sun_path, path);
    return sizeof *a;
}

static void show_addr(const char *label, struct sockaddr_un *a, socklen_t len)
{
    printf("%s: len %u", label, (unsigned)len);
    if (len > 2) {
        if (a->sun_path[0])
            printf(" path %s", a->sun_path);
        else
            printf(" abstract %.*s", (int)(len - 3), a->sun_path + 1);
    }
    printf("\n");
}

static int revents(int fd, short ev)
{
    struct pollfd p = {fd, ev, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    enter_workdir("unix_dgram");
    unlink("srv");
    unlink("cli");
    char buf[256];
    int sv[2];
    CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    send(sv[0], "one", 3, 0);
    send(sv[0], "twotwo", 6, 0);
    send(sv[0], "", 0, 0);
    send(sv[0], "three", 5, 0);
    int avail = 0;
    ioctl(sv[1], FIONREAD, &avail);
    printf("FIONREAD first: %d\n", avail);
    CHECK("recv one", recv(sv[1], buf, sizeof buf, 0));
    CHECK("recv trunc", recv(sv[1], buf, 3, 0));
    CHECK("recv empty", recv(sv[1], buf, sizeof buf, 0));
    CHECK("recv peek MSG_TRUNC", recv(sv[1], buf, 2, MSG_PEEK | MSG_TRUNC));
    struct iovec iov = {buf, 2};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    CHECK("recvmsg short", recvmsg(sv[1], &mh, 0));
    printf("msg_flags: %#x\n", mh.msg_flags);
    CHECK("recv nothing", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    printf("poll empty: %#x\n", revents(sv[1], POLLIN | POLLOUT));
    send(sv[0], "x", 1, 0);
    printf("poll data: %#x\n", revents(sv[1], POLLIN | POLLOUT));
    recv(sv[1], buf, 1, 0);

    /* named sockets */
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa, ca, from;
    socklen_t slen = mkaddr(&sa, "srv", 0);
    CHECK_OK("bind srv", bind(srv, (struct sockaddr *)&sa, slen));
    int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("sendto unbound client", sendto(cli, "hi", 2, 0, (struct sockaddr *)&sa, slen));
    socklen_t flen = sizeof from;
    CHECK("recvfrom", recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    show_addr("from unbound", &from, flen);
    socklen_t clen = mkaddr(&ca, "cli", 0);
    CHECK_OK("bind cli", bind(cli, (struct sockaddr *)&ca, clen));
    sendto(cli, "hi", 2, 0, (struct sockaddr *)&sa, slen);
    flen = sizeof from;
    recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    show_addr("from path", &from, flen);
    flen = 4;
    sendto(cli, "hi", 2, 0, (struct sockaddr *)&sa, slen);
    memset(&from, 0, sizeof from);
    recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    printf("short from: len %u first %c%c\n", flen, from.sun_path[0], from.sun_path[1] ? from.sun_path[1] : '0');
    CHECK("reply", sendto(srv, "yo", 2, 0, (struct sockaddr *)&ca, clen));
    CHECK("recv reply", recv(cli, buf, sizeof buf, 0));

    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un aa;
    socklen_t alen = mkaddr(&aa, "twaron-dgram-test", 1);
    CHECK_OK("bind abstract", bind(ab, (struct sockaddr *)&aa, alen));
    sendto(ab, "abs", 3, 0, (struct sockaddr *)&sa, slen);
    flen = sizeof from;
    recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    show_addr("from abstract", &from, flen);
    CHECK("sendto abstract", sendto(srv, "back", 4, 0, (struct sockaddr *)&aa, alen));
    CHECK("recv abstract", recv(ab, buf, sizeof buf, 0));

    /* connect: a default destination, and receive only from it */
    CHECK("send unconnected", send(cli, "x", 1, 0));
    CHECK_OK("connect", connect(cli, (struct sockaddr *)&sa, slen));
    CHECK("send connected", send(cli, "conn", 4, 0));
    CHECK("recv", recv(srv, buf, sizeof buf, 0));
    socklen_t plen = sizeof from;
    CHECK_OK("getpeername", getpeername(cli, (struct sockaddr *)&from, &plen));
    show_addr("peer", &from, plen);
    CHECK_OK("connect srv to abstract", connect(srv, (struct sockaddr *)&aa, alen));
    CHECK("cli to srv connected elsewhere", send(cli, "x", 1, 0));
    struct sockaddr_un unspec = {AF_UNSPEC};
    CHECK_OK("disconnect", connect(srv, (struct sockaddr *)&unspec, sizeof unspec));
    CHECK_OK("disconnect again", connect(srv, (struct sockaddr *)&unspec, 2));
    CHECK("getpeername after", getpeername(srv, (struct sockaddr *)&from, &plen));
    CHECK("cli to srv again", send(cli, "again", 5, 0));
    CHECK("recv again", recv(srv, buf, sizeof buf, 0));

    /* the receive queue limit: more than max_dgram_qlen waiting -> EAGAIN */
    int n = 0;
    for (;;) {
        if (send(cli, "q", 1, MSG_DONTWAIT) < 0) {
            printf("queue full after %d: %s\n", n, errname(errno));
            break;
        }
        n++;
    }
    printf("poll full sender: %#x\n", revents(cli, POLLOUT));
    recv(srv, buf, sizeof buf, 0);
    printf("poll after one read: %#x\n", revents(cli, POLLOUT));
    while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;

    /* EMSGSIZE: more than the send buffer */
    static char big[300000];
    CHECK("send too big", send(cli, big, sizeof big, 0));
    CHECK("send 100000", send(cli, big, 100000, 0));
    CHECK("recv 100000 trunc", recv(srv, buf, 10, MSG_TRUNC));

    /* the peer goes away */
    close(srv);
    CHECK("send to closed peer", send(cli, "x", 1, 0));
    CHECK("send again", send(cli, "x", 1, 0));
    CHECK("sendto stale path", sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, slen));
    unlink("srv");
    CHECK("sendto missing path", sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, slen));

    /* a socketpair whose peer closed */
    close(sv[1]);
    CHECK("send closed pair", send(sv[0], "x", 1, 0));
    printf("poll closed pair: %#x\n", revents(sv[0], POLLIN | POLLOUT));

    /* sendmmsg / recvmmsg */
    int p[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char rb[3][16];
    memset(mm, 0, sizeof mm);
    const char *words[3] = {"alpha", "be", "gamma!"};
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = (void *)words[i];
        iv[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK("sendmmsg", sendmmsg(p[0], mm, 3, 0));
    printf("msg_len: %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = rb[i];
        iv[i].iov_len = i == 2 ? 3 : sizeof rb[i];
        mm[i].msg_len = 0;
    }
    CHECK("recvmmsg", recvmmsg(p[1], mm, 3, 0, NULL));
    printf("msg_len: %u %u %u flags %#x %.5s %.2s %.3s\n", mm[0].msg_len, mm[1].msg_len,
           mm[2].msg_len, mm[2].msg_hdr.msg_flags, rb[0], rb[1], rb[2]);
    send(p[0], "one", 3, 0);
    CHECK("recvmmsg waitforone", recvmmsg(p[1], mm, 3, MSG_WAITFORONE, NULL));
    CHECK("recvmmsg dontwait empty", recvmmsg(p[1], mm, 3, MSG_DONTWAIT, NULL));
    struct timespec ts = {5, 0};
    send(p[0], "a", 1, 0);
    send(p[0], "b", 1, 0);
    CHECK("recvmmsg timeout", recvmmsg(p[1], mm, 2, 0, &ts));
    BOOL("timeout left", ts.tv_sec <= 5 && ts.tv_sec >= 3);
    return 0;
}
