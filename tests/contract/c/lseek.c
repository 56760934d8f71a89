/* lseek: SEEK_SET/CUR/END, errors, holes past the end. */
#include "contract.h"

int main(void)
{
    enter_workdir("lseek");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "abcdefghij", 10);
    CHECK("SEEK_SET 3", RAW(SYS_lseek, fd, 3, SEEK_SET));
    char c[4] = {0};
    read(fd, c, 2);
    printf("read at 3: %s\n", c);
    CHECK("SEEK_CUR +1", RAW(SYS_lseek, fd, 1, SEEK_CUR));
    CHECK("SEEK_CUR -2", RAW(SYS_lseek, fd, -2, SEEK_CUR));
    CHECK("SEEK_END 0", RAW(SYS_lseek, fd, 0, SEEK_END));
    CHECK("SEEK_END -4", RAW(SYS_lseek, fd, -4, SEEK_END));
    CHECK("SEEK_SET -1", RAW(SYS_lseek, fd, -1, SEEK_SET));
    CHECK("offset kept after EINVAL", RAW(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("SEEK_CUR to negative", RAW(SYS_lseek, fd, -100, SEEK_CUR));
    CHECK("whence 42", RAW(SYS_lseek, fd, 0, 42));
    CHECK("SEEK_SET 20 (past end)", RAW(SYS_lseek, fd, 20, SEEK_SET));
    CHECK("write at 20", write(fd, "Z", 1));
    CHECK("new size", RAW(SYS_lseek, fd, 0, SEEK_END));
    lseek(fd, 8, SEEK_SET);
    char buf[32];
    long n = read(fd, buf, sizeof buf);
    printf("read from 8: %ld bytes:", n);
    for (long i = 0; i < n; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");
    CHECK("read at EOF", read(fd, buf, sizeof buf));
    close(fd);
    int p[2];
    pipe(p);
    CHECK("lseek pipe", RAW(SYS_lseek, p[0], 0, SEEK_CUR));
    fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("lseek dir to 0", RAW(SYS_lseek, fd, 0, SEEK_SET));
    return 0;
}
