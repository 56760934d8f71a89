/* A zombie: /proc/PID/stat says Z until it is reaped, then /proc/PID is gone; kill(pid, 0)
 * succeeds on a zombie and fails with ESRCH after. */
#include "contract.h"

int main(void)
{
    pid_t pid = FORK();
    if (pid == 0)
        _exit(0);
    char path[64], buf[256] = {0};
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    siginfo_t si;
    waitid(P_PID, pid, &si, WEXITED | WNOWAIT);  /* it is a zombie now */
    int fd = open(path, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    char *rp = strrchr(buf, ')');
    printf("state: %c\n", rp ? rp[2] : '?');
    CHECK("kill 0 on zombie", kill(pid, 0));
    reap("child", pid);
    CHECK("open after reap", open(path, O_RDONLY));
    CHECK("kill 0 after reap", kill(pid, 0));
    return 0;
}
