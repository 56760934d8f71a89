/* rt_sigtimedwait (sigwaitinfo, sigtimedwait): a pending signal of the set is taken without
 * running its handler, with its siginfo; none pending: EAGAIN after the timeout (at once for
 * a zero timeout), EINTR when a signal outside the set is delivered; the set's signals are
 * unblocked only while waiting (the mask is unchanged after), a blocked signal whose default
 * action would kill is only taken; queued real-time signals in order; errors. */
#include "contract.h"

static volatile sig_atomic_t handled;
static void on_signal(int sig) { handled = sig; }

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case CLD_EXITED: return "CLD_EXITED";
    default: return "other";
    }
}

static sigset_t one(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

static void show(const char *label, int r, siginfo_t *si)
{
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %s code %s from me %s\n", label, signame(r), code_name(si->si_code),
           si->si_pid == getpid() ? "yes" : "no");
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);
    sigset_t block, before, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGRTMIN);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &before);
    sigprocmask(SIG_BLOCK, NULL, &before);
    siginfo_t si;

    raise(SIGUSR1);
    sigset_t s = one(SIGUSR1);
    show("raise + sigwaitinfo", sigwaitinfo(&s, &si), &si);
    BOOL("handler not run", handled == 0);

    struct timespec zero = {0, 0}, short_ = {0, 50 * 1000000}, bad = {0, 1000000000},
                    neg = {-1, 0};
    show("nothing pending, zero timeout", sigtimedwait(&s, &si, &zero), &si);
    long t0 = now_ms();
    show("nothing pending, 50 ms", sigtimedwait(&s, &si, &short_), &si);
    BOOL("waited at least 50 ms", now_ms() - t0 >= 50);
    show("nsec 1e9", sigtimedwait(&s, &si, &bad), &si);
    show("negative timeout", sigtimedwait(&s, &si, &neg), &si);
    CHECK("bad set pointer", RAW(SYS_rt_sigtimedwait, BAD_PTR, &si, &zero, 8));
    CHECK("bad timeout pointer", RAW(SYS_rt_sigtimedwait, &s, &si, BAD_PTR, 8));
    CHECK("sigsetsize 4", RAW(SYS_rt_sigtimedwait, &s, &si, &zero, 4));
    raise(SIGUSR1);
    CHECK("bad info pointer (signal pending)", RAW(SYS_rt_sigtimedwait, &s, BAD_PTR, &zero, 8));
    sigset_t pend;
    sigpending(&pend);
    BOOL("the signal was taken anyway", !sigismember(&pend, SIGUSR1));
    raise(SIGUSR1);
    CHECK("NULL info", RAW(SYS_rt_sigtimedwait, &s, NULL, &zero, 8));

    /* lowest first; a thread's own signal too */
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigset_t both = one(SIGUSR1);
    sigaddset(&both, SIGUSR2);
    show("two pending: first", sigwaitinfo(&both, &si), &si);
    show("two pending: second", sigwaitinfo(&both, &si), &si);
    RAW(SYS_tgkill, getpid(), gettid(), SIGUSR2);
    show("thread-directed", sigwaitinfo(&both, &si), &si);

    /* queued real-time signals, each with its value */
    union sigval v;
    for (int i = 0; i < 3; i++) {
        v.sival_int = 40 + i;
        sigqueue(getpid(), SIGRTMIN, v);
    }
    sigset_t rt = one(SIGRTMIN);
    for (int i = 0; i < 3; i++) {
        int r = sigwaitinfo(&rt, &si);
        printf("queued %d: %s code %s value %d\n", i, r == SIGRTMIN ? "SIGRTMIN" : "?",
               code_name(si.si_code), si.si_value.sival_int);
    }
    show("queue empty", sigtimedwait(&rt, &si, &zero), &si);

    /* SIGKILL and SIGSTOP cannot be waited for */
    sigset_t kill_set = one(SIGKILL);
    sigaddset(&kill_set, SIGSTOP);
    show("waiting for SIGKILL/SIGSTOP", sigtimedwait(&kill_set, &si, &zero), &si);

    /* a signal from another process while waiting; SIGTERM would kill, but it is blocked */
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        msleep(50);
        kill(parent, SIGTERM);
        _exit(0);
    }
    struct timespec five = {5, 0};
    sigset_t term = one(SIGTERM);
    int r = sigtimedwait(&term, &si, &five);
    printf("SIGTERM from a child: %s code %s from the child %s\n", r > 0 ? signame(r) : errname(errno),
           code_name(si.si_code), si.si_pid == c ? "yes" : "no");
    reap("sender", c);
    sigset_t chld = one(SIGCHLD);
    show("the sender's SIGCHLD, blocked (ignored by default), was queued",
         sigtimedwait(&chld, &si, &zero), &si);

    /* a blocked SIGCHLD (ignored by default) is queued and can be waited for */
    c = FORK();
    if (c == 0)
        _exit(7);
    r = sigtimedwait(&chld, &si, &five);
    printf("SIGCHLD: %s code %s status %d from the child %s\n", r > 0 ? signame(r) : errname(errno),
           code_name(si.si_code), si.si_status, si.si_pid == c ? "yes" : "no");
    reap("exited child", c);

    /* EINTR: a handled signal outside the set arrives */
    handled = 0;
    c = FORK();
    if (c == 0) {
        msleep(50);
        kill(parent, SIGALRM);
        _exit(0);
    }
    r = RAW(SYS_rt_sigtimedwait, &s, &si, &five, 8); /* libc's retries after EINTR */
    printf("interrupted: %d %s, handler ran for %s\n", r, r < 0 ? errname(errno) : "",
           signame(handled));
    reap("alarm sender", c);

    sigprocmask(SIG_BLOCK, NULL, &after);
    int same = 1;
    for (int i = 1; i <= 64; i++)
        same &= sigismember(&before, i) == sigismember(&after, i);
    BOOL("mask unchanged after all the waits", same);
    return 0;
}
