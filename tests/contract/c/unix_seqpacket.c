/* AF_UNIX SOCK_SEQPACKET: connections like SOCK_STREAM, message boundaries like SOCK_DGRAM
 * (MSG_TRUNC drops the rest), ENOTCONN before a connection, EOF (0) after the peer closes
 * even when non-blocking, EPIPE afterwards, poll. */
#include "contract.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile int pipes;
static void on_pipe(int s) { (void)s; pipes++; }

static int revents(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    signal(SIGPIPE, on_pipe);
    char buf[64];
    int u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK("send unconnected", send(u, "x", 1, 0));
    CHECK("recv unconnected", recv(u, buf, 1, MSG_DONTWAIT));
    printf("poll unconnected: %#x\n", revents(u));
    struct sockaddr_un a = {AF_UNIX};
    memcpy(a.sun_path + 1, "twaron-seq", 10);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 11;
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK_OK("bind", bind(l, (struct sockaddr *)&a, alen));
    CHECK_OK("listen", listen(l, 2));
    CHECK_OK("connect", connect(u, (struct sockaddr *)&a, alen));
    int s = accept(l, NULL, NULL);
    BOOL("accept", s >= 0);
    CHECK("send one", send(u, "first message", 13, 0));
    CHECK("send two", send(u, "second", 6, 0));
    CHECK("sendto with addr", sendto(u, "third", 5, 0, (struct sockaddr *)&a, alen));
    CHECK("recv part", recv(s, buf, 5, 0));
    CHECK("recv next", recv(s, buf, sizeof buf, 0));
    printf("data: %.6s\n", buf);
    struct iovec iov = {buf, 2};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    CHECK("recvmsg trunc", recvmsg(s, &mh, MSG_TRUNC));
    printf("msg_flags %#x\n", mh.msg_flags);
    CHECK("write", write(s, "reply", 5));
    CHECK("read", read(u, buf, sizeof buf));
    printf("poll connected: %#x\n", revents(u));
    CHECK_OK("shutdown wr", shutdown(u, SHUT_WR));
    printf("poll after shut wr: %#x peer %#x\n", revents(u), revents(s));
    CHECK("send after shut wr", send(u, "x", 1, MSG_NOSIGNAL));
    CHECK("peer recv after shut", recv(s, buf, sizeof buf, 0));
    CHECK("peer recv nonblock after shut", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    close(s);
    printf("poll peer closed: %#x\n", revents(u));
    CHECK("recv after close", recv(u, buf, sizeof buf, 0));
    CHECK("recv nonblock after close", recv(u, buf, sizeof buf, MSG_DONTWAIT));
    CHECK("send after close", send(u, "x", 1, 0));
    printf("sigpipes: %d\n", pipes);
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    send(sv[0], "", 0, 0);
    CHECK("empty record", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    CHECK("nothing more", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    return 0;
}
