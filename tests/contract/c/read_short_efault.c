/* read(2) and pread64(2) of a regular file into a buffer whose end runs into a page the
 * process cannot write: Linux copies what fits and returns a short count (the file position
 * moves by that much); a buffer that starts in such a page is EFAULT and the position stays.
 * Checked on tmpfs (/tmp) and on the root file system (a host-backed file, /bin/busybox). */
#include "contract.h"
#include <sys/mman.h>

static void check(const char *path, int fd, char *edge, const char *want)
{
    printf("-- %s\n", path);
    /* 100 bytes fit before the read-only page, the other 200 do not */
    report("read across the edge", read(fd, edge - 100, 300));
    if (want)
        printf("bytes copied are the file's: %d\n", memcmp(edge - 100, want, 100) == 0);
    report("position after it", lseek(fd, 0, SEEK_CUR));
    report("read starting in the read-only page", read(fd, edge, 10));
    report("position unchanged", lseek(fd, 0, SEEK_CUR));
    report("pread across the edge", pread(fd, edge - 7, 64, 3));
    report("pread starting in the read-only page", pread(fd, edge, 64, 3));
    report("read of 0 bytes into the read-only page", read(fd, edge, 0));
    report("pread at EOF", pread(fd, edge - 100, 50, 1 << 30));
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    if (mprotect(map + page, page, PROT_READ) != 0)
        return 1;
    char *edge = map + page;

    char data[8192];
    for (int i = 0; i < (int)sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    int fd = open("/tmp/read_short_efault", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data)
        return 1;
    lseek(fd, 0, SEEK_SET);
    check("tmpfs", fd, edge, data);
    /* a hole (pages never written) reads as zeros, up to the end of the file */
    char hole[6000];
    memset(hole, 'x', sizeof hole);
    if (ftruncate(fd, 3 * 4096 + 100) != 0)
        return 1;
    report("pread over the hole to EOF", pread(fd, hole, sizeof hole, 8192 - 10));
    int zeros = 1;
    for (int i = 10; i < 10 + 4096 + 100; i++)
        zeros &= hole[i] == 0;
    printf("the file's last bytes, then zeros: %d %d\n", memcmp(hole, data + 8182, 10) == 0, zeros);
    lseek(fd, 8192, SEEK_SET);
    report("read of the hole", read(fd, hole, 4096));
    printf("pread's bytes are at offset 3: %d\n", memcmp(edge - 7, data + 3, 7) == 0);
    close(fd);
    unlink("/tmp/read_short_efault");

    fd = open("/bin/busybox", O_RDONLY);
    if (fd < 0)
        return 1;
    check("/bin/busybox", fd, edge, NULL);
    close(fd);
    return 0;
}
