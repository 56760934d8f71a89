/* mremap: grow (in place or moved), shrink, blocked growth without MAYMOVE, MREMAP_FIXED. */
#include "contract.h"
#include <sys/mman.h>

#define PG 4096L

static int check(unsigned char *p, long n)
{
    for (long i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i % 251))
            return 0;
    return 1;
}

int main(void)
{
    /* reserve a window so the layout is ours */
    unsigned char *win = mmap(NULL, 64 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(win, 64 * PG);
    unsigned char *p = mmap(win, 2 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (long i = 0; i < 2 * PG; i++)
        p[i] = i % 251;
    unsigned char *g = mremap(p, 2 * PG, 4 * PG, 0);
    BOOL("grow in place ok", g == p);
    BOOL("contents kept", check(g, 2 * PG));
    g[4 * PG - 1] = 9;
    printf("new tail readable: %d, new area zero: %d\n", g[4 * PG - 1], g[3 * PG]);
    /* block growth with a neighbour */
    unsigned char *blk = mmap(win + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    BOOL("blocker placed", blk == win + 4 * PG);
    long r = RAW(SYS_mremap, g, 4 * PG, 6 * PG, 0);
    printf("grow blocked without MAYMOVE: %s\n", r == -1 ? errname(errno) : "ok");
    unsigned char *m = mremap(g, 4 * PG, 6 * PG, MREMAP_MAYMOVE);
    BOOL("moved", m != MAP_FAILED && m != g);
    BOOL("moved contents kept", check(m, 2 * PG) && m[4 * PG - 1] == 9);
    unsigned char *sh = mremap(m, 6 * PG, PG, 0);
    BOOL("shrink keeps address", sh == m);
    BOOL("shrunk contents kept", check(sh, PG));
    unsigned char *f = mremap(sh, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, win + 20 * PG);
    BOOL("MREMAP_FIXED to target", f == win + 20 * PG);
    BOOL("fixed contents kept", check(f, PG));
    CHECK("unaligned old address", RAW(SYS_mremap, (long)f + 1, PG, 2 * PG, MREMAP_MAYMOVE));
    CHECK("new size 0", RAW(SYS_mremap, f, PG, 0, MREMAP_MAYMOVE));
    CHECK("bad flags", RAW(SYS_mremap, f, PG, 2 * PG, 0x100));
    CHECK("FIXED without MAYMOVE", RAW(SYS_mremap, f, PG, PG, MREMAP_FIXED, win + 30 * PG));
    r = RAW(SYS_mremap, win + 40 * PG, PG, 2 * PG, MREMAP_MAYMOVE);
    printf("unmapped old address: %s\n", r == -1 ? errname(errno) : "ok");
    return 0;
}
