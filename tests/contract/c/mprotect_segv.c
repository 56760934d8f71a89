/* A write to a read-only page raises SIGSEGV; the handler sees si_code SEGV_ACCERR and the
 * faulting address; an unmapped address gives SEGV_MAPERR. */
#include "contract.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_signo = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(env, 1);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK("sigaction", sigaction(SIGSEGV, &sa, NULL));
    volatile unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    mprotect((void *)p, 4096, PROT_READ);
    if (sigsetjmp(env, 1) == 0) {
        p[8] = 2;
        printf("write did not fault\n");
    } else {
        printf("caught signal %d code %s addr match %s\n", fault_signo,
               fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other",
               fault_addr == p + 8 ? "yes" : "no");
    }
    printf("value unchanged: %d\n", p[8]);
    munmap((void *)p, 4096);
    if (sigsetjmp(env, 1) == 0) {
        (void)p[0];
        printf("read did not fault\n");
    } else {
        printf("caught signal %d code %s addr match %s\n", fault_signo,
               fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
               fault_addr == p ? "yes" : "no");
    }
    return 0;
}
