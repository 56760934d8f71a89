/* RLIMIT_CPU (Linux's check_process_timers): SIGXCPU at the soft limit, after which the soft
 * limit moves up a second (one SIGXCPU per second), SIGKILL at the hard limit; the default
 * action of SIGXCPU kills. The CPU time shows in times() and getrusage(RUSAGE_CHILDREN).
 * twaron counts a task's time on the CPU platform, so timing is coarse: only counts are
 * printed. */
// contract: timeout=120
#include "contract.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>

static volatile int caught;
static void on_xcpu(int sig) { caught++; }

static void spin_with_handler(int fd)
{
    struct sigaction sa = {.sa_handler = on_xcpu};
    sigaction(SIGXCPU, &sa, NULL);
    struct rlimit rl = {1, 3};
    setrlimit(RLIMIT_CPU, &rl);
    int seen = 0;
    for (;;) {
        if (caught != seen) {
            seen = caught;
            getrlimit(RLIMIT_CPU, &rl);
            char msg[64];
            int n = snprintf(msg, sizeof msg, "SIGXCPU %d: soft limit now %ld, hard %ld\n", seen,
                             (long)rl.rlim_cur, (long)rl.rlim_max);
            write(fd, msg, n);
        }
    }
}

static void spin_default(void)
{
    struct rlimit rl = {1, RLIM_INFINITY};
    setrlimit(RLIMIT_CPU, &rl);
    for (;;)
        ;
}

static void report_status(const char *name, int st)
{
    if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", name, WTERMSIG(st));
    else
        printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

int main(void)
{
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        spin_with_handler(p[1]);
    }
    close(p[1]);
    char buf[512];
    int n, len = 0;
    while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += n;
    buf[len] = 0;
    fputs(buf, stdout);
    int st;
    waitpid(pid, &st, 0);
    report_status("handler, soft 1 hard 3", st);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    BOOL("children's user+sys time >= 2.5 s",
         ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6 >= 2.5);
    struct tms t;
    times(&t);
    BOOL("times: children >= 250 ticks", t.tms_cutime + t.tms_cstime >= 250);
    BOOL("times: own < 100 ticks", t.tms_utime + t.tms_stime < 100);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        spin_default();
    waitpid(pid, &st, 0);
    report_status("default action, soft 1", st);
    return 0;
}
