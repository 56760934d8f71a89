/* A JIT: a function written into an RWX page, run, rewritten and run again, while the task
 * moves between the tiers. Each round writes it emulated and runs it (so Unicorn holds a
 * translation), runs it on KVM, rewrites it there, and runs the new code back on Unicorn:
 * a stale translation would return the old constant. */
#include <string.h>
#include <sys/mman.h>
#include "tier.h"

typedef int (*fn_t)(int);

static void emit(unsigned char *p, int k)
{
    /* int f(int a) { return a * 3 + k; }: lea (%rdi,%rdi,2),%eax; add $k,%eax; ret */
    unsigned char code[] = {0x8d, 0x04, 0x7f, 0x05, 0, 0, 0, 0, 0xc3};
    memcpy(code + 4, &k, 4);
    memcpy(p, code, sizeof code);
}

int main(void)
{
    unsigned char *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) { puts("mmap failed"); return 1; }
    fn_t f = (fn_t)page;
    int bad = 0, checks = 0;
    unsigned long x = 1;
    for (int r = 1; r <= 6; r++) {
        int k1 = 1000 + r, k2 = 2000 + r;
        dense(300);                              /* emulated */
        emit(page, k1);
        for (int i = 0; i < 100; i++, checks++) bad += f(i) != 3 * i + k1;
        x = burst(x, 30);                        /* on KVM */
        for (int i = 0; i < 100; i++, checks++) bad += f(i) != 3 * i + k1;
        emit(page, k2);
        for (int i = 0; i < 100; i++, checks++) bad += f(i) != 3 * i + k2;
        dense(300);                              /* emulated again */
        for (int i = 0; i < 100; i++, checks++) bad += f(i) != 3 * i + k2;
    }
    printf("jit checks %d, wrong %d\n", checks, bad);
    return bad != 0;
}
