/* A handler with SA_SIGINFO: si_signo, si_code (SI_USER for kill, SI_TKILL for raise/tgkill,
 * SI_QUEUE for sigqueue with its value), si_pid/si_uid of the sender; a child's kill. */
#include "contract.h"

static volatile int signo, code, value, pid_ok, uid;
static pid_t expect_pid;

static void h(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    signo = s;
    code = si->si_code;
    pid_ok = si->si_pid == expect_pid;
    uid = si->si_uid;
    value = si->si_value.sival_int;
}

static const char *codename(int c)
{
    return c == SI_USER ? "SI_USER" : c == SI_TKILL ? "SI_TKILL" : c == SI_QUEUE ? "SI_QUEUE" :
           c == SI_KERNEL ? "SI_KERNEL" : "other";
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    expect_pid = getpid();
    kill(getpid(), SIGUSR1);
    printf("kill: %s %s pid %s uid %d\n", signame(signo), codename(code), pid_ok ? "ok" : "bad", uid);
    signo = 0;
    raise(SIGUSR1);
    printf("raise: %s %s pid %s\n", signame(signo), codename(code), pid_ok ? "ok" : "bad");
    signo = 0;
    CHECK("tgkill", RAW(SYS_tgkill, getpid(), getpid(), SIGUSR1));
    printf("tgkill: %s %s\n", signame(signo), codename(code));
    signo = 0;
    union sigval v = {.sival_int = 1234};
    CHECK("sigqueue", sigqueue(getpid(), SIGUSR1, v));
    printf("sigqueue: %s %s value %d\n", signame(signo), codename(code), value);
    signo = 0;
    int p[2];
    pipe(p);
    sigset_t usr1, old;  /* blocked until expect_pid is set: the child may signal at once */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    pid_t child = FORK();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    expect_pid = child;
    sigset_t none;
    sigemptyset(&none);
    while (!signo)
        sigsuspend(&none);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("from child: %s %s pid %s\n", signame(signo), codename(code), pid_ok ? "ok" : "bad");
    reap("child", child);
    CHECK("kill bad signal", kill(getpid(), 65));
    CHECK("kill missing pid", kill(0x3fffff, SIGUSR1));
    CHECK("kill signal 0 to self", kill(getpid(), 0));
    CHECK("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
    CHECK("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
    CHECK("sigaction signal 0", RAW(SYS_rt_sigaction, 0, NULL, NULL, 8));
    CHECK("rt_sigaction bad sigsetsize", RAW(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4));
    return 0;
}
