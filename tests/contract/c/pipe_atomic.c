/* Writes of at most PIPE_BUF bytes are atomic: four writers' 512-byte records never interleave. */
#include "contract.h"
#include <limits.h>

int main(void)
{
    int p[2];
    pipe(p);
    enum { W = 4, RECS = 200, LEN = 512 };
    for (int w = 0; w < W; w++) {
        if (FORK() == 0) {
            close(p[0]);
            char rec[LEN];
            memset(rec, 'A' + w, LEN);
            for (int i = 0; i < RECS; i++)
                if (write(p[1], rec, LEN) != LEN)
                    _exit(1);
            _exit(0);
        }
    }
    close(p[1]);
    static char all[W * RECS * LEN];
    long n = 0, r;
    while ((r = read(p[0], all + n, sizeof all - n)) > 0)
        n += r;
    int torn = 0, counts[W] = {0};
    for (long i = 0; i + LEN <= n; i += LEN) {
        for (int j = 1; j < LEN; j++)
            if (all[i + j] != all[i]) {
                torn++;
                break;
            }
        if (all[i] >= 'A' && all[i] < 'A' + W)
            counts[all[i] - 'A']++;
    }
    printf("PIPE_BUF %d, total %ld, torn records %d, per writer %d %d %d %d\n", PIPE_BUF, n,
           torn, counts[0], counts[1], counts[2], counts[3]);
    int st, ok = 0;
    while (wait(&st) > 0)
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("writers ok: %d\n", ok);
    return 0;
}
