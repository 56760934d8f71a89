/* fork: 0 in the child, the child's pid in the parent; ppid, exit status, order via wait. */
#include "contract.h"

int main(void)
{
    pid_t me = getpid();
    pid_t pid = FORK();
    if (pid == 0) {
        BOOL("child: getppid is parent", getppid() == me);
        BOOL("child: own pid differs", getpid() != me);
        exit(7);
    }
    int st;
    long waited = RAW(SYS_wait4, -1, &st, 0, NULL); /* print only after the child's lines */
    BOOL("parent: fork returned a pid > 0", pid > 0);
    CHECK("wait4 returns the child", waited == pid);
    print_status("child", st);
    CHECK("second wait: no children", RAW(SYS_wait4, -1, &st, 0, NULL));
    return 0;
}
