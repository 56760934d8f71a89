/* Extended attributes on tmpfs: set/get/list/remove and their l* and f* forms; user.*,
 * trusted.* (root only) and security.* (writing needs root); XATTR_CREATE/XATTR_REPLACE
 * (EEXIST/ENODATA), ERANGE for a small buffer or a bad name length, E2BIG past 64 KiB,
 * EINVAL for an empty name after the prefix, EOPNOTSUPP for unknown namespaces and for file
 * systems without attributes (procfs, pipes), the user.* rules for symlinks, fifos and sticky
 * directories, another user's EACCES/EPERM. Natively in a fresh tmpfs (twaron's /tmp is). */
#include "contract.h"
#include <sys/mount.h>
#include <sys/xattr.h>

static char buf[70000];

static void get(const char *label, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld \"%.*s\"\n", label, r, (int)(r > 30 ? 30 : r), buf);
}

static void list(const char *label, long r)
{
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld [", label, r);
    for (long i = 0; i < r; i += strlen(buf + i) + 1)
        printf("%s%s", i ? " " : "", buf + i);
    printf("]\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("xattr");
    mkdir("t", 0755);
    mount("tmpfs", "t", "tmpfs", 0, "mode=0755");
    chdir("t");
    put_file("f", "data", 4, 0644);
    CHECK("set user.a", setxattr("f", "user.a", "hello", 5, 0));
    get("get user.a size 0", getxattr("f", "user.a", NULL, 0));
    get("get user.a", getxattr("f", "user.a", buf, sizeof buf));
    get("get user.a small buffer", getxattr("f", "user.a", buf, 3));
    CHECK("XATTR_CREATE existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE));
    CHECK("XATTR_REPLACE missing", setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
    CHECK("both flags, existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE));
    CHECK("both flags, missing", setxattr("f", "user.b", "x", 1, XATTR_CREATE | XATTR_REPLACE));
    CHECK("flags 4", setxattr("f", "user.a", "x", 1, 4));
    CHECK("XATTR_REPLACE existing", setxattr("f", "user.a", "world!", 6, XATTR_REPLACE));
    get("get after replace", getxattr("f", "user.a", buf, sizeof buf));
    CHECK("XATTR_CREATE new", setxattr("f", "user.b", "bee", 3, XATTR_CREATE));
    CHECK("empty value", setxattr("f", "user.empty", "", 0, 0));
    get("get empty value", getxattr("f", "user.empty", buf, sizeof buf));
    get("get missing", getxattr("f", "user.missing", buf, sizeof buf));
    CHECK("empty name", setxattr("f", "", "x", 1, 0));
    char name[300];
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[256] = 0;
    CHECK("name of 256", setxattr("f", name, "x", 1, 0));
    get("get name of 256", getxattr("f", name, buf, sizeof buf));
    name[255] = 0;
    CHECK("name of 255", setxattr("f", name, "x", 1, 0));
    CHECK("name \"user.\"", setxattr("f", "user.", "x", 1, 0));
    get("get name \"user.\"", getxattr("f", "user.", buf, sizeof buf));
    CHECK("name \"foo.bar\"", setxattr("f", "foo.bar", "x", 1, 0));
    get("get name \"foo.bar\"", getxattr("f", "foo.bar", buf, sizeof buf));
    CHECK("name \"user\"", setxattr("f", "user", "x", 1, 0));
    CHECK("system.posix_acl_access garbage", setxattr("f", "system.foo", "x", 1, 0));
    memset(buf, 'v', sizeof buf);
    CHECK("value of 65537", setxattr("f", "user.big", buf, 65537, 0));
    CHECK("value of 65536", setxattr("f", "user.big", buf, 65536, 0));
    get("get big", getxattr("f", "user.big", buf, sizeof buf));
    get("get big with a huge size", getxattr("f", "user.big", buf, 1 << 30));
    CHECK("remove big", removexattr("f", "user.big"));
    CHECK("remove long name", removexattr("f", name));
    CHECK("set trusted.t", setxattr("f", "trusted.t", "tt", 2, 0));
    CHECK("set security.s", setxattr("f", "security.s", "ss", 2, 0));
    CHECK("list size 0", listxattr("f", NULL, 0));
    list("list", listxattr("f", buf, sizeof buf));
    list("list small buffer", listxattr("f", buf, 5));
    CHECK("remove user.b", removexattr("f", "user.b"));
    CHECK("remove user.b again", removexattr("f", "user.b"));
    CHECK("remove foo.bar", removexattr("f", "foo.bar"));
    CHECK("remove \"\"", removexattr("f", ""));
    list("list after", listxattr("f", buf, sizeof buf));
    /* errors in order */
    CHECK("missing file", setxattr("nope", "user.a", "x", 1, 0));
    CHECK("missing file, flags 4", setxattr("nope", "user.a", "x", 1, 4));
    CHECK("missing file, bad name pointer", setxattr("nope", BAD_PTR, "x", 1, 0));
    CHECK("missing file, value too big", setxattr("nope", "user.a", buf, 70000, 0));
    CHECK("bad value pointer", setxattr("f", "user.a", BAD_PTR, 1, 0));
    CHECK("get bad value pointer", getxattr("f", "user.a", BAD_PTR, 100));
    CHECK("get missing file", getxattr("nope", "user.a", buf, 10));
    CHECK("get missing file, empty name", getxattr("nope", "", buf, 10));
    CHECK("list bad buffer", listxattr("f", BAD_PTR, 100));
    CHECK("list missing file", listxattr("nope", buf, 10));
    CHECK("remove missing file, empty name", removexattr("nope", ""));
    CHECK("bad path pointer", setxattr(BAD_PTR, "user.a", "x", 1, 0));
    /* symlinks, directories, fifos */
    symlink("f", "link");
    CHECK("lsetxattr user.* on a symlink", lsetxattr("link", "user.l", "x", 1, 0));
    get("lgetxattr user.* on a symlink", lgetxattr("link", "user.a", buf, sizeof buf));
    CHECK("lsetxattr trusted.* on a symlink", lsetxattr("link", "trusted.l", "x", 1, 0));
    list("llistxattr link", llistxattr("link", buf, sizeof buf));
    CHECK("setxattr through the symlink", setxattr("link", "user.via", "v", 1, 0));
    get("it reached the file", getxattr("f", "user.via", buf, sizeof buf));
    CHECK("lremovexattr trusted.l", lremovexattr("link", "trusted.l"));
    CHECK("lremovexattr user.x on a symlink", lremovexattr("link", "user.x"));
    mkdir("d", 0755);
    CHECK("user.* on a directory", setxattr("d", "user.d", "dd", 2, 0));
    mkfifo("fifo", 0644);
    CHECK("user.* on a fifo", setxattr("fifo", "user.x", "x", 1, 0));
    get("get user.* on a fifo", getxattr("fifo", "user.x", buf, sizeof buf));
    CHECK("trusted.* on a fifo", setxattr("fifo", "trusted.x", "x", 1, 0));
    /* fds */
    int fd = open("f", O_RDONLY);
    get("fgetxattr", fgetxattr(fd, "user.a", buf, sizeof buf));
    CHECK("fsetxattr on a read-only fd", fsetxattr(fd, "user.ro", "r", 1, 0));
    list("flistxattr", flistxattr(fd, buf, sizeof buf));
    CHECK("fremovexattr", fremovexattr(fd, "user.ro"));
    CHECK("fgetxattr bad fd", fgetxattr(99, "user.a", buf, 10));
    CHECK("fsetxattr bad fd, flags 4", fsetxattr(99, "user.a", "x", 1, 4));
    CHECK("fsetxattr bad fd, empty name", fsetxattr(99, "", "x", 1, 0));
    CHECK("flistxattr bad fd", flistxattr(99, buf, 10));
    int op = open("f", O_PATH);
    CHECK("fgetxattr O_PATH", fgetxattr(op, "user.a", buf, 10));
    int p[2];
    pipe(p);
    get("pipe: get user.x", fgetxattr(p[0], "user.x", buf, sizeof buf));
    get("pipe: get trusted.x", fgetxattr(p[0], "trusted.x", buf, sizeof buf));
    get("pipe: get security.x", fgetxattr(p[0], "security.x", buf, sizeof buf));
    CHECK("pipe: set user.x", fsetxattr(p[1], "user.x", "x", 1, 0));
    CHECK("pipe: set trusted.x", fsetxattr(p[1], "trusted.x", "x", 1, 0));
    list("pipe: list", flistxattr(p[0], buf, sizeof buf));
    get("procfs: get user.x", getxattr("/proc/self/status", "user.x", buf, sizeof buf));
    CHECK("procfs: set user.x", setxattr("/proc/self/status", "user.x", "x", 1, 0));
    list("procfs: list", listxattr("/proc/self/status", buf, sizeof buf));
    /* another user */
    chmod(".", 01777);
    put_file("mine", "m", 1, 0600);
    setxattr("mine", "user.m", "m", 1, 0);
    put_file("shared", "s", 1, 0644);
    pid_t pid = FORK();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        get("user: get trusted.t", getxattr("f", "trusted.t", buf, sizeof buf));
        CHECK("user: set trusted.u", setxattr("f", "trusted.u", "u", 1, 0));
        get("user: get security.s", getxattr("f", "security.s", buf, sizeof buf));
        CHECK("user: set security.u", setxattr("f", "security.u", "u", 1, 0));
        CHECK("user: remove security.s", removexattr("f", "security.s"));
        list("user: list (no trusted.*)", listxattr("f", buf, sizeof buf));
        get("user: get user.a (readable)", getxattr("f", "user.a", buf, sizeof buf));
        CHECK("user: set user.a (not writable)", setxattr("f", "user.a", "u", 1, 0));
        get("user: get on an unreadable file", getxattr("mine", "user.m", buf, sizeof buf));
        list("user: list an unreadable file", listxattr("mine", buf, sizeof buf));
        CHECK("user: set on the sticky directory", setxattr(".", "user.x", "x", 1, 0));
        CHECK("user: get on the sticky directory", getxattr(".", "user.x", buf, 10));
        put_file("own", "o", 1, 0644);
        CHECK("user: set on its own file", setxattr("own", "user.o", "o", 1, 0));
        mkdir("owndir", 01777);
        CHECK("user: set on its own sticky directory", setxattr("owndir", "user.o", "o", 1, 0));
        _exit(0);
    }
    reap("user", pid);
    return 0;
}
