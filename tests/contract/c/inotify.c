/* inotify: errors of inotify_init1/add_watch/rm_watch, then a scripted sequence of file
 * operations in a fresh directory and the events read after each step (wd, mask names,
 * name, whether MOVED_FROM/MOVED_TO share a cookie), coalescing, IN_ONESHOT, IN_MASK_ADD,
 * IN_EXCL_UNLINK, IN_DONT_FOLLOW, short reads, FIONREAD, poll, a blocking read, and the
 * queue overflow. */
#include "contract.h"
#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

static int ifd;
static uint32_t last_cookie;

static void print_mask(uint32_t m)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
        {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
        {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
        {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
    };
    const char *sep = "";
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            printf("%s%s", sep, names[i].name);
            sep = "|";
            m &= ~names[i].bit;
        }
    if (m)
        printf("%s%#x", sep, m);
}

/* Read and print every queued event; returns how many. */
static int drain(const char *step)
{
    char buf[4096] __attribute__((aligned(8)));
    int n = 0;
    printf("-- %s\n", step);
    for (;;) {
        ssize_t r = read(ifd, buf, sizeof buf);
        if (r < 0) {
            if (errno != EAGAIN)
                printf("read: -1 %s\n", errname(errno));
            break;
        }
        for (char *p = buf; p < buf + r;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            printf("  wd %d ", ev->wd);
            print_mask(ev->mask);
            if (ev->len)
                printf(" \"%s\" len %u", ev->name, ev->len);
            if (ev->mask & IN_MOVED_FROM)
                last_cookie = ev->cookie, printf(" cookie %s", ev->cookie ? "set" : "0");
            else if (ev->mask & IN_MOVED_TO)
                printf(" cookie %s", ev->cookie == last_cookie ? "same" : "differs");
            else if (ev->cookie)
                printf(" cookie?");
            printf("\n");
            p += sizeof *ev + ev->len;
            n++;
        }
    }
    return n;
}

static void errors(void)
{
    CHECK("init1 bad flags", inotify_init1(1));
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    BOOL("init1", fd >= 0);
    BOOL("cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    BOOL("nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK);
    printf("accmode rdonly: %s\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? "yes" : "no");
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("link: %s\n", link);
    char c;
    CHECK("read empty", read(fd, &c, 1));
    CHECK("write", write(fd, "x", 1));
    int plain = inotify_init();
    BOOL("init", plain >= 0 && !(fcntl(plain, F_GETFL) & O_NONBLOCK));
    close(plain);

    put_file("file", "data", 4, 0644);
    CHECK("mask 0", inotify_add_watch(fd, ".", 0));
    CHECK("mask 0 bad fd", inotify_add_watch(-1, ".", 0));
    CHECK("ADD|CREATE", inotify_add_watch(fd, ".", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    CHECK("bad fd", inotify_add_watch(-1, ".", IN_MODIFY));
    CHECK("not inotify fd", inotify_add_watch(0, ".", IN_MODIFY));
    CHECK("missing path", inotify_add_watch(fd, "missing", IN_MODIFY));
    CHECK("path efault", inotify_add_watch(fd, BAD_PTR, IN_MODIFY));
    CHECK("ONLYDIR on file", inotify_add_watch(fd, "file", IN_MODIFY | IN_ONLYDIR));
    CHECK("file/ path", inotify_add_watch(fd, "file/", IN_MODIFY));
    int wd = inotify_add_watch(fd, "file", IN_MODIFY);
    CHECK("watch file", wd);
    CHECK("watch again, same wd", inotify_add_watch(fd, "file", IN_ATTRIB));
    CHECK("MASK_CREATE existing", inotify_add_watch(fd, "file", IN_ATTRIB | IN_MASK_CREATE));
    CHECK("rm bad wd", inotify_rm_watch(fd, 99));
    CHECK("rm not inotify", inotify_rm_watch(0, wd));
    CHECK("rm bad fd", inotify_rm_watch(-1, wd));
    CHECK("rm", inotify_rm_watch(fd, wd));
    CHECK("rm twice", inotify_rm_watch(fd, wd));
    CHECK("next wd is new", inotify_add_watch(fd, ".", IN_CREATE | IN_ONLYDIR));
    ifd = fd;
    drain("after rm (IGNORED)");
    close(fd);

    put_file("private", "p", 1, 0600);
    pid_t pid = FORK();
    if (pid == 0) {
        int f = inotify_init();
        setgid(1000);
        setuid(1000);
        int r = inotify_add_watch(f, "private", IN_MODIFY);
        _exit(r < 0 ? errno : 0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("watch unreadable file as other user: %s\n", errname(WEXITSTATUS(st)));
    unlink("file");
    unlink("private");
}

static void sequence(void)
{
    mkdir("d", 0755);
    mkdir("d2", 0755);
    ifd = inotify_init1(IN_NONBLOCK);
    int wd = inotify_add_watch(ifd, "d", IN_ALL_EVENTS);
    CHECK("watch d", wd);
    CHECK("watch d/. (same inode)", inotify_add_watch(ifd, "d/.", IN_ALL_EVENTS));
    CHECK("watch d2", inotify_add_watch(ifd, "d2", IN_ALL_EVENTS));

    int fd = open("d/f", O_CREAT | O_WRONLY, 0644);
    drain("create");
    write(fd, "hello", 5);
    write(fd, " world", 6);
    drain("two writes (merged)");
    close(fd);
    drain("close after write");
    fd = open("d/f", O_RDONLY);
    char buf[64];
    read(fd, buf, sizeof buf);
    read(fd, buf, sizeof buf);  /* at the end: 0 bytes, no event */
    close(fd);
    drain("open, read, close");
    chmod("d/f", 0600);
    drain("chmod");
    chown("d/f", 0, 0);
    chown("d/f", -1, -1);
    drain("chown, chown -1 -1");
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    utimensat(AT_FDCWD, "d/f", ts, 0);
    drain("utimensat (merged with nothing)");
    ts[1].tv_nsec = UTIME_OMIT;
    utimensat(AT_FDCWD, "d/f", ts, 0);
    drain("utimensat atime only");
    ts[1].tv_nsec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    utimensat(AT_FDCWD, "d/f", ts, 0);
    drain("utimensat mtime only");
    truncate("d/f", 3);
    drain("truncate");
    fd = open("d/f", O_WRONLY | O_APPEND);
    ftruncate(fd, 1);
    close(fd);
    drain("ftruncate");
    close(open("d/f", O_WRONLY | O_TRUNC));
    drain("open O_TRUNC");
    close(open("d/f", O_PATH));
    drain("open O_PATH");
    mkdir("d/sub", 0755);
    drain("mkdir");
    rename("d/f", "d/g");
    drain("rename in d");
    rename("d/g", "d2/g");
    drain("rename d -> d2");
    link("d2/g", "d/h");
    drain("link");
    int wg = inotify_add_watch(ifd, "d2/g", IN_ALL_EVENTS);
    CHECK("watch d2/g", wg);
    fd = open("d2/g", O_WRONLY);
    write(fd, "x", 1);
    close(fd);
    drain("write a file watched twice");
    unlink("d/h");
    drain("unlink one of two links");
    rename("d2/g", "d2/g2");
    drain("rename a watched file");
    put_file("d2/other", "o", 1, 0644);
    drain("create d2/other");
    rename("d2/other", "d2/g2");
    drain("rename over a watched file");
    unlink("d2/g2");
    drain("unlink");
    rmdir("d/sub");
    drain("rmdir");
    mkdir("d/x", 0755);
    int wx = inotify_add_watch(ifd, "d/x", IN_ALL_EVENTS);
    CHECK("watch d/x", wx);
    DIR *dir = opendir("d/x");
    readdir(dir);
    closedir(dir);
    drain("list d/x");
    rename("d/x", "d2/x");
    drain("move a watched directory");
    rmdir("d2/x");
    drain("rmdir a watched directory");

    /* open, unlink, write, close: the inode goes at the close */
    fd = open("d/open", O_CREAT | O_RDWR, 0644);
    int wo = inotify_add_watch(ifd, "d/open", IN_ALL_EVENTS);
    CHECK("watch d/open", wo);
    drain("create d/open");
    unlink("d/open");
    drain("unlink while open");
    write(fd, "late", 4);
    drain("write after unlink");
    close(fd);
    drain("close the unlinked file");

    /* IN_EXCL_UNLINK: no more events through the unlinked name */
    inotify_add_watch(ifd, "d", IN_ALL_EVENTS | IN_EXCL_UNLINK);
    fd = open("d/ex", O_CREAT | O_RDWR, 0644);
    unlink("d/ex");
    drain("create and unlink d/ex");
    write(fd, "x", 1);
    close(fd);
    drain("write and close with IN_EXCL_UNLINK");
    inotify_add_watch(ifd, "d", IN_ALL_EVENTS);

    /* IN_ONESHOT and IN_MASK_ADD */
    put_file("d2/one", "1", 1, 0644);
    drain("create d2/one");
    int w1 = inotify_add_watch(ifd, "d2/one", IN_MODIFY | IN_ONESHOT);
    CHECK("oneshot watch", w1);
    fd = open("d2/one", O_WRONLY);
    write(fd, "a", 1);
    pwrite(fd, "b", 1, 5);
    close(fd);
    drain("oneshot: two writes");
    CHECK("rm after oneshot", inotify_rm_watch(ifd, w1));
    int wm = inotify_add_watch(ifd, "d2/one", IN_MODIFY);
    CHECK("add IN_ATTRIB with IN_MASK_ADD", inotify_add_watch(ifd, "d2/one", IN_ATTRIB | IN_MASK_ADD));
    truncate("d2/one", 0);
    chmod("d2/one", 0644);
    drain("modify and attrib");
    CHECK("replace with IN_OPEN", inotify_add_watch(ifd, "d2/one", IN_OPEN));
    truncate("d2/one", 0);
    close(open("d2/one", O_RDONLY));
    drain("modify and open");
    CHECK("rm", inotify_rm_watch(ifd, wm));
    drain("rm");

    /* IN_DONT_FOLLOW watches the link itself */
    symlink("one", "d2/link");
    int wl = inotify_add_watch(ifd, "d2/link", IN_ATTRIB | IN_DONT_FOLLOW);
    int wt = inotify_add_watch(ifd, "d2/link", IN_ATTRIB);
    BOOL("DONT_FOLLOW: another inode", wl != wt);
    CHECK("ONLYDIR through a link to a file", inotify_add_watch(ifd, "d2/link", IN_ATTRIB | IN_ONLYDIR));
    chmod("d2/link", 0600);
    drain("chmod through the link");
    inotify_rm_watch(ifd, wl);
    inotify_rm_watch(ifd, wt);
    drain("rm both");

    /* a short read */
    put_file("d/short-name", "", 0, 0644);
    char small[sizeof(struct inotify_event) + 4];
    CHECK("read into 20 bytes", read(ifd, small, sizeof small));
    int avail = 0;
    ioctl(ifd, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    struct pollfd p = {ifd, POLLIN, 0};
    int ready = poll(&p, 1, 0);
    printf("poll: %d revents %#x\n", ready, p.revents);
    drain("then a whole read");
    printf("poll after: %d\n", poll(&p, 1, 0));
    CHECK("read 0 bytes", read(ifd, small, 0));
    close(ifd);
}

static void blocking(void)
{
    int fd = inotify_init();
    inotify_add_watch(fd, "d", IN_CREATE);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(100);
        put_file("d/late", "", 0, 0644);
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t r = read(fd, buf, sizeof buf);
    struct inotify_event *ev = (struct inotify_event *)buf;
    printf("blocking read: %zd bytes, %s \"%s\"\n", r, ev->mask == IN_CREATE ? "CREATE" : "?",
           ev->name);
    reap("child", pid);
    close(fd);
}

static void overflow(void)
{
    ifd = inotify_init1(IN_NONBLOCK);
    put_file("busy", "0123456789", 10, 0644);
    inotify_add_watch(ifd, "busy", IN_ACCESS | IN_MODIFY);
    int fd = open("busy", O_RDWR);
    char c;
    for (int i = 0; i < 8300; i++) {  /* alternating events are never merged */
        pwrite(fd, "x", 1, 0);
        pread(fd, &c, 1, 0);
    }
    close(fd);
    char buf[4096] __attribute__((aligned(8)));
    long n = 0, overflows = 0, last_wd = 0;
    uint32_t last_mask = 0;
    ssize_t r;
    while ((r = read(ifd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + r; p += sizeof(struct inotify_event)) {
            struct inotify_event *ev = (struct inotify_event *)p;
            n++;
            overflows += (ev->mask & IN_Q_OVERFLOW) != 0;
            last_wd = ev->wd;
            last_mask = ev->mask;
        }
    printf("overflow: %ld events, %ld overflow, last wd %ld mask ", n, overflows, last_wd);
    print_mask(last_mask);
    printf("\n");
    close(ifd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("inotify");
    errors();
    sequence();
    blocking();
    overflow();
    return 0;
}
