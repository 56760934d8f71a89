/* Job-control statuses: WUNTRACED reports a stopped child (SIGSTOP; SIGTSTP is discarded in an orphaned group), WCONTINUED a
 * continued one; without them wait keeps waiting for the exit. */
#include "contract.h"

int main(void)
{
    pid_t pid = FORK();
    if (pid == 0) {
        raise(SIGSTOP);
        raise(SIGTSTP);
        _exit(4);
    }
    int st;
    CHECK("WUNTRACED returns pid", RAW(SYS_wait4, pid, &st, WUNTRACED, NULL) == pid);
    print_status("first", st);
    CHECK("stopped already reported (WNOHANG|WUNTRACED)", RAW(SYS_wait4, pid, &st, WNOHANG | WUNTRACED, NULL));
    kill(pid, SIGCONT);
    CHECK("WCONTINUED returns pid", RAW(SYS_wait4, pid, &st, WCONTINUED, NULL) == pid);
    print_status("second", st);
    /* SIGTSTP is discarded: our process group is orphaned (pid 1's parent is outside it) */
    CHECK("WUNTRACED again", RAW(SYS_wait4, pid, &st, WUNTRACED, NULL) == pid);
    print_status("third", st);
    /* a stopped child killed with SIGKILL */
    pid = FORK();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    RAW(SYS_wait4, pid, &st, WUNTRACED, NULL);
    print_status("stopped", st);
    kill(pid, SIGKILL);
    reap("killed while stopped", pid);
    return 0;
}
