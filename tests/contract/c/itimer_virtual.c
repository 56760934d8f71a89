/* ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time: sleeping does not bring them
 * closer; burning CPU does (SIGVTALRM, SIGPROF, si_code SI_KERNEL); getitimer reports what is
 * left; periodic timers repeat; fork does not inherit them; errors. */
#include "contract.h"
#include <sys/time.h>

static volatile sig_atomic_t vt, prof, code_ok = 1;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code != SI_KERNEL)
        code_ok = 0;
    if (sig == SIGVTALRM)
        vt++;
    else
        prof++;
}

static volatile unsigned long sink;

/* Burn CPU until *counter reaches n (or 20 s of wall time pass). */
static int burn_until(volatile sig_atomic_t *counter, int n)
{
    long t0 = now_ms();
    while (*counter < n && now_ms() - t0 < 20000)
        for (int i = 0; i < 10000; i++)
            sink = sink * 6364136223846793005UL + 1442695040888963407UL;
    return *counter >= n;
}

static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);

    struct itimerval it = {{0, 0}, {0, 50000}}, cur;
    CHECK("setitimer VIRTUAL 50 ms", setitimer(ITIMER_VIRTUAL, &it, NULL));
    getitimer(ITIMER_VIRTUAL, &cur);
    BOOL("left: more than 0, at most 50 ms and a tick", usec(cur.it_value) > 0 &&
         usec(cur.it_value) <= 54000 && usec(cur.it_interval) == 0);
    msleep(200);
    BOOL("200 ms asleep: no SIGVTALRM (no CPU time)", vt == 0);
    BOOL("SIGVTALRM arrived while burning CPU", burn_until(&vt, 1));
    getitimer(ITIMER_VIRTUAL, &cur);
    BOOL("one-shot timer disarmed after it fired", usec(cur.it_value) == 0);

    struct itimerval per = {{0, 20000}, {0, 20000}}, old;
    CHECK("setitimer PROF every 20 ms", setitimer(ITIMER_PROF, &per, NULL));
    BOOL("three SIGPROF arrived while burning CPU", burn_until(&prof, 3));
    getitimer(ITIMER_PROF, &cur);
    BOOL("periodic: still armed, interval 20 ms", usec(cur.it_value) > 0 &&
         usec(cur.it_interval) == 20000);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct itimerval mine;
        getitimer(ITIMER_PROF, &mine);
        printf("fork child: PROF %s\n", usec(mine.it_value) || usec(mine.it_interval)
                                            ? "inherited" : "not inherited");
        fflush(stdout);
        _exit(0);
    }
    reap("child", c);
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK("disarm PROF", setitimer(ITIMER_PROF, &off, &old));
    BOOL("old interval 20 ms", usec(old.it_interval) == 20000);
    getitimer(ITIMER_PROF, &cur);
    BOOL("PROF disarmed", usec(cur.it_value) == 0 && usec(cur.it_interval) == 0);
    BOOL("every signal had si_code SI_KERNEL", code_ok);

    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK("setitimer which 3", RAW(SYS_setitimer, 3, &it, NULL));
    CHECK("setitimer usec 1000000", RAW(SYS_setitimer, ITIMER_VIRTUAL, &bad, NULL));
    CHECK("setitimer bad pointer", RAW(SYS_setitimer, ITIMER_VIRTUAL, BAD_PTR, NULL));
    CHECK("getitimer which -1", RAW(SYS_getitimer, -1, &cur));
    CHECK("getitimer bad pointer", RAW(SYS_getitimer, ITIMER_PROF, BAD_PTR));
    return 0;
}
