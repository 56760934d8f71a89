/* exit(3) flushes stdio; status 3. */
#include "contract.h"

int main(void)
{
    printf("before exit(3)\n");
    exit(3);
}
