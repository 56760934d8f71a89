/* fallocate(2) on a volume file is made on the host file: allocation (size grows, or not
 * with KEEP_SIZE), a punched hole reads as zeros through pages cached before it.
 * argv[1]: the volume. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08  /* linux/falloc.h; musl has only the first two */
#endif

static void show(const char *what, int r) {
    printf("%s: %d %s\n", what, r, r ? strerror(errno) : "");
}

int main(int argc, char **argv) {
    char path[256], buf[9] = {0};
    snprintf(path, sizeof path, "%s/f", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 1024; i++)
        write(fd, "abcdefgh", 8);
    pread(fd, buf, 8, 0);  /* the first page is now cached */
    struct stat st;
    show("allocate", fallocate(fd, 0, 0, 65536));
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    show("keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 4096));
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    show("punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    pread(fd, buf, 8, 0);
    printf("hole reads zeros: %d\n", memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
    pread(fd, buf, 8, 4096);
    printf("after the hole: %s\n", buf);
    show("collapse", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
    show("bad mode", fallocate(fd, 0x1000, 0, 4096));
    close(fd);
    fd = open(path, O_RDONLY);
    show("read-only fd", fallocate(fd, 0, 0, 4096));
    return 0;
}
