/* ppoll and pselect6 atomically swap the signal mask: a pending blocked signal is delivered
 * during the call (EINTR, handler ran) and the original mask is back afterwards. */
#include "contract.h"
#include <poll.h>
#include <sys/select.h>

static volatile int got;
static void h(int s) { got = s; }

int main(void)
{
    signal(SIGUSR1, h);
    sigset_t b, none, cur;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    int p[2];
    pipe(p);
    struct pollfd fd = {p[0], POLLIN, 0};
    struct timespec ts = {5, 0};
    long r = ppoll(&fd, 1, &ts, &none);
    printf("ppoll: %ld %s, handler %s\n", r, r < 0 ? errname(errno) : "", signame(got));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    BOOL("mask restored", sigismember(&cur, SIGUSR1));
    got = 0;
    ts.tv_sec = 0; ts.tv_nsec = 20000000;
    r = ppoll(&fd, 1, &ts, &b);
    printf("ppoll timeout with USR1 blocked: %ld, handler %d\n", r, got);
    raise(SIGUSR1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    ts.tv_sec = 5; ts.tv_nsec = 0;
    r = pselect(p[0] + 1, &rs, NULL, NULL, &ts, &none);
    printf("pselect: %ld %s, handler %s\n", r, r < 0 ? errname(errno) : "", signame(got));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    BOOL("mask restored", sigismember(&cur, SIGUSR1));
    write(p[1], "x", 1);
    r = ppoll(&fd, 1, NULL, &none);
    printf("ppoll with data: %ld revents IN %d\n", r, !!(fd.revents & POLLIN));
    return 0;
}
