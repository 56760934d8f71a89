/* Escape attempts from inside the guest. Prints "name: result" lines that
 * tests/hostile/test_isolation.py checks: each attempt fails with Linux's errno or stays
 * inside the guest's tree. With "rootfs" as argv[1] it instead changes every file it can
 * (the test checks the host directory given as --rootfs did not change). */
#include "contract.h"
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static void show_file(const char *label, const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        printf("%s: read -1 %s\n", label, errname(errno));
        return;
    }
    buf[n] = 0;
    printf("%s: %zd bytes\n", label, n);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        printf("%s| %s\n", label, line);
}

static void show_dir(const char *label, const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    struct dirent *e;
    printf("%s:", label);
    while ((e = readdir(d)))
        printf(" %s", e->d_name);
    printf("\n");
    closedir(d);
}

static void same_inode(const char *label, const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) || stat(b, &sb)) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    BOOL(label, sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
}

static void escape_chroot(void)
{
    /* the classic: chroot into a subdirectory while the cwd stays outside, then .. upwards */
    mkdir("/tmp/jail", 0755);
    mkdir("/tmp/jail/etc", 0755);
    put_file("/tmp/jail/etc/passwd", "jail\n", 5, 0644);
    chdir("/tmp");
    CHECK_OK("chroot /tmp/jail", chroot("/tmp/jail"));
    show_file("jail passwd", "/etc/passwd");
    for (int i = 0; i < 64; i++)
        chdir("..");
    CHECK_OK("chroot . after climbing", chroot("."));
    char cwd[256];
    printf("cwd after climbing: %s\n", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));
    show_file("climbed passwd", "/etc/passwd");
    show_dir("climbed root", "/");
    exit(0);
}

static void rootfs_writes(void)
{
    CHECK_OK("overwrite /data.txt", (put_file("/data.txt", "guest\n", 6, 0644), 0));
    CHECK_OK("unlink /other.txt", unlink("/other.txt"));
    CHECK_OK("rename /sub/a -> /sub/b", rename("/sub/a", "/sub/b"));
    CHECK_OK("chmod /data.txt", chmod("/data.txt", 0777));
    CHECK_OK("mkdir /newdir", mkdir("/newdir", 0755));
    CHECK_OK("create /newfile", (put_file("/newfile", "x", 1, 0644), 0));
    CHECK_OK("truncate /sub/b", truncate("/sub/b", 0));
    CHECK_OK("write through the symlink /link", (put_file("/link", "via link\n", 9, 0644), 0));
    CHECK_OK("rmdir /emptydir", rmdir("/emptydir"));
    int fd = open("/prog", O_WRONLY);
    printf("open /prog for writing: %s\n", fd < 0 ? errname(errno) : "ok");
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "rootfs") == 0)
        rootfs_writes();

    /* fds: only 0, 1, 2 at start; twaron's own host fds are not reachable */
    int open_fds = 0;
    for (int fd = 3; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            open_fds++;
    printf("fds 3..1023 not EBADF: %d\n", open_fds);
    CHECK("read fd 3", read(3, open_fds ? NULL : (void *)&open_fds, 1));
    CHECK("dup fd 10", dup(10));
    show_dir("/proc/self/fd", "/proc/self/fd");

    /* .. past the root */
    same_inode("/.. is /", "/..", "/");
    same_inode("/../../.. is /", "/../../..", "/");
    show_file("/../../../etc/passwd", "/../../../etc/passwd");
    chdir("/");
    chdir("..");
    char cwd[256];
    printf("cwd after chdir ..: %s\n", getcwd(cwd, sizeof cwd));

    /* host files that were not given */
    show_file("/etc/passwd", "/etc/passwd");
    show_file("/etc/shadow", "/etc/shadow");
    show_file("/etc/hostname", "/etc/hostname");
    show_dir("/root", "/root");
    show_dir("/home", "/home");
    show_file("/proc/1/environ", "/proc/1/environ");
    show_file("/proc/self/environ", "/proc/self/environ");
    show_file("/proc/1/cmdline", "/proc/1/cmdline");
    show_file("/proc/mounts", "/proc/mounts");

    /* symlinks to absolute host paths resolve inside the guest */
    CHECK_OK("symlink to /etc/shadow", symlink("/etc/shadow", "/tmp/shadow"));
    show_file("via symlink /tmp/shadow", "/tmp/shadow");
    symlink("/etc/passwd", "/tmp/passwd");
    show_file("via symlink /tmp/passwd", "/tmp/passwd");
    symlink("../../../../../../../../etc/passwd", "/tmp/rel");
    show_file("via relative symlink", "/tmp/rel");
    symlink("/work/main/README.md", "/tmp/hostfile");
    show_file("via symlink to a host path", "/tmp/hostfile");
    symlink("/proc/1/root/../../..", "/tmp/procroot");
    same_inode("symlink /proc/1/root/../../.. is /", "/tmp/procroot", "/");

    /* /proc/self/root */
    char link[256];
    ssize_t n = readlink("/proc/self/root", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("readlink /proc/self/root: %s\n", link);
    same_inode("/proc/self/root/.. is /", "/proc/self/root/..", "/");
    show_file("/proc/self/root/etc/passwd", "/proc/self/root/etc/passwd");
    show_dir("/proc/self/root/../..", "/proc/self/root/../..");

    /* /proc/PID/mem of another process: root may read it (the same guest); another user may
     * not */
    static char secret[64] = "secret of the parent";
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char path[64], buf[64] = "";
        snprintf(path, sizeof path, "/proc/%d/mem", getppid());
        int fd = open(path, O_RDONLY);
        ssize_t r = fd < 0 ? -1 : pread(fd, buf, sizeof buf, (off_t)(uintptr_t)secret);
        printf("root child reads parent's mem: %s\n", r > 0 ? buf : errname(errno));
        r = fd < 0 ? -1 : pread(fd, buf, 8, 0x1000);
        printf("unmapped address: %s\n", r >= 0 ? "read" : errname(errno));
        setgid(1000);
        setuid(1000);
        fd = open(path, O_RDONLY);
        printf("uid 1000 opens root's mem: %s\n", fd < 0 ? errname(errno) : "ok");
        fflush(stdout);
        write(p[1], "x", 1);
        _exit(0);
    }
    char c;
    read(p[0], &c, 1);
    waitpid(child, NULL, 0);

    /* ptrace, mount and friends */
    CHECK("ptrace TRACEME", ptrace(PTRACE_TRACEME, 0, 0, 0));
    fflush(stdout);
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK("ptrace ATTACH child", ptrace(PTRACE_ATTACH, child, 0, 0));
    CHECK("ptrace PEEKDATA child", RAW(SYS_ptrace, PTRACE_PEEKDATA, child, secret, 0));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK("mount tmpfs /mnt", mount("none", "/mnt", "tmpfs", 0, NULL));
    CHECK("mount --bind / /mnt", mount("/", "/mnt", NULL, MS_BIND, NULL));
    CHECK("mount remount / ro", mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    CHECK("umount2 /proc", umount2("/proc", 0));
    CHECK("umount2 /proc MNT_DETACH", umount2("/proc", MNT_DETACH));
    CHECK("umount2 bad flags", umount2("/proc", 0x100));
    mkdir("/tmp/newroot", 0755);
    mkdir("/tmp/newroot/old", 0755);
    CHECK("pivot_root", RAW(SYS_pivot_root, "/tmp/newroot", "/tmp/newroot/old"));
    fflush(stdout);
    child = fork();
    if (child == 0)
        escape_chroot();
    waitpid(child, NULL, 0);
    show_file("/etc/passwd after chroot games", "/etc/passwd");
    printf("done\n");
    return 0;
}
