/* openat2: struct open_how's size rules (EINVAL below 24 bytes, E2BIG past a page or for
 * non-zero unknown fields), its strict flag and mode checks, and the RESOLVE_* restrictions:
 * BENEATH (EXDEV for "..", absolute paths and symlinks out of the directory, magic links),
 * IN_ROOT (the directory is "/" for the walk), NO_SYMLINKS and NO_MAGICLINKS (ELOOP),
 * NO_XDEV (EXDEV at mount crossings), CACHED (EAGAIN for what would need to create). */
#include "contract.h"

struct how {
    uint64_t flags, mode, resolve;
};

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static int dfd;

static long o2(int dir, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct how h = {flags, mode, resolve};
    return RAW(SYS_openat2, dir, path, &h, sizeof h);
}

/* "label: ok (what)" or the errno; closes what it opened */
static void try(const char *label, int dir, const char *path, uint64_t flags, uint64_t resolve)
{
    long fd = o2(dir, path, flags, 0, resolve);
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    char buf[32] = {0};
    struct stat st;
    fstat(fd, &st);
    if (S_ISREG(st.st_mode) && !(flags & O_PATH))
        read(fd, buf, sizeof buf - 1);
    printf("%s: ok %s%s\n", label, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file " : "other",
           buf);
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("openat2");
    mkdir("root", 0755);
    mkdir("root/a", 0755);
    mkdir("root/a/b", 0755);
    mkdir("root/etc", 0755);
    put_file("root/a/b/file", "inside", 6, 0644);
    put_file("root/x", "root-x", 6, 0644);
    put_file("root/etc/passwd", "fake-passwd", 11, 0644);
    put_file("outside", "outside", 7, 0644);
    symlink("a/b/file", "root/rel");
    symlink("/etc/passwd", "root/abs");
    symlink("../outside", "root/up");
    symlink("../x", "root/a/upx");
    symlink("/tmp/openat2/root/a/b/file", "root/absin");
    symlink("/proc/self/cwd", "root/magic");
    dfd = open("root", O_RDONLY | O_DIRECTORY);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", dfd);

    /* sizes and fields */
    struct how h = {O_RDONLY, 0, 0};
    char big[4200] = {0};
    memcpy(big, &h, sizeof h);
    CHECK("size 0", RAW(SYS_openat2, dfd, "x", &h, 0));
    CHECK("size 23", RAW(SYS_openat2, dfd, "x", &h, 23));
    long fd = CHECK("size 24", RAW(SYS_openat2, dfd, "x", &h, 24));
    close(fd);
    fd = CHECK("size 32, zero tail", RAW(SYS_openat2, dfd, "x", big, 32));
    close(fd);
    big[40] = 1;
    CHECK("size 48, non-zero tail", RAW(SYS_openat2, dfd, "x", big, 48));
    CHECK("size 4096, non-zero tail", RAW(SYS_openat2, dfd, "x", big, 4096));
    big[40] = 0;
    fd = CHECK("size 4096, zero tail", RAW(SYS_openat2, dfd, "x", big, 4096));
    close(fd);
    CHECK("size 4097", RAW(SYS_openat2, dfd, "x", big, 4097));
    CHECK("bad how pointer", RAW(SYS_openat2, dfd, "x", BAD_PTR, 24));
    CHECK("bad path pointer", o2(dfd, BAD_PTR, O_RDONLY, 0, 0));
    CHECK("unknown flag 1<<40", o2(dfd, "x", 1ULL << 40, 0, 0));
    CHECK("unknown flag 0x4000000", o2(dfd, "x", 0x4000000, 0, 0));
    CHECK("unknown flag, bad path", o2(dfd, BAD_PTR, 1ULL << 40, 0, 0));
    fd = CHECK("O_CLOEXEC", o2(dfd, "x", O_RDONLY | O_CLOEXEC, 0, 0));
    printf("FD_CLOEXEC: %s\n", fcntl(fd, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    close(fd);
    CHECK("unknown resolve flag", o2(dfd, "x", O_RDONLY, 0, 0x40));
    CHECK("BENEATH|IN_ROOT", o2(dfd, "x", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    CHECK("mode without O_CREAT", o2(dfd, "x", O_RDONLY, 0644, 0));
    CHECK("mode 010000 with O_CREAT", o2(dfd, "new", O_RDWR | O_CREAT, 010000, 0));
    fd = CHECK("O_CREAT mode 0600", o2(dfd, "new", O_RDWR | O_CREAT, 0600, 0));
    close(fd);
    CHECK("O_PATH|O_RDWR", o2(dfd, "x", O_PATH | O_RDWR, 0, 0));
    fd = CHECK("O_PATH|O_NOFOLLOW|O_DIRECTORY", o2(dfd, "a", O_PATH | O_NOFOLLOW | O_DIRECTORY, 0, 0));
    close(fd);
    CHECK("O_DIRECTORY|O_CREAT", o2(dfd, "newd", O_DIRECTORY | O_CREAT | O_RDWR, 0600, 0));
    CHECK("O_TMPFILE read-only", o2(dfd, ".", O_TMPFILE, 0600, 0));
    CHECK("CACHED|O_CREAT", o2(dfd, "x", O_RDWR | O_CREAT, 0600, RESOLVE_CACHED));
    CHECK("CACHED|O_TRUNC", o2(dfd, "x", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED));
    CHECK("CACHED|O_TMPFILE", o2(dfd, ".", O_RDWR | O_TMPFILE, 0600, RESOLVE_CACHED));
    try("CACHED existing file", dfd, "a/b/file", O_RDONLY, RESOLVE_CACHED);
    /* (through a symlink: EAGAIN while its atime must move, which natively depends on the
     * clock tick it was made in: not compared) */
    try("CACHED /proc/self/status", dfd, "/proc/self/status", O_RDONLY, RESOLVE_CACHED);
    try("CACHED the magic link", dfd, fdpath, O_RDONLY, RESOLVE_CACHED);

    /* RESOLVE_BENEATH */
    try("BENEATH a/b/file", dfd, "a/b/file", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH a/../a/b/file", dfd, "a/../a/b/file", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH ..", dfd, "..", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH ../outside", dfd, "../outside", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH a/../../outside", dfd, "a/../../outside", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH /etc/passwd", dfd, "/etc/passwd", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH /etc/passwd, bad dirfd", 99, "/etc/passwd", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH rel", dfd, "rel", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH abs", dfd, "abs", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH abs O_NOFOLLOW|O_PATH", dfd, "abs", O_PATH | O_NOFOLLOW, RESOLVE_BENEATH);
    try("BENEATH up", dfd, "up", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH a/upx", dfd, "a/upx", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH magic", dfd, "magic", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH of AT_FDCWD", AT_FDCWD, "root/a/b/file", O_RDONLY, RESOLVE_BENEATH);
    try("BENEATH O_CREAT new", dfd, "a/made", O_RDWR | O_CREAT, RESOLVE_BENEATH);
    try("BENEATH O_CREAT ../made", dfd, "../made", O_RDWR | O_CREAT, RESOLVE_BENEATH);

    /* RESOLVE_IN_ROOT */
    try("IN_ROOT /a/b/file", dfd, "/a/b/file", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT ../../x", dfd, "../../x", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT abs (its /etc/passwd)", dfd, "abs", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT up (../outside is root's)", dfd, "up", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT a/upx", dfd, "a/upx", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT absin", dfd, "absin", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT magic", dfd, "magic", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT /", dfd, "/", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT bad dirfd", 99, "/x", O_RDONLY, RESOLVE_IN_ROOT);
    try("IN_ROOT O_CREAT /made2", dfd, "/made2", O_RDWR | O_CREAT, RESOLVE_IN_ROOT);
    try("it is inside", dfd, "made2", O_RDONLY, 0);

    /* RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS */
    try("NO_SYMLINKS a/b/file", dfd, "a/b/file", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS rel", dfd, "rel", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS rel O_NOFOLLOW", dfd, "rel", O_RDONLY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS rel O_NOFOLLOW|O_PATH", dfd, "rel", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS magic", dfd, "magic", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS /proc/self/status", dfd, "/proc/self/status", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS O_CREAT through rel", dfd, "rel", O_RDWR | O_CREAT, RESOLVE_NO_SYMLINKS);
    try("NO_MAGICLINKS rel", dfd, "rel", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("NO_MAGICLINKS /proc/self/status", dfd, "/proc/self/status", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("NO_MAGICLINKS /proc/self/fd/N", dfd, fdpath, O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("NO_MAGICLINKS /proc/self/fd/N O_PATH|O_NOFOLLOW", dfd, fdpath, O_PATH | O_NOFOLLOW,
        RESOLVE_NO_MAGICLINKS);
    try("NO_MAGICLINKS magic", dfd, "magic", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("NO_MAGICLINKS /proc/self/cwd/x", dfd, "/proc/self/cwd/root/x", O_RDONLY,
        RESOLVE_NO_MAGICLINKS);
    try("/proc/self/cwd/root/x", dfd, "/proc/self/cwd/root/x", O_RDONLY, 0);

    /* RESOLVE_NO_XDEV */
    try("NO_XDEV a/b/file", dfd, "a/b/file", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV absin (no root taken yet)", dfd, "absin", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV absin from an absolute path", dfd, "/tmp/openat2/root/absin", O_RDONLY,
        RESOLVE_NO_XDEV);
    try("NO_XDEV /proc/self/status", dfd, "/proc/self/status", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV /proc", dfd, "/proc", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV /dev/null", dfd, "/dev/null", O_RDONLY, RESOLVE_NO_XDEV);
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    try("NO_XDEV .. out of /proc", procfd, "..", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV self/status in /proc", procfd, "self/status", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV the magic link to root", dfd, fdpath, O_RDONLY, RESOLVE_NO_XDEV);
    return 0;
}
