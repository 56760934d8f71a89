/* getpid/getppid/gettid and the credential getters. The harness runs both sides as root. */
#include "contract.h"

int main(void)
{
    long pid = RAW(SYS_getpid), tid = RAW(SYS_gettid), ppid = RAW(SYS_getppid);
    BOOL("pid > 0", pid > 0);
    BOOL("gettid == getpid", tid == pid);
    BOOL("ppid >= 0", ppid >= 0);
    BOOL("ppid != pid", ppid != pid);
    BOOL("pid stable", RAW(SYS_getpid) == pid);
    printf("uid=%ld euid=%ld gid=%ld egid=%ld\n", RAW(SYS_getuid), RAW(SYS_geteuid),
           RAW(SYS_getgid), RAW(SYS_getegid));
    unsigned r, e, s;
    CHECK("getresuid", RAW(SYS_getresuid, &r, &e, &s));
    printf("resuid=%u,%u,%u\n", r, e, s);
    CHECK("getresgid", RAW(SYS_getresgid, &r, &e, &s));
    printf("resgid=%u,%u,%u\n", r, e, s);
    CHECK("getresuid bad ptr", RAW(SYS_getresuid, BAD_PTR, &e, &s));
    CHECK("getpgid of missing pid", RAW(SYS_getpgid, 0x3ffffff));
    return 0;
}
