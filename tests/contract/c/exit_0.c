/* Returning 0 from main: exit status 0, buffered stdout flushed. */
#include "contract.h"

int main(void)
{
    printf("flushed at exit");
    return 0;
}
