/* POSIX timers: timer_create (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID, the default
 * SIGALRM), timer_settime (relative, TIMER_ABSTIME, periodic, the old value), timer_gettime,
 * overruns (si_overrun, timer_getoverrun) while the signal is pending, si_code SI_TIMER with
 * si_timerid and si_value, CPU-time clocks, deletion (a pending signal stays), not
 * inherited by fork, gone after exec; the error cases. Raw calls with the kernel's struct
 * sigevent, so that timer ids are the kernel's (0, 1, 2, ... per process). */
#include "contract.h"
#include <pthread.h>
#include <sys/prctl.h>

struct ksigevent {
    union sigval value;
    int signo;
    int notify;
    int tid;
    int pad[11];
};

struct kitimerspec {
    struct timespec interval, value;
};

static int create(clockid_t clk, int notify, int signo, int value, int tid)
{
    struct ksigevent ev = {.signo = signo, .notify = notify, .tid = tid};
    ev.value.sival_int = value;
    int id = -1;
    if (RAW(SYS_timer_create, clk, &ev, &id) < 0)
        return -100 - errno;
    return id;
}

static long settime(int id, int flags, long value_ns, long interval_ns, struct kitimerspec *old)
{
    struct kitimerspec its = {{interval_ns / 1000000000L, interval_ns % 1000000000L},
                              {value_ns / 1000000000L, value_ns % 1000000000L}};
    return RAW(SYS_timer_settime, id, flags, &its, old);
}

static long ns(struct timespec t) { return t.tv_sec * 1000000000L + t.tv_nsec; }

static sigset_t one(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

static void show_info(const char *label, int r, siginfo_t *si, int id)
{
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %s code %s timerid %s value %d\n", label, signame(r),
           si->si_code == SI_TIMER ? "SI_TIMER" : "other", si->si_timerid == id ? "ok" : "wrong",
           si->si_value.sival_int);
}

static volatile unsigned long sink;
static int burn_until_pending(int sig)
{
    long t0 = now_ms();
    sigset_t p;
    for (;;) {
        for (int i = 0; i < 10000; i++)
            sink = sink * 6364136223846793005UL + 1;
        sigpending(&p);
        if (sigismember(&p, sig))
            return 1;
        if (now_ms() - t0 > 20000)
            return 0;
    }
}

static struct {
    int tid, got, timerid, value;
} tinfo;

static void *waiter(void *arg)
{
    (void)arg;
    __atomic_store_n(&tinfo.tid, (int)gettid(), __ATOMIC_SEQ_CST);
    sigset_t s = one(SIGUSR2);
    siginfo_t si;
    tinfo.got = sigwaitinfo(&s, &si);
    tinfo.timerid = si.si_timerid;
    tinfo.value = si.si_value.sival_int;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* after exec: the timers are gone */
        struct kitimerspec cur;
        CHECK("after exec: timer_gettime 0", RAW(SYS_timer_gettime, 0, &cur));
        CHECK("after exec: a new timer's id", create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0));
        return 0;
    }
    sigset_t block;
    sigemptyset(&block);
    int sigs[] = {SIGUSR1, SIGUSR2, SIGALRM, SIGRTMIN};
    for (int i = 0; i < 4; i++)
        sigaddset(&block, sigs[i]);
    sigprocmask(SIG_BLOCK, &block, NULL);
    siginfo_t si;
    struct kitimerspec cur, old;
    sigset_t usr1 = one(SIGUSR1), alrm = one(SIGALRM);

    /* one-shot SIGEV_SIGNAL */
    int a = create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 77, 0);
    printf("first timer id: %d\n", a);
    long t0 = now_ms();
    CHECK("settime 20 ms", settime(a, 0, 20000000, 0, NULL));
    RAW(SYS_timer_gettime, a, &cur);
    BOOL("gettime: 0 < left <= 20 ms, no interval",
         ns(cur.value) > 0 && ns(cur.value) <= 20000000 && ns(cur.interval) == 0);
    show_info("one-shot", sigwaitinfo(&usr1, &si), &si, a);
    BOOL("no earlier than 20 ms", now_ms() - t0 >= 20);
    printf("overrun: %d\n", si.si_overrun);
    RAW(SYS_timer_gettime, a, &cur);
    BOOL("expired one-shot reads 0", ns(cur.value) == 0 && ns(cur.interval) == 0);

    /* periodic with the signal left pending: overruns */
    CHECK("settime every 10 ms", settime(a, 0, 10000000, 10000000, NULL));
    msleep(100);
    RAW(SYS_timer_gettime, a, &cur);
    BOOL("periodic gettime: 0 < left <= 10 ms, interval 10 ms",
         ns(cur.value) > 0 && ns(cur.value) <= 10000000 && ns(cur.interval) == 10000000);
    show_info("periodic, taken late", sigwaitinfo(&usr1, &si), &si, a);
    BOOL("si_overrun counts the periods missed (>= 5)", si.si_overrun >= 5);
    BOOL("timer_getoverrun says the same", RAW(SYS_timer_getoverrun, a) == si.si_overrun);
    show_info("periodic, next", sigwaitinfo(&usr1, &si), &si, a);
    CHECK("disarm", settime(a, 0, 0, 0, &old));
    BOOL("old setting: interval 10 ms, some time left", ns(old.interval) == 10000000 &&
         ns(old.value) > 0 && ns(old.value) <= 10000000);
    RAW(SYS_timer_gettime, a, &cur);
    BOOL("disarmed reads 0", ns(cur.value) == 0 && ns(cur.interval) == 0);
    struct timespec zero = {0, 0};
    RAW(SYS_rt_sigtimedwait, &usr1, NULL, &zero, 8); /* a late one */

    /* absolute times, on MONOTONIC and REALTIME; one in the past fires at once */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t0 = now_ms();
    CHECK("settime absolute now + 30 ms", settime(a, TIMER_ABSTIME, ns(now) + 30000000, 0, NULL));
    show_info("absolute", sigwaitinfo(&usr1, &si), &si, a);
    BOOL("no earlier than 30 ms", now_ms() - t0 >= 30);
    CHECK("settime absolute in the past", settime(a, TIMER_ABSTIME, 1000, 0, NULL));
    show_info("past", sigwaitinfo(&usr1, &si), &si, a);
    int r = create(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 5, 0);
    printf("realtime timer id: %d\n", r);
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK("realtime absolute now + 20 ms", settime(r, TIMER_ABSTIME, ns(now) + 20000000, 0, NULL));
    show_info("realtime", sigwaitinfo(&usr1, &si), &si, r);

    /* default event: SIGALRM with the id as value */
    int d = -1;
    CHECK("timer_create without sigevent", RAW(SYS_timer_create, CLOCK_MONOTONIC, NULL, &d));
    printf("its id: %d\n", d);
    settime(d, 0, 5000000, 0, NULL);
    r = sigwaitinfo(&alrm, &si);
    printf("default: %s value is the id: %s\n", signame(r), si.si_value.sival_int == d ? "yes" : "no");

    /* SIGEV_NONE: no signal, gettime still counts down */
    int n = create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
    settime(n, 0, 40000000, 0, NULL);
    RAW(SYS_timer_gettime, n, &cur);
    BOOL("SIGEV_NONE: 0 < left <= 40 ms", ns(cur.value) > 0 && ns(cur.value) <= 40000000);
    msleep(60);
    RAW(SYS_timer_gettime, n, &cur);
    BOOL("SIGEV_NONE expired: reads 0", ns(cur.value) == 0);
    settime(n, 0, 10000000, 10000000, NULL);
    msleep(35);
    RAW(SYS_timer_gettime, n, &cur);
    BOOL("SIGEV_NONE periodic: 0 < left <= 10 ms", ns(cur.value) > 0 && ns(cur.value) <= 10000000);
    CHECK("SIGEV_NONE getoverrun", RAW(SYS_timer_getoverrun, n));
    sigset_t pend;
    sigpending(&pend);
    BOOL("nothing pending from it", !sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGALRM));

    /* SIGEV_THREAD_ID: to one thread */
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    while (!__atomic_load_n(&tinfo.tid, __ATOMIC_SEQ_CST))
        sched_yield();
    int t = create(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR2, 31, tinfo.tid);
    settime(t, 0, 10000000, 0, NULL);
    pthread_join(th, NULL);
    printf("thread got %s value %d timerid %s\n", signame(tinfo.got), tinfo.value,
           tinfo.timerid == t ? "ok" : "wrong");
    sigpending(&pend);
    BOOL("not pending for the process", !sigismember(&pend, SIGUSR2));

    /* CPU-time clocks */
    int c = create(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, SIGRTMIN, 9, 0);
    settime(c, 0, 30000000, 0, NULL);
    msleep(100);
    sigpending(&pend);
    BOOL("process CPU timer: not after 100 ms asleep", !sigismember(&pend, SIGRTMIN));
    BOOL("process CPU timer: fired while burning CPU", burn_until_pending(SIGRTMIN));
    sigset_t rt = one(SIGRTMIN);
    show_info("process CPU timer", sigwaitinfo(&rt, &si), &si, c);
    int tc = create(CLOCK_THREAD_CPUTIME_ID, SIGEV_SIGNAL, SIGRTMIN, 10, 0);
    settime(tc, 0, 20000000, 0, NULL);
    BOOL("thread CPU timer: fired while burning CPU", burn_until_pending(SIGRTMIN));
    show_info("thread CPU timer", sigwaitinfo(&rt, &si), &si, tc);

    /* delete (an armed timer never fires; what happens to a pending signal differs between
     * Linux versions: 6.1 keeps it, newer ones drop it); not inherited by fork */
    settime(a, 0, 20000000, 0, NULL);
    CHECK("timer_delete armed", RAW(SYS_timer_delete, a));
    msleep(40);
    sigpending(&pend);
    BOOL("no signal from the deleted timer", !sigismember(&pend, SIGUSR1));
    CHECK("timer_delete again", RAW(SYS_timer_delete, a));
    CHECK("timer_gettime deleted", RAW(SYS_timer_gettime, a, &cur));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        CHECK("fork child: timer_gettime of the parent's timer", RAW(SYS_timer_gettime, n, &cur));
        CHECK("fork child: its first timer id", create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    reap("fork child", child);

    /* errors */
    int id;
    struct ksigevent ev = {.signo = SIGUSR1, .notify = SIGEV_SIGNAL};
    CHECK("create bad clock", RAW(SYS_timer_create, 99, &ev, &id));
    CHECK("create MONOTONIC_RAW", RAW(SYS_timer_create, CLOCK_MONOTONIC_RAW, &ev, &id));
    CHECK("create REALTIME_COARSE", RAW(SYS_timer_create, CLOCK_REALTIME_COARSE, &ev, &id));
    CHECK("create bad sigevent pointer", RAW(SYS_timer_create, CLOCK_MONOTONIC, BAD_PTR, &id));
    CHECK("create bad id pointer", RAW(SYS_timer_create, CLOCK_MONOTONIC, &ev, BAD_PTR));
    printf("id after a bad id pointer (it was used): %d\n", create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0));
    CHECK("create notify 3", create(CLOCK_MONOTONIC, 3, SIGUSR1, 0, 0) + 100);
    CHECK("create signal 0", create(CLOCK_MONOTONIC, SIGEV_SIGNAL, 0, 0, 0) + 100);
    CHECK("create signal 65", create(CLOCK_MONOTONIC, SIGEV_SIGNAL, 65, 0, 0) + 100);
    CHECK("create THREAD_ID no such thread", create(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR1, 0, 99999) + 100);
    CHECK("create THREAD_ID of another process", create(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR1, 0, child) + 100);
    CHECK("create no such process's CPU clock", create((~99999 << 3) | 2, SIGEV_SIGNAL, SIGUSR1, 0, 0) + 100);
    printf("id after those EINVALs: %d\n", create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0));
    struct kitimerspec bad = {{0, 0}, {0, 1000000000}}, neg = {{-1, 0}, {1, 0}};
    CHECK("settime bad id", settime(12345, 0, 1000, 0, NULL));
    CHECK("settime NULL", RAW(SYS_timer_settime, n, 0, NULL, NULL));
    CHECK("settime bad pointer", RAW(SYS_timer_settime, n, 0, BAD_PTR, NULL));
    CHECK("settime nsec 1e9", RAW(SYS_timer_settime, n, 0, &bad, NULL));
    CHECK("settime negative interval", RAW(SYS_timer_settime, n, 0, &neg, NULL));
    CHECK("settime bad old pointer", settime(n, 0, 1000000000, 0, BAD_PTR));
    RAW(SYS_timer_gettime, n, &cur);
    BOOL("armed all the same", ns(cur.value) > 0);
    CHECK("gettime bad id", RAW(SYS_timer_gettime, -1, &cur));
    CHECK("gettime bad pointer", RAW(SYS_timer_gettime, n, BAD_PTR));
    CHECK("getoverrun bad id", RAW(SYS_timer_getoverrun, 12345));
    CHECK("delete bad id", RAW(SYS_timer_delete, 12345));

    fflush(stdout);
    char *av[] = {argv[0], "exec", NULL};
    execv("/proc/self/exe", av);
    return 1;
}
