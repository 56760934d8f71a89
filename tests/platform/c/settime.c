/* Root sets the guest's clock (tests/platform/test_clock.py: twaron only, never natively,
 * since natively it would move the host's clock). Prints facts the test checks. */
#include "../../contract/c/contract.h"
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long sys_ns(clockid_t c)
{
    struct timespec t;
    RAW(SYS_clock_gettime, c, &t);
    return ns(t);
}
static long long vdso_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return ns(t);
}
#define S 1000000000LL

int main(void)
{
    /* the first timezone since boot warps the clock by minuteswest (timekeeping_warp_clock) */
    long long r0 = sys_ns(CLOCK_REALTIME);
    struct timezone tz = {-60, 0}, got = {1, 1};
    CHECK("settimeofday timezone -60", RAW(SYS_settimeofday, NULL, &tz));
    long long d = sys_ns(CLOCK_REALTIME) - r0;
    BOOL("warped by -60 minutes", d > -3600 * S && d < -3595 * S);
    RAW(SYS_gettimeofday, NULL, &got);
    BOOL("gettimeofday's timezone (syscall)", got.tz_minuteswest == -60 && got.tz_dsttime == 0);
    r0 = sys_ns(CLOCK_REALTIME);
    CHECK("settimeofday timezone again", RAW(SYS_settimeofday, NULL, &tz));
    d = sys_ns(CLOCK_REALTIME) - r0;
    BOOL("no second warp", d >= 0 && d < 5 * S);

    long long m0 = sys_ns(CLOCK_MONOTONIC);
    r0 = sys_ns(CLOCK_REALTIME);
    struct timespec t = {(r0 + 1000 * S) / S, 0};
    CHECK("clock_settime +1000 s", RAW(SYS_clock_settime, CLOCK_REALTIME, &t));
    long long a = sys_ns(CLOCK_REALTIME), b = vdso_ns(CLOCK_REALTIME), c = sys_ns(CLOCK_REALTIME);
    BOOL("realtime moved (syscall)", a - r0 > 995 * S && a - r0 < 1005 * S);
    BOOL("the vDSO agrees", a <= b && b <= c);
    BOOL("monotonic did not move", sys_ns(CLOCK_MONOTONIC) - m0 < 5 * S);

    struct timeval tv = {(int)((a - 500 * S) / S), 250000}, back;
    CHECK("settimeofday -500 s", RAW(SYS_settimeofday, &tv, NULL));
    gettimeofday(&back, NULL);
    BOOL("gettimeofday agrees", back.tv_sec - tv.tv_sec >= 0 && back.tv_sec - tv.tv_sec < 5);
    struct timespec early = {m0 / S - 1, 0};
    CHECK("clock_settime before CLOCK_MONOTONIC", RAW(SYS_clock_settime, CLOCK_REALTIME, &early));

    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_TAI;
    tx.constant = 37;
    CHECK("adjtimex ADJ_TAI 37", RAW(SYS_adjtimex, &tx) >= 0 ? 0 : -1);
    long long real = sys_ns(CLOCK_REALTIME), tai = sys_ns(CLOCK_TAI), vtai = vdso_ns(CLOCK_TAI);
    BOOL("CLOCK_TAI = REALTIME + 37 s (syscall)", tai - real >= 37 * S && tai - real < 38 * S);
    BOOL("CLOCK_TAI through the vDSO too", vtai >= tai);
    memset(&tx, 0, sizeof tx);
    RAW(SYS_adjtimex, &tx);
    printf("adjtimex: tai %d, unsynchronised %s\n", tx.tai, tx.status & STA_UNSYNC ? "yes" : "no");
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_SETOFFSET;
    tx.time.tv_sec = 10;
    r0 = sys_ns(CLOCK_REALTIME);
    CHECK("adjtimex ADJ_SETOFFSET +10 s", RAW(SYS_adjtimex, &tx) >= 0 ? 0 : -1);
    d = sys_ns(CLOCK_REALTIME) - r0;
    BOOL("stepped by 10 s", d >= 10 * S && d < 15 * S);
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_FREQUENCY;
    tx.freq = 12345;
    RAW(SYS_adjtimex, &tx);
    memset(&tx, 0, sizeof tx);
    RAW(SYS_adjtimex, &tx);
    printf("adjtimex: freq %ld\n", tx.freq);

    /* a timer at an absolute wall-clock time fires when the clock is set past it */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t id;
    timer_create(CLOCK_REALTIME, &ev, &id);
    struct itimerspec its = {{0, 0}, {sys_ns(CLOCK_REALTIME) / S + 3600, 0}};
    timer_settime(id, TIMER_ABSTIME, &its, NULL);
    struct timespec later = {its.it_value.tv_sec + 1, 0}, wait2 = {2, 0};
    RAW(SYS_clock_settime, CLOCK_REALTIME, &later);
    BOOL("realtime timer fired when the clock passed it", sigtimedwait(&set, NULL, &wait2) == SIGUSR1);
    printf("done\n");
    return 0;
}
