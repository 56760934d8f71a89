/* Unknown system call numbers give ENOSYS and nothing else happens. */
#include "contract.h"

int main(void)
{
    CHECK("syscall 1000", RAW(1000, 1, 2, 3));
    CHECK("syscall 400", RAW(400));
    CHECK("syscall 100000", RAW(100000));
    CHECK("syscall -1", RAW(-1));
    CHECK("still alive, getppid>=0", RAW(SYS_getppid) >= 0);
    return 0;
}
