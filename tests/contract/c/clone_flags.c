/* clone with fork-like flags: SIGCHLD exit signal, CLONE_VM|CLONE_VFORK; combinations Linux
 * itself rejects give EINVAL (CLONE_SIGHAND without CLONE_VM, CLONE_THREAD without SIGHAND). */
#include "contract.h"
#include <sched.h>

int main(void)
{
    long pid = RAW(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(21);
    reap("clone(SIGCHLD)", pid);
    pid = RAW(SYS_clone, 0, 0, 0, 0, 0);  /* no exit signal: wait needs __WCLONE/__WALL */
    if (pid == 0)
        _exit(22);
    int st;
    msleep(50);
    CHECK("plain wait of a no-signal child", RAW(SYS_wait4, pid, &st, WNOHANG, NULL));
    CHECK("__WALL wait", RAW(SYS_wait4, pid, &st, __WALL, NULL) == pid);
    print_status("clone(0)", st);
    CHECK("CLONE_SIGHAND without CLONE_VM", RAW(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0));
    CHECK("CLONE_THREAD without CLONE_SIGHAND", RAW(SYS_clone, CLONE_THREAD | CLONE_VM | SIGCHLD, 0, 0, 0, 0));
    CHECK("CLONE_NEWNS|CLONE_FS", RAW(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
    return 0;
}
