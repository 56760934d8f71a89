/* dup/dup2/dup3: lowest fd, same fd, cloexec, EINVAL for dup3 same fd, shared offsets. */
#include "contract.h"

int main(void)
{
    enter_workdir("dup");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("fd", fd);
    CHECK("dup", RAW(SYS_dup, fd));
    CHECK("dup again", RAW(SYS_dup, fd));
    CHECK("close 4", close(4));
    CHECK("dup fills hole", RAW(SYS_dup, fd));
    CHECK("dup2 same fd", RAW(SYS_dup2, fd, fd));
    CHECK("dup2 to 100", RAW(SYS_dup2, fd, 100));
    CHECK("dup2 onto open fd", RAW(SYS_dup2, 1, 100));
    CHECK("F_GETFD 100", fcntl(100, F_GETFD));
    CHECK("dup3 same fd", RAW(SYS_dup3, fd, fd, 0));
    CHECK("dup3 cloexec", RAW(SYS_dup3, fd, 101, O_CLOEXEC));
    CHECK("F_GETFD 101", fcntl(101, F_GETFD));
    CHECK("dup3 bad flags", RAW(SYS_dup3, fd, 102, 0x1));
    CHECK("dup3 bad oldfd", RAW(SYS_dup3, 99, 102, 0));
    CHECK("dup2 bad newfd", RAW(SYS_dup2, fd, -5));
    CHECK("dup2 newfd huge", RAW(SYS_dup2, fd, 1 << 30));
    /* dup'd descriptors share the file offset */
    int d = dup(fd);
    write(fd, "abcdef", 6);
    CHECK("offset seen through dup", lseek(d, 0, SEEK_CUR));
    lseek(d, 2, SEEK_SET);
    char c[3] = {0};
    read(fd, c, 2);
    printf("read through original after seek on dup: %s\n", c);
    /* closing one keeps the other usable */
    close(fd);
    CHECK("write through dup after close", write(d, "g", 1));
    /* dup2 onto stdout redirects it */
    fflush(stdout);
    int saved = dup(1);
    dup2(d, 1);
    printf("this goes to the file\n");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    lseek(d, 0, SEEK_SET);
    char buf[64] = {0};
    read(d, buf, sizeof buf - 1);
    printf("file: %s", buf);
    return 0;
}
