/* UDP over lo: message boundaries, MSG_TRUNC both ways, MSG_PEEK, the source address, connected
 * and unconnected sockets (a connected one hears only its peer; after sending to a closed port
 * it gets ECONNREFUSED on its next call; an unconnected one never), EDESTADDRREQ, EMSGSIZE,
 * port 0, SO_BROADCAST and lo's broadcast address, bind conflicts and SO_REUSEADDR, connect
 * filling in the source address, AF_UNSPEC disconnect, FIONREAD, shutdown, poll. */
#include "contract.h"
#include "inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void show(const char *label, struct sockaddr_in *a, socklen_t len)
{
    char ip[32];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    int port = ntohs(a->sin_port);
    printf("%s: len=%d ip=%s port=%s\n", label, (int)len, ip,
           port == 0 ? "0" : port >= 32768 && port <= 60999 ? "ephemeral" : "fixed");
}

static void name(const char *label, int fd, int peer)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        show(label, &a, len);
}

static void show_poll(const char *label, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    int n = poll(&p, 1, 0);
    printf("%s: n=%d%s%s%s%s%s\n", label, n, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
}

int main(void)
{
    char buf[70000];
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    printf("SO_SNDBUF=%d\n", ({ int v; socklen_t l = 4; getsockopt(r, SOL_SOCKET, SO_SNDBUF, &v, &l); v; }));
    show_poll("fresh", r);
    struct sockaddr_in ra = sin4("127.0.0.1", 7401);
    CHECK("bind", bind(r, (struct sockaddr *)&ra, sizeof ra));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    name("unbound sender", s, 0);
    CHECK("send unconnected", send(s, "x", 1, 0));
    CHECK("sendto", sendto(s, "one", 3, 0, (struct sockaddr *)&ra, sizeof ra));
    name("sender after send", s, 0);
    CHECK("sendto two", sendto(s, "second", 6, 0, (struct sockaddr *)&ra, sizeof ra));
    CHECK("sendto empty", sendto(s, "", 0, 0, (struct sockaddr *)&ra, sizeof ra));
    int inq = -1;
    ioctl(r, FIONREAD, &inq);
    printf("FIONREAD: %d\n", inq);
    show_poll("with data", r);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    CHECK("recv peek", recvfrom(r, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl));
    show("  from", &from, fl);
    CHECK("recv one", recv(r, buf, sizeof buf, 0));
    CHECK("recv trunc 2", recv(r, buf, 2, 0));
    CHECK("recv empty datagram", recv(r, buf, sizeof buf, 0));
    CHECK("recv none", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    sendto(s, "abcdef", 6, 0, (struct sockaddr *)&ra, sizeof ra);
    CHECK("recv MSG_TRUNC", recv(r, buf, 2, MSG_TRUNC));
    sendto(s, "abcdef", 6, 0, (struct sockaddr *)&ra, sizeof ra);
    struct iovec iov = {buf, 3};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                        .msg_iovlen = 1};
    CHECK("recvmsg short", recvmsg(r, &mh, 0));
    printf("msg_flags MSG_TRUNC: %d namelen %d\n", (mh.msg_flags & MSG_TRUNC) != 0,
           (int)mh.msg_namelen);

    /* sizes */
    CHECK("sendto 65507", sendto(s, buf, 65507, 0, (struct sockaddr *)&ra, sizeof ra));
    CHECK("sendto 65508", sendto(s, buf, 65508, 0, (struct sockaddr *)&ra, sizeof ra));
    CHECK("recv big", recv(r, buf, sizeof buf, 0));

    /* address errors */
    CHECK("sendto len 8", sendto(s, "x", 1, 0, (struct sockaddr *)&ra, 8));
    struct sockaddr_in bad = ra;
    bad.sin_family = AF_INET6;
    CHECK("sendto AF_INET6", sendto(s, "x", 1, 0, (struct sockaddr *)&bad, sizeof bad));
    bad.sin_family = AF_UNSPEC;
    CHECK("sendto AF_UNSPEC", sendto(s, "x", 1, 0, (struct sockaddr *)&bad, sizeof bad));
    CHECK("recv it", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr_in p0 = sin4("127.0.0.1", 0);
    CHECK("sendto port 0", sendto(s, "x", 1, 0, (struct sockaddr *)&p0, sizeof p0));
    struct sockaddr_in far = sin4("10.9.8.7", 53);
    CHECK("sendto 10.9.8.7", sendto(s, "x", 1, 0, (struct sockaddr *)&far, sizeof far));
    struct sockaddr_in closed = sin4("127.0.0.1", 7499);
    CHECK("sendto closed port", sendto(s, "x", 1, 0, (struct sockaddr *)&closed, sizeof closed));
    CHECK("next sendto still fine", sendto(s, "x", 1, 0, (struct sockaddr *)&closed, sizeof closed));
    CHECK("send MSG_OOB", sendto(s, "x", 1, MSG_OOB, (struct sockaddr *)&ra, sizeof ra));

    /* connected */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("connect", connect(c, (struct sockaddr *)&ra, sizeof ra));
    name("connected name", c, 0);
    name("connected peer", c, 1);
    CHECK("send connected", send(c, "hi", 2, 0));
    CHECK("recv", recv(r, buf, sizeof buf, 0));
    CHECK("connect closed port", connect(c, (struct sockaddr *)&closed, sizeof closed));
    CHECK("send to closed port", send(c, "x", 1, 0));
    show_poll("after refused", c);
    CHECK("next send", send(c, "x", 1, 0));
    CHECK("send again", send(c, "x", 1, 0));
    CHECK("recv after refused", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    CHECK("recv then", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    /* a connected socket hears only its peer */
    int c2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in c2a = sin4("127.0.0.1", 7402);
    bind(c2, (struct sockaddr *)&c2a, sizeof c2a);
    connect(c2, (struct sockaddr *)&ra, sizeof ra);
    CHECK("stranger sends to connected", sendto(s, "no", 2, 0, (struct sockaddr *)&c2a, sizeof c2a));
    CHECK("connected hears nothing", recv(c2, buf, sizeof buf, MSG_DONTWAIT));
    CHECK("peer sends to connected", sendto(r, "yes", 3, 0, (struct sockaddr *)&c2a, sizeof c2a));
    CHECK("connected hears peer", recv(c2, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr unspec = {AF_UNSPEC};
    CHECK("disconnect", connect(c2, &unspec, sizeof unspec));
    name("after disconnect peer", c2, 1);
    name("after disconnect name", c2, 0);
    CHECK("send after disconnect", send(c2, "x", 1, 0));
    CHECK("connect 10.9.8.7", connect(c2, (struct sockaddr *)&far, sizeof far));
    CHECK("connect len 4", connect(c2, (struct sockaddr *)&ra, 4));

    /* binding */
    int b1 = socket(AF_INET, SOCK_DGRAM, 0), b2 = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("bind used port", bind(b1, (struct sockaddr *)&ra, sizeof ra));
    int one = 1;
    struct sockaddr_in sh = sin4("0.0.0.0", 7403);
    setsockopt(b1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(b2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK("reuse 1", bind(b1, (struct sockaddr *)&sh, sizeof sh));
    CHECK("reuse 2", bind(b2, (struct sockaddr *)&sh, sizeof sh));
    struct sockaddr_in bc = sin4("127.255.255.255", 0);
    CHECK("bind broadcast", ({ int x = socket(AF_INET, SOCK_DGRAM, 0); bind(x, (struct sockaddr *)&bc, sizeof bc); }));
    struct sockaddr_in bc_to = sin4("127.255.255.255", 7403);
    CHECK("sendto broadcast", sendto(s, "b", 1, 0, (struct sockaddr *)&bc_to, sizeof bc_to));
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    CHECK("sendto broadcast SO_BROADCAST", sendto(s, "b", 1, 0, (struct sockaddr *)&bc_to, sizeof bc_to));
    CHECK("b1 gets it", recv(b1, buf, sizeof buf, MSG_DONTWAIT));
    CHECK("b2 gets it", recv(b2, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr_in all = sin4("255.255.255.255", 7403);
    CHECK("sendto 255.255.255.255", sendto(s, "b", 1, 0, (struct sockaddr *)&all, sizeof all));

    /* shutdown */
    CHECK("shutdown unconnected", shutdown(r, SHUT_RD));
    show_poll("after SHUT_RD", r);
    CHECK("recv after SHUT_RD", recv(r, buf, sizeof buf, 0));
    CHECK("shutdown connected", shutdown(c, SHUT_WR));
    CHECK("send after SHUT_WR", send(c, "x", 1, 0));
    CHECK("listen", listen(r, 1));
    CHECK("accept", accept(r, NULL, NULL));
    return 0;
}
