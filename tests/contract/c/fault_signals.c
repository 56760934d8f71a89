/* The CPU's own exceptions as signals: integer divide by zero -> SIGFPE FPE_INTDIV, ud2 ->
 * SIGILL ILL_ILLOPN, int3 -> SIGTRAP, with si_addr at the instruction; uncaught in a child,
 * they kill it with that signal. */
#include "contract.h"
#include <setjmp.h>
#include <sys/resource.h>

static sigjmp_buf env;
static volatile int sig, code;
static void *volatile addr;

static void h(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    sig = s;
    code = si->si_code;
    addr = si->si_addr;
    siglongjmp(env, 1);
}

static volatile int zero = 0;

static int divide(void) { return 10 / zero; }

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        printf("no fault %d\n", divide());
    } else {
        printf("divide: %s %s addr in divide(): %s\n", signame(sig),
               code == FPE_INTDIV ? "FPE_INTDIV" : "other",
               (char *)addr >= (char *)divide && (char *)addr < (char *)divide + 64 ? "yes" : "no");
    }
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile("ud2");
    } else {
        printf("ud2: %s %s\n", signame(sig), code == ILL_ILLOPN ? "ILL_ILLOPN" : "other");
    }
    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile("int3");
    } else {
        printf("int3: %s\n", signame(sig));
    }
    const char *what[] = {"divide", "ud2", "null write"};
    for (int i = 0; i < 3; i++) {
        pid_t p = FORK();
        if (p == 0) {
            struct rlimit rl = {0, 0};
            setrlimit(RLIMIT_CORE, &rl);
            signal(SIGFPE, SIG_DFL);
            signal(SIGILL, SIG_DFL);
            if (i == 0) divide();
            if (i == 1) __asm__ volatile("ud2");
            if (i == 2) *(volatile int *)8 = 0;
            _exit(0);
        }
        reap(what[i], p);
    }
    return 0;
}
