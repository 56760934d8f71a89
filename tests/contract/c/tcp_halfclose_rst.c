/* TCP half-close and resets: shutdown(SHUT_WR) delivers EOF while the other direction goes
 * on; close with unread data (and SO_LINGER {1, 0}) resets the connection: the peer reads
 * what it had, then ECONNRESET, then EOF; its writes say ECONNRESET or EPIPE as Linux says;
 * writing to a peer that closed gets a reset back; poll's view of each state; a listener
 * closed with connections still queued resets them; urgent data (MSG_OOB, SIOCATMARK,
 * SO_OOBINLINE). */
#include "contract.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static volatile int pipes;
static void on_pipe(int s) { (void)s; pipes++; }

static int listener(int port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {AF_INET, htons(port), {htonl(INADDR_LOOPBACK)}};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) {
        printf("setup: %s\n", errname(errno));
        exit(99);
    }
    return l;
}

static void pair(int l, int port, int *c, int *s)
{
    struct sockaddr_in a = {AF_INET, htons(port), {htonl(INADDR_LOOPBACK)}};
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: %s\n", errname(errno));
        exit(99);
    }
    *s = accept(l, NULL, NULL);
}

static void show_poll(const char *label, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
    int n = poll(&p, 1, 0);
    printf("%s: n=%d%s%s%s%s%s%s\n", label, n, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "",
           p.revents & POLLPRI ? " PRI" : "");
}

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -errno;
    return ti.tcpi_state;
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
    char buf[256];
    int c, s;
    signal(SIGPIPE, on_pipe);
    int l = listener(7101);

    /* half-close */
    pair(l, 7101, &c, &s);
    show_poll("fresh client", c);
    CHECK("client shutdown WR", shutdown(c, SHUT_WR));
    /* FIN_WAIT1 (4) until the server's ACK is processed, FIN_WAIT2 (5) after: right after
     * the call Linux shows either, as its loopback happens to run */
    int cs = tcp_state(c);
    printf("client state %s, server state %d\n", cs == 4 || cs == 5 ? "FIN_WAIT1/2" : "other",
           tcp_state(s));
    show_poll("server after FIN", s);
    show_poll("client after SHUT_WR", c);
    CHECK("server reads EOF", read(s, buf, sizeof buf));
    CHECK("server reads EOF again", read(s, buf, sizeof buf));
    CHECK("server writes", write(s, "still here", 10));
    CHECK("client reads", read(c, buf, sizeof buf));
    printf("client state after the server's data %d\n", tcp_state(c));
    CHECK("client writes after SHUT_WR", write(c, "x", 1));
    printf("SIGPIPE: %d\n", pipes);
    CHECK("client send NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
    printf("SIGPIPE: %d\n", pipes);
    CHECK("shutdown WR again", shutdown(c, SHUT_WR));
    CHECK("server shutdown WR", shutdown(s, SHUT_WR));
    printf("client state %d, server state %d\n", tcp_state(c), tcp_state(s));
    CHECK("client reads EOF", read(c, buf, sizeof buf));
    show_poll("client both closed", c);
    show_poll("server both closed", s);
    CHECK("server write after both", send(s, "x", 1, MSG_NOSIGNAL));
    close(c);
    close(s);

    /* SHUT_RD */
    pair(l, 7101, &c, &s);
    CHECK("shutdown RD", shutdown(c, SHUT_RD));
    show_poll("after SHUT_RD", c);
    CHECK("read after SHUT_RD", read(c, buf, sizeof buf));
    CHECK("write after SHUT_RD", write(c, "ok", 2));
    CHECK("peer reads", read(s, buf, sizeof buf));
    close(c);
    close(s);

    /* close with unread data: RST */
    pair(l, 7101, &c, &s);
    write(c, "unread", 6);
    write(s, "for the client", 14);
    close(s); /* the server never read "unread": reset */
    show_poll("client after RST", c);
    printf("client state %d\n", tcp_state(c));
    CHECK("client reads pending data", read(c, buf, sizeof buf));
    CHECK("client read after RST", read(c, buf, sizeof buf));
    CHECK("client read again", read(c, buf, sizeof buf));
    CHECK("client write after RST", write(c, "x", 1));
    printf("SIGPIPE: %d\n", pipes);
    CHECK("getpeername after RST", ({
        struct sockaddr_in x;
        socklen_t xl = sizeof x;
        getpeername(c, (struct sockaddr *)&x, &xl);
    }));
    close(c);

    /* write first after the RST: ECONNRESET, then EPIPE */
    pair(l, 7101, &c, &s);
    write(c, "unread", 6);
    close(s);
    CHECK("write after RST", write(c, "x", 1));
    CHECK("write again", write(c, "x", 1));
    printf("SIGPIPE: %d\n", pipes);
    close(c);

    /* SO_LINGER {1, 0}: close resets even with nothing unread */
    pair(l, 7101, &c, &s);
    struct linger lg = {1, 0};
    CHECK("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    close(s);
    printf("SO_ERROR after linger reset: %s\n", errname(so_error(c)));
    CHECK("read after linger reset", read(c, buf, sizeof buf));
    close(c);

    /* the peer closed cleanly; writing gets a reset back */
    pair(l, 7101, &c, &s);
    close(s);
    CHECK("read EOF", read(c, buf, sizeof buf));
    printf("client state %d\n", tcp_state(c));
    CHECK("first write to closed peer", write(c, "a", 1));
    printf("client state %d\n", tcp_state(c));
    CHECK("second write", write(c, "b", 1));
    CHECK("third write", write(c, "c", 1));
    CHECK("read after", read(c, buf, sizeof buf));
    printf("SIGPIPE: %d\n", pipes);
    close(c);

    /* connect(AF_UNSPEC) disconnects (abort) */
    pair(l, 7101, &c, &s);
    struct sockaddr unspec = {AF_UNSPEC};
    CHECK("connect AF_UNSPEC", connect(c, &unspec, sizeof unspec));
    printf("client state %d SO_ERROR %s\n", tcp_state(c), errname(so_error(c)));
    CHECK("server read after abort", read(s, buf, sizeof buf));
    close(c);
    close(s);

    /* a listener closed with queued connections */
    int l2 = listener(7102);
    int q1, q2;
    struct sockaddr_in a2 = {AF_INET, htons(7102), {htonl(INADDR_LOOPBACK)}};
    q1 = socket(AF_INET, SOCK_STREAM, 0);
    q2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("queued 1", connect(q1, (struct sockaddr *)&a2, sizeof a2));
    CHECK("queued 2", connect(q2, (struct sockaddr *)&a2, sizeof a2));
    write(q1, "data", 4);
    close(l2);
    CHECK("queued read", read(q1, buf, sizeof buf));
    CHECK("queued 2 write", write(q2, "x", 1));
    CHECK("connect after listener closed", ({
        int q3 = socket(AF_INET, SOCK_STREAM, 0);
        connect(q3, (struct sockaddr *)&a2, sizeof a2);
    }));
    close(q1);
    close(q2);

    /* urgent data */
    pair(l, 7101, &c, &s);
    CHECK("send OOB", send(c, "abc", 3, MSG_OOB));
    show_poll("server with OOB", s);
    int mark = -1;
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark: %d\n", mark);
    CHECK("recv OOB", recv(s, buf, 1, MSG_OOB));
    printf("oob byte: %c\n", buf[0]);
    CHECK("recv OOB twice", recv(s, buf, 1, MSG_OOB));
    ssize_t n = recv(s, buf, sizeof buf, 0);
    printf("normal: %zd %.*s\n", n, (int)n, buf);
    CHECK("send more OOB", send(c, "12345", 5, MSG_OOB));
    CHECK("send after", send(c, "xyz", 3, 0));
    n = recv(s, buf, sizeof buf, 0);
    printf("up to mark: %zd %.*s\n", n, (int)n, buf);
    ioctl(s, SIOCATMARK, &mark);
    printf("atmark: %d\n", mark);
    n = recv(s, buf, sizeof buf, 0);
    printf("after mark: %zd %.*s\n", n, (int)n, buf);
    CHECK("recv OOB when passed", recv(s, buf, 1, MSG_OOB));
    CHECK("recv OOB none", recv(c, buf, 1, MSG_OOB | MSG_DONTWAIT));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
    CHECK("send OOB inline", send(c, "pq", 2, MSG_OOB));
    CHECK("recv OOB inline", recv(s, buf, 1, MSG_OOB));
    n = recv(s, buf, sizeof buf, 0);
    printf("inline: %zd %.*s\n", n, (int)n, buf);
    n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
    printf("inline rest: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    close(c);
    close(s);

    /* MSG_PEEK around the urgent byte */
    pair(l, 7101, &c, &s);
    send(c, "ab", 2, MSG_OOB);
    send(c, "cd", 2, 0);
    n = recv(s, buf, sizeof buf, MSG_PEEK);
    printf("peek before OOB read: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    CHECK("recv OOB", recv(s, buf, 1, MSG_OOB));
    n = recv(s, buf, 1, 0);
    printf("read to the mark: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    n = recv(s, buf, sizeof buf, MSG_PEEK);
    printf("peek after the mark: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    n = recv(s, buf, sizeof buf, 0);
    printf("read after the mark: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    close(c);
    close(s);
    close(l);
    return 0;
}
