/* fork, exec and threads under the tiered CPU: two threads and a forked child each run
 * bursts and exit-dense stretches; the child then execs a shell. */
#include <pthread.h>
#include <sys/wait.h>
#include "tier.h"

static unsigned long expect(int chunks)
{
    unsigned long y = 7;
    for (long i = 0; i < chunks * CHUNK; i++)
        y = y * 6364136223846793005UL + 1442695040888963407UL;
    return y;
}

static void *worker(void *arg)
{
    unsigned long x = 7;
    for (int r = 0; r < 4; r++) {
        x = burst(x, 20);
        dense(200);
    }
    *(int *)arg = x == expect(80);
    return 0;
}

int main(void)
{
    int ok[2] = {0, 0};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, worker, &ok[i]);
    pid_t p = fork();
    if (p == 0) {
        unsigned long x = 7;
        for (int r = 0; r < 4; r++) { x = burst(x, 20); dense(200); }
        if (x != expect(80)) _exit(1);
        execl("/bin/sh", "sh", "-c", "exit 7", (char *)0);
        _exit(2);
    }
    unsigned long x = 7;
    for (int r = 0; r < 4; r++) { x = burst(x, 20); dense(200); }
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    int st = 0;
    waitpid(p, &st, 0);
    printf("threads %d %d, main %d, child exit %d\n", ok[0], ok[1], x == expect(80),
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
