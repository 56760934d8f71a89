/* futex between threads and between processes: FUTEX_WAKE wakes as many as asked, the
 * bitset variants pick waiters by bitset, a timed wait in a thread ends ETIMEDOUT while the
 * others run, and a shared futex in MAP_SHARED memory meets across fork (a private one does
 * not). Waiters are known to sleep when a wake returns them, so wakes are retried. */
#include "contract.h"
#include <pthread.h>
#include <sys/mman.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128

static uint32_t word;
static volatile int done;

static void *waiter(void *arg)
{
    long bitset = (long)arg;
    long r;
    if (bitset)
        r = RAW(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, 0, 0, bitset);
    else
        r = RAW(SYS_futex, &word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
    return (void *)r;
}

static long wake_until(uint32_t *w, int op, long n, long bitset)
{
    long r;
    while ((r = RAW(SYS_futex, w, op, n, 0, 0, bitset)) == 0)
        sched_yield();
    return r;
}

static void *timed(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    long r = RAW(SYS_futex, &word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, &ts, 0, 0);
    return (void *)(r < 0 ? (long)-errno : r);
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], 0, waiter, 0);
    long total = 0;
    while (total < 3) {
        long n = wake_until(&word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0);
        BOOL("FUTEX_WAKE 1 woke one", n == 1);
        total += n;
    }
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK("waiter returned", (long)r);
    }

    pthread_create(&t[0], 0, waiter, (void *)1);
    pthread_create(&t[1], 0, waiter, (void *)2);
    msleep(10);
    CHECK("WAKE_BITSET 4 (nobody's)", RAW(SYS_futex, &word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG,
                                         10, 0, 0, 4));
    CHECK("WAKE_BITSET 2", wake_until(&word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 10, 2));
    pthread_join(t[1], 0);
    BOOL("only the bitset-2 waiter ended", done == 4);
    CHECK("WAKE_BITSET 1", wake_until(&word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 10, 1));
    pthread_join(t[0], 0);

    /* a timed wait in one thread while another keeps running */
    pthread_create(&t[0], 0, timed, 0);
    void *r;
    pthread_join(t[0], &r);
    printf("timed wait in a thread: %s\n", (long)r == -ETIMEDOUT ? "ETIMEDOUT" : "other");

    /* shared futex across processes */
    uint32_t *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 0;
    pid_t pid = FORK();
    if (pid == 0) {
        while (*shared == 0)
            RAW(SYS_futex, shared, FUTEX_WAIT, 0, 0, 0, 0);
        _exit(*shared);
    }
    CHECK("private wake from another process", RAW(SYS_futex, shared,
                                                   FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0));
    long n;
    while ((n = RAW(SYS_futex, shared, FUTEX_WAKE, 1, 0, 0, 0)) == 0) /* until it sleeps */
        sched_yield();
    CHECK("shared wake reached the other process", n);
    /* it was woken with the word still 0: it waits again, then is woken for good */
    *shared = 9;
    RAW(SYS_futex, shared, FUTEX_WAKE, 1, 0, 0, 0);
    reap("child", pid);
    return 0;
}
