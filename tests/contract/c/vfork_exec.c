/* vfork: the child shares memory until it execs or exits (the parent sees its writes and is
 * suspended meanwhile); vfork+exec runs a program; clone(CLONE_VM|CLONE_VFORK) is the same. */
#include "contract.h"
#include <sched.h>

static volatile int shared_var;

int main(void)
{
    shared_var = 1;
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        shared_var = 2;  /* same memory as the parent */
        _exit(3);
    }
    printf("after vfork+_exit: parent sees %d\n", shared_var);
    reap("child", pid);
    pid = vfork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "echo exec from vfork child; exit 4", NULL);
        _exit(127);
    }
    reap("vfork+exec", pid);
    pid = vfork();
    if (pid == 0) {
        execl("/nonexistent", "x", NULL);
        shared_var = errno;
        _exit(127);
    }
    reap("vfork+failed exec", pid);
    printf("child's errno seen by parent: %s\n", errname(shared_var));
    long t0 = now_ms();
    pid = vfork();
    if (pid == 0) {
        msleep(100);  /* the parent stays suspended until we exit */
        _exit(0);
    }
    printf("parent suspended until child exit: %s\n", now_ms() - t0 >= 90 ? "yes" : "no");
    reap("slow child", pid);
    return 0;
}
