/* pread64/pwrite64 leave the file offset alone; errors on pipes and negative offsets. */
#include "contract.h"

int main(void)
{
    enter_workdir("pread");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    lseek(fd, 2, SEEK_SET);
    char buf[8] = {0};
    CHECK("pread 4 at 5", RAW(SYS_pread64, fd, buf, 4, 5));
    printf("data: %s\n", buf);
    CHECK("offset still 2", lseek(fd, 0, SEEK_CUR));
    CHECK("pwrite 2 at 12", RAW(SYS_pwrite64, fd, "AB", 2, 12));
    CHECK("offset still 2", lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    CHECK("pread past end", RAW(SYS_pread64, fd, buf, 4, 100));
    CHECK("pread negative", RAW(SYS_pread64, fd, buf, 4, -1));
    int p[2];
    pipe(p);
    CHECK("pread pipe", RAW(SYS_pread64, p[0], buf, 1, 0));
    CHECK("pwrite pipe", RAW(SYS_pwrite64, p[1], "x", 1, 0));
    int ap = open("f", O_WRONLY | O_APPEND);
    CHECK("pwrite O_APPEND at 0", RAW(SYS_pwrite64, ap, "Z", 1, 0));
    fstat(fd, &st);
    printf("size after O_APPEND pwrite: %ld\n", (long)st.st_size);
    char all[32] = {0};
    pread(fd, all, sizeof all - 1, 0);
    printf("first byte: %c last byte: %c\n", all[0], all[st.st_size - 1]);
    return 0;
}
