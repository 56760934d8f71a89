/* preadv2 / pwritev2 with RWF_NOWAIT: EAGAIN instead of a sleep, for this call only, on the
 * files Linux opens with FMODE_NOWAIT (an anonymous pipe, sockets, eventfd and timerfd and
 * signalfd reads, /dev/null, /dev/zero, /dev/urandom); EOPNOTSUPP on the others (a FIFO, a
 * pipe reopened through /proc/self/fd, a terminal, /dev/full, a memfd, a directory, a /proc
 * file, inotify, an eventfd write, and a regular file's write). ESPIPE for an offset on a
 * pipe comes before EBADF, EFAULT and the flags; EOPNOTSUPP for an unknown flag with it, EPIPE
 * (and SIGPIPE) without a reader. A file with no read (or write) operation (epoll, a pidfd)
 * answers EINVAL before the iovec and the flags; an empty iovec gives 0 whatever the flags. */
#include "contract.h"
#include <pty.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

#ifndef RWF_NOWAIT
#define RWF_HIPRI 0x01
#define RWF_NOWAIT 0x08
#endif

static char buf[70000];

static long rd(int fd, long n, long pos, int flags)
{
    struct iovec v = {buf, n};
    return RAW(SYS_preadv2, fd, &v, 1, pos, 0, flags);
}
static long wr(int fd, long n, long pos, int flags)
{
    struct iovec v = {buf, n};
    return RAW(SYS_pwritev2, fd, &v, 1, pos, 0, flags);
}

static volatile int sigpipes;
static void on_sigpipe(int sig) { sigpipes++; }

static void pipes(void)
{
    int p[2];
    pipe(p);
    CHECK("pipe: empty, a writer open", rd(p[0], 10, -1, RWF_NOWAIT));
    CHECK("pipe: empty, zero bytes", rd(p[0], 0, -1, RWF_NOWAIT));
    CHECK("pipe: at offset 0", rd(p[0], 10, 0, RWF_NOWAIT));
    CHECK("pipe: write end at offset 0 (ESPIPE before EBADF)", rd(p[1], 10, 0, RWF_NOWAIT));
    CHECK("pipe: offset 0, bad iovec", RAW(SYS_preadv2, p[0], 8, 1, 0, 0, RWF_NOWAIT));
    CHECK("pipe: bad iovec", RAW(SYS_preadv2, p[0], 8, 1, -1, 0, RWF_NOWAIT));
    CHECK("pipe: write end", rd(p[1], 10, -1, RWF_NOWAIT));
    CHECK("pipe: with an unknown flag", rd(p[0], 10, -1, RWF_NOWAIT | 0x40000000));
    CHECK("pipe: with RWF_HIPRI", rd(p[0], 10, -1, RWF_NOWAIT | RWF_HIPRI));
    struct iovec hello = {"hello", 5};
    CHECK("pipe: write 5", RAW(SYS_pwritev2, p[1], &hello, 1, -1, 0, RWF_NOWAIT));
    char a[4] = {0}, b[4] = {0};
    struct iovec two[2] = {{a, 3}, {b, 3}};
    CHECK("pipe: read into two buffers", RAW(SYS_preadv2, p[0], two, 2, -1, 0, RWF_NOWAIT));
    printf("pipe: got '%s' '%s'\n", a, b);
    memset(buf, 'x', sizeof buf);
    CHECK("pipe: write 70000 into an empty pipe", wr(p[1], 70000, -1, RWF_NOWAIT));
    CHECK("pipe: write 1 into a full pipe", wr(p[1], 1, -1, RWF_NOWAIT));
    CHECK("pipe: write 4096 into a full pipe", wr(p[1], 4096, -1, RWF_NOWAIT));
    CHECK("pipe: read 70000", rd(p[0], 70000, -1, RWF_NOWAIT));
    CHECK("pipe: empty again", rd(p[0], 10, -1, RWF_NOWAIT));
    int fl = fcntl(p[0], F_GETFL);
    BOOL("pipe: read end still blocking", !(fl & O_NONBLOCK));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    int again = open(path, O_RDONLY);
    CHECK("pipe: read end reopened through /proc/self/fd", rd(again, 10, -1, RWF_NOWAIT));
    close(again);
    close(p[1]);
    CHECK("pipe: empty, no writer", rd(p[0], 10, -1, RWF_NOWAIT));
    close(p[0]);

    pipe(p);
    close(p[0]);
    signal(SIGPIPE, on_sigpipe);
    CHECK("pipe: no reader", wr(p[1], 1, -1, RWF_NOWAIT));
    printf("pipe: SIGPIPE %d\n", sigpipes);
    close(p[1]);
}

static void sockets(void)
{
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    CHECK("stream: empty", rd(s[0], 10, -1, RWF_NOWAIT));
    CHECK("stream: at offset 0", rd(s[0], 10, 0, RWF_NOWAIT));
    CHECK("stream: write 5", wr(s[1], 5, -1, RWF_NOWAIT));
    CHECK("stream: read", rd(s[0], 10, -1, RWF_NOWAIT));
    long total = 0, n;
    while ((n = wr(s[1], 65536, -1, RWF_NOWAIT)) > 0)
        total += n;
    printf("stream: filled: %s, %s\n", total > 0 ? "some taken" : "none", errname(errno));
    BOOL("stream: still blocking", !(fcntl(s[1], F_GETFL) & O_NONBLOCK));
    close(s[0]);
    close(s[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    CHECK("dgram: empty", rd(s[0], 10, -1, RWF_NOWAIT));
    CHECK("dgram: write 5", wr(s[1], 5, -1, RWF_NOWAIT));
    CHECK("dgram: read", rd(s[0], 10, -1, RWF_NOWAIT));
    close(s[0]);
    close(s[1]);
}

static void devices(void)
{
    int fd = open("/dev/null", O_RDWR);
    CHECK("/dev/null: read", rd(fd, 10, -1, RWF_NOWAIT));
    CHECK("/dev/null: write", wr(fd, 10, -1, RWF_NOWAIT));
    CHECK("/dev/null: write at 5", wr(fd, 10, 5, RWF_NOWAIT));
    close(fd);
    fd = open("/dev/zero", O_RDWR);
    CHECK("/dev/zero: read", rd(fd, 10, -1, RWF_NOWAIT));
    CHECK("/dev/zero: read at 5", rd(fd, 10, 5, RWF_NOWAIT));
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    CHECK("/dev/urandom: read", rd(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    fd = open("/dev/full", O_RDWR);
    CHECK("/dev/full: read", rd(fd, 10, -1, RWF_NOWAIT));
    CHECK("/dev/full: write", wr(fd, 10, -1, RWF_NOWAIT));
    close(fd);
    int m, sl;
    if (openpty(&m, &sl, NULL, NULL, NULL) == 0) {
        CHECK("pty master: read", rd(m, 8, -1, RWF_NOWAIT));
        CHECK("pty slave: write", wr(sl, 8, -1, RWF_NOWAIT));
        close(m);
        close(sl);
    }
}

static void anon_files(void)
{
    int fd = eventfd(0, 0);
    CHECK("eventfd: read at 0", rd(fd, 8, -1, RWF_NOWAIT));
    uint64_t one = 3;
    struct iovec v = {&one, 8};
    CHECK("eventfd: write", RAW(SYS_pwritev2, fd, &v, 1, -1, 0, RWF_NOWAIT));
    write(fd, &one, 8);
    CHECK("eventfd: read at 3", rd(fd, 8, -1, RWF_NOWAIT));
    printf("eventfd: value %llu\n", (unsigned long long)*(uint64_t *)buf);
    close(fd);
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK("timerfd: unarmed", rd(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fd = signalfd(-1, &set, 0);
    CHECK("signalfd: nothing pending", rd(fd, 128, -1, RWF_NOWAIT));
    raise(SIGUSR1);
    CHECK("signalfd: SIGUSR1 pending", rd(fd, 128, -1, RWF_NOWAIT));
    close(fd);
    fd = inotify_init();
    CHECK("inotify: read", rd(fd, 128, -1, RWF_NOWAIT));
    CHECK("inotify: write (read-only)", wr(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK("timerfd: write (no such operation)", wr(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    fd = signalfd(-1, &set, 0);
    CHECK("signalfd: read of 8 (too short)", rd(fd, 8, -1, RWF_NOWAIT));
    CHECK("signalfd: write (no such operation)", wr(fd, 8, -1, RWF_NOWAIT));
    close(fd);
}

/* Files without a read or write operation (Linux's FMODE_CAN_READ/WRITE unset): EINVAL comes
 * before the iovec and the flags are looked at, RWF_NOWAIT or not. */
static void no_operation(void)
{
    int fd = epoll_create1(0);
    CHECK("epoll: read", rd(fd, 8, -1, RWF_NOWAIT));
    CHECK("epoll: write", wr(fd, 8, -1, RWF_NOWAIT));
    CHECK("epoll: at offset 0", rd(fd, 8, 0, RWF_NOWAIT));
    CHECK("epoll: bad iovec", RAW(SYS_preadv2, fd, 8, 1, -1, 0, RWF_NOWAIT));
    CHECK("epoll: unknown flag", rd(fd, 8, -1, 0x40000000));
    CHECK("epoll: readv, bad iovec", RAW(SYS_readv, fd, 8, 1));
    CHECK("epoll: writev, bad iovec", RAW(SYS_writev, fd, 8, 1));
    close(fd);
    fd = (int)RAW(SYS_pidfd_open, getpid(), 0);
    CHECK("pidfd: read", rd(fd, 8, -1, RWF_NOWAIT));
    CHECK("pidfd: read at 0", rd(fd, 8, 0, RWF_NOWAIT));
    CHECK("pidfd: read at 0 without flags", rd(fd, 8, 0, 0));
    CHECK("pidfd: write", wr(fd, 8, -1, RWF_NOWAIT));
    close(fd);
}

/* Nothing to read or write: 0 before the flags are looked at (vfs_readv's empty iovec). */
static void zero_length(void)
{
    int fd = (int)RAW(SYS_memfd_create, "z", 0);
    CHECK("memfd: read 0 with RWF_NOWAIT", rd(fd, 0, -1, RWF_NOWAIT));
    CHECK("memfd: write 0 with RWF_NOWAIT", wr(fd, 0, -1, RWF_NOWAIT));
    CHECK("memfd: read 0 with an unknown flag", rd(fd, 0, -1, 0x40000000));
    CHECK("memfd: write 0 at 0 with an unknown flag", wr(fd, 0, 0, 0x40000000));
    close(fd);
}

static void files(void)
{
    enter_workdir("rwf_nowait");
    mkfifo("fifo", 0600);
    int fd = open("fifo", O_RDWR);
    CHECK("fifo: read", rd(fd, 8, -1, RWF_NOWAIT));
    CHECK("fifo: write", wr(fd, 8, -1, RWF_NOWAIT));
    CHECK("fifo: at offset 0", rd(fd, 8, 0, RWF_NOWAIT));
    close(fd);
    unlink("fifo");
    fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("regular file: write", wr(fd, 8, -1, RWF_NOWAIT));
    CHECK("regular file: write at 0", wr(fd, 8, 0, RWF_NOWAIT));
    close(fd);
    fd = (int)RAW(SYS_memfd_create, "m", 0);
    CHECK("memfd: write", wr(fd, 8, -1, RWF_NOWAIT));
    CHECK("memfd: read", rd(fd, 8, 0, RWF_NOWAIT));
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("directory: read", rd(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    fd = open("/proc/self/stat", O_RDONLY);
    CHECK("/proc/self/stat: read", rd(fd, 8, -1, RWF_NOWAIT));
    close(fd);
    CHECK("bad fd", rd(999, 8, -1, RWF_NOWAIT));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pipes();
    sockets();
    devices();
    anon_files();
    no_operation();
    zero_length();
    files();
    return 0;
}
