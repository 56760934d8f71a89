/* memfd_create: an unlinked tmpfs file (name, flags, errors), written, truncated, mapped
 * MAP_SHARED across fork, reopened through /proc/self/fd; seals through fcntl F_ADD_SEALS /
 * F_GET_SEALS and what each forbids. */
#include "contract.h"
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static void show_link(const char *label, int fd)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: %s\n", label, buf);
}

static void seals(const char *label, int fd)
{
    int s = fcntl(fd, F_GET_SEALS);
    if (s < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s:%s%s%s%s%s%s\n", label, s ? "" : " none", s & F_SEAL_SEAL ? " SEAL" : "",
               s & F_SEAL_SHRINK ? " SHRINK" : "", s & F_SEAL_GROW ? " GROW" : "",
               s & F_SEAL_WRITE ? " WRITE" : "", s & F_SEAL_FUTURE_WRITE ? " FUTURE_WRITE" : "");
}

static long fsize(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return st.st_size;
}

static int mfd(const char *name, unsigned flags) { return RAW(SYS_memfd_create, name, flags); }

static void test_create(void)
{
    int fd = mfd("test", 0);
    BOOL("create", fd >= 0);
    show_link("link", fd);
    struct stat st;
    fstat(fd, &st);
    printf("mode %o nlink %ld size %ld\n", st.st_mode, (long)st.st_nlink, (long)st.st_size);
    printf("accmode rdwr: %s\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? "yes" : "no");
    BOOL("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    fd = mfd("c", MFD_CLOEXEC);
    BOOL("MFD_CLOEXEC", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    fd = mfd("", 0);
    show_link("empty name", fd);
    close(fd);

    CHECK("bad flags", mfd("x", 0x100));
    CHECK("name NULL", mfd(NULL, 0));
    CHECK("name bad pointer", mfd(BAD_PTR, 0));
    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    fd = mfd(name, 0);
    BOOL("name of 249", fd >= 0);
    close(fd);
    name[249] = 'n';
    name[250] = 0;
    CHECK("name of 250", mfd(name, 0));
}

static void test_io_and_fork(void)
{
    int fd = mfd("shared", MFD_CLOEXEC);
    CHECK("write", write(fd, "hello", 5));
    CHECK("lseek", lseek(fd, 0, SEEK_SET));
    char buf[64] = {0};
    CHECK("read", read(fd, buf, sizeof buf - 1));
    printf("read: %s\n", buf);
    CHECK("ftruncate 8192", ftruncate(fd, 8192));
    printf("size %ld\n", fsize(fd));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    BOOL("mmap shared", m != MAP_FAILED);
    printf("map sees: %.5s\n", m);
    pid_t pid = FORK();
    if (pid == 0) {
        memcpy(m, "child", 5);
        memcpy(m + 4096, "page2", 5);
        _exit(0);
    }
    reap("child", pid);
    printf("after child: %.5s %.5s\n", m, m + 4096);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 5, 4096);
    printf("pread page 2: %s\n", buf);

    /* the same file through /proc/self/fd */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int again = open(path, O_RDWR);
    BOOL("reopen", again >= 0);
    pwrite(again, "again", 5, 0);
    printf("map sees reopen write: %.5s\n", m);
    struct stat a, b;
    fstat(fd, &a);
    fstat(again, &b);
    BOOL("same inode", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    close(again);
    munmap(m, 8192);
    close(fd);
}

static void test_seals(void)
{
    int fd = mfd("nosealing", 0);
    seals("no MFD_ALLOW_SEALING", fd);
    CHECK("add seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    close(fd);

    int p[2];
    pipe(p);
    seals("pipe", p[0]);
    CHECK("pipe add", fcntl(p[1], F_ADD_SEALS, F_SEAL_SHRINK));
    close(p[0]);
    close(p[1]);

    fd = mfd("sealed", MFD_ALLOW_SEALING);
    seals("allow sealing", fd);
    ftruncate(fd, 8192);
    CHECK("add bad seal", fcntl(fd, F_ADD_SEALS, 0x40));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int ro = open(path, O_RDONLY);
    CHECK("add via read-only fd", fcntl(ro, F_ADD_SEALS, F_SEAL_SHRINK));
    seals("read-only fd", ro);
    close(ro);

    CHECK("add SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    CHECK("shrink", ftruncate(fd, 4096));
    CHECK("grow", ftruncate(fd, 12288));
    CHECK("O_TRUNC reopen", open(path, O_RDWR | O_TRUNC));
    CHECK("add GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    CHECK("grow sealed", ftruncate(fd, 16384));
    CHECK("same size", ftruncate(fd, 12288));
    CHECK("write inside", pwrite(fd, "abc", 3, 100));
    CHECK("write across the end", pwrite(fd, "0123456789", 10, 12286));
    CHECK("write at the end", pwrite(fd, "x", 1, 12288));
    CHECK("fallocate past the end", fallocate(fd, 0, 12000, 1000));
    printf("size %ld\n", fsize(fd));
    seals("now", fd);

    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("add WRITE while mapped writable", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(m, 4096);
    m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("add WRITE with a private mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    m[0] = 'P';  /* a private copy may still be written */
    munmap(m, 4096);
    CHECK("write sealed", write(fd, "w", 1));
    CHECK("pwrite sealed", pwrite(fd, "w", 1, 0));
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap shared writable: %s\n", w == MAP_FAILED ? errname(errno) : "ok");
    w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("mmap private writable: %s\n", w == MAP_FAILED ? errname(errno) : "ok");
    char c = 0;
    CHECK("read sealed", pread(fd, &c, 1, 100));
    printf("byte: %c\n", c);
    CHECK("add SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK("add after SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    CHECK("add nothing after SEAL", fcntl(fd, F_ADD_SEALS, 0));
    seals("final", fd);
    close(fd);

    /* F_SEAL_FUTURE_WRITE: mappings made before keep writing */
    fd = mfd("future", MFD_ALLOW_SEALING);
    ftruncate(fd, 4096);
    m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("add FUTURE_WRITE while mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    memcpy(m, "old map", 7);
    char buf[8] = {0};
    pread(fd, buf, 7, 0);
    printf("old mapping wrote: %s\n", buf);
    CHECK("write after FUTURE_WRITE", write(fd, "w", 1));
    w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("new shared writable: %s\n", w == MAP_FAILED ? errname(errno) : "ok");
    CHECK("truncate still", ftruncate(fd, 8192));
    seals("future", fd);
    munmap(m, 4096);
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_create();
    test_io_and_fork();
    test_seals();
    return 0;
}
