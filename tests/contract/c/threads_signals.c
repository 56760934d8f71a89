/* Signals and threads: a signal sent to the process (kill, also with a thread's tid) is
 * taken by a thread that does not block it; tgkill and tkill reach one chosen thread; masks
 * are per thread; a thread sleeping in a futex wait is interrupted (EINTR without
 * SA_RESTART); setresuid reaches every thread (musl signals each one to change its own). */
#include "contract.h"
#include <pthread.h>

static volatile pid_t handled_by;
static volatile int handled;
static pid_t worker_tid[2];
static volatile int ready;

static void on_usr1(int sig)
{
    (void)sig;
    handled_by = (pid_t)RAW(SYS_gettid);
    handled++;
}

static void *worker(void *arg)
{
    long i = (long)arg;
    worker_tid[i] = (pid_t)RAW(SYS_gettid);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (i == 0) /* worker 0 blocks SIGUSR1 too; worker 1 takes it */
        pthread_sigmask(SIG_BLOCK, &set, 0);
    else
        pthread_sigmask(SIG_UNBLOCK, &set, 0);
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    while (handled < 4)
        pause();
    return 0;
}

static volatile uint32_t word;

static void *futex_sleeper(void *arg)
{
    (void)arg;
    worker_tid[0] = (pid_t)RAW(SYS_gettid);
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    long r = RAW(SYS_futex, &word, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
    printf("futex wait in thread: %ld %s\n", r, r < 0 ? errname(errno) : "");
    return 0;
}

static void *uid_reader(void *arg)
{
    (void)arg;
    ready = 1;
    while (ready != 2)
        sched_yield();
    return (void *)(long)RAW(SYS_getuid);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, 0); /* the main thread blocks SIGUSR1 */

    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], 0, worker, (void *)i);
    while (ready < 2)
        sched_yield();

    CHECK("kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1));
    while (handled < 1)
        sched_yield();
    BOOL("taken by the thread that does not block it", handled_by == worker_tid[1]);

    CHECK("tgkill(worker 1)", RAW(SYS_tgkill, getpid(), worker_tid[1], SIGUSR1));
    while (handled < 2)
        sched_yield();
    BOOL("tgkill reached worker 1", handled_by == worker_tid[1]);

    CHECK("tkill(worker 1)", RAW(SYS_tkill, worker_tid[1], SIGUSR1));
    while (handled < 3)
        sched_yield();
    BOOL("tkill reached worker 1", handled_by == worker_tid[1]);

    CHECK("kill(a thread's tid)", kill(worker_tid[0], SIGUSR1)); /* names the process */
    while (handled < 4)
        sched_yield();
    BOOL("taken by the thread that does not block it", handled_by == worker_tid[1]);

    /* worker 0 blocks it: the signal waits in its own pending set */
    CHECK("tgkill(worker 0, blocked)", RAW(SYS_tgkill, getpid(), worker_tid[0], SIGUSR1));
    CHECK("tgkill with the wrong tgid", RAW(SYS_tgkill, getpid() + 100000, worker_tid[0], 0));
    CHECK("tgkill tid 0", RAW(SYS_tgkill, getpid(), 0, 0));
    CHECK("tgkill to the main thread, signal 0", RAW(SYS_tgkill, getpid(), getpid(), 0));
    sigset_t pending;
    sigpending(&pending);
    BOOL("main thread sees worker 0's pending SIGUSR1", sigismember(&pending, SIGUSR1));
    /* worker 0 returns from pause once woken by anything it takes: SIGUSR2 handled */
    sigaction(SIGUSR2, &sa, 0);
    RAW(SYS_tgkill, getpid(), worker_tid[0], SIGUSR2);
    pthread_join(t[0], 0);
    pthread_join(t[1], 0);
    BOOL("worker 0's SIGUSR2 handled by worker 0", handled_by == worker_tid[0]);

    /* a process-directed signal while only the main thread (blocking it) is left */
    kill(getpid(), SIGUSR1);
    printf("pending, handled so far: %d\n", handled);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    printf("after unblocking in main: %d, by main: %s\n", handled,
           handled_by == getpid() ? "yes" : "no");
    pthread_sigmask(SIG_BLOCK, &set, 0);

    /* a thread in FUTEX_WAIT, interrupted by a handler without SA_RESTART */
    ready = 0;
    pthread_create(&t[0], 0, futex_sleeper, 0);
    while (ready < 1)
        sched_yield();
    msleep(20);
    sigaction(SIGUSR2, &sa, 0);
    RAW(SYS_tgkill, getpid(), worker_tid[0], SIGUSR2);
    pthread_join(t[0], 0);

    ready = 0;
    pthread_create(&t[0], 0, uid_reader, 0);
    while (ready < 1)
        sched_yield();
    CHECK("setresuid(1000) with another thread", setresuid(1000, 1000, 1000));
    ready = 2;
    void *uid;
    pthread_join(t[0], &uid);
    printf("the other thread's uid: %ld\n", (long)uid);
    return 0;
}
