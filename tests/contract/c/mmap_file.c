/* File mmap: MAP_PRIVATE sees contents, private writes stay private, MAP_SHARED writes back,
 * tail of last page is zero, errors for bad fd/offset/mode. */
#include "contract.h"
#include <sys/mman.h>

#define PG 4096L

int main(void)
{
    enter_workdir("mmap_file");
    static char data[2 * 4096 + 100];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = 'a' + i % 26;
    put_file("f", data, sizeof data, 0644);
    int fd = open("f", O_RDWR);
    char *p = mmap(NULL, sizeof data, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    BOOL("mapped", p != MAP_FAILED);
    BOOL("contents equal", memcmp(p, data, sizeof data) == 0);
    printf("tail bytes past EOF zero: %s\n",
           (p[sizeof data] == 0 && p[3 * PG - 1] == 0) ? "yes" : "no");
    p[0] = 'X';
    p[PG + 5] = 'Y';
    char buf[8] = {0};
    pread(fd, buf, 1, 0);
    printf("file after private write: %c\n", buf[0]);
    printf("mapping after private write: %c %c\n", p[0], p[PG + 5]);
    /* a write through the file after the private copy was made is not seen on that page */
    pwrite(fd, "Q", 1, 0);
    printf("private page keeps its copy: %c\n", p[0]);
    munmap(p, sizeof data);

    char *o = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    printf("offset mapping starts with: %.4s\n", o);
    munmap(o, PG);

    char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    s[1] = 'S';
    CHECK("msync", msync(s, PG, MS_SYNC));
    pread(fd, buf, 2, 0);
    printf("file after shared write: %.2s\n", buf);
    pwrite(fd, "W", 1, 2);
    printf("shared mapping sees file write: %c\n", s[2]);
    munmap(s, PG);

    CHECK("unaligned offset", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, fd, 100));
    int ro = open("f", O_RDONLY);
    CHECK("shared writable on O_RDONLY",
          RAW(SYS_mmap, 0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    long r = RAW(SYS_mmap, 0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("private writable on O_RDONLY: %s\n", r == -1 ? errname(errno) : "ok");
    int wo = open("f", O_WRONLY);
    CHECK("mapping O_WRONLY fd", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, wo, 0));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("mapping a directory", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, dir, 0));
    int pp[2];
    pipe(pp);
    CHECK("mapping a pipe", RAW(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, pp[0], 0));
    /* mapping survives close of its fd */
    char *c = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, ro, 0);
    close(ro);
    printf("after close: %.3s\n", c);
    return 0;
}
