/* poll on pipes: timeouts, POLLIN with data, POLLHUP when writers are gone (with POLLIN while
 * data remains), POLLERR on a write end without readers, POLLNVAL, negative fds ignored. */
#include "contract.h"
#include <poll.h>

static void show(const char *label, long r, struct pollfd *fds, int n)
{
    printf("%s: %ld", label, r);
    for (int i = 0; i < n; i++) {
        short e = fds[i].revents;
        printf(" [");
        if (e & POLLIN) printf("IN ");
        if (e & POLLOUT) printf("OUT ");
        if (e & POLLHUP) printf("HUP ");
        if (e & POLLERR) printf("ERR ");
        if (e & POLLNVAL) printf("NVAL ");
        printf("]");
    }
    printf("\n");
}

int main(void)
{
    int p[2];
    pipe(p);
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    show("empty pipe, timeout 0", poll(fds, 2, 0), fds, 2);
    fds[1].events = 0;
    long t0 = now_ms();
    long r = poll(fds, 1, 100);
    long dt = now_ms() - t0;
    show("nothing, timeout 100ms", r, fds, 1);
    printf("waited about the timeout: %s\n", dt >= 90 && dt < 2000 ? "yes" : "no");
    write(p[1], "ab", 2);
    show("data", poll(fds, 1, -1), fds, 1);
    close(p[1]);
    show("data and no writers", poll(fds, 1, -1), fds, 1);
    char buf[4];
    read(p[0], buf, 2);
    show("drained, no writers", poll(fds, 1, -1), fds, 1);
    close(p[0]);
    pipe(p);
    close(p[0]);
    struct pollfd w = {p[1], POLLOUT, 0};
    show("write end, no readers", poll(&w, 1, 0), &w, 1);
    close(p[1]);
    struct pollfd bad[2] = {{p[1], POLLIN, 0}, {-1, POLLIN, 0}};
    show("closed fd and negative fd", poll(bad, 2, 0), bad, 2);
    CHECK("bad pointer", poll(BAD_PTR, 1, 0));
    CHECK("nfds over RLIMIT_NOFILE", RAW(SYS_poll, fds, 1 << 20, 0));
    /* a child writes later: poll(-1) wakes */
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        write(p[1], "x", 1);
        msleep(300); /* keep the write end open while the parent looks: IN, not IN|HUP */
        _exit(0);
    }
    close(p[1]);
    struct pollfd one = {p[0], POLLIN, 0};
    show("wakes on a child's write", poll(&one, 1, -1), &one, 1);
    reap("child", pid);
    read(p[0], buf, 1);
    show("child gone", poll(&one, 1, 1000), &one, 1);
    return 0;
}
