/* Syscall and vDSO readings interleaved for 2.5 s, across the kernel clock's new segments
 * (one a second): every reading is ordered after the one before (tests/platform/test_clock.py). */
#include "../../contract/c/contract.h"
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
    clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    long long start, last[2] = {0, 0};
    long bad = 0, n = 0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    start = ns(t);
    while (ns(t) - start < 2500000000LL) {
        for (int c = 0; c < 2; c++) {
            struct timespec a, b;
            RAW(SYS_clock_gettime, clocks[c], &a);
            clock_gettime(clocks[c], &b);
            if (ns(a) < last[c] || ns(b) < ns(a))
                bad++;
            last[c] = ns(b);
        }
        n++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    }
    printf("readings out of order: %ld (of %ld rounds)\n", bad, n);
    return bad != 0;
}
