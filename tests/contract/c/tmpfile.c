/* O_TMPFILE: an unnamed regular file in a directory (nlink 0, "#INO (deleted)" in
 * /proc/self/fd), given a name by linkat (AT_EMPTY_PATH as root, or /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW), except with O_EXCL (ENOENT); the flag checks (O_DIRECTORY and write
 * access needed, O_CREAT refused) and the directory's (ENOTDIR, ENOENT, EACCES, EOPNOTSUPP on
 * procfs). Natively in a fresh tmpfs (twaron's /tmp is one). */
#include "contract.h"
#include <sys/mount.h>

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

static void show(const char *label, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        printf("%s: fstat -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: nlink %ld mode %o size %lld\n", label, (long)st.st_nlink, st.st_mode,
           (long long)st.st_size);
}

static void fdname(const char *label, int fd)
{
    char p[64], buf[256], want[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int n = readlink(p, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s: readlink -1 %s\n", label, errname(errno));
        return;
    }
    buf[n] = 0;
    struct stat st;
    fstat(fd, &st);
    snprintf(want, sizeof want, "/#%llu (deleted)", (unsigned long long)st.st_ino);
    char *slash = strrchr(buf, '/');
    int deleted = n > 10 && strcmp(buf + n - 10, " (deleted)") == 0;
    printf("%s: in the directory %s, \"#ino (deleted)\" %s, deleted %s\n", label,
           strncmp(buf, "/tmp/tmpfile/t/", 15) == 0 ? "yes" : "no",
           slash && strcmp(slash, want) == 0 ? "yes" : "no", deleted ? "yes" : "no");
}

static void content(const char *label, const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY);
    int n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: \"%.*s\"\n", label, n, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    enter_workdir("tmpfile");
    mkdir("t", 0755);
    mount("tmpfs", "t", "tmpfs", 0, "mode=0755");
    chdir("t");
    put_file("file", "f", 1, 0644);
    mkdir("ro", 0555);

    int fd = CHECK("O_TMPFILE|O_RDWR", open(".", O_TMPFILE | O_RDWR, 0640));
    show("tmpfile", fd);
    fdname("tmpfile", fd);
    printf("F_GETFL has O_TMPFILE: %s, O_RDWR: %s\n",
           (fcntl(fd, F_GETFL) & O_TMPFILE) == O_TMPFILE ? "yes" : "no",
           (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? "yes" : "no");
    write(fd, "tmpdata", 7);
    CHECK("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
    show("after the link", fd);
    fdname("after the link", fd);
    content("named", "named");
    CHECK("linkat again (it has a name now)", linkat(fd, "", AT_FDCWD, "named2", AT_EMPTY_PATH));
    show("two names", fd);
    CHECK("linkat onto an existing name", linkat(fd, "", AT_FDCWD, "file", AT_EMPTY_PATH));
    close(fd);

    fd = CHECK("O_TMPFILE|O_WRONLY mode 04755", open(".", O_TMPFILE | O_WRONLY, 04755));
    show("tmpfile", fd);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    CHECK("linkat /proc/self/fd/N without AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, p, AT_FDCWD, "viaproc", 0));
    CHECK("linkat /proc/self/fd/N AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, p, AT_FDCWD, "viaproc", AT_SYMLINK_FOLLOW));
    show("after", fd);
    close(fd);

    fd = CHECK("O_TMPFILE|O_EXCL", open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600));
    CHECK("linkat of an O_EXCL tmpfile", linkat(fd, "", AT_FDCWD, "excl", AT_EMPTY_PATH));
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    CHECK("linkat of it through /proc", linkat(AT_FDCWD, p, AT_FDCWD, "excl", AT_SYMLINK_FOLLOW));
    close(fd);

    /* a file that was unlinked is not linkable either */
    fd = open("gone", O_RDWR | O_CREAT, 0644);
    unlink("gone");
    CHECK("linkat of an unlinked file", linkat(fd, "", AT_FDCWD, "back", AT_EMPTY_PATH));
    close(fd);

    CHECK("O_TMPFILE|O_RDONLY", open(".", O_TMPFILE | O_RDONLY, 0600));
    CHECK("O_TMPFILE|O_RDONLY|O_TRUNC", open(".", O_TMPFILE | O_RDONLY | O_TRUNC, 0600));
    CHECK("__O_TMPFILE without O_DIRECTORY", open(".", __O_TMPFILE | O_RDWR, 0600));
    CHECK("O_TMPFILE|O_CREAT", open(".", O_TMPFILE | O_CREAT | O_RDWR, 0600));
    CHECK("O_DIRECTORY|O_CREAT", open("newdir", O_DIRECTORY | O_CREAT | O_RDWR, 0600));
    CHECK("O_TMPFILE on a file", open("file", O_TMPFILE | O_RDWR, 0600));
    CHECK("O_TMPFILE on a missing directory", open("nope", O_TMPFILE | O_RDWR, 0600));
    CHECK("O_TMPFILE on procfs", open("/proc", O_TMPFILE | O_RDWR, 0600));
    fd = CHECK("O_TMPFILE|O_PATH (the directory, O_PATH)", open(".", O_TMPFILE | O_PATH | O_RDWR, 0600));
    if (fd >= 0) {
        struct stat st;
        fstat(fd, &st);
        printf("it is the directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
        close(fd);
    }
    fd = CHECK("O_TMPFILE in a read-only directory (root)", open("ro", O_TMPFILE | O_RDWR, 0600));
    close(fd);
    CHECK("openat O_TMPFILE relative to a dirfd", openat(open(".", O_RDONLY), ".", O_TMPFILE | O_RDWR, 0600) >= 0);

    pid_t pid = FORK();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        CHECK("user: O_TMPFILE in a read-only directory", open("ro", O_TMPFILE | O_RDWR, 0600));
        CHECK("user: O_TMPFILE in a root directory", open(".", O_TMPFILE | O_RDWR, 0600));
        fd = CHECK("user: O_TMPFILE in /tmp", open("/tmp", O_TMPFILE | O_RDWR, 0600) >= 0);
        _exit(0);
    }
    reap("user", pid);
    CHECK("unlink named", unlink("named"));
    content("named2 still there", "named2");
    return 0;
}
