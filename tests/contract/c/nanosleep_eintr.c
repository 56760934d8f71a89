/* nanosleep interrupted by a handled signal: EINTR and the remaining time; restart with the
 * remainder completes; clock_nanosleep returns the errno; an ignored signal does not interrupt. */
#include "contract.h"
#include <sys/time.h>

static volatile int hits;
static void h(int s) { (void)s; hits++; }

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;  /* nanosleep is never restarted, even with SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec req = {3, 0}, rem = {0, 0};
    long t0 = now_ms();
    CHECK("nanosleep 3s", nanosleep(&req, &rem));
    long dt = now_ms() - t0;
    printf("handler ran %d, woke early %s, remaining in (1s, 3s): %s\n", hits,
           dt < 2500 ? "yes" : "no", rem.tv_sec >= 1 && rem.tv_sec < 3 ? "yes" : "no");
    setitimer(ITIMER_REAL, &it, NULL);
    req.tv_sec = 2; req.tv_nsec = 0;
    int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    printf("clock_nanosleep: %s, handler ran %d\n", e ? errname(e) : "0", hits);
    signal(SIGALRM, SIG_IGN);
    it.it_value.tv_usec = 20000;
    setitimer(ITIMER_REAL, &it, NULL);
    req.tv_sec = 0; req.tv_nsec = 150000000;
    t0 = now_ms();
    CHECK("nanosleep with an ignored signal", nanosleep(&req, NULL));
    printf("slept the whole time: %s\n", now_ms() - t0 >= 140 ? "yes" : "no");
    req.tv_nsec = 1000000000;
    CHECK("tv_nsec too big", nanosleep(&req, NULL));
    req.tv_sec = -1; req.tv_nsec = 0;
    CHECK("negative", nanosleep(&req, NULL));
    CHECK("bad pointer", nanosleep(BAD_PTR, NULL));
    return 0;
}
