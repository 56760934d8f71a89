/* Blocked signals stay pending (sigpending) and are delivered when unblocked; standard signals
 * coalesce, real-time ones queue in order; SIGKILL/SIGSTOP cannot be blocked; SIG_IGN discards. */
#include "contract.h"

static char order[64];
static int n;
static void h(int s) { order[n++] = s == SIGUSR1 ? 'u' : s == SIGUSR2 ? 'v' : (char)('0' + s - SIGRTMIN); }

int main(void)
{
    signal(SIGUSR1, h);
    signal(SIGUSR2, h);
    signal(SIGRTMIN, h);
    signal(SIGRTMIN + 1, h);
    sigset_t b, old, pend;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1); sigaddset(&b, SIGUSR2);
    sigaddset(&b, SIGRTMIN); sigaddset(&b, SIGRTMIN + 1);
    sigaddset(&b, SIGKILL); sigaddset(&b, SIGSTOP);
    CHECK("block", sigprocmask(SIG_BLOCK, &b, &old));
    sigprocmask(SIG_BLOCK, NULL, &old);
    BOOL("SIGKILL not blockable", !sigismember(&old, SIGKILL));
    BOOL("SIGSTOP not blockable", !sigismember(&old, SIGSTOP));
    raise(SIGUSR1); raise(SIGUSR1); raise(SIGUSR1);
    union sigval v = {0};
    sigqueue(getpid(), SIGRTMIN + 1, v);
    sigqueue(getpid(), SIGRTMIN, v);
    sigqueue(getpid(), SIGRTMIN, v);
    raise(SIGUSR2);
    sigpending(&pend);
    printf("pending: USR1 %d USR2 %d RTMIN %d TERM %d; delivered so far %d\n",
           sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2),
           sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGTERM), n);
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    order[n] = 0;
    printf("delivered after unblock: %s (%d)\n", order, n);
    /* ignoring a pending signal discards it */
    n = 0;
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_IGN);
    sigpending(&pend);
    printf("pending after SIG_IGN: %d\n", sigismember(&pend, SIGUSR1));
    signal(SIGUSR1, h);
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    printf("delivered: %d\n", n);
    CHECK("bad how", sigprocmask(99, &b, NULL));
    CHECK("rt_sigprocmask bad size", RAW(SYS_rt_sigprocmask, SIG_BLOCK, &b, NULL, 4));
    CHECK("rt_sigprocmask bad pointer", RAW(SYS_rt_sigprocmask, SIG_BLOCK, BAD_PTR, NULL, 8));
    /* the mask is inherited by a child, pending signals are not */
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR2);
    pid_t pid = FORK();
    if (pid == 0) {
        sigset_t m, p;
        sigprocmask(SIG_BLOCK, NULL, &m);
        sigpending(&p);
        printf("child: USR1 blocked %d, USR2 pending %d\n", sigismember(&m, SIGUSR1),
               sigismember(&p, SIGUSR2));
        fflush(stdout);
        _exit(0);
    }
    reap("child", pid);
    return 0;
}
