/* The errors of the positional and sync operations on every kind of file, in Linux's order:
 * pread64/pwrite64 are ESPIPE on a file without offsets (pipe, socket, anonymous inode)
 * before EBADF for the wrong access mode, and EINVAL on a pidfd (it has offsets, no read);
 * a procfs seq file may be read at an offset but not written (seq_open drops
 * FMODE_PWRITE) and has no SEEK_END; fsync/fdatasync are EINVAL for a file without the
 * operation (everything but regular files and directories; procfs directories too) while
 * syncfs takes any file; mmap checks the access mode (EACCES) before the file's own mmap
 * (ENODEV), and /dev/zero maps as anonymous memory, private or shared across fork. */
#include "contract.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

static void probe(const char *name, int fd)
{
    char buf[16] = {0};
    char l[64];
    snprintf(l, sizeof l, "%s pread", name);
    report(l, pread(fd, buf, 8, 0));
    snprintf(l, sizeof l, "%s pwrite", name);
    report(l, pwrite(fd, buf, 8, 0));
    snprintf(l, sizeof l, "%s lseek", name);
    report(l, lseek(fd, 0, SEEK_CUR));
    snprintf(l, sizeof l, "%s fsync", name);
    report(l, fsync(fd));
    snprintf(l, sizeof l, "%s fdatasync", name);
    report(l, fdatasync(fd));
    snprintf(l, sizeof l, "%s syncfs", name);
    report(l, syscall(SYS_syncfs, fd));
    void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    snprintf(l, sizeof l, "%s mmap", name);
    report(l, m == MAP_FAILED ? -1 : 0);
    close(fd);
}

static void dev_zero(void)
{
    int fd = open("/dev/zero", O_RDWR);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    BOOL("/dev/zero private map reads zeros", p != MAP_FAILED && p[100] == 0 && p[8191] == 0);
    char *s = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    BOOL("/dev/zero shared map", s != MAP_FAILED);
    if (p == MAP_FAILED || s == MAP_FAILED)
        return;
    p[0] = 1;
    s[5] = 9;
    pid_t c = fork();
    if (c == 0) {
        p[1] = 2;  /* private: the parent does not see it */
        s[6] = 7;  /* shared: it does */
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("after the child: private %d %d, shared %d %d\n", p[0], p[1], s[5], s[6]);
    close(fd);
    int w = open("/dev/zero", O_WRONLY);
    report("/dev/zero write-only private map", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, w, 0)
                                                   == MAP_FAILED ? -1 : 0);
    close(w);
    int full = open("/dev/full", O_RDWR);
    report("/dev/full map", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, full, 0) == MAP_FAILED
                                ? -1 : 0);
    close(full);
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int p[2], sv[2];
    pipe(p);
    probe("pipe read end", p[0]);
    probe("pipe write end", p[1]);
    pipe(p);
    report("pipe read end shared rw map",
           mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, p[0], 0) == MAP_FAILED ? -1 : 0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    probe("socket", sv[0]);
    probe("eventfd", eventfd(0, EFD_NONBLOCK));
    probe("timerfd", timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    probe("signalfd", signalfd(-1, &set, SFD_NONBLOCK));
    probe("inotify", inotify_init1(IN_NONBLOCK));
    probe("epoll", epoll_create1(0));
    probe("pidfd", syscall(SYS_pidfd_open, getpid(), 0));
    probe("/dev/null", open("/dev/null", O_RDWR));
    probe("/proc/self/stat", open("/proc/self/stat", O_RDONLY));
    int st = open("/proc/self/stat", O_RDONLY);
    report("/proc/self/stat SEEK_END", lseek(st, 0, SEEK_END));
    close(st);
    probe("/proc", open("/proc", O_RDONLY | O_DIRECTORY));
    probe("/", open("/", O_RDONLY | O_DIRECTORY));
    int f = open("/tmp/file_ops", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(f, "data", 4);
    probe("/tmp file", f);
    unlink("/tmp/file_ops");
    dev_zero();
    return 0;
}
