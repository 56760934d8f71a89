/* The memory devices' writes and the caller's buffer: /dev/null and /dev/zero never read it
 * (write_null), so a buffer that is not mapped is written whole; /dev/full fails ENOSPC
 * before reading it; a pointer in the kernel's half is EFAULT for all (access_ok), and
 * /dev/urandom reads what it mixes in (EFAULT for a buffer that is not mapped). The same for
 * write, pwrite64, writev, pwritev and pwritev2. */
#include "contract.h"
#include <sys/uio.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void device(const char *dev)
{
    int fd = open(dev, O_WRONLY);
    char line[64];
    struct iovec bad[2] = {{BAD_PTR, 5}, {(void *)16, 7}};
    struct iovec kernel[1] = {{KERNEL_PTR, 4}};
    printf("%s\n", dev);
    show("  write unmapped", write(fd, BAD_PTR, 10));
    show("  write kernel half", write(fd, KERNEL_PTR, 10));
    show("  write NULL, 0", write(fd, NULL, 0));
    show("  pwrite unmapped", pwrite(fd, BAD_PTR, 10, 5));
    show("  writev unmapped", writev(fd, bad, 2));
    show("  writev kernel half", writev(fd, kernel, 1));
    show("  pwritev unmapped", pwritev(fd, bad, 2, 3));
    show("  pwritev2 unmapped", syscall(SYS_pwritev2, fd, bad, 2, -1L, -1L, 0));
    show("  write 1 MiB unmapped", write(fd, BAD_PTR, 1 << 20));
    snprintf(line, sizeof line, "ok\n");
    show("  write mapped", write(fd, line, strlen(line)));
    close(fd);
}

int main(void)
{
    device("/dev/null");
    device("/dev/zero");
    device("/dev/full");
    device("/dev/urandom");
    return 0;
}
