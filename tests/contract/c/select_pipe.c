/* select and pselect6 on pipes: readiness sets, timeout written back (Linux), EBADF, EINVAL. */
#include "contract.h"
#include <sys/select.h>

int main(void)
{
    int p[2];
    pipe(p);
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    long n = select(p[1] + 1, &r, &w, NULL, &tv);
    printf("empty: %ld read %d write %d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 0; tv.tv_usec = 100000;
    long t0 = now_ms();
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    long dt = now_ms() - t0;
    printf("timeout: %ld, remaining %ld.%06ld, waited: %s\n", n, (long)tv.tv_sec,
           (long)tv.tv_usec, dt >= 90 ? "yes" : "no");
    write(p[1], "z", 1);
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 5; tv.tv_usec = 0;
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    printf("data: %ld read %d, remaining < 5s: %s\n", n, FD_ISSET(p[0], &r),
           tv.tv_sec < 5 || tv.tv_usec == 0 ? "yes" : "no");
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&r); FD_SET(p[0], &r);
    n = select(p[0] + 1, &r, NULL, NULL, NULL);
    printf("EOF is readable: %ld %d\n", n, FD_ISSET(p[0], &r));
    FD_ZERO(&r); FD_SET(p[1], &r);
    CHECK("closed fd", select(p[1] + 1, &r, NULL, NULL, &tv));
    CHECK("negative nfds", select(-1, NULL, NULL, NULL, &tv));
    tv.tv_usec = -1;
    CHECK("bad timeval", select(0, NULL, NULL, NULL, &tv));
    struct timespec ts = {0, 50000000};
    t0 = now_ms();
    CHECK("pselect6 sleep", RAW(SYS_pselect6, 0, NULL, NULL, NULL, &ts, NULL));
    printf("pselect slept: %s, ts written back: %ld.%09ld\n", now_ms() - t0 >= 40 ? "yes" : "no",
           (long)ts.tv_sec, ts.tv_nsec);
    return 0;
}
