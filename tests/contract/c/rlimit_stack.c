/* RLIMIT_STACK sizes the stack a program gets at exec: recursion within it works, beyond it
 * the stack cannot grow and the process dies of SIGSEGV. (The limit is read at exec: each
 * case sets it in a child, which then re-executes this program.) */
#include "contract.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int recurse(int kib)
{
    volatile char frame[1024];
    frame[0] = (char)kib;
    if (kib <= 1)
        return frame[0];
    return recurse(kib - 1) + frame[0];
}

static void run(long limit_kib, int depth_kib)
{
    char depth[16];
    snprintf(depth, sizeof depth, "%d", depth_kib);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (limit_kib) {
            struct rlimit rl;
            getrlimit(RLIMIT_STACK, &rl);
            rl.rlim_cur = limit_kib << 10;
            setrlimit(RLIMIT_STACK, &rl);
        }
        execl("/prog", "prog", "recurse", depth, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("limit %ld KiB, recursion %d KiB: ", limit_kib, depth_kib);
    if (WIFSIGNALED(st))
        printf("killed by signal %d\n", WTERMSIG(st));
    else
        printf("exit %d\n", WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        struct rlimit rl;
        getrlimit(RLIMIT_STACK, &rl);
        recurse(atoi(argv[2]));
        return rl.rlim_cur == RLIM_INFINITY ? 2 : (int)(rl.rlim_cur >> 20);
    }
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    printf("default soft limit: %ld KiB\n", (long)rl.rlim_cur >> 10);
    run(0, 4096);       /* default 8 MiB */
    run(0, 12 * 1024);  /* past it */
    run(256, 128);
    run(256, 1024);
    run(1024, 700);
    run(1024, 2048);
    run(32 * 1024, 20 * 1024);
    return 0;
}
