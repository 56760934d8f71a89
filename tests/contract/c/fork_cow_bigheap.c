/* A 16 MiB heap across fork: the child rewrites every page, the parent's copy is intact; then
 * the parent rewrites and a second child sees the parent's new data. */
#include "contract.h"

#define SZ (16 << 20)

static unsigned long sum(const unsigned char *b)
{
    unsigned long s = 0;
    for (long i = 0; i < SZ; i += 512)
        s = s * 31 + b[i];
    return s;
}

int main(void)
{
    unsigned char *b = malloc(SZ);
    for (long i = 0; i < SZ; i++)
        b[i] = (unsigned char)(i * 7);
    unsigned long before = sum(b);
    pid_t pid = FORK();
    if (pid == 0) {
        for (long i = 0; i < SZ; i += 4096)
            b[i] ^= 0xff;
        printf("child: changed %s\n", sum(b) != before ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    reap("child", pid);
    BOOL("parent: heap unchanged", sum(b) == before);
    memset(b, 0x5a, SZ);
    unsigned long after = sum(b);
    pid = FORK();
    if (pid == 0)
        _exit(sum(b) == after ? 0 : 1);
    reap("second child sees new heap", pid);
    free(b);
    return 0;
}
