/* write(2) to stdout: counts, zero-length writes, partial buffers. */
#include "contract.h"

int main(void)
{
    long r = RAW(SYS_write, 1, "hello, world\n", 13);
    long r2 = RAW(SYS_write, 1, "abc\n", 4);
    long r3 = RAW(SYS_write, 1, "ignored", 0);
    long r4 = RAW(SYS_write, 1, NULL, 0);
    char big[5000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    long r5 = RAW(SYS_write, 1, big, sizeof big);
    printf("write 13: %ld\nwrite 4: %ld\nwrite 0: %ld\nwrite NULL,0: %ld\nwrite 5000: %ld\n",
           r, r2, r3, r4, r5);
    return 0;
}
