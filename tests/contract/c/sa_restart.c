/* A blocking pipe read interrupted by a signal: with SA_RESTART it resumes and returns the data
 * written later; without, it fails with EINTR. Same for wait4 (restarted) and for the timer
 * (setitimer) and kill from another process as sources. */
#include "contract.h"
#include <sys/time.h>

static volatile int hits;
static void h(int s) { (void)s; hits++; }

static void one(const char *label, int flags, int by_child)
{
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    hits = 0;
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        close(p[0]);
        if (by_child) {
            msleep(50);
            kill(getppid(), SIGUSR1);
        }
        msleep(250);
        write(p[1], "data", 4);
        _exit(0);
    }
    close(p[1]);
    if (!by_child) {
        struct itimerval it = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    char buf[8] = {0};
    long r = read(p[0], buf, sizeof buf - 1);
    if (r < 0)
        printf("%s: read -1 %s, handler ran %d\n", label, errname(errno), hits);
    else
        printf("%s: read %ld '%s', handler ran %d\n", label, r, buf, hits);
    close(p[0]);
    reap("writer", pid);
}

int main(void)
{
    one("timer, SA_RESTART", SA_RESTART, 0);
    one("timer, no SA_RESTART", 0, 0);
    one("kill, SA_RESTART", SA_RESTART, 1);
    one("kill, no SA_RESTART", 0, 1);
    /* wait4 interrupted */
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sigaction(SIGALRM, &sa, NULL);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(250);
        _exit(2);
    }
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int st;
    CHECK("wait4 interrupted, no SA_RESTART", RAW(SYS_wait4, pid, &st, 0, NULL));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK("wait4 with SA_RESTART returns the pid", RAW(SYS_wait4, pid, &st, 0, NULL) == pid);
    print_status("child", st);
    return 0;
}
