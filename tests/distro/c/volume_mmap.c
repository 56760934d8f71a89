/* Shared writable mappings of volume files reach the host: one written back by msync and
 * close, one still mapped (and open) when the program ends. argv[1]: the volume. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *map(const char *dir, const char *name, int *fd) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *fd = open(path, O_RDWR);
    return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
}

int main(int argc, char **argv) {
    int fd1, fd2;
    char *a = map(argv[1], "a", &fd1), *b = map(argv[1], "b", &fd2);
    memcpy(a, "MAPPED-A", 8);
    printf("msync: %d\n", msync(a, 4096, MS_SYNC));
    munmap(a, 4096);
    close(fd1);
    memcpy(b, "MAPPED-B", 8);
    char buf[9] = {0};
    pread(fd2, buf, 8, 0);
    printf("read back: %s\n", buf);
    return 0;  /* b stays mapped and open: written back at the end of the run */
}
