/* wait4 and waitid for one child while its siblings exit first: every sibling's exit wakes
 * the parent, which looks again and sleeps again (twaron runs the call again from its start:
 * wait.wait_restartable). With a SIGCHLD handler and SA_RESTART each interruption restarts
 * the call; without SA_RESTART the first SIGCHLD ends it with EINTR, since the awaited child
 * is still running. The children exit in a chain: each waits for its elder sibling's exit
 * (the end of a pipe only that sibling held). */
#include "contract.h"
#include <sys/wait.h>

static volatile int hits;
static void on_chld(int s) { (void)s; hits++; }

/* three children: the first exits with 1 after a while, the second with 2 after the first,
 * the third with 3 once `last` reads end of file (the second's exit, or the parent's close) */
static pid_t chain(pid_t kids[3], int last[2])
{
    int a[2], b[2];
    pipe(a);
    pipe(b);
    kids[0] = FORK();
    if (kids[0] == 0) {
        close(a[0]), close(b[0]), close(b[1]);
        if (last[1] >= 0)
            close(last[0]), close(last[1]);
        msleep(50);
        _exit(1);
    }
    close(a[1]);
    kids[1] = FORK();
    if (kids[1] == 0) {
        char c;
        close(b[0]);
        if (last[1] >= 0)
            close(last[0]), close(last[1]);
        read(a[0], &c, 1);
        _exit(2);
    }
    close(a[0]);
    close(b[1]);
    if (last[1] < 0)
        last[0] = b[0];
    else
        close(b[0]);
    kids[2] = FORK();
    if (kids[2] == 0) {
        char c;
        if (last[1] >= 0)
            close(last[1]);
        read(last[0], &c, 1);
        _exit(3);
    }
    close(last[0]);
    return kids[2];
}

static void reap_rest(const char *label)
{
    int st, codes = 0;
    for (int i = 0; i < 2; i++) {
        if (waitpid(-1, &st, 0) > 0 && WIFEXITED(st))
            codes |= 1 << WEXITSTATUS(st);
    }
    printf("%s: the others exited 1 and 2: %s\n", label, codes == 6 ? "yes" : "no");
    CHECK("then no child is left", waitpid(-1, &st, 0));
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    pid_t kids[3];
    int last[2] = {-1, -1};
    pid_t third = chain(kids, last);
    siginfo_t si = {0};
    CHECK("waitid for the third child, SA_RESTART", waitid(P_PID, third, &si, WEXITED));
    printf("it was the third: %s, code %d, SIGCHLD handled: %s\n",
           si.si_pid == third ? "yes" : "no", si.si_status, hits >= 1 ? "yes" : "no");
    reap_rest("waitid");

    hits = 0;
    sa.sa_flags = 0;
    sigaction(SIGCHLD, &sa, NULL);
    pipe(last); /* the third child waits for the parent this time */
    third = chain(kids, last);
    int st = 0;
    CHECK("wait4 for the third child, no SA_RESTART", wait4(third, &st, 0, NULL));
    BOOL("SIGCHLD handled", hits >= 1);
    close(last[1]);
    CHECK_OK("wait4 again", wait4(third, &st, 0, NULL) == third ? 0 : -1);
    printf("the third exited with %d\n", WEXITSTATUS(st));
    reap_rest("wait4");
    return 0;
}
