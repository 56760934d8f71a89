/* Orphans are reparented to pid 1 (this program: the harness runs it as pid 1 natively too)
 * and pid 1 reaps them with wait. */
#include "contract.h"

int main(void)
{
    printf("I am pid %d\n", getpid());
    int p[2];
    pipe(p);
    pid_t a = FORK();
    if (a == 0) {
        pid_t b = FORK();
        if (b == 0) {
            /* wait until our parent is gone, then report our new parent */
            while (getppid() != 1)
                msleep(2);
            char buf[64];
            int n = snprintf(buf, sizeof buf, "grandchild ppid %d\n", getppid());
            write(p[1], buf, n);
            _exit(11);
        }
        char buf[64];
        int n = snprintf(buf, sizeof buf, "middle: child ppid is me %s\n",
                         b > 0 ? "yes" : "no");
        write(p[1], buf, n);
        _exit(10);
    }
    close(p[1]);
    int st, exits[2] = {0}, n = 0;
    pid_t r;
    while ((r = wait(&st)) > 0) {
        if (n < 2)
            exits[n] = WEXITSTATUS(st);
        n++;
    }
    char buf[256] = {0};
    int len = 0, k;
    while ((k = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += k;
    printf("%s", buf);
    printf("reaped %d processes, statuses %d %d\n", n, exits[0], exits[1]);
    return 0;
}
