/* preadv2/pwritev2 with RWF_NOWAIT on the regular files of a file system the host provides
 * (a volume: a bind mount of a host directory; the overlay of --rootfs): whatever the host's
 * file system answers (Linux 6.18: ext4 reads cached data and refuses a buffered write with
 * EOPNOTSUPP; tmpfs and overlayfs refuse both). argv[1]: a writable directory; argv[2] (if
 * given): a file that was there before the run. Only errno names, counts and file bytes are
 * printed; every file read was just written or read, so its pages are in the host's cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x08
#define RWF_APPEND 0x10
#endif

static const char *en(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    default: return "other";
    }
}

static char buf[64];

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, en(errno));
    else
        printf("%s: %ld\n", what, r);
}

static long rd(int fd, void *p, long n, long pos, int flags) {
    struct iovec v = {p, n};
    return syscall(SYS_preadv2, fd, &v, 1, pos, 0L, flags);
}

static long wr(int fd, const char *s, long pos, int flags) {
    struct iovec v = {(void *)s, strlen(s)};
    return syscall(SYS_pwritev2, fd, &v, 1, pos, 0L, flags);
}

static void contents(const char *what, const char *path) {
    char all[256] = {0};
    int fd = open(path, O_RDONLY);
    long n = read(fd, all, sizeof all - 1);
    close(fd);
    printf("%s: %ld '%s'\n", what, n, n > 0 ? all : "");
}

static void existing(const char *path) {
    int fd = open(path, O_RDONLY);
    pread(fd, buf, sizeof buf, 0);  /* its pages are cached now */
    memset(buf, 0, sizeof buf);
    show("existing: read", rd(fd, buf, 5, -1, RWF_NOWAIT));
    printf("existing: bytes '%s'\n", buf);
    show("existing: read at 0", rd(fd, buf, 5, 0, RWF_NOWAIT));
    show("existing: write to a read-only fd", wr(fd, "x", -1, RWF_NOWAIT));
    close(fd);
}

static void created(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/nowait", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello world\n", 12);
    lseek(fd, 0, SEEK_SET);
    memset(buf, 0, sizeof buf);
    show("new: read", rd(fd, buf, 5, -1, RWF_NOWAIT));
    printf("new: bytes '%s', position %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
    show("new: read at 6", rd(fd, buf, 5, 6, RWF_NOWAIT));
    show("new: read past the end", rd(fd, buf, 5, 100, RWF_NOWAIT));
    show("new: write", wr(fd, "HEL", -1, RWF_NOWAIT));
    show("new: write at 0", wr(fd, "J", 0, RWF_NOWAIT));
    show("new: append", wr(fd, "!\n", -1, RWF_NOWAIT | RWF_APPEND));
    show("new: write of nothing", wr(fd, "", -1, RWF_NOWAIT));
    printf("new: position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    close(fd);
    fd = open(path, O_WRONLY | O_APPEND);
    show("new, O_WRONLY|O_APPEND: write", wr(fd, "tail\n", -1, RWF_NOWAIT));
    show("new, O_WRONLY|O_APPEND: read", rd(fd, buf, 5, -1, RWF_NOWAIT));
    close(fd);
    contents("new: contents", path);

    snprintf(path, sizeof path, "%s/big", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    long size = 3 << 20;  /* more than twaron reads at once (a chunk) */
    char *big = malloc(size);
    memset(big, 'b', size);
    write(fd, big, size);
    memset(big, 0, size);
    show("big: read all at 0", rd(fd, big, size, 0, RWF_NOWAIT));
    lseek(fd, 0, SEEK_SET);
    show("big: read all", rd(fd, big, size, -1, RWF_NOWAIT));
    printf("big: last byte read: %s\n", big[size - 1] == 'b' ? "yes" : "no");
    close(fd);
    free(big);
    unlink(path);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2)
        existing(argv[2]);
    created(argv[1]);
    return 0;
}
