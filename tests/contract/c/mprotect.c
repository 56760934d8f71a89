/* mprotect: protections change, contents survive PROT_NONE, argument errors. No faults. */
// contract: stdin=x
#include "contract.h"
#include <sys/mman.h>

#define PG 4096L

int main(void)
{
    unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 11; p[PG] = 22;
    CHECK("PROT_READ", mprotect(p, PG, PROT_READ));
    printf("read after PROT_READ: %d\n", p[0]);
    CHECK("PROT_NONE", mprotect(p, 2 * PG, PROT_NONE));
    CHECK("back to RW", mprotect(p, 2 * PG, PROT_READ | PROT_WRITE));
    printf("contents survive: %d %d\n", p[0], p[PG]);
    p[1] = 33;
    printf("writable again: %d\n", p[1]);
    /* write(2) from a PROT_NONE page fails with EFAULT instead of faulting */
    mprotect(p, PG, PROT_NONE);
    fflush(stdout);
    CHECK("write from PROT_NONE buffer", RAW(SYS_write, 1, p, 1));
    mprotect(p, PG, PROT_READ);
    CHECK("read into PROT_READ buffer", RAW(SYS_read, 0, p, 1));
    CHECK("unaligned", RAW(SYS_mprotect, p + 1, PG, PROT_READ));
    CHECK("bad prot bits", RAW(SYS_mprotect, p, PG, 0x100));
    CHECK("length 0", RAW(SYS_mprotect, p, 0, PROT_READ));
    munmap(p, 2 * PG);
    CHECK("unmapped range", RAW(SYS_mprotect, p, PG, PROT_READ));
    return 0;
}
