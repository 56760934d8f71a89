/* preadv2 / pwritev2: an offset, or -1 for the file position (which then moves); the flags
 * RWF_HIPRI, RWF_DSYNC, RWF_SYNC (no visible effect), RWF_APPEND (at the end whatever the
 * offset; the position moves only with -1); unknown flags (EOPNOTSUPP), a negative offset
 * other than -1 (EINVAL), EBADF, EFAULT, ESPIPE on a pipe with an offset, a pipe at -1. */
#include "contract.h"
#include <sys/uio.h>

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x01
#define RWF_DSYNC 0x02
#define RWF_SYNC 0x04
#define RWF_APPEND 0x10
#endif

static long rd(int fd, struct iovec *iov, int n, long pos, int flags)
{
    return RAW(SYS_preadv2, fd, iov, n, pos, 0, flags);
}
static long wr(int fd, struct iovec *iov, int n, long pos, int flags)
{
    return RAW(SYS_pwritev2, fd, iov, n, pos, 0, flags);
}

static char a[4], b[5];
static struct iovec two[2] = {{a, 3}, {b, 4}};

static void show_read(const char *label, int fd, long pos, int flags)
{
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    long n = rd(fd, two, 2, pos, flags);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld '%s' '%s' position %ld\n", label, n, a, b, (long)lseek(fd, 0, SEEK_CUR));
}

static void show_file(const char *label, int fd)
{
    char buf[64] = {0};
    long n = pread(fd, buf, sizeof buf - 1, 0);
    printf("%s: %ld '%s' position %ld\n", label, n, buf, (long)lseek(fd, 0, SEEK_CUR));
}

static void show_write(const char *label, int fd, const char *s, long pos, int flags)
{
    struct iovec iov[2] = {{(void *)s, 1}, {(void *)(s + 1), strlen(s) - 1}};
    CHECK(label, wr(fd, iov, 2, pos, flags));
}

int main(void)
{
    enter_workdir("rwf");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdef", 16);
    lseek(fd, 5, SEEK_SET);

    show_read("preadv2 at 3", fd, 3, 0);
    show_read("preadv2 at 3 RWF_HIPRI", fd, 3, RWF_HIPRI);
    show_read("preadv2 at -1 (the position)", fd, -1, 0);
    show_read("preadv2 at -1 RWF_HIPRI", fd, -1, RWF_HIPRI);
    show_read("preadv2 at 14 (short)", fd, 14, 0);
    show_read("preadv2 past the end", fd, 100, 0);
    show_read("preadv2 unknown flag", fd, 0, 0x40000000);
    show_read("preadv2 at -2", fd, -2, 0);
    show_read("preadv2 bad fd", 999, 0, 0);
    CHECK("preadv2 bad iovec", rd(fd, (struct iovec *)8, 1, 0, 0));

    lseek(fd, 2, SEEK_SET);
    show_write("pwritev2 at 4 RWF_DSYNC", fd, "XY", 4, RWF_DSYNC);
    show_file("after", fd);
    show_write("pwritev2 at -1 RWF_SYNC", fd, "pq", -1, RWF_SYNC);
    show_file("after", fd);
    show_write("pwritev2 at 0 RWF_APPEND", fd, "AP", 0, RWF_APPEND);
    show_file("after", fd);
    show_write("pwritev2 at -1 RWF_APPEND", fd, "EN", -1, RWF_APPEND);
    show_file("after", fd);
    show_write("pwritev2 unknown flag", fd, "zz", 0, 0x40000000);
    show_write("pwritev2 at -2", fd, "zz", -2, 0);
    show_file("after the errors", fd);
    int ro = open("f", O_RDONLY);
    show_write("pwritev2 on a read-only fd", ro, "zz", 0, 0);
    close(ro);

    int p[2];
    pipe(p);
    show_write("pwritev2 pipe at -1", p[1], "pipe!!", -1, 0);
    show_write("pwritev2 pipe at 0", p[1], "no", 0, 0);
    show_read("preadv2 pipe at 0", p[0], 0, 0);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    long n = rd(p[0], two, 2, -1, 0);
    printf("preadv2 pipe at -1: %ld '%s' '%s'\n", n, a, b);
    close(p[0]);
    close(p[1]);
    close(fd);
    return 0;
}
