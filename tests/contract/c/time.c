/* clock_gettime, clock_getres, gettimeofday, time, nanosleep: only relations are printed. */
#include "contract.h"
#include <sys/time.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
    struct timespec a, b, res;
    int monotonic = 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (ns(b) < ns(a))
            monotonic = 0;
        a = b;
    }
    BOOL("monotonic non-decreasing", monotonic);
    BOOL("nsec in range", b.tv_nsec >= 0 && b.tv_nsec < 1000000000);
    struct timespec rt;
    CHECK("CLOCK_REALTIME", RAW(SYS_clock_gettime, CLOCK_REALTIME, &rt));
    BOOL("realtime after 2020", rt.tv_sec > 1577836800);
    CHECK("CLOCK_MONOTONIC raw", RAW(SYS_clock_gettime, CLOCK_MONOTONIC, &b));
    CHECK("CLOCK_BOOTTIME", RAW(SYS_clock_gettime, CLOCK_BOOTTIME, &b));
    CHECK("CLOCK_PROCESS_CPUTIME_ID", RAW(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &b));
    CHECK("bad clock", RAW(SYS_clock_gettime, 12345, &b));
    CHECK("getres monotonic", RAW(SYS_clock_getres, CLOCK_MONOTONIC, &res));
    BOOL("resolution <= 1ms", res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK("getres NULL", RAW(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
    struct timeval tv;
    CHECK("gettimeofday", RAW(SYS_gettimeofday, &tv, NULL));
    BOOL("gettimeofday agrees with realtime", tv.tv_sec - rt.tv_sec >= 0 && tv.tv_sec - rt.tv_sec < 5);
    BOOL("usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    long t = RAW(SYS_time, NULL);
    BOOL("time agrees", t - rt.tv_sec >= 0 && t - rt.tv_sec < 5);

    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec req = {0, 20 * 1000000};
    CHECK("nanosleep 20ms", RAW(SYS_nanosleep, &req, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    BOOL("slept at least 20ms", ns(b) - ns(a) >= 20000000LL);
    BOOL("slept less than 5s", ns(b) - ns(a) < 5000000000LL);
    struct timespec bad = {0, 1000000000};
    CHECK("nanosleep nsec 1e9", RAW(SYS_nanosleep, &bad, NULL));
    struct timespec neg = {-1, 0};
    CHECK("nanosleep negative", RAW(SYS_nanosleep, &neg, NULL));
    CHECK("nanosleep bad ptr", RAW(SYS_nanosleep, BAD_PTR, NULL));
    struct timespec zero = {0, 0};
    CHECK("nanosleep zero", RAW(SYS_nanosleep, &zero, NULL));
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec rel = {0, 10 * 1000000};
    CHECK("clock_nanosleep relative", RAW(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &rel, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    BOOL("slept at least 10ms", ns(b) - ns(a) >= 10000000LL);
    struct timespec abs_t = b;
    abs_t.tv_nsec += 5000000;
    if (abs_t.tv_nsec >= 1000000000) { abs_t.tv_sec++; abs_t.tv_nsec -= 1000000000; }
    CHECK("clock_nanosleep absolute", RAW(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_t, NULL));
    clock_gettime(CLOCK_MONOTONIC, &a);
    BOOL("woke after deadline", ns(a) >= ns(abs_t));
    return 0;
}
