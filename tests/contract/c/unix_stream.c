/* AF_UNIX SOCK_STREAM over socketpair: a socket is a file (fstat, /proc/self/fd, flags),
 * stream semantics (sends joined), MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, SOCK_NONBLOCK and
 * SOCK_CLOEXEC, FIONREAD, EOF and EPIPE/SIGPIPE after close, a writer blocked by the send
 * buffer, a big transfer between two processes. */
#include "contract.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile int pipes;
static void on_pipe(int s) { (void)s; pipes++; }

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
    int sv[2];
    char buf[256];
    signal(SIGPIPE, on_pipe);
    CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));

    struct stat st;
    fstat(sv[0], &st);
    BOOL("S_ISSOCK", S_ISSOCK(st.st_mode));
    printf("mode: %o\n", st.st_mode & 07777);
    BOOL("size 0", st.st_size == 0);
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    ssize_t ln = readlink(path, link, sizeof link - 1);
    link[ln > 0 ? ln : 0] = 0;
    BOOL("link socket:[", strncmp(link, "socket:[", 8) == 0 && link[ln - 1] == ']');
    char ino[32];
    snprintf(ino, sizeof ino, "socket:[%lu]", (unsigned long)st.st_ino);
    BOOL("link is inode", strcmp(link, ino) == 0);
    CHECK("open /proc/self/fd", open(path, O_RDWR));
    printf("F_GETFL: %o\n", fcntl(sv[0], F_GETFL));
    CHECK("lseek", lseek(sv[0], 0, SEEK_SET));
    CHECK("pread", pread(sv[0], buf, 1, 0));

    /* two sends, one read */
    CHECK("write hello", write(sv[0], "hello", 5));
    CHECK("send world", send(sv[0], "world", 5, 0));
    int avail = -1;
    CHECK_OK("FIONREAD", ioctl(sv[1], FIONREAD, &avail));
    printf("avail: %d\n", avail);
    show_poll("poll with data", sv[1]);
    CHECK("recv peek", recv(sv[1], buf, 3, MSG_PEEK));
    CHECK("recv peek all", recv(sv[1], buf, sizeof buf, MSG_PEEK));
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("read: %zd %.*s\n", n, (int)n, buf);
    CHECK("recv dontwait", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    CHECK("read 0", read(sv[1], buf, 0));
    show_poll("poll empty", sv[1]);

    /* partial reads keep the rest */
    write(sv[0], "abcdef", 6);
    n = read(sv[1], buf, 2);
    printf("read 2: %.*s\n", (int)n, buf);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("rest: %.*s\n", (int)n, buf);

    /* readv/writev and sendto without an address on a connected socket */
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    CHECK("writev", writev(sv[0], iov, 2));
    CHECK("sendto no addr", sendto(sv[0], "ef", 2, 0, NULL, 0));
    struct sockaddr_un sa = {AF_UNIX, "/x"};
    CHECK("sendto with addr", sendto(sv[0], "ef", 2, 0, (struct sockaddr *)&sa, sizeof sa));
    char a[3] = {0}, b[5] = {0};
    struct iovec riov[2] = {{a, 2}, {b, 4}};
    n = readv(sv[1], riov, 2);
    printf("readv: %zd %s %s\n", n, a, b);

    /* MSG_WAITALL across a child's three writes */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; i++) {
            usleep(20000);
            write(sv[0], "xyz", 3);
        }
        _exit(0);
    }
    n = recv(sv[1], buf, 9, MSG_WAITALL);
    printf("waitall: %zd %.*s\n", n, (int)n, buf);
    waitpid(pid, NULL, 0);

    /* a big transfer: the writer blocks on the send buffer until the reader drains it */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        static char big[1 << 20];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (char)(i * 7);
        size_t off = 0;
        while (off < sizeof big) {
            ssize_t w = write(sv[0], big + off, sizeof big - off);
            if (w <= 0)
                _exit(1);
            off += w;
        }
        _exit(0);
    }
    size_t total = 0;
    unsigned sum = 0, want = 0;
    for (size_t i = 0; i < (1 << 20); i++)
        want += (unsigned char)(i * 7);
    while (total < (1 << 20)) {
        char chunk[7000];
        n = read(sv[1], chunk, sizeof chunk);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum += (unsigned char)chunk[i];
        total += n;
    }
    int status;
    waitpid(pid, &status, 0);
    printf("big: %zu sum ok %d status %d\n", total, sum == want, status);

    /* a non-blocking writer fills the send buffer */
    int fl = fcntl(sv[0], F_GETFL);
    fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
    static char blob[4096];
    long sent = 0;
    for (;;) {
        ssize_t w = write(sv[0], blob, sizeof blob);
        if (w < 0) {
            printf("fill: %s\n", errname(errno));
            break;
        }
        sent += w;
    }
    BOOL("filled some", sent > 10000);
    show_poll("poll full writer", sv[0]);
    CHECK("send dontwait full", send(sv[0], "x", 1, MSG_DONTWAIT));
    long drained = 0;
    while ((n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0)
        drained += n;
    BOOL("drained all", drained == sent);
    show_poll("poll drained writer", sv[0]);
    fcntl(sv[0], F_SETFL, fl);

    /* flags at creation */
    int nb[2];
    CHECK_OK("socketpair nonblock cloexec",
             socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, nb));
    printf("nb F_GETFL: %o FD_CLOEXEC: %d\n", fcntl(nb[0], F_GETFL), fcntl(nb[0], F_GETFD));
    CHECK("nb read", read(nb[0], buf, 10));
    CHECK("nb recv waitall", recv(nb[0], buf, 10, MSG_WAITALL));

    /* EOF and EPIPE once the peer is gone */
    close(nb[1]);
    show_poll("poll peer closed", nb[0]);
    CHECK("read after peer close", read(nb[0], buf, 10));
    CHECK("write after peer close", write(nb[0], "x", 1));
    printf("sigpipes: %d\n", pipes);
    CHECK("send nosignal", send(nb[0], "x", 1, MSG_NOSIGNAL));
    printf("sigpipes: %d\n", pipes);

    /* unread data at close: the peer sees ECONNRESET first */
    int r[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, r);
    write(r[0], "lost", 4);
    close(r[1]);
    CHECK("read after close with unread", read(r[0], buf, 10));
    CHECK("read again", read(r[0], buf, 10));
    close(r[0]);

    /* zero-length sends */
    CHECK("send 0", send(sv[0], "", 0, 0));
    CHECK("recv after 0", recv(sv[1], buf, 10, MSG_DONTWAIT));
    return 0;
}
