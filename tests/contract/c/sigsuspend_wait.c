/* sigsuspend: with the signal blocked, a child's kill is held until sigsuspend swaps in a mask
 * that allows it; it returns -1 EINTR after the handler, and the old mask is back. */
#include "contract.h"

static volatile int got;
static void h(int s) { got = s; }

int main(void)
{
    signal(SIGUSR1, h);
    signal(SIGUSR2, h);
    sigset_t b, none, cur;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, NULL);
    pid_t pid = FORK();
    if (pid == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    reap("child", pid);  /* the signal is pending by now */
    printf("before sigsuspend: got %d\n", got);
    sigemptyset(&none);
    long r = sigsuspend(&none);
    printf("sigsuspend: %ld %s, got %s\n", r, errname(errno), signame(got));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    BOOL("old mask restored (USR1 blocked)", sigismember(&cur, SIGUSR1));
    /* sigsuspend with a mask that still blocks USR1: only USR2 wakes it */
    got = 0;
    pid = FORK();
    if (pid == 0) {
        kill(getppid(), SIGUSR1);
        msleep(50);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    sigset_t only_usr1;
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    sigaddset(&b, SIGUSR2);
    sigprocmask(SIG_BLOCK, &b, NULL);
    sigsuspend(&only_usr1);
    printf("woken by %s\n", signame(got));
    reap("child", pid);
    sigset_t pend;
    sigpending(&pend);
    BOOL("USR1 still pending", sigismember(&pend, SIGUSR1));
    CHECK("rt_sigsuspend bad size", RAW(SYS_rt_sigsuspend, &none, 4));
    return 0;
}
