/* A seeded random sequence of operations on epolls, pipes, eventfds and signalfds: create,
 * dup2, close, epoll_ctl with random events (nested epolls, loops, EPOLLEXCLUSIVE, one-shot,
 * edge- and level-triggered), epoll_wait, poll, reads, writes and signals. Every result is
 * folded into a hash per kind of operation (errnos, epoll_wait's events, data and their
 * order): the same sequence must end in the same hashes on Linux and in twaron.
 * args: number of operations, seed; with a third argument, every result is printed. */
// contract: args=20000 7
#include "contract.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

static uint64_t rs;
static unsigned rnd(unsigned n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (unsigned)(rs % n);
}

enum { H_CREATE, H_FDS, H_CTL, H_WAIT, H_POLL, H_RW, H_N };
static const char *hname[H_N] = {"create", "dup2/close", "epoll_ctl", "epoll_wait", "poll",
                                 "read/write"};
static uint64_t hash[H_N];
static long count[H_N];
static int verbose;

static void fold(int h, long op, long v)
{
    hash[h] = (hash[h] ^ (uint64_t)v) * 1099511628211ULL;
    count[h]++;
    if (verbose)
        printf("%ld %s %ld\n", op, hname[h], v);
}

static long res(long r)
{
    return r < 0 ? -errno : r;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    rs = argc > 2 ? strtoull(argv[2], NULL, 0) * 2654435761ULL + 1 : 1;
    verbose = argc > 3;
    struct rlimit rl = {256, 256};
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int f = 3; f < 256; f++)
        close(f);
    signal(SIGPIPE, SIG_IGN);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    for (int h = 0; h < H_N; h++)
        hash[h] = 14695981039346656037ULL;
    for (long i = 0; i < n; i++) {
        int fd = 3 + rnd(40), fd2 = 3 + rnd(40), p[2];
        uint32_t events = rnd(2) ? (uint32_t)rs
                                 : EPOLLIN | EPOLLOUT | (rnd(2) ? EPOLLET : 0) |
                                       (rnd(3) ? 0 : EPOLLONESHOT);
        struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i}, out[8];
        uint64_t one = 1;
        char buf[256];
        switch (rnd(15)) {
        case 0:
            fold(H_CREATE, i, res(epoll_create1(0)));
            break;
        case 1:
            if (pipe2(p, O_NONBLOCK) == 0)
                fold(H_CREATE, i, p[0] * 1000 + p[1]);
            else
                fold(H_CREATE, i, -errno);
            break;
        case 2:
            fold(H_CREATE, i, res(eventfd(rnd(3), EFD_NONBLOCK | (rnd(2) ? EFD_SEMAPHORE : 0))));
            break;
        case 3:
            fold(H_FDS, i, res(close(fd)));
            break;
        case 4:
            fold(H_FDS, i, res(dup2(fd, fd2)));
            break;
        case 5: case 6: case 7:
            fold(H_CTL, i, res(epoll_ctl(fd, 1 + rnd(3), fd2, &ev)));
            break;
        case 8: case 9: {
            int k = epoll_wait(fd, out, 1 + rnd(8), 0);
            fold(H_WAIT, i, res(k));
            for (int j = 0; j < k; j++) {
                fold(H_WAIT, i, out[j].events);
                fold(H_WAIT, i, (long)out[j].data.u64);
            }
            break;
        }
        case 10:
            fold(H_RW, i, res(write(fd, &one, 8)));
            break;
        case 11:
            fold(H_RW, i, res(read(fd, buf, rnd(2) ? 8 : 256)));
            break;
        case 12: {
            struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
            fold(H_POLL, i, res(poll(&pf, 1, 0)));
            fold(H_POLL, i, pf.revents);
            break;
        }
        case 13:
            if (rnd(4) == 0)
                fold(H_CREATE, i, res(signalfd(-1, &usr1, SFD_NONBLOCK)));
            else
                raise(SIGUSR1);
            break;
        case 14:
            fold(H_CTL, i, res(epoll_ctl(fd, EPOLL_CTL_ADD, fd2, &ev)));
            break;
        }
    }
    for (int h = 0; h < H_N; h++)
        printf("%-10s %6ld results, hash %016llx\n", hname[h], count[h],
               (unsigned long long)hash[h]);
    return 0;
}
