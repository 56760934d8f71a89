/* 60 children, each exits with its index; wait collects every status exactly once. */
#include "contract.h"

int main(void)
{
    enum { N = 60 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = FORK();
        if (pids[i] == 0)
            _exit(i);
        if (pids[i] < 0) {
            printf("fork %d: %s\n", i, errname(errno));
            return 1;
        }
    }
    int seen[N] = {0}, sum = 0, st, other = 0;
    pid_t r;
    while ((r = wait(&st)) > 0) {
        int idx = -1;
        for (int i = 0; i < N; i++)
            if (pids[i] == r)
                idx = i;
        if (idx < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != idx)
            other++;
        else
            seen[idx]++, sum += WEXITSTATUS(st);
    }
    printf("wait ended with %s\n", errname(errno));
    int once = 1;
    for (int i = 0; i < N; i++)
        once &= seen[i] == 1;
    printf("sum %d, each once %s, unexpected %d\n", sum, once ? "yes" : "no", other);
    return 0;
}
