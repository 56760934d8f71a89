/* getrlimit/setrlimit/prlimit64: relations only, then RLIMIT_NOFILE enforced by open. */
#include "contract.h"
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl, old;
    CHECK("getrlimit NOFILE", RAW(SYS_getrlimit, RLIMIT_NOFILE, &rl));
    BOOL("nofile soft <= hard", rl.rlim_cur <= rl.rlim_max);
    BOOL("nofile soft >= 64", rl.rlim_cur >= 64);
    CHECK("prlimit64 STACK", RAW(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl));
    BOOL("stack soft > 0", rl.rlim_cur > 0);
    BOOL("stack soft <= hard", rl.rlim_cur <= rl.rlim_max);
    CHECK("prlimit64 self pid", RAW(SYS_prlimit64, RAW(SYS_getpid), RLIMIT_NOFILE, NULL, &old));
    struct rlimit lim = {10, old.rlim_max};
    CHECK("prlimit64 set NOFILE 10", RAW(SYS_prlimit64, 0, RLIMIT_NOFILE, &lim, &rl));
    BOOL("old value returned", rl.rlim_cur == old.rlim_cur && rl.rlim_max == old.rlim_max);
    int last = -1, fd;
    while ((fd = open("/", O_RDONLY)) >= 0)
        last = fd;
    printf("last fd: %d, then %s\n", last, errname(errno));
    CHECK("dup2 beyond limit", RAW(SYS_dup2, 0, 10));
    CHECK("F_DUPFD beyond limit", RAW(SYS_fcntl, 0, F_DUPFD, 10));
    struct rlimit bad = {100, 50};
    CHECK("soft > hard", RAW(SYS_setrlimit, RLIMIT_NOFILE, &bad));
    CHECK("bad resource", RAW(SYS_getrlimit, 999, &rl));
    CHECK("bad pointer", RAW(SYS_getrlimit, RLIMIT_NOFILE, BAD_PTR));
    CHECK("prlimit64 missing pid", RAW(SYS_prlimit64, 0x3ffffff, RLIMIT_NOFILE, NULL, &rl));
    return 0;
}
