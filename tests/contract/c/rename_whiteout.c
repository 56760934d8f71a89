/* renameat2(RENAME_WHITEOUT) on tmpfs: the old name becomes a whiteout, a character device
 * 0/0 with mode 0, for files and directories, with RENAME_NOREPLACE, for another user too;
 * RENAME_WHITEOUT|RENAME_EXCHANGE and unknown flags are EINVAL. Natively in a fresh tmpfs
 * (twaron's /tmp is one). */
#include "contract.h"
#include <sys/mount.h>
#include <sys/sysmacros.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif

static long ren(const char *a, const char *b, unsigned flags)
{
    return RAW(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void show(const char *label, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    const char *t = S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir"
                  : S_ISCHR(st.st_mode) ? "chr" : "other";
    printf("%s: %s mode %04o", label, t, st.st_mode & 07777);
    if (S_ISCHR(st.st_mode))
        printf(" rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
    printf(" uid %u nlink %ld\n", st.st_uid, (long)st.st_nlink);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("rename_whiteout");
    mkdir("t", 0755);
    mount("tmpfs", "t", "tmpfs", 0, "mode=0777");
    chdir("t");
    chmod(".", 0777);
    put_file("a", "A", 1, 0644);
    CHECK("whiteout a -> b", ren("a", "b", RENAME_WHITEOUT));
    show("a", "a");
    show("b", "b");
    CHECK("open the whiteout", open("a", O_RDONLY));
    put_file("c", "C", 1, 0644);
    CHECK("whiteout onto an existing name", ren("c", "b", RENAME_WHITEOUT));
    show("c", "c");
    show("b", "b");
    put_file("d", "D", 1, 0644);
    CHECK("whiteout|noreplace onto an existing name", ren("d", "b", RENAME_WHITEOUT | RENAME_NOREPLACE));
    CHECK("whiteout|noreplace", ren("d", "e", RENAME_WHITEOUT | RENAME_NOREPLACE));
    show("d", "d");
    CHECK("whiteout|exchange", ren("e", "b", RENAME_WHITEOUT | RENAME_EXCHANGE));
    CHECK("flags 8", ren("e", "f", 8));
    CHECK("whiteout of a missing name", ren("nope", "f", RENAME_WHITEOUT));
    mkdir("dir", 0755);
    struct stat st;
    stat(".", &st);
    long before = st.st_nlink;
    CHECK("whiteout of a directory", ren("dir", "dir2", RENAME_WHITEOUT));
    show("dir", "dir");
    show("dir2", "dir2");
    stat(".", &st);
    printf("parent nlink change: %ld\n", (long)st.st_nlink - before);
    mkdir("sub", 0755);
    put_file("g", "G", 1, 0644);
    CHECK("whiteout into another directory", ren("g", "sub/g", RENAME_WHITEOUT));
    show("g", "g");
    CHECK("whiteout onto a whiteout", ren("sub/g", "g", RENAME_WHITEOUT));
    show("g", "g");
    show("sub/g", "sub/g");
    CHECK("unlink a whiteout", unlink("sub/g"));
    pid_t pid = FORK();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        put_file("u", "U", 1, 0644);
        CHECK("user: whiteout", ren("u", "v", RENAME_WHITEOUT));
        show("user: u", "u");
        _exit(0);
    }
    reap("user", pid);
    return 0;
}
