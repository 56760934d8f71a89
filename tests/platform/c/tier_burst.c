/* Compute bursts alternating with exit-dense stretches: the result is the same wherever
 * each part ran. */
#include "tier.h"

int main(void)
{
    unsigned long x = 1, y = 1;
    for (int r = 0; r < 6; r++) {
        x = burst(x, 30);
        dense(300);
    }
    for (long i = 0; i < 6 * 30 * CHUNK; i++)  /* the same sequence, in one piece */
        y = y * 6364136223846793005UL + 1442695040888963407UL;
    printf("bursts %s\n", x == y ? "agree" : "DIFFER");
    return 0;
}
