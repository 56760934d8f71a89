/* setsockopt/getsockopt at SOL_SOCKET: the options every family keeps and reports back
 * (buffer sizes doubled with their minimums, timeouts as struct timeval, linger, booleans),
 * the read-only ones, ENOPROTOOPT for unknown options, EINVAL for short lengths, EDOM, a
 * short getsockopt buffer, other levels; SO_RCVTIMEO/SO_SNDTIMEO ending sleeps with EAGAIN
 * and, interrupted by a signal, EINTR even with SA_RESTART. */
#include "contract.h"
#include <sys/socket.h>
#include <sys/time.h>

static int geti(int fd, int name)
{
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, name, &v, &l) < 0)
        return -1000 - errno;
    return v;
}

static void on_alarm(int s) { (void)s; }

int main(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    int sq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("SO_TYPE: %d %d %d\n", geti(sv[0], SO_TYPE), geti(d, SO_TYPE), geti(sq, SO_TYPE));
    printf("SO_DOMAIN: %d SO_PROTOCOL: %d\n", geti(d, SO_DOMAIN), geti(d, SO_PROTOCOL));
    printf("SO_ERROR: %d SO_ACCEPTCONN: %d\n", geti(d, SO_ERROR), geti(d, SO_ACCEPTCONN));
    printf("SO_SNDBUF default: %d SO_RCVBUF default: %d\n", geti(d, SO_SNDBUF), geti(d, SO_RCVBUF));
    printf("SO_RCVLOWAT: %d SO_SNDLOWAT: %d\n", geti(d, SO_RCVLOWAT), geti(d, SO_SNDLOWAT));
    int vals[] = {0, 1, 1000, 2304, 100000, -1};
    for (int i = 0; i < 6; i++) {
        int v = vals[i];
        if (v == -1)
            break;
        setsockopt(d, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
        setsockopt(d, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
        printf("set %d: sndbuf %d rcvbuf %d\n", v, geti(d, SO_SNDBUF), geti(d, SO_RCVBUF));
    }
    int flags[] = {SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_OOBINLINE, SO_DONTROUTE,
                   SO_PASSCRED, SO_DEBUG, SO_REUSEPORT};
    const char *names[] = {"SO_REUSEADDR", "SO_KEEPALIVE", "SO_BROADCAST", "SO_OOBINLINE",
                           "SO_DONTROUTE", "SO_PASSCRED", "SO_DEBUG", "SO_REUSEPORT"};
    for (int i = 0; i < 8; i++) {
        int seven = 7, zero = 0;
        int before = geti(d, flags[i]);
        int r = setsockopt(d, SOL_SOCKET, flags[i], &seven, sizeof seven);
        int on = geti(d, flags[i]);
        setsockopt(d, SOL_SOCKET, flags[i], &zero, sizeof zero);
        printf("%s: before %d set %s on %d off %d\n", names[i], before, r ? errname(errno) : "ok",
               on, geti(d, flags[i]));
    }
    int v = 5;
    CHECK_OK("SO_RCVLOWAT 5", setsockopt(d, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v));
    printf("SO_RCVLOWAT: %d\n", geti(d, SO_RCVLOWAT));
    v = 0;
    setsockopt(d, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
    printf("SO_RCVLOWAT 0 -> %d\n", geti(d, SO_RCVLOWAT));
    v = 3;
    CHECK_OK("SO_PRIORITY 3", setsockopt(d, SOL_SOCKET, SO_PRIORITY, &v, sizeof v));
    printf("SO_PRIORITY: %d\n", geti(d, SO_PRIORITY));
    CHECK("set SO_TYPE", setsockopt(d, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    CHECK("set SO_ERROR", setsockopt(d, SOL_SOCKET, SO_ERROR, &v, sizeof v));
    CHECK("set unknown", setsockopt(d, SOL_SOCKET, 9999, &v, sizeof v));
    CHECK("get unknown", getsockopt(d, SOL_SOCKET, 9999, &v, &(socklen_t){4}));
    CHECK("set short", setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &v, 3));
    CHECK("set efault", setsockopt(d, SOL_SOCKET, SO_REUSEADDR, BAD_PTR, 4));
    CHECK("get efault len", getsockopt(d, SOL_SOCKET, SO_TYPE, &v, BAD_PTR));
    CHECK("get efault val", getsockopt(d, SOL_SOCKET, SO_TYPE, BAD_PTR, &(socklen_t){4}));
    socklen_t l = -1;
    CHECK("get len -1", getsockopt(d, SOL_SOCKET, SO_TYPE, &v, &l));
    l = 2;
    v = 0;
    CHECK_OK("get len 2", getsockopt(d, SOL_SOCKET, SO_SNDBUF, &v, &l));
    printf("len %u value %#x\n", (unsigned)l, v);
    l = 100;
    CHECK_OK("get len 100", getsockopt(d, SOL_SOCKET, SO_TYPE, &v, &l));
    printf("len %u\n", (unsigned)l);
    CHECK("other level set", setsockopt(d, 6 /* SOL_TCP */, 1, &v, sizeof v));
    CHECK("other level get", getsockopt(d, 6 /* SOL_TCP */, 1, &v, &(socklen_t){4}));

    /* linger */
    struct linger lg = {1, 30}, lg2;
    CHECK_OK("SO_LINGER", setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    l = sizeof lg2;
    getsockopt(d, SOL_SOCKET, SO_LINGER, &lg2, &l);
    printf("linger: %d %d len %u\n", lg2.l_onoff, lg2.l_linger, (unsigned)l);
    lg.l_onoff = 0;
    setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    getsockopt(d, SOL_SOCKET, SO_LINGER, &lg2, &l);
    printf("linger off: %d %d\n", lg2.l_onoff, lg2.l_linger);
    CHECK("SO_LINGER short", setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, 4));

    /* timeouts */
    struct timeval tv = {1, 500000}, tv2;
    CHECK_OK("SO_RCVTIMEO", setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    l = sizeof tv2;
    getsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l);
    printf("rcvtimeo: %ld %ld len %u\n", (long)tv2.tv_sec, (long)tv2.tv_usec, (unsigned)l);
    getsockopt(d, SOL_SOCKET, SO_SNDTIMEO, &tv2, &l);
    printf("sndtimeo: %ld %ld\n", (long)tv2.tv_sec, (long)tv2.tv_usec);
    tv.tv_usec = 1000000;
    CHECK("SO_RCVTIMEO usec 1000000", setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    CHECK("SO_RCVTIMEO short", setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));

    /* a receive timeout ends the sleep with EAGAIN */
    tv.tv_sec = 0;
    tv.tv_usec = 50000;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[8];
    CHECK("recv timeout", recv(sv[0], buf, sizeof buf, 0));
    CHECK("read timeout", read(sv[0], buf, sizeof buf));
    /* a signal ends it with EINTR even with SA_RESTART */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK("recv timeout interrupted", recv(sv[0], buf, sizeof buf, 0));
    /* without a timeout, SA_RESTART restarts it (data comes from a child) */
    tv.tv_sec = 0;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200000);
        write(sv[1], "late", 4);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK("recv restarted", recv(sv[0], buf, sizeof buf, 0));
    waitpid(pid, NULL, 0);
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK("recv interrupted no SA_RESTART", recv(sv[0], buf, sizeof buf, 0));
    /* a send timeout ends a writer's wait for buffer room */
    tv.tv_usec = 50000;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char blob[65536];
    long sent = 0;
    ssize_t n;
    while ((n = send(sv[0], blob, sizeof blob, 0)) > 0)
        sent += n;
    printf("send timeout: %s sent some %d\n", errname(errno), sent > 0);
    return 0;
}
