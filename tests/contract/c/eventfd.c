/* eventfd and eventfd2: flags, the 8-byte read and write rules (EINVAL for short buffers and
 * for 2^64-1, EAGAIN on overflow or an empty counter with EFD_NONBLOCK), EFD_SEMAPHORE,
 * poll readiness (plain POLLIN/POLLOUT), blocking reads and writes finished by another
 * process, epoll on an eventfd, and the anonymous file's face (/proc/self/fd, lseek). */
#include "contract.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static void rd(const char *label, int fd)
{
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd value %llu\n", label, n, (unsigned long long)v);
}

static long wr(int fd, uint64_t v)
{
    return write(fd, &v, sizeof v);
}

static void revents(const char *label, int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLPRI, 0};
    int r = poll(&p, 1, 0);
    printf("%s: %d [", label, r);
    if (p.revents & POLLIN) printf(" IN");
    if (p.revents & POLLRDNORM) printf(" RDNORM");
    if (p.revents & POLLOUT) printf(" OUT");
    if (p.revents & POLLWRNORM) printf(" WRNORM");
    if (p.revents & POLLERR) printf(" ERR");
    if (p.revents & POLLHUP) printf(" HUP");
    printf(" ]\n");
}

int main(void)
{
    CHECK("eventfd2 bad flags", eventfd(0, 0x4));
    CHECK("eventfd2 O_RDWR is not a flag", eventfd(0, O_RDWR));
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    BOOL("close-on-exec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    printf("F_GETFL: %#x\n", fcntl(fd, F_GETFL) & ~0100000);
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", n > 0 ? link : errname(errno));
    struct stat st;
    fstat(fd, &st);
    printf("st_mode: %o\n", (unsigned)st.st_mode);
    CHECK("lseek", lseek(fd, 0, SEEK_CUR));
    uint64_t v = 1;
    CHECK("pread", pread(fd, &v, 8, 0));
    CHECK("pwrite", pwrite(fd, &v, 8, 0));

    rd("empty, nonblocking", fd);
    revents("poll, empty", fd);
    CHECK("write 3", wr(fd, 3));
    CHECK("write 4", wr(fd, 4));
    revents("poll, 7", fd);
    char small[4];
    CHECK("read of 4 bytes", read(fd, small, sizeof small));
    CHECK("write of 4 bytes", write(fd, small, sizeof small));
    CHECK("write 2^64-1", wr(fd, UINT64_MAX));
    CHECK("write from a bad pointer", write(fd, BAD_PTR, 8));
    uint64_t big[2] = {0, 0};
    CHECK("read of 16 bytes", read(fd, big, sizeof big));
    printf("value %llu\n", (unsigned long long)big[0]);
    big[0] = 5;
    big[1] = 100;
    CHECK("write of 16 bytes (exactly 8 or EINVAL)", write(fd, big, sizeof big));
    CHECK("write 5", wr(fd, 5));
    CHECK("read into a bad pointer", read(fd, BAD_PTR, 8));
    rd("after the faulting read (consumed)", fd);
    CHECK("write 2^64-2", wr(fd, UINT64_MAX - 1));
    revents("poll, 2^64-2", fd);
    CHECK("write 1 more: would overflow", wr(fd, 1));
    CHECK("write 0 at the top", wr(fd, 0));
    rd("read all", fd);
    close(fd);

    fd = RAW(SYS_eventfd2, (1L << 32) | 5, 0);
    rd("initial count is an unsigned int", fd);
    close(fd);
    fd = RAW(SYS_eventfd, 9);
    BOOL("eventfd: no close-on-exec", fcntl(fd, F_GETFD) == 0);
    rd("eventfd(9)", fd);
    close(fd);

    fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    rd("semaphore 1", fd);
    rd("semaphore 2", fd);
    wr(fd, 2);
    rd("semaphore 3", fd);
    rd("semaphore 4", fd);
    rd("semaphore 5", fd);
    rd("semaphore empty", fd);
    close(fd);

    /* blocking: a read waits for a write, a write for room */
    fd = eventfd(0, 0);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        wr(fd, 42);
        _exit(0);
    }
    rd("blocking read", fd);
    reap("writer", pid);
    wr(fd, UINT64_MAX - 1);
    pid = FORK();
    if (pid == 0) {
        msleep(50);
        uint64_t x;
        read(fd, &x, 8);
        _exit(x == UINT64_MAX - 1 ? 0 : 1);
    }
    CHECK("blocking write, until a read makes room", wr(fd, 10));
    reap("reader", pid);
    rd("after", fd);

    /* epoll */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event out[2];
    int r = epoll_wait(ep, out, 2, 0);
    printf("epoll: %d events %#x\n", r, r > 0 ? out[0].events : 0);
    r = epoll_wait(ep, out, 2, 0);
    printf("epoll again (edge): %d\n", r);
    wr(fd, 1);
    r = epoll_wait(ep, out, 2, 0);
    printf("epoll after a write: %d events %#x\n", r, r > 0 ? out[0].events : 0);
    rd("read", fd);
    r = epoll_wait(ep, out, 2, 0);
    printf("epoll after a read: %d events %#x\n", r, r > 0 ? out[0].events : 0);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    pid = FORK();
    if (pid == 0) {
        msleep(50);
        wr(fd, 2);
        _exit(0);
    }
    r = epoll_wait(ep, out, 2, -1);
    printf("epoll woken by a write: %d events %#x\n", r, r > 0 ? out[0].events : 0);
    reap("writer", pid);
    close(ep);
    close(fd);
    return 0;
}
