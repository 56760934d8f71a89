/* A thread that spins on system calls must not starve the others: one thread loops on
 * tgkill(own tid, SIGUSR1 with a handler), sched_yield or getpid while another sleeps on a
 * futex, a pipe read or a signal (sigsuspend); the main thread sleeps 50 ms, wakes the
 * sleeper and the sleeper must run soon after (Linux: well under 100 ms; checked against a
 * generous 2 s). The spinner stops when told, or by itself after 4 s, so a starved run ends. */
// contract: timeout=60
#include "contract.h"
#include <pthread.h>

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define SPIN_LIMIT_MS 4000

enum spin { S_TGKILL, S_YIELD, S_GETPID };
enum wait { W_FUTEX, W_PIPE, W_SIGNAL };
static const char *spin_name[] = {"tgkill", "sched_yield", "getpid"};
static const char *wait_name[] = {"futex", "pipe read", "signal"};

static enum spin spin_kind;
static enum wait wait_kind;
static volatile int stop, spinner_timed_out, waiter_tid, waiter_ran;
static volatile long spins, ran_at, wait_ret;
static volatile uint32_t word;
static int p[2];
static volatile long handled;

static void on_usr1(int s) { (void)s; handled++; }
static void on_usr2(int s) { (void)s; }

static void *spinner(void *arg)
{
    (void)arg;
    long tid = RAW(SYS_gettid), pid = getpid(), t0 = now_ms();
    while (!stop) {
        switch (spin_kind) {
        case S_TGKILL:
            RAW(SYS_tgkill, pid, tid, SIGUSR1);
            break;
        case S_YIELD:
            sched_yield();
            break;
        default:
            RAW(SYS_getpid);
            break;
        }
        spins++;
        if ((spins & 63) == 0 && now_ms() - t0 > SPIN_LIMIT_MS) {
            spinner_timed_out = 1;
            break;
        }
    }
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    waiter_tid = RAW(SYS_gettid);
    long r = 0;
    switch (wait_kind) {
    case W_FUTEX:
        while (word == 0 && r == 0)
            r = RAW(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
        break;
    case W_PIPE: {
        char c;
        r = read(p[0], &c, 1);
        break;
    }
    default: {
        sigset_t none;
        sigemptyset(&none);
        r = sigsuspend(&none) == -1 && errno == EINTR ? 1 : -1;
        break;
    }
    }
    wait_ret = r;
    ran_at = now_ms();
    waiter_ran = 1;
    return NULL;
}

static void wait_sleeping(int tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    wait_sleeping_at(path);
}

static void one(enum spin s, enum wait w)
{
    spin_kind = s;
    wait_kind = w;
    stop = spinner_timed_out = waiter_tid = waiter_ran = 0;
    spins = ran_at = 0;
    word = 0;
    pipe(p);
    pthread_t wt, st;
    pthread_create(&wt, NULL, waiter, NULL);
    while (!waiter_tid)
        sched_yield();
    wait_sleeping(waiter_tid);
    pthread_create(&st, NULL, spinner, NULL);
    while (spins < 100 && !spinner_timed_out)
        sched_yield();
    long t0 = now_ms();
    msleep(50);
    long woke_at = now_ms();
    switch (w) {
    case W_FUTEX:
        word = 1;
        RAW(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
        break;
    case W_PIPE:
        write(p[1], "w", 1);
        break;
    default:
        RAW(SYS_tgkill, getpid(), waiter_tid, SIGUSR2);
        break;
    }
    while (!waiter_ran && !spinner_timed_out)
        sched_yield();
    stop = 1;
    pthread_join(st, NULL);
    pthread_join(wt, NULL);
    close(p[0]);
    close(p[1]);
    printf("spinning on %s, waiting on a %s:\n", spin_name[s], wait_name[w]);
    BOOL("  the main thread's 50 ms sleep ended within 2 s", woke_at - t0 < 2000);
    BOOL("  the waiter ran", waiter_ran);
    BOOL("  its wait ended by the wake", wait_ret == (w == W_FUTEX ? 0 : 1) && ran_at >= woke_at);
    BOOL("  within 2 s of the wake", waiter_ran && ran_at - woke_at < 2000);
    BOOL("  the spinner stopped when told", !spinner_timed_out);
    if (s == S_TGKILL)
        BOOL("  its handler ran", handled > 0);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    for (int s = S_TGKILL; s <= S_GETPID; s++)
        for (int w = W_FUTEX; w <= W_SIGNAL; w++)
            one(s, w);
    return 0;
}
