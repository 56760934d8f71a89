/* A shell pipeline by hand: seq | tr | wc wired with pipe+dup2, each stage exec'd in a child;
 * the last stage writes to a pipe the parent reads; all statuses are collected. */
#include "contract.h"

static pid_t stage(int in, int out, char *const argv[])
{
    pid_t p = FORK();
    if (p == 0) {
        if (in != 0) { dup2(in, 0); close(in); }
        if (out != 1) { dup2(out, 1); close(out); }
        for (int fd = 3; fd < 64; fd++)  /* other pipe ends would keep readers/writers alive */
            close(fd);
        execv("/bin/busybox", argv);  /* BusyBox picks the applet from argv[0] */
        _exit(127);
    }
    return p;
}

int main(void)
{
    int a[2], b[2], c[2];
    pipe(a); pipe(b); pipe(c);
    char *s1[] = {"seq", "1", "1000", NULL};
    char *s2[] = {"grep", "7", NULL};
    char *s3[] = {"wc", "-l", NULL};
    pid_t p1 = stage(0, a[1], s1);
    close(a[1]);
    pid_t p2 = stage(a[0], b[1], s2);
    close(a[0]); close(b[1]);
    pid_t p3 = stage(b[0], c[1], s3);
    close(b[0]); close(c[1]);
    char buf[64] = {0};
    int n = 0, r;
    while ((r = read(c[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    printf("pipeline output: %s", buf);
    reap("seq", p1);
    reap("grep", p2);
    reap("wc", p3);
    /* a reader that exits early: the writer dies of SIGPIPE */
    pipe(a);
    char *y[] = {"yes", NULL};
    char *h[] = {"head", "-n", "2", NULL};
    p1 = stage(0, a[1], y);
    close(a[1]);
    p2 = stage(a[0], 1, h);
    close(a[0]);
    reap("head", p2);
    reap("yes", p1);
    return 0;
}
