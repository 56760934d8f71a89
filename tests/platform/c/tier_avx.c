/* An instruction Unicorn's CPU model lacks (AVX), as a program that read the host's CPUID
 * on KVM would run it: the tiered CPU runs it on KVM (and keeps the task there); then a
 * ud2, which is SIGILL on every CPU. */
#include <signal.h>
#include <string.h>
#include "tier.h"

static void on_ill(int sig) { (void)sig; puts("ud2: SIGILL"); fflush(stdout); _exit(0); }

int main(void)
{
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {10, 20, 30, 40, 50, 60, 70, 80}, c[8];
    dense(50);
    __asm__ volatile("vmovups %1, %%ymm0\n\tvmovups %2, %%ymm1\n\tvaddps %%ymm0, %%ymm1, %%ymm2\n\t"
                     "vmovups %%ymm2, %0\n\tvzeroupper"
                     : "=m"(c) : "m"(a), "m"(b) : "xmm0", "xmm1", "xmm2");
    printf("avx sum %.0f %.0f\n", c[0], c[7]);
    dense(50);
    signal(SIGILL, on_ill);
    __asm__ volatile("ud2");
    return 1;
}
