/* CLONE_PARENT: the new process is its caller's sibling (its parent waits for it). Here the
 * parent is pid 1, which drops the signals it has no handler for: the sibling's exit signal
 * (SIGUSR1, whose default would kill) does not end it. pid 1 itself may not use CLONE_PARENT. */
#include "contract.h"
#include <sched.h>

int main(void)
{
    BOOL("running as pid 1", getpid() == 1);
    CHECK("CLONE_PARENT from pid 1", RAW(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
    pid_t a = FORK();
    if (a == 0) {
        long b = RAW(SYS_clone, CLONE_PARENT | SIGUSR1, 0, 0, 0, 0);
        if (b == 0)
            _exit(getppid() == 1 ? 8 : 9); /* 8: its parent is pid 1 */
        printf("child: clone(CLONE_PARENT) %s\n", b > 0 ? "ok" : errname(errno));
        fflush(stdout);
        _exit(b > 0 ? 0 : 1);
    }
    reap("child", a);
    int st;
    long b = RAW(SYS_wait4, -1, &st, __WALL, 0);
    BOOL("pid 1 reaps the sibling", b > 0 && b != a);
    print_status("sibling", st);
    msleep(10);
    printf("pid 1 still alive\n");
    return 0;
}
