/* futex in one thread: WAKE with no waiters, WAIT value mismatch / timeout / signal,
 * bitset and alignment errors, WAKE_OP's atomic update, REQUEUE, unknown operations.
 * (glibc aborts when FUTEX_WAKE fails: static `busybox hostid` calls it in pthread_once.) */
#include "contract.h"
/* musl has no kernel headers: the <linux/futex.h> values */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
    static uint32_t word = 7, other = 1;
    struct timespec short_wait = {0, 20 * 1000 * 1000};
    CHECK("wake none", RAW(SYS_futex, &word, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK("wake private", RAW(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0));
    CHECK("wait mismatch", RAW(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 8, 0, 0, 0));
    CHECK("wait timeout", RAW(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 7, &short_wait, 0, 0));
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 20 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    CHECK("wait_bitset absolute timeout",
          RAW(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 7, &now, 0, FUTEX_BITSET_MATCH_ANY));
    CHECK("wait_bitset bitset 0", RAW(SYS_futex, &word, FUTEX_WAIT_BITSET, 7, 0, 0, 0));
    CHECK("wake_bitset bitset 0", RAW(SYS_futex, &word, FUTEX_WAKE_BITSET, 1, 0, 0, 0));
    CHECK("unaligned", RAW(SYS_futex, (char *)&word + 1, FUTEX_WAKE, 1, 0, 0, 0));
    CHECK("wait bad address", RAW(SYS_futex, BAD_PTR - 1 + 4, FUTEX_WAIT, 0, 0, 0, 0));
    struct timespec bad_ts = {0, 2000000000};
    CHECK("wait bad timeout", RAW(SYS_futex, &word, FUTEX_WAIT, 7, &bad_ts, 0, 0));
    /* WAKE_OP: other = other + 5 (old 1 compared == 1): 0 woken either way */
    CHECK("wake_op", RAW(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, &other,
                         FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 1)));
    CHECK("other after wake_op", other);
    CHECK("wake_op shift", RAW(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, &other,
                               FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GT, 0)));
    CHECK("other after shift", other);
    CHECK("cmp_requeue mismatch", RAW(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, 1, &other, 99));
    CHECK("cmp_requeue", RAW(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, 1, &other, 7));
    CHECK("realtime flag on wake", RAW(SYS_futex, &word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1,
                                       0, 0, 0));
    /* a signal ends an endless wait with EINTR */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, 0);
    CHECK("wait interrupted", RAW(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 7, 0, 0, 0));
    return 0;
}
