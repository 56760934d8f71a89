/* fstat/newfstatat: type, permission bits, size, nlink; AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. */
#include "contract.h"
#include <sys/sysmacros.h>

static void show(const char *label, long r, struct stat *st)
{
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    const char *t = S_ISREG(st->st_mode) ? "reg" : S_ISDIR(st->st_mode) ? "dir"
                  : S_ISLNK(st->st_mode) ? "lnk" : S_ISCHR(st->st_mode) ? "chr"
                  : S_ISFIFO(st->st_mode) ? "fifo" : "other";
    printf("%s: type=%s perm=%04o", label, t, st->st_mode & 07777);
    if (!S_ISDIR(st->st_mode))
        printf(" size=%ld", (long)st->st_size);
    printf(" nlink=%ld\n", (long)st->st_nlink);
}

int main(void)
{
    struct stat st;
    umask(022);
    enter_workdir("stat_fields");
    put_file("ten", "0123456789", 10, 0640);
    put_file("wide", "x", 1, 0777);
    int fd = open("ten", O_RDONLY);
    show("fstat ten", RAW(SYS_fstat, fd, &st), &st);
    show("AT_EMPTY_PATH", RAW(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), &st);
    show("empty path without flag", RAW(SYS_newfstatat, fd, "", &st, 0), &st);
    close(fd);
    show("wide (umask 022)", RAW(SYS_newfstatat, AT_FDCWD, "wide", &st, 0), &st);
    CHECK("link", link("ten", "ten2"));
    show("after link", RAW(SYS_newfstatat, AT_FDCWD, "ten", &st, 0), &st);
    CHECK("unlink", unlink("ten2"));
    show("after unlink", RAW(SYS_newfstatat, AT_FDCWD, "ten", &st, 0), &st);
    CHECK("mkdir", mkdir("d", 0750));
    show("dir", RAW(SYS_newfstatat, AT_FDCWD, "d", &st, 0), &st);
    CHECK("mkdir sub", mkdir("d/sub", 0777));
    show("dir with subdir", RAW(SYS_newfstatat, AT_FDCWD, "d", &st, 0), &st);
    show("sub", RAW(SYS_newfstatat, AT_FDCWD, "d/sub", &st, 0), &st);
    CHECK("symlink", symlink("ten", "ln"));
    show("stat symlink", RAW(SYS_newfstatat, AT_FDCWD, "ln", &st, 0), &st);
    show("lstat symlink", RAW(SYS_newfstatat, AT_FDCWD, "ln", &st, AT_SYMLINK_NOFOLLOW), &st);
    CHECK("symlink dangling", symlink("missing", "dangling"));
    show("stat dangling", RAW(SYS_newfstatat, AT_FDCWD, "dangling", &st, 0), &st);
    show("missing", RAW(SYS_newfstatat, AT_FDCWD, "missing", &st, 0), &st);
    show("bad flags", RAW(SYS_newfstatat, AT_FDCWD, "ten", &st, 0x40000000), &st);
    CHECK("chmod", chmod("ten", 04711));
    show("after chmod", RAW(SYS_newfstatat, AT_FDCWD, "ten", &st, 0), &st);
    int r = RAW(SYS_newfstatat, AT_FDCWD, "/bin/busybox", &st, 0);
    BOOL("busybox regular", r == 0 && S_ISREG(st.st_mode));
    BOOL("busybox executable", r == 0 && (st.st_mode & 0111) == 0111);
    BOOL("busybox large", r == 0 && st.st_size > 100000);
    r = RAW(SYS_newfstatat, AT_FDCWD, "/bin/sh", &st, AT_SYMLINK_NOFOLLOW);
    BOOL("/bin/sh exists", r == 0);
    r = RAW(SYS_newfstatat, AT_FDCWD, "/dev/null", &st, 0);
    BOOL("/dev/null chr 1:3", r == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    return 0;
}
