/* SIGCHLD: a handler learns the child's pid, si_code and status; SIGCHLD ignored (SIG_IGN or
 * SA_NOCLDWAIT) makes children reap themselves (wait -> ECHILD); SA_NOCLDSTOP hides stops. */
#include "contract.h"

static volatile int got, code, status, pid_ok;
static volatile pid_t want;
static void h(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    got++;
    code = si->si_code;
    status = si->si_status;
    pid_ok = si->si_pid == want;
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t b, none;
    sigemptyset(&b);
    sigaddset(&b, SIGCHLD);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &b, NULL);
    pid_t pid = FORK();
    if (pid == 0)
        _exit(12);
    want = pid;
    while (!got)
        sigsuspend(&none);
    printf("SIGCHLD: count %d code %s status %d pid %s\n", got,
           code == CLD_EXITED ? "CLD_EXITED" : "other", status, pid_ok ? "match" : "differs");
    reap("child", pid);
    got = 0;
    pid = FORK();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    want = pid;
    while (!got)
        sigsuspend(&none);
    printf("stop reported: code %s status %s\n", code == CLD_STOPPED ? "CLD_STOPPED" : "other",
           signame(status));
    got = 0;
    sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    kill(pid, SIGCONT);
    int st;
    waitpid(pid, &st, 0);
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    print_status("child after SIGCONT", st);
    printf("with SA_NOCLDSTOP, only the exit: count %d code %s\n", got,
           code == CLD_EXITED ? "CLD_EXITED" : "other");
    signal(SIGCHLD, SIG_IGN);
    pid = FORK();
    if (pid == 0)
        _exit(0);
    long r = waitpid(pid, &st, 0);
    printf("SIG_IGN: waitpid %ld %s\n", r, r < 0 ? errname(errno) : "");
    signal(SIGCHLD, SIG_DFL);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    sigaction(SIGCHLD, &sa, NULL);
    pid = FORK();
    if (pid == 0)
        _exit(0);
    r = waitpid(pid, &st, 0);
    printf("SA_NOCLDWAIT: waitpid %ld %s\n", r, r < 0 ? errname(errno) : "");
    return 0;
}
