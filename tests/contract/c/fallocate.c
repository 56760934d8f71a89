/* fallocate on tmpfs (mode 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE with KEEP_SIZE; the
 * other modes are what Linux's tmpfs answers) with st_blocks counting the pages a file
 * really has: a sparse file has fewer blocks than its size, a hole gives pages back; the
 * argument checks in vfs_fallocate's order; RLIMIT_FSIZE. Natively the work directory is a
 * fresh tmpfs (inside twaron /tmp is one; mount is EPERM there). */
#include "contract.h"
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#define FALLOC_FL_PUNCH_HOLE 2
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_NO_HIDE_STALE 4
#define FALLOC_FL_COLLAPSE_RANGE 8
#define FALLOC_FL_ZERO_RANGE 0x10
#define FALLOC_FL_INSERT_RANGE 0x20
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif

static long fa(int fd, int mode, long off, long len)
{
    return RAW(SYS_fallocate, fd, mode, off, len);
}

static void show(const char *label, int fd)
{
    struct stat st;
    fstat(fd, &st);
    printf("%s: size %lld blocks %lld\n", label, (long long)st.st_size, (long long)st.st_blocks);
}

static void show_path(const char *label, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: size %lld blocks %lld\n", label, (long long)st.st_size, (long long)st.st_blocks);
}

static void bytes_at(const char *label, int fd, long off, int n)
{
    char buf[64];
    int r = pread(fd, buf, n, off);
    printf("%s:", label);
    for (int i = 0; i < r; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");
}

int main(void)
{
    enter_workdir("fallocate");
    mkdir("t", 0755);
    mount("tmpfs", "t", "tmpfs", 0, "mode=0755");
    chdir("t");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    show("empty", fd);
    write(fd, "x", 1);
    show("one byte", fd);
    ftruncate(fd, 1 << 20);
    show("truncated up to 1 MiB (sparse)", fd);
    char c;
    pread(fd, &c, 1, 500000);
    show("after reading a hole", fd);
    pwrite(fd, "y", 1, 12288);
    show("one byte in page 3", fd);
    ftruncate(fd, 0);
    show("truncated to 0", fd);

    CHECK("mode 0, 0+16384", fa(fd, 0, 0, 16384));
    show("allocated", fd);
    CHECK("mode 0, 100+1 (inside)", fa(fd, 0, 100, 1));
    show("unchanged", fd);
    CHECK("mode 0, 20000+1", fa(fd, 0, 20000, 1));
    show("grown to 20001", fd);
    CHECK("KEEP_SIZE 65536+8192", fa(fd, FALLOC_FL_KEEP_SIZE, 65536, 8192));
    show("blocks past EOF, size kept", fd);
    char pattern[16384];
    memset(pattern, 'a', sizeof pattern);
    pwrite(fd, pattern, sizeof pattern, 0);
    CHECK("PUNCH_HOLE without KEEP_SIZE", fa(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
    CHECK("PUNCH_HOLE 100+8000", fa(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 8000));
    show("after punching 100..8099 (no whole page)", fd);
    bytes_at("around 100", fd, 98, 4);
    bytes_at("around 4096", fd, 4094, 4);
    bytes_at("around 8100", fd, 8098, 4);
    char *m = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mapped: %02x %02x %02x\n", m[99], m[5000], m[8100]);
    CHECK("PUNCH_HOLE the mapped page 2", fa(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                             8192, 4096));
    printf("mapped after the hole: %02x\n", m[8200]);
    show("after the second hole (the read refaulted it)", fd);
    CHECK("PUNCH_HOLE past EOF", fa(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 60000, 20000));
    show("the pages past EOF went", fd);
    CHECK("PUNCH_HOLE|ZERO_RANGE", fa(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | 1, 0, 1));
    CHECK("ZERO_RANGE", fa(fd, FALLOC_FL_ZERO_RANGE, 0, 4096));
    CHECK("ZERO_RANGE|KEEP_SIZE", fa(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    CHECK("COLLAPSE_RANGE", fa(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
    CHECK("COLLAPSE_RANGE|KEEP_SIZE", fa(fd, FALLOC_FL_COLLAPSE_RANGE | 1, 0, 4096));
    CHECK("INSERT_RANGE", fa(fd, FALLOC_FL_INSERT_RANGE, 0, 4096));
    CHECK("INSERT_RANGE|KEEP_SIZE", fa(fd, FALLOC_FL_INSERT_RANGE | 1, 0, 4096));
    CHECK("UNSHARE_RANGE", fa(fd, FALLOC_FL_UNSHARE_RANGE, 0, 4096));
    CHECK("UNSHARE_RANGE|PUNCH_HOLE", fa(fd, FALLOC_FL_UNSHARE_RANGE | 3, 0, 4096));
    CHECK("NO_HIDE_STALE", fa(fd, FALLOC_FL_NO_HIDE_STALE, 0, 4096));
    CHECK("mode 0x100", fa(fd, 0x100, 0, 4096));
    CHECK("mode -1", fa(fd, -1, 0, 4096));
    CHECK("offset -1", fa(fd, 0, -1, 4096));
    CHECK("len 0", fa(fd, 0, 0, 0));
    CHECK("len -1", fa(fd, 0, 0, -1));
    CHECK("len 0, mode 0x100", fa(fd, 0x100, 0, 0));
    CHECK("offset + len too big", fa(fd, 0, 0x7fffffffffffff00L, 0x1000));
    CHECK("offset + len wraps", fa(fd, 0, 0x7fffffffffffff00L, 0x7fffffffffffff00L));
    CHECK("bad fd", fa(99, 0, 0, 1));
    int ro = open("f", O_RDONLY);
    CHECK("O_RDONLY", fa(ro, 0, 0, 1));
    CHECK("O_RDONLY, bad mode", fa(ro, 0x100, 0, 1));
    int ap = open("f", O_WRONLY | O_APPEND);
    CHECK("O_APPEND", fa(ap, 0, 0, 1));
    int p[2];
    pipe(p);
    CHECK("pipe", fa(p[1], 0, 0, 1));
    CHECK("pipe read end", fa(p[0], 0, 0, 1));
    int null = open("/dev/null", O_WRONLY);
    CHECK("/dev/null", fa(null, 0, 0, 1));
    int d = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("directory", fa(d, 0, 0, 1));
    int op = open("f", O_PATH);
    CHECK("O_PATH", fa(op, 0, 0, 1));
    int pf = open("/proc/sys/kernel/hostname", O_WRONLY);
    CHECK("procfs file", fa(pf, 0, 0, 1));

    struct rlimit rl = {30000, 30000};
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &rl);
    CHECK("past RLIMIT_FSIZE", fa(fd, 0, 25000, 10000));
    CHECK("past RLIMIT_FSIZE, KEEP_SIZE", fa(fd, FALLOC_FL_KEEP_SIZE, 25000, 10000));
    CHECK("below RLIMIT_FSIZE", fa(fd, 0, 25000, 1000));
    CHECK("PUNCH_HOLE past RLIMIT_FSIZE", fa(fd, 3, 25000, 100000));
    show("after the limits", fd);

    mkdir("dir", 0755);
    show_path("directory", "dir");
    symlink("short", "ls");
    char longname[300];
    memset(longname, 'l', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    symlink(longname, "ll");
    show_path("short symlink", "ls");
    mkfifo("fifo", 0644);
    show_path("fifo", "fifo");
    return 0;
}
