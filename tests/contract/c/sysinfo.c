/* sysinfo: only sanity relations. */
#include "contract.h"
#include <sys/sysinfo.h>

int main(void)
{
    struct sysinfo si;
    CHECK("sysinfo", RAW(SYS_sysinfo, &si));
    BOOL("uptime >= 0", si.uptime >= 0);
    BOOL("mem_unit >= 1", si.mem_unit >= 1);
    BOOL("totalram > 0", si.totalram > 0);
    BOOL("freeram <= totalram", si.freeram <= si.totalram);
    BOOL("procs >= 1", si.procs >= 1);
    BOOL("totalram >= 16 MiB", (unsigned long long)si.totalram * si.mem_unit >= 16ULL << 20);
    CHECK("sysinfo bad ptr", RAW(SYS_sysinfo, BAD_PTR));
    return 0;
}
