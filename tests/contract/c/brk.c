/* brk: query, grow, write, shrink; out-of-range requests leave the break unchanged. */
#include "contract.h"

#define PG 4096L

int main(void)
{
    char *cur = (char *)RAW(SYS_brk, 0);
    BOOL("initial break nonzero", cur != NULL);
    BOOL("query is stable", (char *)RAW(SYS_brk, 0) == cur);
    char *want = cur + 5 * PG + 123;
    char *got = (char *)RAW(SYS_brk, want);
    BOOL("grow returns requested", got == want);
    memset(cur, 0x5a, 5 * PG + 123);
    BOOL("grown area writable", cur[5 * PG + 122] == 0x5a);
    char *fresh = (char *)RAW(SYS_brk, want + 2 * PG);
    BOOL("grow more", fresh == want + 2 * PG);
    BOOL("new pages zero", want[PG] == 0);
    got = (char *)RAW(SYS_brk, cur + PG);
    BOOL("shrink returns requested", got == cur + PG);
    BOOL("kept page intact", cur[10] == 0x5a);
    got = (char *)RAW(SYS_brk, cur + 3 * PG);
    BOOL("regrow", got == cur + 3 * PG);
    BOOL("regrown page zero", cur[2 * PG] == 0);
    char *low = (char *)RAW(SYS_brk, 0x1000);
    BOOL("below start refused", low == cur + 3 * PG);
    char *huge = (char *)RAW(SYS_brk, 0x7fffffffffffUL);
    BOOL("huge refused", huge == cur + 3 * PG);
    char *kern = (char *)RAW(SYS_brk, 0xffff800000000000UL);
    BOOL("kernel half refused", kern == cur + 3 * PG);
    /* malloc still works on top of it */
    char *m = malloc(100000);
    memset(m, 1, 100000);
    BOOL("malloc works", m[99999] == 1);
    return 0;
}
