/* The argument checks every socket call makes before a family sees it: socket and
 * socketpair flags, families and types; EBADF, ENOTSOCK; address lengths; EFAULT; msghdr
 * checks (EMSGSIZE, EINVAL), MSG_CMSG_COMPAT; control message checks (EINVAL, EBADF);
 * accept4 flags; getsockname length rules. */
#include "contract.h"
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

int main(void)
{
    char buf[64];
    int sv[2];
    CHECK("socket bad flag", socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
    CHECK("socket type 0", socket(AF_UNIX, 0, 0));
    CHECK("socket type 15", socket(AF_UNIX, 15, 0));
    CHECK("socket type raw", socket(AF_UNIX, SOCK_RAW, 0) >= 0 ? 0 : -1);
    CHECK("socket type rdm", socket(AF_UNIX, SOCK_RDM, 0));
    CHECK("socket type packet", socket(AF_UNIX, SOCK_PACKET, 0));
    CHECK("socket protocol 1", socket(AF_UNIX, SOCK_STREAM, 1) >= 0 ? 0 : -1);
    CHECK("socket protocol 2", socket(AF_UNIX, SOCK_STREAM, 2));
    CHECK("socket family -1", socket(-1, SOCK_STREAM, 0));
    CHECK("socket family 100", socket(100, SOCK_STREAM, 0));
    CHECK("socket family 100 type 15", socket(100, 15, 0));
    CHECK("socket family 46", socket(46, SOCK_STREAM, 0));
    CHECK("socketpair bad flag", socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv));
    CHECK("socketpair efault", socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR));
    CHECK("socketpair family", socketpair(100, SOCK_STREAM, 0, sv));
    CHECK("socketpair type", socketpair(AF_UNIX, 0, 0, sv));

    int fd = open("/dev/null", O_RDWR);
    struct sockaddr_un sa = {AF_UNIX, "/tmp/x"};
    socklen_t len = sizeof sa;
    CHECK("bind ebadf", bind(99, (struct sockaddr *)&sa, sizeof sa));
    CHECK("bind enotsock", bind(fd, (struct sockaddr *)&sa, sizeof sa));
    CHECK("connect enotsock", connect(fd, (struct sockaddr *)&sa, sizeof sa));
    CHECK("listen enotsock", listen(fd, 1));
    CHECK("accept enotsock", accept(fd, NULL, NULL));
    CHECK("accept4 ebadf", accept4(99, NULL, NULL, 0));
    CHECK("accept4 bad flags on non-socket", accept4(fd, NULL, NULL, 0x100));
    CHECK("getsockname enotsock", getsockname(fd, (struct sockaddr *)&sa, &len));
    CHECK("getpeername enotsock", getpeername(fd, (struct sockaddr *)&sa, &len));
    CHECK("send enotsock", send(fd, "x", 1, 0));
    CHECK("recv enotsock", recv(fd, buf, 1, MSG_DONTWAIT));
    CHECK("shutdown enotsock", shutdown(fd, SHUT_RD));
    int one = 1;
    CHECK("setsockopt enotsock", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4));
    CHECK("getsockopt enotsock", getsockopt(fd, SOL_SOCKET, SO_TYPE, &one, &len));
    struct msghdr mh = {0};
    CHECK("sendmsg enotsock", sendmsg(fd, &mh, 0));
    CHECK("recvmsg enotsock", recvmsg(fd, &mh, 0));
    CHECK("sendmmsg enotsock", RAW(SYS_sendmmsg, fd, 0, 0, 0));
    CHECK("recvmmsg enotsock", RAW(SYS_recvmmsg, fd, 0, 0, 0, 0));
    int opath = open("/tmp", O_PATH);
    CHECK("send O_PATH", send(opath, "x", 1, 0));

    CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("bind len -1", bind(s, (struct sockaddr *)&sa, -1));
    CHECK("bind len 129", bind(s, (struct sockaddr *)&sa, 129));
    CHECK("bind len 0", bind(s, (struct sockaddr *)&sa, 0));
    CHECK("bind len 1", bind(s, (struct sockaddr *)&sa, 1));
    CHECK("bind len 111", bind(s, (struct sockaddr *)&sa, 111));
    CHECK("bind efault", bind(s, BAD_PTR, sizeof sa));
    struct sockaddr_un inet = {AF_INET, "x"};
    CHECK("bind wrong family", bind(s, (struct sockaddr *)&inet, sizeof inet));
    CHECK("connect len 0", connect(s, (struct sockaddr *)&sa, 0));
    CHECK("connect efault", connect(s, BAD_PTR, sizeof sa));
    CHECK("connect wrong family", connect(s, (struct sockaddr *)&inet, sizeof inet));
    len = sizeof sa;
    CHECK("getsockname efault addr", getsockname(s, BAD_PTR, &len));
    CHECK("getsockname efault len", getsockname(s, (struct sockaddr *)&sa, BAD_PTR));
    len = -1;
    CHECK("getsockname len -1", getsockname(s, (struct sockaddr *)&sa, &len));
    len = 0;
    CHECK("getsockname len 0", getsockname(s, BAD_PTR, &len));
    printf("len after: %d\n", len);
    len = 1;
    memset(&sa, 0x55, sizeof sa);
    CHECK("getsockname len 1", getsockname(s, (struct sockaddr *)&sa, &len));
    printf("len after: %d byte1 %x\n", len, ((unsigned char *)&sa)[1]);
    CHECK("getpeername unconnected", getpeername(s, (struct sockaddr *)&sa, &len));
    CHECK("accept4 bad flags", accept4(s, NULL, NULL, 0x100));
    CHECK("accept4 not listening", accept4(s, NULL, NULL, 0));
    CHECK("shutdown how 3", shutdown(sv[0], 3));
    CHECK("shutdown how -1", shutdown(sv[0], -1));

    CHECK("send efault", send(sv[0], KERNEL_PTR, 1, 0));
    CHECK("recv efault", recv(sv[1], KERNEL_PTR, 1, MSG_DONTWAIT));
    CHECK("sendmsg efault", RAW(SYS_sendmsg, sv[0], BAD_PTR, 0));
    CHECK("recvmsg efault", RAW(SYS_recvmsg, sv[0], BAD_PTR, 0));
    CHECK("sendmsg compat flag", RAW(SYS_sendmsg, sv[0], &mh, 0x80000000));
    CHECK("recvmsg compat flag", RAW(SYS_recvmsg, sv[0], &mh, 0x80000000));
    CHECK("sendmmsg compat flag", RAW(SYS_sendmmsg, sv[0], &mh, 1, 0x80000000));
    CHECK("recvmmsg compat flag", RAW(SYS_recvmmsg, sv[0], &mh, 1, 0x80000000, 0));
    struct iovec iov = {"x", 1};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1025;
    CHECK("sendmsg iovlen 1025", RAW(SYS_sendmsg, sv[0], &mh, 0));
    CHECK("recvmsg iovlen 1025", RAW(SYS_recvmsg, sv[0], &mh, MSG_DONTWAIT));
    struct iovec badiov = {"x", (size_t)-1};
    mh.msg_iov = &badiov;
    mh.msg_iovlen = 1;
    CHECK("sendmsg iov_len -1", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_iov = BAD_PTR;
    CHECK("sendmsg iov efault", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_iov = &iov;
    mh.msg_name = &sa;
    mh.msg_namelen = -1;
    CHECK("sendmsg namelen -1", RAW(SYS_sendmsg, sv[0], &mh, 0));
    CHECK("recvmsg namelen -1", RAW(SYS_recvmsg, sv[0], &mh, MSG_DONTWAIT));
    mh.msg_name = NULL;
    mh.msg_namelen = 0;

    /* control messages */
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(c) = 99;
    CHECK("scm_rights ebadf", RAW(SYS_sendmsg, sv[0], &mh, 0));
    *(int *)CMSG_DATA(c) = -1;
    CHECK("scm_rights -1", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_len = sizeof u.buf + 8;
    CHECK("cmsg_len too long", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_len = 8;
    CHECK("cmsg_len too short", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_len = CMSG_LEN(0);
    CHECK("scm_rights empty", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_type = 77;
    CHECK("unknown scm type", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_level = 12345;
    CHECK("other level ignored", RAW(SYS_sendmsg, sv[0], &mh, 0));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    CHECK("scm_credentials short", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_controllen = 10;
    CHECK("controllen below a header", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_controllen = sizeof u.buf;
    mh.msg_control = BAD_PTR;
    CHECK("control efault", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_controllen = 1UL << 40;
    CHECK("controllen huge", RAW(SYS_sendmsg, sv[0], &mh, 0));
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    CHECK("recvmmsg bad timeout", RAW(SYS_recvmmsg, sv[1], &mh, 1, 0, BAD_PTR));
    struct timespec ts = {0, 2000000000};
    CHECK("recvmmsg timeout nsec", RAW(SYS_recvmmsg, sv[1], &mh, 1, 0, &ts));
    CHECK("sendmmsg vlen 0", RAW(SYS_sendmmsg, sv[0], &mh, 0, 0));
    CHECK("sendmmsg efault", RAW(SYS_sendmmsg, sv[0], BAD_PTR, 1, 0));
    CHECK("setsockopt optlen -1", setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &one, -1));
    CHECK("setsockopt ebadf optlen -1", setsockopt(99, SOL_SOCKET, SO_REUSEADDR, &one, -1));
    return 0;
}
