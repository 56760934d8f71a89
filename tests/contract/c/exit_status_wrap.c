/* Only the low 8 bits of the exit status are kept: 256 + 7 -> 7. Uses SYS_exit. */
#include "contract.h"

int main(void)
{
    RAW(SYS_exit, 256 + 7);
    return 1;
}
