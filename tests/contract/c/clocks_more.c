/* Clocks beyond the basics: every clock id, CLOCK_TAI, the coarse clocks' resolution (a
 * tick), CPU-time clock ids (clock_getcpuclockid, a thread's, another process's), and setting
 * the clock: clock_settime, settimeofday, adjtimex, clock_adjtime with their error cases
 * (EPERM as an unprivileged user; as root only calls that cannot change the host's clock). */
#include "contract.h"
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long cpuclock(int pid, int thread, int which)
{
    return (long)((~(unsigned long)pid) << 3) | (thread ? 4 : 0) | which;
}

static void each_clock(void)
{
    static const char *names[] = {"REALTIME", "MONOTONIC", "PROCESS_CPUTIME_ID",
                                  "THREAD_CPUTIME_ID", "MONOTONIC_RAW", "REALTIME_COARSE",
                                  "MONOTONIC_COARSE", "BOOTTIME", "REALTIME_ALARM",
                                  "BOOTTIME_ALARM", "SGI_CYCLE", "TAI", "12"};
    for (int c = 0; c <= 12; c++) {
        struct timespec t, r;
        char label[64];
        snprintf(label, sizeof label, "gettime %s", names[c]);
        CHECK_OK(label, RAW(SYS_clock_gettime, c, &t));
        snprintf(label, sizeof label, "getres %s", names[c]);
        if (RAW(SYS_clock_getres, c, &r) < 0)
            printf("%s: -1 %s\n", label, errname(errno));
        else
            printf("%s: %ld.%09ld\n", label, (long)r.tv_sec, r.tv_nsec);
    }
}

static void coarse_and_tai(void)
{
    struct timespec fine, coarse, rt, tai;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
    clock_gettime(CLOCK_MONOTONIC, &fine);
    BOOL("monotonic coarse <= fine", ns(coarse) <= ns(fine));
    BOOL("monotonic coarse within a second", ns(fine) - ns(coarse) < 1000000000LL);
    clock_gettime(CLOCK_REALTIME_COARSE, &coarse);
    clock_gettime(CLOCK_REALTIME, &fine);
    BOOL("realtime coarse <= fine", ns(coarse) <= ns(fine));
    BOOL("realtime coarse within a second", ns(fine) - ns(coarse) < 1000000000LL);
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_TAI, &tai);
    BOOL("TAI - REALTIME is the TAI offset (0: nobody set it)",
         tai.tv_sec - rt.tv_sec >= 0 && tai.tv_sec - rt.tv_sec <= 1);
    CHECK("getres NULL", RAW(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
    CHECK("getres bad pointer", RAW(SYS_clock_getres, CLOCK_MONOTONIC, BAD_PTR));
    CHECK("getres bad clock bad pointer", RAW(SYS_clock_getres, 99, BAD_PTR));
    CHECK("gettime bad pointer", RAW(SYS_clock_gettime, CLOCK_REALTIME, BAD_PTR));
}

static void cpu_clocks(void)
{
    clockid_t id;
    struct timespec t, r;
    CHECK("clock_getcpuclockid self", clock_getcpuclockid(getpid(), &id) == 0 ? 0 : -1);
    BOOL("self id is the PROCESS clock form", id == cpuclock(getpid(), 0, 2));
    CHECK_OK("gettime own process clock", RAW(SYS_clock_gettime, id, &t));
    errno = clock_getcpuclockid(99999, &id);
    printf("clock_getcpuclockid no such pid: %s\n", errname(errno));
    CHECK_OK("gettime own thread clock", RAW(SYS_clock_gettime, cpuclock(gettid(), 1, 2), &t));
    CHECK_OK("gettime pid 0 thread clock", RAW(SYS_clock_gettime, cpuclock(0, 1, 2), &t));
    CHECK("gettime no such pid", RAW(SYS_clock_gettime, cpuclock(99999, 0, 2), &t));
    CHECK("gettime which 3 is an fd clock (fd 3 not open)", RAW(SYS_clock_gettime, cpuclock(3, 0, 3), &t));
    RAW(SYS_clock_getres, cpuclock(0, 0, 0), &r);
    printf("getres PROF: %ld.%09ld\n", (long)r.tv_sec, r.tv_nsec);
    RAW(SYS_clock_getres, cpuclock(0, 0, 1), &r);
    printf("getres VIRT: %ld.%09ld\n", (long)r.tv_sec, r.tv_nsec);
    RAW(SYS_clock_getres, cpuclock(0, 1, 2), &r);
    printf("getres thread SCHED: %ld.%09ld\n", (long)r.tv_sec, r.tv_nsec);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK_OK("gettime child's process clock", RAW(SYS_clock_gettime, cpuclock(child, 0, 2), &t));
    CHECK("gettime child's thread clock (another process)", RAW(SYS_clock_gettime, cpuclock(child, 1, 2), &t));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static void setting_as_root(void)
{
    struct timespec t = {1, 0}, bad = {0, 1000000000}, neg = {-1, 0};
    CHECK("settime MONOTONIC", RAW(SYS_clock_settime, CLOCK_MONOTONIC, &t));
    CHECK("settime BOOTTIME", RAW(SYS_clock_settime, CLOCK_BOOTTIME, &t));
    CHECK("settime TAI", RAW(SYS_clock_settime, CLOCK_TAI, &t));
    CHECK("settime REALTIME_COARSE", RAW(SYS_clock_settime, CLOCK_REALTIME_COARSE, &t));
    CHECK("settime PROCESS_CPUTIME_ID", RAW(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &t));
    CHECK("settime own CPU clock", RAW(SYS_clock_settime, cpuclock(0, 0, 2), &t));
    CHECK("settime CPU clock bad pointer", RAW(SYS_clock_settime, cpuclock(0, 0, 2), BAD_PTR));
    CHECK("settime no such pid's CPU clock", RAW(SYS_clock_settime, cpuclock(99999, 0, 2), &t));
    CHECK("settime bad clock", RAW(SYS_clock_settime, 99, &t));
    CHECK("settime MONOTONIC bad pointer", RAW(SYS_clock_settime, CLOCK_MONOTONIC, BAD_PTR));
    CHECK("settime REALTIME bad pointer", RAW(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR));
    CHECK("settime REALTIME nsec 1e9", RAW(SYS_clock_settime, CLOCK_REALTIME, &bad));
    CHECK("settime REALTIME negative", RAW(SYS_clock_settime, CLOCK_REALTIME, &neg));
    CHECK("settime REALTIME before MONOTONIC", RAW(SYS_clock_settime, CLOCK_REALTIME, &t));
    struct timeval tv_bad = {0, 1000000}, tv_neg = {0, -1};
    CHECK("settimeofday NULL NULL", RAW(SYS_settimeofday, NULL, NULL));
    CHECK("settimeofday usec 1000000", RAW(SYS_settimeofday, &tv_bad, NULL));
    CHECK("settimeofday usec -1", RAW(SYS_settimeofday, &tv_neg, NULL));
    CHECK("settimeofday bad pointer", RAW(SYS_settimeofday, BAD_PTR, NULL));
    struct timezone tz_bad = {16 * 60, 0};
    CHECK("settimeofday zone out of range", RAW(SYS_settimeofday, NULL, &tz_bad));
    CHECK("settimeofday zone bad pointer", RAW(SYS_settimeofday, NULL, BAD_PTR));
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    CHECK_OK("adjtimex read", RAW(SYS_adjtimex, &tx));
    BOOL("adjtimex tick 10000", tx.tick == 10000);
    BOOL("adjtimex precision 1, tolerance 500 ppm", tx.precision == 1 && tx.tolerance == 32768000);
    CHECK("adjtimex bad pointer", RAW(SYS_adjtimex, BAD_PTR));
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_TICK;
    tx.tick = 5000;
    CHECK("adjtimex tick out of range", RAW(SYS_adjtimex, &tx));
    memset(&tx, 0, sizeof tx);
    tx.modes = 0x8000; /* ADJ_ADJTIME without the single-shot bits */
    CHECK("adjtimex ADJ_ADJTIME alone", RAW(SYS_adjtimex, &tx));
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_SETOFFSET;
    tx.time.tv_usec = -1;
    CHECK("adjtimex SETOFFSET usec -1", RAW(SYS_adjtimex, &tx));
    tx.time.tv_usec = 1000000;
    CHECK("adjtimex SETOFFSET usec 1e6", RAW(SYS_adjtimex, &tx));
    memset(&tx, 0, sizeof tx);
    CHECK_OK("clock_adjtime REALTIME read", RAW(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    CHECK("clock_adjtime MONOTONIC", RAW(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
    CHECK("clock_adjtime own CPU clock", RAW(SYS_clock_adjtime, cpuclock(0, 0, 2), &tx));
    CHECK("clock_adjtime bad clock", RAW(SYS_clock_adjtime, 99, &tx));
    CHECK("clock_adjtime bad pointer", RAW(SYS_clock_adjtime, 99, BAD_PTR));
}

static void setting_unprivileged(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0)
            _exit(9);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct timespec bad = {0, -1};
        CHECK("nobody: settime REALTIME", RAW(SYS_clock_settime, CLOCK_REALTIME, &now));
        CHECK("nobody: settime REALTIME invalid", RAW(SYS_clock_settime, CLOCK_REALTIME, &bad));
        struct timeval tv = {now.tv_sec, 0}, tv_bad = {0, 2000000};
        struct timezone tz = {0, 0};
        CHECK("nobody: settimeofday", RAW(SYS_settimeofday, &tv, NULL));
        CHECK("nobody: settimeofday NULL NULL", RAW(SYS_settimeofday, NULL, NULL));
        CHECK("nobody: settimeofday zone", RAW(SYS_settimeofday, NULL, &tz));
        CHECK("nobody: settimeofday usec 2e6", RAW(SYS_settimeofday, &tv_bad, NULL));
        struct timex tx;
        memset(&tx, 0, sizeof tx);
        CHECK_OK("nobody: adjtimex read", RAW(SYS_adjtimex, &tx));
        tx.modes = ADJ_OFFSET;
        CHECK("nobody: adjtimex ADJ_OFFSET", RAW(SYS_adjtimex, &tx));
        tx.modes = ADJ_TAI;
        CHECK("nobody: adjtimex ADJ_TAI", RAW(SYS_adjtimex, &tx));
        tx.modes = 0x8000;
        CHECK("nobody: adjtimex ADJ_ADJTIME alone", RAW(SYS_adjtimex, &tx));
        memset(&tx, 0, sizeof tx);
        tx.modes = 0xa001; /* ADJ_OFFSET_SS_READ: allowed to anyone */
        CHECK_OK("nobody: adjtimex ADJ_OFFSET_SS_READ", RAW(SYS_adjtimex, &tx));
        tx.modes = ADJ_OFFSET_SINGLESHOT;
        CHECK("nobody: adjtimex ADJ_OFFSET_SINGLESHOT", RAW(SYS_adjtimex, &tx));
        memset(&tx, 0, sizeof tx);
        tx.modes = ADJ_SETOFFSET;
        CHECK("nobody: adjtimex ADJ_SETOFFSET", RAW(SYS_adjtimex, &tx));
        fflush(stdout);
        _exit(0);
    }
    reap("nobody child", child);
}

/* clock_nanosleep's clock checks, in Linux's order (before or after reading the time) */
static void nanosleep_clocks(void)
{
    struct timespec t = {0, 1000};
    int ids[] = {CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                 CLOCK_MONOTONIC_COARSE, 8, 9, 10, CLOCK_TAI, 12, -1};
    for (int i = 0; i < 10; i++) {
        char label[64];
        snprintf(label, sizeof label, "clock_nanosleep clock %d", ids[i]);
        CHECK(label, RAW(SYS_clock_nanosleep, ids[i], 0, &t, NULL));
        snprintf(label, sizeof label, "clock_nanosleep clock %d bad pointer", ids[i]);
        CHECK(label, RAW(SYS_clock_nanosleep, ids[i], 0, BAD_PTR, NULL));
    }
    CHECK("clock_nanosleep own thread's CPU clock", RAW(SYS_clock_nanosleep, cpuclock(0, 1, 2), 0, &t, NULL));
    CHECK("clock_nanosleep own thread's CPU clock by tid", RAW(SYS_clock_nanosleep, cpuclock(gettid(), 1, 2), 0, &t, NULL));
    CHECK("clock_nanosleep fd clock", RAW(SYS_clock_nanosleep, cpuclock(3, 0, 3), 0, &t, NULL));
    CHECK("clock_adjtime no such pid's CPU clock", RAW(SYS_clock_adjtime, cpuclock(99999, 0, 2), &t));
    CHECK("clock_adjtime CPU clock which 3", RAW(SYS_clock_adjtime, -1, &t));
}

int main(void)
{
    each_clock();
    nanosleep_clocks();
    coarse_and_tai();
    cpu_clocks();
    setting_as_root();
    setting_unprivileged();
    return 0;
}
