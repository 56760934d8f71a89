/* madvise: MADV_DONTNEED zeroes private anonymous pages; errors. */
#include "contract.h"
#include <sys/mman.h>

#define PG 4096L

int main(void)
{
    unsigned char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0xab, 3 * PG);
    CHECK("MADV_DONTNEED middle", madvise(p + PG, PG, MADV_DONTNEED));
    printf("first: %02x middle: %02x last: %02x\n", p[0], p[PG + 17], p[2 * PG]);
    p[PG] = 5;
    printf("middle writable again: %d\n", p[PG]);
    CHECK("MADV_WILLNEED", madvise(p, 3 * PG, MADV_WILLNEED));
    CHECK("MADV_NORMAL", madvise(p, 3 * PG, MADV_NORMAL));
    CHECK("unaligned", RAW(SYS_madvise, p + 1, PG, MADV_DONTNEED));
    CHECK("bad advice", RAW(SYS_madvise, p, PG, 12345));
    CHECK("length 0", RAW(SYS_madvise, p, 0, MADV_DONTNEED));
    munmap(p + PG, PG);
    long r = RAW(SYS_madvise, p, 3 * PG, MADV_WILLNEED);
    printf("range with a hole: %s\n", r == -1 ? errname(errno) : "ok");
    return 0;
}
