/* Rapid fork+exec: 40 children each exec /bin/true (or false), statuses all collected; the
 * process count goes back down (no leaked zombies in /proc). */
#include "contract.h"
#include <dirent.h>

static int count_procs(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] >= '1' && e->d_name[0] <= '9';
    closedir(d);
    return n;
}

int main(void)
{
    int before = count_procs();
    int ok = 0, fail = 0;
    for (int i = 0; i < 40; i++) {
        pid_t p = FORK();
        if (p == 0) {
            execl(i % 4 ? "/bin/true" : "/bin/false", i % 4 ? "true" : "false", NULL);
            _exit(127);
        }
        int st;
        waitpid(p, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 1) fail++;
    }
    printf("true %d false %d\n", ok, fail);
    printf("processes before %d after %d\n", before, count_procs());
    return 0;
}
