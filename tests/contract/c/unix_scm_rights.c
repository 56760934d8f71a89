/* SCM_RIGHTS: descriptors passed over AF_UNIX sockets (stream, dgram, seqpacket) arrive as
 * new fds on the same open files; MSG_CMSG_CLOEXEC; a control buffer too small (MSG_CTRUNC,
 * the rest closed); no control buffer; EMFILE in the receiver; a stream read stops at a
 * message that carries fds; MSG_PEEK duplicates; files stay open while in flight and are
 * closed when the message is dropped unread; SCM_MAX_FD. */
#include "contract.h"
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int send_fds(int sock, const char *data, int *fds, int n)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 300)];
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (n) {
        memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return RAW(SYS_sendmsg, sock, &mh, 0); /* musl's wrapper takes at most 1024 bytes */
}

/* Receive; print the data, flags, and the fds' count; return the first fd (or -1). */
static int recv_fds(const char *label, int sock, size_t space, int flags, int *all)
{
    char data[64];
    char cbuf[4096] __attribute__((aligned(8)));
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = space ? cbuf : NULL;
    mh.msg_controllen = space;
    memset(cbuf, 0xff, sizeof cbuf);
    ssize_t n = recvmsg(sock, &mh, flags);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return -1;
    }
    int first = -1, count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (int i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                if (first < 0)
                    first = fd;
                if (all)
                    all[count] = fd;
                count++;
            }
        }
    }
    printf("%s: %zd \"%.*s\" fds %d ctrunc %d controllen %zu\n", label, n, (int)n, data, count,
           !!(mh.msg_flags & MSG_CTRUNC), (size_t)mh.msg_controllen);
    return first;
}

static int open_count(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

int main(void)
{
    enter_workdir("unix_scm_rights");
    put_file("f", "contents", 8, 0644);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int f = open("f", O_RDONLY);
    lseek(f, 3, SEEK_SET);
    CHECK("send fd", send_fds(sv[0], "A", &f, 1));
    int g = recv_fds("recv fd", sv[1], 256, 0, NULL);
    BOOL("new fd", g >= 0 && g != f);
    printf("shared offset: %ld\n", (long)lseek(g, 0, SEEK_CUR));
    char buf[16];
    CHECK("read passed fd", read(g, buf, 5));
    printf("offset via original: %ld\n", (long)lseek(f, 0, SEEK_CUR));
    printf("cloexec: %d\n", fcntl(g, F_GETFD));
    close(g);

    send_fds(sv[0], "B", &f, 1);
    g = recv_fds("recv cloexec", sv[1], 256, MSG_CMSG_CLOEXEC, NULL);
    printf("cloexec: %d\n", fcntl(g, F_GETFD));
    close(g);

    /* three fds, a buffer for one */
    int three[3] = {f, f, f};
    int before = open_count();
    send_fds(sv[0], "C", three, 3);
    g = recv_fds("recv small buffer", sv[1], CMSG_SPACE(sizeof(int)), 0, NULL);
    printf("opened: %d\n", open_count() - before);
    close(g);
    send_fds(sv[0], "D", three, 3);
    recv_fds("recv header only", sv[1], sizeof(struct cmsghdr), 0, NULL);
    send_fds(sv[0], "E", three, 3);
    recv_fds("recv no buffer", sv[1], 0, 0, NULL);
    send_fds(sv[0], "F", three, 3);
    CHECK("read() drops fds", read(sv[1], buf, sizeof buf));
    printf("opened: %d\n", open_count() - before);

    /* a stream read stops after a message with fds */
    write(sv[0], "12", 2);
    send_fds(sv[0], "34", &f, 1);
    write(sv[0], "56", 2);
    g = recv_fds("recv stops at fds", sv[1], 256, 0, NULL);
    close(g);
    recv_fds("recv rest", sv[1], 256, 0, NULL);
    send_fds(sv[0], "78", &f, 1);
    write(sv[0], "90", 2);
    CHECK("read across fds", read(sv[1], buf, sizeof buf));
    CHECK("read rest", read(sv[1], buf, sizeof buf));
    printf("opened: %d\n", open_count() - before);

    /* MSG_PEEK duplicates the fds */
    send_fds(sv[0], "P", &f, 1);
    int p1 = recv_fds("peek", sv[1], 256, MSG_PEEK, NULL);
    int p2 = recv_fds("recv after peek", sv[1], 256, 0, NULL);
    BOOL("peek and recv differ", p1 >= 0 && p2 >= 0 && p1 != p2);
    close(p1);
    close(p2);

    /* EMFILE in the receiver: nothing installed, MSG_CTRUNC */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    send_fds(sv[0], "M", three, 3);
    struct rlimit low = {open_count(), rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &low);
    recv_fds("recv at EMFILE", sv[1], 256, 0, NULL);
    setrlimit(RLIMIT_NOFILE, &rl);
    printf("opened: %d\n", open_count() - before);

    /* in flight: the file stays open after the sender closed it */
    int pp[2];
    pipe(pp);
    send_fds(sv[0], "W", &pp[1], 1);
    close(pp[1]);
    g = recv_fds("recv pipe end", sv[1], 256, 0, NULL);
    write(g, "via", 3);
    close(g);
    CHECK("read pipe", read(pp[0], buf, sizeof buf));
    CHECK("pipe EOF", read(pp[0], buf, sizeof buf));
    close(pp[0]);

    /* dropped unread: the socket closes, the file with it */
    pipe(pp);
    int q[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, q);
    send_fds(q[0], "X", &pp[1], 1);
    close(pp[1]);
    close(q[1]);
    CHECK("pipe EOF after drop", read(pp[0], buf, sizeof buf));
    close(pp[0]);
    close(q[0]);

    /* datagram and seqpacket */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q);
    send_fds(q[0], "seq", three, 2);
    g = recv_fds("seqpacket", q[1], 256, 0, NULL);
    close(g);
    close(g + 1);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, q);
    send_fds(q[0], "dg", &sv[0], 1);
    g = recv_fds("dgram passes a socket", q[1], 256, 0, NULL);
    write(g, "through", 7);
    CHECK("read via passed socket", read(sv[1], buf, sizeof buf));
    close(g);

    /* limits */
    int many[254];
    for (int i = 0; i < 254; i++)
        many[i] = f;
    CHECK("send 253", send_fds(q[0], "L", many, 253));
    int got[253];
    recv_fds("recv 253", q[1], 4096, MSG_DONTWAIT, got);
    for (int i = 0; i < 253; i++)
        close(got[i]);
    CHECK("send 254", send_fds(q[0], "L", many, 254));
    CHECK("send fd -1", send_fds(q[0], "L", (int[]){-1}, 1));
    printf("opened: %d\n", open_count() - before);
    return 0;
}
