/* Non-blocking TCP: connect says EINPROGRESS, then the socket is writable and SO_ERROR says
 * how it went (0, or ECONNREFUSED with POLLERR); connect again says 0 once, then EISCONN; a
 * full accept queue (backlog+1 connections) keeps a connect pending until accept makes room;
 * non-blocking accept, send until EAGAIN and writable again once the peer reads, MSG_DONTWAIT,
 * SO_RCVTIMEO/SO_SNDTIMEO, select. */
#include "contract.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>

static struct sockaddr_in lo(int port)
{
    struct sockaddr_in a = {AF_INET, htons(port), {htonl(INADDR_LOOPBACK)}};
    return a;
}

static void show_poll(const char *label, int fd, int timeout)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    int n = poll(&p, 1, timeout);
    printf("%s: n=%d%s%s%s%s%s\n", label, n, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
}

static int so_error(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
    return v;
}

int main(void)
{
    char buf[65536];
    signal(SIGPIPE, SIG_IGN);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo(7201);
    bind(l, (struct sockaddr *)&a, sizeof a);
    CHECK("listen backlog 0", listen(l, 0));
    CHECK("accept nothing", accept(l, NULL, NULL));
    show_poll("idle listener", l, 0);

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show_poll("fresh socket", c, 0);
    CHECK("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    show_poll("connecting", c, 3000);
    printf("SO_ERROR: %s\n", errname(so_error(c)));
    CHECK("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
    CHECK("connect third", connect(c, (struct sockaddr *)&a, sizeof a));
    show_poll("listener with one", l, 0);

    /* the accept queue holds backlog+1: a second connection waits */
    int c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK("connect to full queue", connect(c2, (struct sockaddr *)&a, sizeof a));
    CHECK("connect while pending", connect(c2, (struct sockaddr *)&a, sizeof a));
    show_poll("pending", c2, 200);
    CHECK("send while pending", send(c2, "x", 1, 0));
    CHECK("getpeername while pending", ({
        struct sockaddr_in x;
        socklen_t xl = sizeof x;
        getpeername(c2, (struct sockaddr *)&x, &xl);
    }));
    int s = accept(l, NULL, NULL);
    CHECK_OK("accept first", s);
    show_poll("pending after accept", c2, 5000);
    printf("SO_ERROR: %s\n", errname(so_error(c2)));
    int s2 = -1;
    for (int i = 0; i < 50 && s2 < 0; i++) {
        struct pollfd p = {l, POLLIN, 0};
        poll(&p, 1, 100);
        s2 = accept(l, NULL, NULL);
    }
    CHECK_OK("accept second", s2);
    printf("accepted flags nonblock: %d\n", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);

    /* refused */
    int r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in closed = lo(7299);
    CHECK("connect refused", connect(r, (struct sockaddr *)&closed, sizeof closed));
    show_poll("refused", r, 3000);
    CHECK("connect after refused", connect(r, (struct sockaddr *)&closed, sizeof closed));
    printf("SO_ERROR: %s\n", errname(so_error(r)));
    CHECK("connect once more", connect(r, (struct sockaddr *)&closed, sizeof closed));
    show_poll("refused twice", r, 3000);
    printf("SO_ERROR: %s\n", errname(so_error(r)));
    CHECK("connect after SO_ERROR read", connect(r, (struct sockaddr *)&closed, sizeof closed));
    printf("SO_ERROR: %s\n", errname(so_error(r)));
    CHECK("reconnect elsewhere", ({
        connect(r, (struct sockaddr *)&closed, sizeof closed);
        struct pollfd p = {r, POLLOUT, 0};
        poll(&p, 1, 3000);
        so_error(r);
        connect(r, (struct sockaddr *)&a, sizeof a);
    }));
    close(r);

    /* fill the window */
    long total = 0;
    int n;
    memset(buf, 'z', sizeof buf);
    while ((n = send(c, buf, sizeof buf, 0)) > 0)
        total += n;
    printf("filled: %s %s\n", total > 0 ? "yes" : "no", errname(errno));
    show_poll("full", c, 0);
    int inq = 0;
    ioctl(s, FIONREAD, &inq);
    printf("FIONREAD > 0: %d\n", inq > 0);
    long drained = 0;
    while (drained < total) {
        n = recv(s, buf, sizeof buf, 0);
        if (n <= 0) {
            struct pollfd p = {s, POLLIN, 0};
            poll(&p, 1, 1000);
            continue;
        }
        drained += n;
    }
    printf("drained all: %d\n", drained == total);
    show_poll("writable again", c, 1000);
    CHECK("recv empty", recv(s, buf, 10, MSG_DONTWAIT));
    CHECK("recv MSG_DONTWAIT", recv(c2, buf, 10, MSG_DONTWAIT));

    /* blocking socket with timeouts */
    int b = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("connect blocking", connect(b, (struct sockaddr *)&a, sizeof a));
    struct timeval tv = {0, 50000};
    CHECK("SO_RCVTIMEO", setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    CHECK("recv times out", recv(b, buf, 10, 0));
    CHECK("SO_SNDTIMEO", setsockopt(b, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    total = 0;
    while ((n = send(b, buf, sizeof buf, 0)) > 0)
        total += n;
    printf("blocking send stopped by timeout: %s\n", errname(errno));

    /* select */
    int s3 = -1;
    for (int i = 0; i < 50 && s3 < 0; i++) {
        struct pollfd p = {l, POLLIN, 0};
        poll(&p, 1, 100);
        s3 = accept(l, NULL, NULL);
    }
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(c2, &rd);
    FD_SET(c2, &wr);
    struct timeval zero = {0, 0};
    n = select(c2 + 1, &rd, &wr, NULL, &zero);
    printf("select: %d rd=%d wr=%d\n", n, FD_ISSET(c2, &rd), FD_ISSET(c2, &wr));
    send(s2, "hi", 2, 0);
    FD_ZERO(&rd);
    FD_SET(c2, &rd);
    struct timeval one = {1, 0};
    n = select(c2 + 1, &rd, NULL, NULL, &one);
    printf("select after data: %d rd=%d\n", n, FD_ISSET(c2, &rd));
    close(s3);
    close(b);
    close(c);
    close(c2);
    close(s);
    close(s2);
    close(l);
    return 0;
}
