/* read(2) from stdin until EOF; EOF is sticky (returns 0 again). */
// contract: stdin=hello\nworld\nthird line without newline
#include "contract.h"
#include <ctype.h>

int main(void)
{
    char buf[7];
    long total = 0, n, calls = 0;
    char all[256];
    while ((n = RAW(SYS_read, 0, buf, sizeof buf)) > 0) {
        memcpy(all + total, buf, n);
        total += n;
        calls++;
    }
    all[total] = 0;
    for (long i = 0; i < total; i++)
        all[i] = toupper((unsigned char)all[i]);
    printf("last read: %ld\n", n);
    printf("total: %ld\n", total);
    BOOL("several reads", calls >= 3);
    printf("data: [%s]\n", all);
    CHECK("read after EOF", RAW(SYS_read, 0, buf, sizeof buf));
    CHECK("read 0 bytes", RAW(SYS_read, 0, buf, 0));
    return 0;
}
