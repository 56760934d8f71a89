/* Anonymous mmap: zero-filled, read/write, MAP_FIXED replaces, munmap, argument errors. */
#include "contract.h"
#include <sys/mman.h>

#define PG 4096L

static long sum(unsigned char *p, long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += p[i];
    return s;
}

int main(void)
{
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    BOOL("mapped", p != MAP_FAILED);
    BOOL("page aligned", ((uintptr_t)p & (PG - 1)) == 0);
    BOOL("user half", (uintptr_t)p < 0x800000000000UL);
    printf("fresh sum: %ld\n", sum(p, 4 * PG));
    for (long i = 0; i < 4 * PG; i++)
        p[i] = (unsigned char)(i * 7);
    printf("written sum: %ld\n", sum(p, 4 * PG));
    unsigned char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    BOOL("MAP_FIXED at requested address", q == p + PG);
    printf("replaced page sum: %ld\n", sum(p + PG, PG));
    printf("neighbour page sum: %ld\n", sum(p + 2 * PG, PG));
    long r = (long)mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE over mapping: %s\n", r == -1 ? errname(errno) : "mapped");
    CHECK("munmap middle", munmap(p + PG, PG));
    CHECK("munmap again (no mapping)", munmap(p + PG, PG));
    CHECK("munmap unaligned", RAW(SYS_munmap, p + 1, PG));
    CHECK("munmap length 0", RAW(SYS_munmap, p, 0));
    printf("still mapped after partial unmap: %d\n", sum(p + 3 * PG, PG) == sum(p + 3 * PG, PG));
    /* hint at the hole: kernel may use it or not, but the mapping must work */
    unsigned char *h = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    h[0] = 1; h[64 * PG - 1] = 2;
    printf("big mapping ends: %d %d\n", h[0], h[64 * PG - 1]);
    CHECK("munmap big", munmap(h, 64 * PG));

    printf("-- errors\n");
    CHECK("len 0", RAW(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK("neither private nor shared", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
    CHECK("MAP_FIXED unaligned", RAW(SYS_mmap, (long)p + 1, PG, PROT_READ,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    CHECK("file mapping bad fd", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, 99, 0));
    CHECK("huge length", RAW(SYS_mmap, 0, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    long k = RAW(SYS_mmap, 0xffff800000000000UL, PG, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED in kernel half: %s\n", k == -1 ? errname(errno) : "mapped");
    /* MAP_SHARED anonymous */
    unsigned char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[10] = 42;
    printf("shared anon: %d\n", s[10]);
    return 0;
}
