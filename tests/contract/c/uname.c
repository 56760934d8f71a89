/* uname: sysname and machine only; EFAULT. */
#include "contract.h"
#include <sys/utsname.h>

int main(void)
{
    struct utsname u;
    CHECK("uname", RAW(SYS_uname, &u));
    printf("sysname: %s\nmachine: %s\n", u.sysname, u.machine);
    BOOL("release starts with digit", u.release[0] >= '0' && u.release[0] <= '9');
    BOOL("nodename nonempty", u.nodename[0] != 0);
    CHECK("uname bad ptr", RAW(SYS_uname, BAD_PTR));
    return 0;
}
