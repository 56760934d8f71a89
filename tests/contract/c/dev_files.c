/* /dev/null, /dev/zero, /dev/urandom. */
#include "contract.h"

int main(void)
{
    char buf[64];
    int n = open("/dev/null", O_RDWR);
    CHECK("open /dev/null", n >= 0 ? 0 : -1);
    CHECK("read /dev/null", read(n, buf, sizeof buf));
    CHECK("write /dev/null", write(n, buf, sizeof buf));
    CHECK("lseek /dev/null", lseek(n, 100, SEEK_SET));
    int z = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    CHECK("read /dev/zero", read(z, buf, sizeof buf));
    int allzero = 1;
    for (unsigned i = 0; i < sizeof buf; i++)
        allzero &= buf[i] == 0;
    BOOL("zeros", allzero);
    int u = open("/dev/urandom", O_RDONLY);
    CHECK("read /dev/urandom", read(u, buf, 32));
    char buf2[32];
    read(u, buf2, 32);
    BOOL("urandom draws differ", memcmp(buf, buf2, 32) != 0);
    CHECK("write /dev/urandom", write(u, "x", 1));
    CHECK("write /dev/zero (O_RDONLY)", RAW(SYS_write, z, "x", 1));
    int zw = open("/dev/zero", O_WRONLY);
    CHECK("write /dev/zero", write(zw, "xyz", 3));
    return 0;
}
