/* EBADF from read/write/close/fstat/dup/dup2/lseek/fcntl on bad descriptors. */
#include "contract.h"

int main(void)
{
    char buf[4];
    struct stat st;
    int fds[] = {99, -1, 1000000};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int fd = fds[i];
        printf("-- fd %d\n", fd);
        CHECK("read", RAW(SYS_read, fd, buf, 4));
        CHECK("write", RAW(SYS_write, fd, "x", 1));
        CHECK("close", RAW(SYS_close, fd));
        CHECK("fstat", RAW(SYS_fstat, fd, &st));
        CHECK("dup", RAW(SYS_dup, fd));
        CHECK("dup2 from", RAW(SYS_dup2, fd, 5));
        CHECK("lseek", RAW(SYS_lseek, fd, 0, SEEK_SET));
        CHECK("fcntl F_GETFD", RAW(SYS_fcntl, fd, F_GETFD));
    }
    printf("-- closed fd\n");
    int fd = open("/", O_RDONLY);
    CHECK("close once", close(fd));
    CHECK("close twice", RAW(SYS_close, fd));
    printf("-- wrong mode\n");
    fd = open("/bin/busybox", O_RDONLY);
    CHECK("write to O_RDONLY", RAW(SYS_write, fd, "x", 1));
    close(fd);
    fd = open("/tmp/wo", O_WRONLY | O_CREAT, 0644);
    CHECK("read from O_WRONLY", RAW(SYS_read, fd, buf, 1));
    close(fd);
    fd = open("/", O_RDONLY);
    CHECK("read from directory", RAW(SYS_read, fd, buf, 1));
    close(fd);
    CHECK("dup2 to negative", RAW(SYS_dup2, 1, -1));
    return 0;
}
