/* Raw exit_group(42): no stdio flush (stdout is a pipe, so the text stays buffered). */
#include "contract.h"

int main(void)
{
    RAW(SYS_write, 1, "raw write survives\n", 19);
    printf("buffered text is lost");
    RAW(SYS_exit_group, 42);
    return 1;
}
