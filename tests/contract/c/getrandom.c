/* getrandom: lengths, GRND_NONBLOCK, two draws differ, errors. */
#include "contract.h"
#include <sys/random.h>

int main(void)
{
    unsigned char a[16], b[16], big[4096];
    CHECK("getrandom 16", RAW(SYS_getrandom, a, 16, 0));
    CHECK("getrandom 16 nonblock", RAW(SYS_getrandom, b, 16, GRND_NONBLOCK));
    BOOL("two draws differ", memcmp(a, b, 16) != 0);
    CHECK("getrandom 8 GRND_INSECURE", RAW(SYS_getrandom, a, 8, 0x4));
    CHECK("getrandom 4096", RAW(SYS_getrandom, big, sizeof big, 0));
    int zeros = 0;
    for (unsigned i = 0; i < sizeof big; i++)
        zeros += big[i] == 0;
    BOOL("looks random", zeros < 64);
    CHECK("getrandom 0", RAW(SYS_getrandom, a, 0, 0));
    CHECK("bad flags", RAW(SYS_getrandom, a, 16, 0x100));
    CHECK("INSECURE|RANDOM", RAW(SYS_getrandom, a, 16, 0x4 | 0x2));
    CHECK("bad buffer", RAW(SYS_getrandom, BAD_PTR, 16, 0));
    CHECK("kernel buffer", RAW(SYS_getrandom, KERNEL_PTR, 16, 0));
    return 0;
}
