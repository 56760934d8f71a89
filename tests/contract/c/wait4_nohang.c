/* WNOHANG: 0 while the child runs, its pid once it is a zombie; ECHILD with no children,
 * for a pid that is not our child, for a process group with no members. */
#include "contract.h"

int main(void)
{
    int st;
    CHECK("no children, WNOHANG", RAW(SYS_wait4, -1, &st, WNOHANG, NULL));
    CHECK("no children, blocking", RAW(SYS_wait4, -1, &st, 0, NULL));
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);  /* until the parent closes its end */
        _exit(6);
    }
    close(p[0]);
    CHECK("running child, WNOHANG", RAW(SYS_wait4, -1, &st, WNOHANG, NULL));
    CHECK("running child by pid, WNOHANG", RAW(SYS_wait4, pid, &st, WNOHANG, NULL));
    CHECK("not our child (pid 1 is us or init)", RAW(SYS_wait4, 0x3fffff, &st, WNOHANG, NULL));
    CHECK("empty process group", RAW(SYS_wait4, -0x3fffff, &st, WNOHANG, NULL));
    close(p[1]);
    long r;
    int spins = 0;
    while ((r = RAW(SYS_wait4, -1, &st, WNOHANG, NULL)) == 0) {
        msleep(5);
        spins++;
    }
    BOOL("WNOHANG eventually returns the pid", r == pid);
    print_status("child", st);
    CHECK("after reaping", RAW(SYS_wait4, pid, &st, WNOHANG, NULL));
    /* wait for our own process group (0) */
    pid = FORK();
    if (pid == 0)
        _exit(8);
    CHECK("wait4(0) gets a child of our group", RAW(SYS_wait4, 0, &st, 0, NULL) == pid);
    print_status("group child", st);
    return 0;
}
