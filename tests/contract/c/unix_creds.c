/* SCM_CREDENTIALS and SO_PEERCRED: the sender's pid/uid/gid arrive with SO_PASSCRED (also
 * through plain write()), claimed credentials (only one's own unless privileged: EPERM;
 * ESRCH for a pid that does not exist), SO_PEERCRED at socketpair/connect time, a stream
 * read that stops where the credentials change. Only facts relative to getpid()/getuid()
 * are printed. */
#include "contract.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int send_creds(int sock, const char *data, pid_t pid, uid_t uid, gid_t gid)
{
    union { char b[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr a; } u;
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.b;
    mh.msg_controllen = sizeof u.b;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred cr = {pid, uid, gid};
    memcpy(CMSG_DATA(c), &cr, sizeof cr);
    return sendmsg(sock, &mh, 0);
}

static void recv_creds(const char *label, int sock, pid_t want_pid)
{
    char data[64];
    union { char b[256]; struct cmsghdr a; } u;
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.b;
    mh.msg_controllen = sizeof u.b;
    ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %zd \"%.*s\"", label, n, (int)n, data);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof cr);
            printf(" creds len %zu pid %s uid %u gid %u", (size_t)c->cmsg_len,
                   cr.pid == want_pid ? "want" : cr.pid == 0 ? "0" : "other", cr.uid, cr.gid);
        }
    }
    printf(" ctrunc %d\n", !!(mh.msg_flags & MSG_CTRUNC));
}

static void peercred(const char *label, int sock, pid_t want_pid)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    printf("%s: len %u pid %s uid %d gid %d\n", label, (unsigned)len,
           cr.pid == want_pid ? "want" : cr.pid == 0 ? "0" : "other", (int)cr.uid, (int)cr.gid);
}

int main(void)
{
    int one = 1, zero = 0;
    pid_t me = getpid();
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    peercred("socketpair peercred", sv[0], me);
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    peercred("unconnected peercred", lone, me);
    write(sv[0], "plain", 5);
    recv_creds("no passcred", sv[1], me);
    CHECK_OK("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("SO_PASSCRED get: %d\n", v);
    write(sv[0], "via write", 9);
    recv_creds("passcred write", sv[1], me);
    CHECK("send own creds", send_creds(sv[0], "mine", me, getuid(), getgid()));
    recv_creds("own creds", sv[1], me);
    fflush(stdout);
    pid_t sleeper = fork();
    if (sleeper == 0) {
        pause();
        _exit(0);
    }
    CHECK("send other pid as root", send_creds(sv[0], "root", sleeper, 0, 0));
    recv_creds("claimed other pid", sv[1], sleeper);
    CHECK("send pid nonexistent", send_creds(sv[0], "x", 4000000, 0, 0));
    CHECK("send uid -1", send_creds(sv[0], "x", me, -1, 0));
    recv_creds("empty", sv[1], me);
    /* stream reads stop where the credentials change */
    write(sv[0], "aa", 2);
    send_creds(sv[0], "bb", sleeper, 0, 0);
    write(sv[0], "cc", 2);
    recv_creds("first writer", sv[1], me);
    recv_creds("second writer", sv[1], sleeper);
    recv_creds("third", sv[1], me);
    /* a control buffer too small for the credentials */
    write(sv[0], "z", 1);
    char data[8];
    union { char b[sizeof(struct cmsghdr) + 4]; struct cmsghdr a; } small;
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = small.b;
    mh.msg_controllen = sizeof small.b;
    CHECK("recvmsg small control", recvmsg(sv[1], &mh, 0));
    printf("flags ctrunc %d controllen %zu\n", !!(mh.msg_flags & MSG_CTRUNC), (size_t)mh.msg_controllen);
    write(sv[0], "n", 1);
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
    CHECK("recvmsg no control", recvmsg(sv[1], &mh, 0));
    printf("flags ctrunc %d\n", !!(mh.msg_flags & MSG_CTRUNC));
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &zero, sizeof zero);

    /* as an unprivileged user */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        pid_t child = getpid();
        CHECK("user claims root", send_creds(sv[0], "x", child, 0, 0));
        CHECK("user claims other pid", send_creds(sv[0], "x", sleeper, 1000, 1000));
        CHECK("user claims own", send_creds(sv[0], "user", child, 1000, 1000));
        int p[2];
        socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
        peercred("user socketpair", p[0], child);
        setsockopt(p[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        send(p[0], "dg", 2, 0);
        recv_creds("user dgram", p[1], child);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    recv_creds("from user", sv[1], pid);

    /* SO_PEERCRED through connect/accept: each side sees the other's creator */
    struct sockaddr_un a = {AF_UNIX};
    memcpy(a.sun_path + 1, "twaron-creds", 12);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 13;
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&a, alen);
    listen(srv, 5);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setgid(1001);
        setuid(1001);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, alen);
        peercred("client sees", c, getppid());
        fflush(stdout);
        write(c, "x", 1);
        _exit(0);
    }
    int acc = accept(srv, NULL, NULL);
    char ch;
    read(acc, &ch, 1);
    waitpid(pid, NULL, 0);
    peercred("server sees", acc, pid);
    kill(sleeper, SIGKILL);
    waitpid(sleeper, NULL, 0);
    struct ucred cr;
    socklen_t crl = 4;
    CHECK_OK("peercred short", getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &cr, &crl));
    printf("short len: %u\n", (unsigned)crl);
    return 0;
}
