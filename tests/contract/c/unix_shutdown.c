/* shutdown(2) on AF_UNIX: SHUT_RD, SHUT_WR, SHUT_RDWR in each direction: EOF for the reader,
 * EPIPE (and SIGPIPE unless MSG_NOSIGNAL) for a writer, POLLRDHUP/POLLHUP/POLLIN as Linux's
 * unix_poll; a blocked reader woken by the peer's shutdown; dgram shutdown. */
#include "contract.h"
#include <poll.h>
#include <sys/socket.h>

static volatile int pipes;
static void on_pipe(int s) { (void)s; pipes++; }

static void show(const char *label, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("%s:%s%s%s%s%s\n", label, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
}

int main(void)
{
    signal(SIGPIPE, on_pipe);
    char buf[16];
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    show("fresh", sv[0]);
    CHECK_OK("shut wr", shutdown(sv[0], SHUT_WR));
    show("after shut wr", sv[0]);
    show("peer after shut wr", sv[1]);
    CHECK("write after shut wr", write(sv[0], "x", 1));
    printf("sigpipes: %d\n", pipes);
    CHECK("send nosignal", send(sv[0], "x", 1, MSG_NOSIGNAL));
    printf("sigpipes: %d\n", pipes);
    CHECK("peer reads EOF", read(sv[1], buf, sizeof buf));
    CHECK("peer writes", write(sv[1], "back", 4));
    CHECK("we read", read(sv[0], buf, sizeof buf));
    CHECK_OK("shut rd", shutdown(sv[0], SHUT_RD));
    show("after both", sv[0]);
    show("peer after both", sv[1]);
    CHECK("read after shut rd", read(sv[0], buf, sizeof buf));
    CHECK("peer write after our shut rd", write(sv[1], "x", 1));
    printf("sigpipes: %d\n", pipes);
    CHECK_OK("shut rdwr again", shutdown(sv[0], SHUT_RDWR));
    close(sv[0]);
    close(sv[1]);

    /* a blocked reader is woken by the peer's shutdown */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        shutdown(sv[1], SHUT_WR);
        pause();
        _exit(0);
    }
    CHECK("blocked read woken", read(sv[0], buf, sizeof buf));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(sv[0]);
    close(sv[1]);

    /* SHUT_RD with data queued: still readable */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "queued", 6);
    shutdown(sv[0], SHUT_RD);
    CHECK("read queued after shut rd", read(sv[0], buf, sizeof buf));
    CHECK("then EOF", read(sv[0], buf, sizeof buf));
    show("unconnected-like", sv[0]);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    show("unconnected stream", u);
    CHECK("shutdown unconnected", shutdown(u, SHUT_RDWR));
    show("unconnected after shutdown", u);

    /* datagram */
    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    CHECK_OK("dgram shut wr", shutdown(d[0], SHUT_WR));
    CHECK("dgram send after shut wr", send(d[0], "x", 1, 0));
    printf("sigpipes: %d\n", pipes);
    show("dgram after shut wr", d[0]);
    show("dgram peer", d[1]);
    CHECK("dgram peer can send", send(d[1], "y", 1, 0));
    CHECK_OK("dgram shut rd", shutdown(d[0], SHUT_RD));
    CHECK("dgram read queued", recv(d[0], buf, sizeof buf, 0));
    CHECK("dgram read after shut rd", recv(d[0], buf, sizeof buf, 0));
    CHECK("dgram read nonblock after shut rd", recv(d[0], buf, sizeof buf, MSG_DONTWAIT));
    CHECK("dgram peer send to shut rd", send(d[1], "z", 1, 0));
    printf("sigpipes: %d\n", pipes);
    show("dgram both", d[0]);
    return 0;
}
