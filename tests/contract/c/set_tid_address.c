/* set_tid_address returns the caller's tid. */
#include "contract.h"

static int tid_slot;

int main(void)
{
    long r = RAW(SYS_set_tid_address, &tid_slot);
    BOOL("returns gettid", r == RAW(SYS_gettid));
    BOOL("returns getpid", r == RAW(SYS_getpid));
    r = RAW(SYS_set_tid_address, NULL);
    BOOL("NULL accepted", r == RAW(SYS_gettid));
    return 0;
}
