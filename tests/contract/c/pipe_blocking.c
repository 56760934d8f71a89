/* Blocking semantics: a reader sleeps until a writer writes; a writer of more than the
 * capacity sleeps until the reader drains; all bytes arrive in order. */
#include "contract.h"

int main(void)
{
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        close(p[0]);
        msleep(50);
        write(p[1], "late", 4);
        static unsigned char big[300000];
        for (int i = 0; i < (int)sizeof big; i++)
            big[i] = (unsigned char)(i % 253);
        long r = write(p[1], big, sizeof big);
        _exit(r == (long)sizeof big ? 0 : 1);
    }
    close(p[1]);
    char buf[8] = {0};
    long t0 = now_ms();
    CHECK("blocking read", read(p[0], buf, 4));
    printf("got %s after waiting: %s\n", buf, now_ms() - t0 >= 30 ? "yes" : "no");
    msleep(50);  /* let the writer fill the pipe and block */
    static unsigned char in[4096];
    long total = 0, bad = 0, r;
    while ((r = read(p[0], in, sizeof in)) > 0) {
        for (long i = 0; i < r; i++)
            if (in[i] != (unsigned char)((total + i) % 253))
                bad++;
        total += r;
    }
    printf("received %ld bytes, %ld wrong\n", total, bad);
    reap("writer", pid);
    return 0;
}
