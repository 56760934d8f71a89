/* readv/writev: gather and scatter, iovcnt edge cases. */
#include "contract.h"
#include <sys/uio.h>
#include <limits.h>

int main(void)
{
    enter_workdir("readv_writev");
    struct iovec out[3] = {
        {"one ", 4}, {"", 0}, {"two three\n", 10},
    };
    fflush(stdout);
    CHECK("writev stdout", RAW(SYS_writev, 1, out, 3));
    CHECK("writev iovcnt 0", RAW(SYS_writev, 1, out, 0));
    CHECK("writev iovcnt -1", RAW(SYS_writev, 1, out, -1));
    CHECK("writev iovcnt 1025", RAW(SYS_writev, 1, out, 1025));
    CHECK("writev bad iov", RAW(SYS_writev, 1, BAD_PTR, 2));

    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("writev file", RAW(SYS_writev, fd, out, 3));
    lseek(fd, 0, SEEK_SET);
    char a[3], b[5], c[20];
    memset(c, 0, sizeof c);
    struct iovec in[3] = {{a, 3}, {b, 5}, {c, sizeof c - 1}};
    CHECK("readv file", RAW(SYS_readv, fd, in, 3));
    printf("a=[%.3s] b=[%.5s] c=[%s]", a, b, c);
    CHECK("readv at EOF", RAW(SYS_readv, fd, in, 3));
    CHECK("readv bad fd", RAW(SYS_readv, 77, in, 3));
    close(fd);
    return 0;
}
