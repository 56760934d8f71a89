/* A glibc client and server over AF_UNIX: the server binds a path and an abstract name,
 * forks a client per name, accepts, answers a request line, passes a pipe end back with
 * SCM_RIGHTS and checks the client's SO_PEERCRED; both sides use glibc's wrappers. */
#define _GNU_SOURCE
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static socklen_t name(struct sockaddr_un *a, const char *path, int abstract)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path + !!abstract, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static int client(struct sockaddr_un *a, socklen_t len, const char *req)
{
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(c, (struct sockaddr *)a, len) < 0) {
        perror("connect");
        return 1;
    }
    dprintf(c, "%s\n", req);
    char buf[128];
    size_t n = 0;
    while (n < sizeof buf - 1 && recv(c, buf + n, 1, 0) == 1 && buf[n++] != '\n')
        ; /* a byte at a time: the next message carries an fd */
    buf[n] = 0;
    printf("client got: %s", buf);
    char cbuf[CMSG_SPACE(sizeof(int))];
    char byte;
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) != 1) {
        perror("recvmsg");
        return 1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof fd);
    dprintf(fd, "written by the client through a passed fd\n");
    close(fd);
    shutdown(c, SHUT_WR);
    printf("client EOF: %zd\n", recv(c, buf, sizeof buf, 0));
    fflush(stdout);
    return 0;
}

static void serve(int l)
{
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    struct ucred cr;
    socklen_t crl = sizeof cr;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
    printf("server: peer uid %u gid %u\n", cr.uid, cr.gid);
    FILE *in = fdopen(dup(s), "r");
    char line[128];
    if (!fgets(line, sizeof line, in))
        line[0] = 0;
    fclose(in);
    printf("server got: %s", line);
    dprintf(s, "echo: %s", line);
    int p[2];
    pipe(p);
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {"F", 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    sendmsg(s, &mh, 0);
    close(p[1]);
    char buf[128];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("server pipe: %s", buf);
    struct pollfd pf = {s, POLLIN | POLLRDHUP, 0};
    poll(&pf, 1, 5000);
    printf("server poll: in %d rdhup %d\n", !!(pf.revents & POLLIN), !!(pf.revents & POLLRDHUP));
    printf("server EOF: %zd\n", recv(s, buf, sizeof buf, 0));
    close(s);
    close(p[0]);
}

int main(void)
{
    const char *path = "/tmp/twaron-glibc-unix.sock";
    unlink(path);
    struct sockaddr_un a;
    for (int abstract = 0; abstract < 2; abstract++) {
        socklen_t len = name(&a, abstract ? "twaron-glibc-abstract" : path, abstract);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 4) < 0) {
            perror("bind/listen");
            return 1;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(l);
            _exit(client(&a, len, abstract ? "hello abstract" : "hello path"));
        }
        serve(l);
        int st;
        waitpid(pid, &st, 0);
        printf("client exit: %d\n", WEXITSTATUS(st));
        fflush(stdout);
        close(l);
    }
    unlink(path);
    return 0;
}
