/* RLIMIT_AS (Linux's may_expand_vm): mmap, mremap and brk fail (ENOMEM; brk keeps the old
 * break) when the mapped total would pass the limit; a MAP_FIXED mapping counts only what it
 * adds; munmap gives room back. */
#include "contract.h"
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define MiB (1UL << 20)

static void *map(size_t n)
{
    return mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void child(void)
{
    struct rlimit rl = {64 * MiB, 64 * MiB};
    CHECK_OK("setrlimit AS 64 MiB", setrlimit(RLIMIT_AS, &rl));
    void *a = map(32 * MiB);
    BOOL("mmap 32 MiB", a != MAP_FAILED);
    void *b = map(48 * MiB);
    printf("mmap 48 MiB more: %s\n", b == MAP_FAILED ? errname(errno) : "ok");
    void *r = mremap(a, 32 * MiB, 80 * MiB, MREMAP_MAYMOVE);
    printf("mremap to 80 MiB: %s\n", r == MAP_FAILED ? errname(errno) : "ok");
    long cur = RAW(SYS_brk, 0);
    BOOL("brk +64 MiB refused", RAW(SYS_brk, cur + 64 * MiB) == cur);
    BOOL("brk +64 KiB works", RAW(SYS_brk, cur + 65536) == cur + 65536);
    void *c = mmap(a, 32 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    BOOL("MAP_FIXED over the same 32 MiB", c == a);
    CHECK_OK("munmap 32 MiB", munmap(a, 32 * MiB));
    b = map(48 * MiB);
    printf("now mmap 48 MiB: %s\n", b == MAP_FAILED ? errname(errno) : "ok");
    rl.rlim_cur = 1 * MiB;
    CHECK_OK("lower the soft limit below what is mapped", setrlimit(RLIMIT_AS, &rl));
    printf("mmap 4 KiB: %s\n", map(4096) == MAP_FAILED ? errname(errno) : "ok");
    CHECK_OK("munmap", munmap(b, 48 * MiB));
    exit(0);
}

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        child();
    int st;
    waitpid(pid, &st, 0);
    printf("child: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}
