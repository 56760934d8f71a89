/* wait4 statuses: exit codes (0, 1, 255, 256 -> 0), death by SIGKILL, SIGTERM, SIGABRT,
 * SIGSEGV (a real fault), rusage filled; a stopped child is not reported without WUNTRACED. */
#include "contract.h"
#include <sys/resource.h>

static pid_t child_exit(int code)
{
    pid_t p = FORK();
    if (p == 0)
        _exit(code);
    return p;
}

static pid_t child_signal(int sig)
{
    pid_t p = FORK();
    if (p == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        if (sig == SIGSEGV)
            *(volatile int *)16 = 1;
        raise(sig);
        _exit(99);
    }
    return p;
}

int main(void)
{
    int codes[] = {0, 1, 42, 255, 256, 257};
    for (unsigned i = 0; i < sizeof codes / sizeof *codes; i++) {
        char label[32];
        snprintf(label, sizeof label, "_exit(%d)", codes[i]);
        reap(label, child_exit(codes[i]));
    }
    int sigs[] = {SIGKILL, SIGTERM, SIGABRT, SIGSEGV, SIGUSR1, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        char label[32];
        snprintf(label, sizeof label, "raise %s", signame(sigs[i]));
        reap(label, child_signal(sigs[i]));
    }
    pid_t p = FORK();
    if (p == 0) {
        for (volatile long i = 0; i < 2000000; i++)
            ;
        _exit(3);
    }
    int st;
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    CHECK("wait4 with rusage returns pid", RAW(SYS_wait4, p, &st, 0, &ru) == p);
    print_status("busy child", st);
    BOOL("rusage utime sane", ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
         ru.ru_utime.tv_usec < 1000000);
    CHECK("wait4 NULL status", RAW(SYS_wait4, child_exit(4), NULL, 0, NULL) > 0);
    CHECK("wait4 bad status pointer", RAW(SYS_wait4, child_exit(5), BAD_PTR, 0, NULL));
    CHECK("wait4 bad options", RAW(SYS_wait4, -1, &st, 0x00100000, NULL));
    while (wait(NULL) > 0)
        ;
    return 0;
}
