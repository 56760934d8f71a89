/* timerfd: clocks and flags (the alarm clocks need CAP_WAKE_ALARM: root has it, nobody does
 * not), settime's checks in Linux's order, one-shot and periodic timers, relative and
 * absolute times, expiration counts (a late read counts every interval it missed: only
 * lower bounds are printed), the old value settime returns, gettime's time left, poll and
 * epoll readiness, and the 8-byte read rules. */
#include "contract.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#endif

static uint64_t ticks(int fd, long *res)
{
    uint64_t v = 0;
    *res = read(fd, &v, sizeof v);
    return v;
}

static void rd(const char *label, int fd)
{
    long r;
    uint64_t v = ticks(fd, &r);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld ticks %llu\n", label, r, (unsigned long long)v);
}

static struct itimerspec its(long vs, long vns, long is, long ins)
{
    struct itimerspec t = {{is, ins}, {vs, vns}};
    return t;
}

static void gettime(const char *label, int fd)
{
    struct itimerspec cur;
    memset(&cur, 0xff, sizeof cur);
    long r = timerfd_gettime(fd, &cur);
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: value %s, interval %ld.%09ld\n", label,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "0" : "set",
           (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
}

static void creation(void)
{
    CHECK("CLOCK_PROCESS_CPUTIME_ID", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    CHECK("clock 99", timerfd_create(99, 0));
    CHECK("CLOCK_MONOTONIC_RAW", timerfd_create(CLOCK_MONOTONIC_RAW, 0));
    CHECK("bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
    int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                    CLOCK_BOOTTIME_ALARM};
    for (int i = 0; i < 5; i++) {
        int fd = timerfd_create(clocks[i], TFD_NONBLOCK);
        printf("clock %d: %s", clocks[i], fd >= 0 ? "ok" : errname(errno));
        if (fd >= 0) {
            struct itimerspec t = its(0, 1000000, 0, 0);
            printf(", settime %ld", (long)timerfd_settime(fd, 0, &t, NULL));
            close(fd);
        }
        printf("\n");
    }
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    BOOL("close-on-exec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    printf("F_GETFL: %#x\n", fcntl(fd, F_GETFL) & ~0100000);
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", n > 0 ? link : errname(errno));
    CHECK("lseek", lseek(fd, 0, SEEK_CUR));
    CHECK("write", write(fd, "12345678", 8));
    close(fd);
    int alarm = timerfd_create(CLOCK_REALTIME_ALARM, 0);
    pid_t pid = FORK();
    if (pid == 0) {
        setuid(65534);
        CHECK("nobody: CLOCK_REALTIME_ALARM", timerfd_create(CLOCK_REALTIME_ALARM, 0));
        CHECK("nobody: CLOCK_BOOTTIME_ALARM", timerfd_create(CLOCK_BOOTTIME_ALARM, 0));
        struct itimerspec t = its(10, 0, 0, 0);
        CHECK("nobody: settime of root's alarm timer", timerfd_settime(alarm, 0, &t, NULL));
        gettime("nobody: gettime of it", alarm);
        CHECK("nobody: CLOCK_MONOTONIC", timerfd_create(CLOCK_MONOTONIC, 0) >= 0);
        fflush(stdout);
        _exit(0);
    }
    reap("nobody", pid);
    close(alarm);
}

static void settime_errors(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), p[2];
    pipe(p);
    struct itimerspec ok = its(10, 0, 0, 0), bad_ns = its(0, 1000000000, 0, 0),
                      neg = its(-1, 0, 0, 0), bad_int = its(1, 0, 0, -1), old;
    CHECK("bad new pointer (before EBADF)", timerfd_settime(99, 0, BAD_PTR, NULL));
    CHECK("bad flags (before EBADF)", timerfd_settime(99, 4, &ok, NULL));
    CHECK("bad nanoseconds", timerfd_settime(fd, 0, &bad_ns, NULL));
    CHECK("negative seconds", timerfd_settime(fd, 0, &neg, NULL));
    CHECK("bad interval", timerfd_settime(fd, 0, &bad_int, NULL));
    CHECK("bad fd", timerfd_settime(99, 0, &ok, NULL));
    CHECK("not a timerfd", timerfd_settime(p[0], 0, &ok, NULL));
    CHECK("bad old pointer (the timer is set anyway)", timerfd_settime(fd, 0, &ok, BAD_PTR));
    gettime("armed", fd);
    CHECK("CANCEL_ON_SET without ABSTIME", timerfd_settime(fd, TFD_TIMER_CANCEL_ON_SET, &ok, NULL));
    CHECK("gettime: bad fd", timerfd_gettime(99, &old));
    CHECK("gettime: not a timerfd", timerfd_gettime(p[0], &old));
    CHECK("gettime: bad pointer", timerfd_gettime(fd, BAD_PTR));
    char small[4];
    CHECK("read of 4 bytes", read(fd, small, sizeof small));
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void one_shot(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    gettime("new timer", fd);
    struct itimerspec t = its(10, 0, 0, 0), old;
    timerfd_settime(fd, 0, &t, &old);
    printf("old of a new timer: %ld %ld %ld %ld\n", (long)old.it_value.tv_sec,
           old.it_value.tv_nsec, (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    BOOL("time left at most 10 s", (cur.it_value.tv_sec == 9 && cur.it_value.tv_nsec > 0) ||
                                       (cur.it_value.tv_sec == 10 && cur.it_value.tv_nsec == 0));
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK("poll before", poll(&pf, 1, 0));
    t = its(0, 50000000, 0, 0);
    timerfd_settime(fd, 0, &t, NULL);
    long t0 = now_ms();
    rd("blocking read", fd);
    printf("waited about 50 ms: %s\n", now_ms() - t0 >= 40 ? "yes" : "no");
    gettime("expired one-shot", fd);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    rd("read again", fd);
    t = its(0, 1, 0, 0);
    timerfd_settime(fd, 0, &t, NULL);
    CHECK("poll after a 1 ns timer", poll(&pf, 1, 1000));
    printf("revents IN: %d\n", !!(pf.revents & POLLIN));
    t = its(100, 0, 0, 0);
    timerfd_settime(fd, 0, &t, &old);
    printf("old value of an expired one-shot: %ld %ld\n", (long)old.it_value.tv_sec,
           old.it_value.tv_nsec);
    rd("settime drops unread expirations", fd);
    t = its(0, 0, 0, 0);
    timerfd_settime(fd, 0, &t, &old);
    BOOL("old value about 100 s", old.it_value.tv_sec == 99 || old.it_value.tv_sec == 100);
    gettime("disarmed", fd);
    t = its(1L << 62, 0, 0, 0);
    timerfd_settime(fd, 0, &t, NULL);
    timerfd_gettime(fd, &cur);
    BOOL("a huge value saturates (about 292 years left)",
         cur.it_value.tv_sec > 9000000000L && cur.it_value.tv_sec < 9300000000L);
    close(fd);
}

static void periodic(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec t = its(0, 10000000, 0, 10000000), cur;
    timerfd_settime(fd, 0, &t, NULL);
    msleep(105);
    long r;
    uint64_t n = ticks(fd, &r);
    printf("periodic 10 ms, read after 105 ms: %ld, at least 10 ticks: %s\n", r,
           n >= 10 ? "yes" : "no");
    n = ticks(fd, &r);
    printf("next read waits for the next tick: %ld, at least 1: %s\n", r, n >= 1 ? "yes" : "no");
    timerfd_gettime(fd, &cur);
    printf("interval %ld.%09ld, time left within it: %s\n", (long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10000000 ? "yes" : "no");
    msleep(55);
    timerfd_gettime(fd, &cur);
    n = ticks(fd, &r);
    printf("gettime after 55 ms keeps the count: at least 5 ticks: %s\n", n >= 5 ? "yes" : "no");
    struct itimerspec old;
    t = its(5, 0, 0, 0);
    timerfd_settime(fd, 0, &t, &old);
    printf("old interval %ld.%09ld, old value within it: %s\n", (long)old.it_interval.tv_sec,
           old.it_interval.tv_nsec,
           old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 10000000 ? "yes" : "no");
    close(fd);

    /* absolute times */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ns = now.tv_nsec + 50000000;
    t = its(now.tv_sec + ns / 1000000000, ns % 1000000000, 0, 0);
    CHECK("absolute, 50 ms ahead", timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL));
    rd("blocking read", fd);
    t = its(now.tv_sec - 1, 0, 0, 0);
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
    rd("absolute, in the past", fd);
    close(fd);
    fd = timerfd_create(CLOCK_REALTIME, 0);
    clock_gettime(CLOCK_REALTIME, &now);
    t = its(now.tv_sec - 1, now.tv_nsec, 0, 100000000);
    CHECK("realtime, absolute, 1 s ago, every 100 ms (CANCEL_ON_SET)",
          timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL));
    n = ticks(fd, &r);
    printf("missed intervals counted: %ld, at least 10: %s\n", r, n >= 10 ? "yes" : "no");
    close(fd);
}

static void with_epoll(void)
{
    int fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 9}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    CHECK("epoll, unarmed", epoll_wait(ep, out, 2, 0));
    struct itimerspec t = its(0, 30000000, 0, 30000000);
    timerfd_settime(fd, 0, &t, NULL);
    int r = epoll_wait(ep, out, 2, -1);
    printf("epoll woken by the timer: %d data %llu events %#x\n", r,
           (unsigned long long)out[0].data.u64, out[0].events);
    long res;
    printf("read: at least 1 tick: %s\n", ticks(fd, &res) >= 1 && res == 8 ? "yes" : "no");
    r = epoll_wait(ep, out, 2, -1);
    printf("and by its next expiry: %d\n", r);
    close(ep);
    close(fd);
}

int main(void)
{
    creation();
    settime_errors();
    one_shot();
    periodic();
    with_epoll();
    return 0;
}
