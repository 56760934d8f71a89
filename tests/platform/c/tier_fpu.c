/* x87, SSE and their control registers stay live in registers across syscalls and compute
 * bursts, so across moves between the tiers: XMM8-15 (both halves), three x87 stack
 * registers (80-bit), MXCSR's rounding mode and the x87 precision control. */
#include <string.h>
#include "tier.h"

static double xin[16] = {1.5, -2.25, 3.125, 1e300, -1e-300, 42.0, 0.1, 7.75,
                         -0.0, 6.02e23, 1.0 / 3, 2.5e-310, 11.0, -12.5, 1e-5, 99.99};
static double xout[16];
static long double fin[3] = {1.0L / 3, 2.0L / 7, -5.5L}, fout[3];

int main(void)
{
    unsigned int mx_in = 0x1F80 | (1 << 13), mx_out = 0;   /* round down */
    unsigned short cw_in = 0x027F, cw_out = 0;             /* double precision */
    unsigned int mx_default = 0x1F80;
    unsigned short cw_default = 0x037F;
    long rounds = 8, n = 12 * CHUNK, sys = 300;
    __asm__ volatile(
        "ldmxcsr %[mx]\n\tfldcw %[cw]\n\t"
        "movdqu 0(%[in]), %%xmm8\n\tmovdqu 16(%[in]), %%xmm9\n\t"
        "movdqu 32(%[in]), %%xmm10\n\tmovdqu 48(%[in]), %%xmm11\n\t"
        "movdqu 64(%[in]), %%xmm12\n\tmovdqu 80(%[in]), %%xmm13\n\t"
        "movdqu 96(%[in]), %%xmm14\n\tmovdqu 112(%[in]), %%xmm15\n\t"
        "fldt 0(%[fi])\n\tfldt 16(%[fi])\n\tfldt 32(%[fi])\n\t"
        "mov %[rounds], %%r12\n"
        "1:\n\tmov %[n], %%r13\n"
        "2:\n\tadd %%r13, %%r14\n\trol $7, %%r14\n\t"
        "test $0xffff, %%r13\n\tjnz 3f\n\tmov $110, %%eax\n\tsyscall\n"
        "3:\n\tdec %%r13\n\tjnz 2b\n\t"
        "mov %[sys], %%r15\n"
        "4:\n\tmov $110, %%eax\n\tsyscall\n\tdec %%r15\n\tjnz 4b\n\t"
        "dec %%r12\n\tjnz 1b\n\t"
        "fstpt 32(%[fo])\n\tfstpt 16(%[fo])\n\tfstpt 0(%[fo])\n\t"
        "movdqu %%xmm8, 0(%[out])\n\tmovdqu %%xmm9, 16(%[out])\n\t"
        "movdqu %%xmm10, 32(%[out])\n\tmovdqu %%xmm11, 48(%[out])\n\t"
        "movdqu %%xmm12, 64(%[out])\n\tmovdqu %%xmm13, 80(%[out])\n\t"
        "movdqu %%xmm14, 96(%[out])\n\tmovdqu %%xmm15, 112(%[out])\n\t"
        "stmxcsr %[mxo]\n\tfnstcw %[cwo]\n\t"
        "ldmxcsr %[mxd]\n\tfldcw %[cwd]\n\t"
        : [mxo] "=m"(mx_out), [cwo] "=m"(cw_out)
        : [mx] "m"(mx_in), [cw] "m"(cw_in), [mxd] "m"(mx_default), [cwd] "m"(cw_default),
          [in] "r"(xin), [out] "r"(xout), [fi] "r"(fin), [fo] "r"(fout),
          [rounds] "g"(rounds), [n] "g"(n), [sys] "g"(sys)
        : "rax", "rcx", "r11", "r12", "r13", "r14", "r15", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
    printf("xmm8-15 %s\n", memcmp(xin, xout, sizeof xin) ? "CHANGED" : "kept");
    printf("st0-2 %s\n", memcmp(fin, fout, 10) || memcmp(fin + 1, fout + 1, 10)
                             || memcmp(fin + 2, fout + 2, 10) ? "CHANGED" : "kept");
    printf("mxcsr %s, fpu control %s\n", mx_out == mx_in ? "kept" : "CHANGED",
           cw_out == cw_in ? "kept" : "CHANGED");
    /* SSE arithmetic in C across moves: IEEE double, exact on both CPUs */
    volatile double d = 1.0;
    for (int r = 0; r < 4; r++) {
        for (int i = 0; i < 200000; i++) d = d * 1.0000001 + 1e-9;
        dense(200);
    }
    volatile double e = 1.0;
    for (int i = 0; i < 800000; i++) e = e * 1.0000001 + 1e-9;
    printf("doubles %s\n", d == e ? "agree" : "DIFFER");
    return 0;
}
