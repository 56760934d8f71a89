/* getcwd/chdir/fchdir. */
#include "contract.h"

int main(void)
{
    char buf[256];
    CHECK("getcwd len", RAW(SYS_getcwd, buf, sizeof buf));
    printf("cwd: %s\n", buf);
    mkdir("/tmp", 01777);
    mkdir("/tmp/cwd", 0755);
    mkdir("/tmp/cwd/a", 0755);
    mkdir("/tmp/cwd/a/b", 0755);
    put_file("/tmp/cwd/file", "x", 1, 0644);
    CHECK("chdir abs", chdir("/tmp/cwd/a/b"));
    CHECK("getcwd len", RAW(SYS_getcwd, buf, sizeof buf));
    printf("cwd: %s\n", buf);
    CHECK("chdir ..", chdir(".."));
    printf("cwd: %s\n", getcwd(buf, sizeof buf));
    CHECK("chdir rel", chdir("b/../b/./"));
    printf("cwd: %s\n", getcwd(buf, sizeof buf));
    int fd = open("/tmp/cwd", O_RDONLY | O_DIRECTORY);
    CHECK("fchdir", fchdir(fd));
    printf("cwd: %s\n", getcwd(buf, sizeof buf));
    CHECK("chdir /..", chdir("/.."));
    printf("cwd: %s\n", getcwd(buf, sizeof buf));
    chdir("/tmp/cwd");
    CHECK("chdir to file", RAW(SYS_chdir, "file"));
    CHECK("chdir missing", RAW(SYS_chdir, "missing"));
    CHECK("chdir empty", RAW(SYS_chdir, ""));
    int ffd = open("file", O_RDONLY);
    CHECK("fchdir file", RAW(SYS_fchdir, ffd));
    CHECK("fchdir bad fd", RAW(SYS_fchdir, 99));
    CHECK("getcwd small buf", RAW(SYS_getcwd, buf, 4));
    CHECK("getcwd exact fit", RAW(SYS_getcwd, buf, 9));
    CHECK("getcwd size 0", RAW(SYS_getcwd, buf, 0));
    CHECK("rmdir cwd's parent's child", rmdir("/tmp/cwd/a/b"));
    chdir("/tmp/cwd/a");
    printf("cwd: %s\n", getcwd(buf, sizeof buf));
    return 0;
}
