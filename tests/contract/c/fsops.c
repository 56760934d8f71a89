/* unlink/rename/mkdir/rmdir/link/symlink/readlink/access: results and errors. */
#include "contract.h"

static int exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

int main(void)
{
    enter_workdir("fsops");
    put_file("a", "A", 1, 0644);
    put_file("b", "BB", 2, 0644);
    CHECK("mkdir d", mkdir("d", 0755));
    CHECK("mkdir existing", RAW(SYS_mkdir, "d", 0755));
    CHECK("mkdir over file", RAW(SYS_mkdir, "a", 0755));
    CHECK("mkdir missing parent", RAW(SYS_mkdir, "x/y", 0755));
    CHECK("rename a -> c", rename("a", "c"));
    printf("a exists: %d, c exists: %d\n", exists("a"), exists("c"));
    CHECK("rename c over b", rename("c", "b"));
    struct stat st;
    stat("b", &st);
    printf("b size now: %ld\n", (long)st.st_size);
    CHECK("rename missing", RAW(SYS_rename, "nope", "x"));
    CHECK("rename file over dir", RAW(SYS_rename, "b", "d"));
    CHECK("rename dir into itself", RAW(SYS_rename, "d", "d/sub"));
    put_file("d/inner", "i", 1, 0644);
    CHECK("rmdir non-empty", RAW(SYS_rmdir, "d"));
    CHECK("unlink dir", RAW(SYS_unlink, "d"));
    CHECK("rmdir file", RAW(SYS_rmdir, "b"));
    CHECK("rmdir .", RAW(SYS_rmdir, "."));
    CHECK("unlink inner", unlink("d/inner"));
    CHECK("rmdir empty", rmdir("d"));
    CHECK("unlink missing", RAW(SYS_unlink, "d/inner"));
    CHECK("link", link("b", "b2"));
    CHECK("link existing", RAW(SYS_link, "b", "b2"));
    CHECK("link missing", RAW(SYS_link, "nope", "n2"));
    CHECK("symlink", symlink("b", "s"));
    CHECK("symlink existing", RAW(SYS_symlink, "b", "s"));
    char buf[64];
    long n = CHECK("readlink", RAW(SYS_readlink, "s", buf, sizeof buf));
    printf("target: %.*s\n", (int)(n > 0 ? n : 0), buf);
    CHECK("readlink on file", RAW(SYS_readlink, "b", buf, sizeof buf));
    CHECK("symlink loop 1", symlink("loop2", "loop1"));
    CHECK("symlink loop 2", symlink("loop1", "loop2"));
    CHECK("open loop", RAW(SYS_open, "loop1", O_RDONLY));
    CHECK("open O_NOFOLLOW symlink", RAW(SYS_open, "s", O_RDONLY | O_NOFOLLOW));
    CHECK("unlink symlink", unlink("s"));
    printf("b survives: %d\n", exists("b"));
    CHECK("access R_OK", RAW(SYS_access, "b", R_OK));
    CHECK("access X_OK on 0644 (root)", RAW(SYS_access, "b", X_OK));
    CHECK("access busybox X_OK", RAW(SYS_access, "/bin/busybox", X_OK));
    CHECK("access missing", RAW(SYS_access, "nope", F_OK));
    CHECK("access bad mode", RAW(SYS_access, "b", 0x80));
    CHECK("faccessat", RAW(SYS_faccessat, AT_FDCWD, "b", W_OK));
    CHECK("mkdirat", RAW(SYS_mkdirat, AT_FDCWD, "m", 0700));
    CHECK("unlinkat AT_REMOVEDIR", RAW(SYS_unlinkat, AT_FDCWD, "m", AT_REMOVEDIR));
    CHECK("unlinkat bad flag", RAW(SYS_unlinkat, AT_FDCWD, "b", 0x1));
    CHECK("renameat2 NOREPLACE", RAW(SYS_renameat2, AT_FDCWD, "b", AT_FDCWD, "b2", 1));
    CHECK("chmod missing", RAW(SYS_chmod, "nope", 0644));
    return 0;
}
