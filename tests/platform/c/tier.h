/* Helpers for the tiered CPU's programs (tests/platform/test_tiered.py): a compute burst
 * (user code with an exit every CHUNK iterations, so the task can move while it runs) and
 * an exit-dense stretch (getppid in a loop). Under --platform auto a burst moves the task
 * to KVM and a dense stretch brings it back to Unicorn; natively they are plain loops. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

/* Iterations of a burst's chunk: TIER_CHUNK from the environment (the test scales it with
 * what an exit costs on the machine's KVM, so a chunk stays long enough to move the task),
 * 100000 without it. */
static long chunk_size(void)
{
    static long n;
    if (!n) {
        const char *s = getenv("TIER_CHUNK");
        n = s ? atol(s) : 0;
        if (n <= 0)
            n = 100000L;
    }
    return n;
}
#define CHUNK chunk_size()

static unsigned long burst(unsigned long x, int chunks)
{
    for (int c = 0; c < chunks; c++) {
        for (long i = 0; i < CHUNK; i++)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        syscall(SYS_getppid);
    }
    return x;
}

static void dense(int n)
{
    for (int i = 0; i < n; i++)
        syscall(SYS_getppid);
}
