/* IN and OUT from ring 3 (IOPL 0, no I/O bitmap): SIGSEGV with si_code SI_KERNEL and no
 * address, at the instruction itself, with the registers of that moment (the instruction
 * after it, which sets RCX, has not run). Both directions, then a handler that skips the
 * instruction and goes on. */
#define _GNU_SOURCE
#include "contract.h"
#include <ucontext.h>

extern char out_insn[], in_insn[];
static volatile int skip;

static void on_segv(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    greg_t rip = uc->uc_mcontext.gregs[REG_RIP];
    printf("SIGSEGV: si_code %d, si_addr %p, at %s, rcx %lld\n", si->si_code, si->si_addr,
           rip == (greg_t)out_insn ? "outb" : rip == (greg_t)in_insn ? "inb" : "elsewhere",
           (long long)uc->uc_mcontext.gregs[REG_RCX]);
    (void)sig;
    uc->uc_mcontext.gregs[REG_RIP] += 1; /* both are one byte long */
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    long rcx = 0;
    __asm__ volatile("xor %%ecx, %%ecx\n mov $0x80, %%edx\n out_insn: outb %%al, %%dx\n"
                     "mov $7, %%ecx\n mov %%rcx, %0" : "=m"(rcx) : : "rcx", "rdx", "rax");
    printf("after outb: rcx %ld\n", rcx);
    __asm__ volatile("mov $9, %%ecx\n mov $0x61, %%edx\n in_insn: inb %%dx, %%al\n"
                     "mov $5, %%ecx\n mov %%rcx, %0" : "=m"(rcx) : : "rcx", "rdx", "rax");
    printf("after inb: rcx %ld\n", rcx);
    return 0;
}
