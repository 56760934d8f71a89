/* ftruncate/truncate: grow with zeros, shrink, errors. */
#include "contract.h"

int main(void)
{
    enter_workdir("truncate");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello world", 11);
    CHECK("ftruncate 5", RAW(SYS_ftruncate, fd, 5));
    struct stat st;
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    CHECK("ftruncate 8000", RAW(SYS_ftruncate, fd, 8000));
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    char buf[16];
    pread(fd, buf, 8, 2);
    printf("bytes 2..9:");
    for (int i = 0; i < 8; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");
    CHECK("offset unchanged", lseek(fd, 0, SEEK_CUR));
    CHECK("ftruncate negative", RAW(SYS_ftruncate, fd, -1));
    CHECK("truncate path 3", RAW(SYS_truncate, "f", 3));
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    CHECK("truncate missing", RAW(SYS_truncate, "nope", 0));
    CHECK("truncate dir", RAW(SYS_truncate, ".", 0));
    int ro = open("f", O_RDONLY);
    CHECK("ftruncate O_RDONLY", RAW(SYS_ftruncate, ro, 0));
    int p[2];
    pipe(p);
    CHECK("ftruncate pipe", RAW(SYS_ftruncate, p[1], 0));
    CHECK("ftruncate bad fd", RAW(SYS_ftruncate, 99, 0));
    CHECK("O_TRUNC open", open("f", O_WRONLY | O_TRUNC));
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    return 0;
}
