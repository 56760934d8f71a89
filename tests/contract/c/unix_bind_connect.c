/* AF_UNIX names and connections: bind to a path (a socket inode made with the umask,
 * EADDRINUSE, EACCES, ENOENT, EINVAL when bound twice), abstract names, autobind, the
 * address lengths getsockname/getpeername/accept report, listen and its backlog (connect
 * waits or says EAGAIN past backlog+1), ECONNREFUSED, EPROTOTYPE, EISCONN, accept4 flags,
 * permissions (a directory without search, a socket without write). */
#include "contract.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *path, int abstract)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        memcpy(a->sun_path + 1, path, strlen(path));
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    }
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void show_name(const char *label, int fd, int peer)
{
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    memset(&a, 0x7f, sizeof a);
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    printf("%s: len %u family %d", label, (unsigned)len, a.sun_family);
    if (len > 2 && a.sun_path[0])
        printf(" path %s", a.sun_path);
    else if (len > 2)
        printf(" abstract len %u", (unsigned)(len - 2));
    printf("\n");
}

int main(void)
{
    enter_workdir("unix_bind_connect");
    unlink("s1");
    unlink("s2");
    unlink("file");
    rmdir("locked");
    umask(022);
    struct sockaddr_un a;
    socklen_t alen;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    show_name("unbound name", s, 0);
    alen = mkaddr(&a, "s1", 0);
    CHECK_OK("bind s1", bind(s, (struct sockaddr *)&a, alen));
    struct stat st;
    CHECK_OK("stat s1", stat("s1", &st));
    printf("s1 mode: %o sock %d\n", st.st_mode & 07777, S_ISSOCK(st.st_mode));
    show_name("bound name", s, 0);
    CHECK("bind again", bind(s, (struct sockaddr *)&a, alen));
    alen = mkaddr(&a, "s2", 0);
    CHECK("bind second name", bind(s, (struct sockaddr *)&a, alen));
    CHECK("s2 left behind", access("s2", F_OK));
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = mkaddr(&a, "s1", 0);
    CHECK("bind taken path", bind(t, (struct sockaddr *)&a, alen));
    put_file("file", "x", 1, 0644);
    alen = mkaddr(&a, "file", 0);
    CHECK("bind over file", bind(t, (struct sockaddr *)&a, alen));
    alen = mkaddr(&a, "nodir/x", 0);
    CHECK("bind missing dir", bind(t, (struct sockaddr *)&a, alen));
    alen = mkaddr(&a, "file/x", 0);
    CHECK("bind under file", bind(t, (struct sockaddr *)&a, alen));
    /* a path of exactly 108 bytes without its NUL */
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memset(a.sun_path, 'p', sizeof a.sun_path);
    CHECK("bind 108 no nul", bind(t, (struct sockaddr *)&a, sizeof a));
    /* a path with garbage after its NUL: the name ends at the NUL */
    int g = socket(AF_UNIX, SOCK_DGRAM, 0);
    alen = mkaddr(&a, "s2", 0);
    strcpy(a.sun_path + 3, "garbage");
    CHECK_OK("bind with trailing bytes", bind(g, (struct sockaddr *)&a, sizeof a));
    show_name("trailing bytes name", g, 0);
    close(g);
    unlink("s2");
    umask(077);
    g = socket(AF_UNIX, SOCK_DGRAM, 0);
    alen = mkaddr(&a, "s2", 0);
    bind(g, (struct sockaddr *)&a, alen);
    stat("s2", &st);
    printf("umask 077 mode: %o\n", st.st_mode & 07777);
    close(g);
    unlink("s2");
    umask(022);

    /* listen */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("listen dgram", listen(d, 1));
    CHECK("listen unbound", listen(t, 1));
    CHECK_OK("listen", listen(s, 0));
    CHECK_OK("listen again", listen(s, 1));
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    printf("SO_ACCEPTCONN: %d\n", v);
    struct pollfd p = {s, POLLIN | POLLOUT, 0};
    int pn = poll(&p, 1, 0);
    printf("poll listener: %d %#x\n", pn, p.revents);
    CHECK("connect listener", connect(s, (struct sockaddr *)&a, alen));

    /* backlog 1: two connections wait, the third would block */
    alen = mkaddr(&a, "s1", 0);
    int c[4];
    for (int i = 0; i < 3; i++) {
        c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        printf("connect %d: %s\n", i, connect(c[i], (struct sockaddr *)&a, alen) ? errname(errno) : "ok");
    }
    pn = poll(&p, 1, 0);
    printf("poll listener with pending: %d %#x\n", pn, p.revents);
    show_name("client name", c[0], 0);
    show_name("client peer", c[0], 1);
    CHECK("connect again", connect(c[0], (struct sockaddr *)&a, alen));
    write(c[0], "early", 5);
    struct sockaddr_un pa;
    socklen_t plen = sizeof pa;
    int a0 = accept4(s, (struct sockaddr *)&pa, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    printf("accept: %d addrlen %u\n", a0 >= 0, (unsigned)plen);
    printf("accepted flags: %o cloexec %d\n", fcntl(a0, F_GETFL), fcntl(a0, F_GETFD));
    show_name("accepted name", a0, 0);
    show_name("accepted peer", a0, 1);
    char buf[32];
    CHECK("read early", read(a0, buf, sizeof buf));
    /* a blocking connect waits for room in the backlog */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        int x = accept(s, NULL, NULL);
        _exit(x >= 0 ? 0 : 1);
    }
    int b = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_OK("blocking connect", connect(b, (struct sockaddr *)&a, alen));
    int status;
    waitpid(pid, &status, 0);
    printf("child accepted: %d\n", WEXITSTATUS(status));
    int a1 = accept(s, NULL, NULL);
    BOOL("second accept", a1 >= 0);
    fcntl(s, F_SETFL, O_NONBLOCK);
    int a2 = accept(s, NULL, NULL);
    BOOL("third accept", a2 >= 0);
    CHECK("accept empty", accept(s, NULL, NULL));
    plen = 1;
    c[3] = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c[3], (struct sockaddr *)&a, alen);
    int a3 = accept(s, (struct sockaddr *)&pa, &plen);
    printf("accept short len: %d %u\n", a3 >= 0, (unsigned)plen);

    /* refused: wrong type, not listening, closed, unlinked */
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("connect dgram to stream", connect(dg, (struct sockaddr *)&a, alen));
    int sq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK("connect seqpacket to stream", connect(sq, (struct sockaddr *)&a, alen));
    int n1 = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = mkaddr(&a, "s2", 0);
    bind(n1, (struct sockaddr *)&a, alen);
    int n2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("connect not listening", connect(n2, (struct sockaddr *)&a, alen));
    close(n1);
    CHECK("connect closed", connect(n2, (struct sockaddr *)&a, alen));
    CHECK("s2 still there", access("s2", F_OK));
    alen = mkaddr(&a, "file", 0);
    CHECK("connect to file", connect(n2, (struct sockaddr *)&a, alen));
    alen = mkaddr(&a, "nothere", 0);
    CHECK("connect missing", connect(n2, (struct sockaddr *)&a, alen));
    mknod("fake", S_IFSOCK | 0666, 0);
    alen = mkaddr(&a, "fake", 0);
    CHECK("connect mknod socket", connect(n2, (struct sockaddr *)&a, alen));
    unlink("fake");

    /* abstract names */
    int x = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = mkaddr(&a, "twaron-abs", 1);
    CHECK_OK("bind abstract", bind(x, (struct sockaddr *)&a, alen));
    show_name("abstract name", x, 0);
    int y = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("bind abstract taken", bind(y, (struct sockaddr *)&a, alen));
    int z = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK("bind abstract other type", bind(z, (struct sockaddr *)&a, alen));
    CHECK("bind abstract longer", bind(y, (struct sockaddr *)&a, alen + 1));
    listen(x, 5);
    CHECK_OK("connect abstract", connect(y, (struct sockaddr *)&a, alen));
    CHECK("connect abstract shorter", connect(n2, (struct sockaddr *)&a, alen - 1));
    close(x);
    int w = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_OK("abstract free after close", bind(w, (struct sockaddr *)&a, alen));
    close(w);

    /* autobind */
    int ab = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un fam = {AF_UNIX};
    CHECK_OK("autobind", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    getsockname(ab, (struct sockaddr *)&got, &glen);
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= (got.sun_path[i] >= '0' && got.sun_path[i] <= '9') ||
               (got.sun_path[i] >= 'a' && got.sun_path[i] <= 'f');
    printf("autobind: len %u nul %d hex %d\n", (unsigned)glen, got.sun_path[0] == 0, hex);
    CHECK("autobind again", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    int pc = socket(AF_UNIX, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    alen = mkaddr(&a, "twaron-abs-dgram", 1);
    int rcv = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(rcv, (struct sockaddr *)&a, alen);
    sendto(pc, "x", 1, 0, (struct sockaddr *)&a, alen);
    glen = sizeof got;
    getsockname(pc, (struct sockaddr *)&got, &glen);
    printf("passcred send autobinds: len %u\n", (unsigned)glen);

    /* permissions (as a user without privileges) */
    mkdir("locked", 0700);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = mkaddr(&a, "locked/s", 0);
    bind(ls, (struct sockaddr *)&a, alen);
    listen(ls, 5);
    chmod("s1", 0755);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setgid(65534);
        setuid(65534);
        int u = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK("connect no search", connect(u, (struct sockaddr *)&a, alen));
        alen = mkaddr(&a, "s1", 0);
        CHECK("connect no write", connect(u, (struct sockaddr *)&a, alen));
        alen = mkaddr(&a, "locked/t", 0);
        CHECK("bind no search", bind(u, (struct sockaddr *)&a, alen));
        alen = mkaddr(&a, "t", 0);
        CHECK("bind no write", bind(u, (struct sockaddr *)&a, alen));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    unlink("locked/s");
    rmdir("locked");
    unlink("s1");
    unlink("s2");
    unlink("file");
    return 0;
}
