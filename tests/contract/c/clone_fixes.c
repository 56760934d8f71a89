/* clone() corner cases the fuzzer found: an exit signal above 64 is accepted (no signal is
 * sent when the child ends; a __WALL wait reaps it); a bad CLONE_PARENT_SETTID pointer is
 * ignored (the child exists); a child whose parent dies is reparented with its exit signal
 * reset to SIGCHLD, so the new parent (pid 1 here) gets SIGCHLD, not the original signal,
 * and a plain wait sees it. */
#include "contract.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static volatile int got_usr1, got_chld;
static void on_usr1(int sig) { got_usr1++; }
static void on_chld(int sig) { got_chld++; }

static long raw_fork(unsigned long flags, void *ptid)
{
    fflush(stdout);
    return RAW(SYS_clone, flags, 0, ptid, 0, 0);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    BOOL("running as pid 1", getpid() == 1);

    /* exit signal 65 (> _NSIG): accepted, the child is a "clone" child (needs __WALL) */
    long pid = raw_fork(65, NULL);
    if (pid == 0)
        RAW(SYS_exit, 7);
    BOOL("clone with exit signal 65", pid > 0);
    int st = 0;
    BOOL("__WALL reaps it", waitpid(pid, &st, __WALL) == pid);
    printf("status: exited %d, code %d; SIGCHLD %d\n", WIFEXITED(st), WEXITSTATUS(st), got_chld);

    /* a bad parent_tid pointer: ignored */
    got_chld = 0;
    pid = raw_fork(SIGCHLD | CLONE_PARENT_SETTID, BAD_PTR);
    if (pid == 0)
        RAW(SYS_exit, 3);
    BOOL("clone with a bad CLONE_PARENT_SETTID pointer", pid > 0);
    BOOL("reaped", waitpid(pid, &st, 0) == pid);
    printf("status: exited %d, code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    int tid = -1;
    pid = raw_fork(SIGCHLD | CLONE_PARENT_SETTID, &tid);
    if (pid == 0)
        RAW(SYS_exit, 0);
    BOOL("a good pointer gets the pid", tid == pid);
    waitpid(pid, &st, 0);

    /* reparenting: a middle process clones a grandchild with exit signal SIGUSR1, then exits */
    got_chld = got_usr1 = 0;
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        long g = raw_fork(SIGUSR1, NULL);
        if (g == 0) {
            char c;
            close(p[1]);
            read(p[0], &c, 1); /* until the middle process is gone and reaped */
            RAW(SYS_exit, 5);
        }
        RAW(SYS_exit, 0);
    }
    waitpid(mid, &st, 0);
    printf("middle process: exit %d\n", WEXITSTATUS(st));
    got_chld = 0;
    close(p[0]);
    close(p[1]); /* the grandchild's read returns: it exits */
    long g = waitpid(-1, &st, 0);
    BOOL("a plain wait reaps the reparented grandchild", g > 0);
    printf("grandchild: exited %d, code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    printf("SIGUSR1 received: %d, SIGCHLD received: %d\n", got_usr1, got_chld);
    return 0;
}
