/* What the SYSCALL instruction leaves in registers: rax the result, rcx the address of the next
 * instruction, r11 RFLAGS as they were at the call (arithmetic flags, DF), every argument
 * register unchanged; six arguments arrive in rdi rsi rdx r10 r8 r9. */
#include "contract.h"
#include <sys/mman.h>
#include <sys/syscall.h>

struct after {
    unsigned long rax, rcx, r11, flags, next;
};

/* getpid with CF set by stc (flags known outright) */
static struct after carry(void)
{
    struct after a;
    __asm__ volatile("stc\n\t"
                     "pushfq\n\t"
                     "popq %[flags]\n\t"
                     "lea 1f(%%rip), %[next]\n\t"
                     "syscall\n"
                     "1:\n\t"
                     "mov %%rcx, %[rcx]\n\t"
                     "mov %%r11, %[r11]"
                     : "=a"(a.rax), [flags] "=&r"(a.flags), [next] "=&r"(a.next),
                       [rcx] "=&r"(a.rcx), [r11] "=&r"(a.r11)
                     : "0"((long)SYS_getpid)
                     : "rcx", "r11", "memory", "cc");
    return a;
}

/* getpid right after a compare (flags an emulator computes lazily), DF set */
static struct after compare(long x, long y)
{
    struct after a;
    __asm__ volatile("std\n\t"
                     "cmp %[y], %[x]\n\t"
                     "pushfq\n\t"
                     "popq %[flags]\n\t"
                     "lea 1f(%%rip), %[next]\n\t"
                     "syscall\n"
                     "1:\n\t"
                     "cld\n\t"
                     "mov %%rcx, %[rcx]\n\t"
                     "mov %%r11, %[r11]"
                     : "=a"(a.rax), [flags] "=&r"(a.flags), [next] "=&r"(a.next),
                       [rcx] "=&r"(a.rcx), [r11] "=&r"(a.r11)
                     : "0"((long)SYS_getpid), [x] "r"(x), [y] "r"(y)
                     : "rcx", "r11", "memory", "cc");
    return a;
}

static void show(const char *what, struct after a)
{
    printf("%s: rax is the pid %s, rcx is the next instruction %s, r11 is RFLAGS %s\n", what,
           a.rax == (unsigned long)getpid() ? "yes" : "no", a.rcx == a.next ? "yes" : "no",
           a.r11 == a.flags ? "yes" : "no");
}

int main(void)
{
    show("after stc", carry());
    show("after cmp 1,2 with DF", compare(1, 2));
    show("after cmp 2,2 with DF", compare(2, 2));

    /* argument registers survive the call */
    register long r10 __asm__("r10") = 0x1010101010101010L;
    register long r8 __asm__("r8") = 0x0808080808080808L;
    register long r9 __asm__("r9") = 0x0909090909090909L;
    long rax = SYS_getppid, rdi = 0x7D7D7D7D7D7D7D7DL, rsi = 0x5151515151515151L,
         rdx = 0x0D0D0D0D0D0D0D0DL;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    printf("getppid result %s; rdi rsi rdx r10 r8 r9 kept: %s\n",
           rax == (long)getppid() ? "right" : "wrong",
           rdi == 0x7D7D7D7D7D7D7D7DL && rsi == 0x5151515151515151L &&
                   rdx == 0x0D0D0D0D0D0D0D0DL && r10 == 0x1010101010101010L &&
                   r8 == 0x0808080808080808L && r9 == 0x0909090909090909L
               ? "yes"
               : "no");

    /* six arguments in place: mmap(addr hint, len, prot, flags, fd, offset) */
    long page = syscall(SYS_mmap, 0L, 8192L, (long)(PROT_READ | PROT_WRITE),
                        (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
    printf("mmap with six arguments: %s\n", page != -1 ? "mapped" : errname(errno));
    if (page != -1) {
        ((char *)page)[8191] = 1;
        printf("munmap: %ld\n", syscall(SYS_munmap, page, 8192L));
    }
    long bad = syscall(SYS_mmap, 0L, 4096L, (long)PROT_READ, (long)MAP_PRIVATE, 12345L, 0L);
    printf("mmap of a bad fd: %s\n", bad == -1 ? errname(errno) : "mapped");
    return 0;
}
