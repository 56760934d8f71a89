/* Default actions in children: SIGALRM from alarm/setitimer terminates, SIGCHLD/SIGURG/SIGWINCH
 * are ignored, SIGCONT to a running process is harmless, SIGTSTP is discarded in an orphaned process group, SIG_IGN survives. */
#include "contract.h"
#include <sys/time.h>

static pid_t child(void (*body)(void))
{
    pid_t p = FORK();
    if (p == 0) {
        body();
        _exit(0);
    }
    return p;
}

static void by_alarm(void) { alarm(1); pause(); }
static void by_itimer(void)
{
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (;;)
        pause();
}
static void ignored_defaults(void)
{
    raise(SIGCHLD); raise(SIGURG); raise(SIGWINCH); raise(SIGCONT);
    _exit(5);
}
static void ignore_term(void) { signal(SIGTERM, SIG_IGN); raise(SIGTERM); _exit(6); }
static void remaining(void)
{
    alarm(100);
    printf("alarm(0) returns remaining about 100: %s\n", alarm(0) >= 99 ? "yes" : "no");
    printf("alarm again: %u\n", alarm(0));
    fflush(stdout);
}

int main(void)
{
    reap("alarm(1) then pause", child(by_alarm));
    reap("setitimer 30ms", child(by_itimer));
    reap("ignored by default", child(ignored_defaults));
    reap("SIG_IGN SIGTERM", child(ignore_term));
    reap("alarm remaining", child(remaining));
    pid_t p = FORK();
    if (p == 0) {
        raise(SIGTSTP);
        _exit(7);
    }
    int st;
    waitpid(p, &st, WUNTRACED);
    /* our process group is orphaned (pid 1's parent is outside), so SIGTSTP is discarded */
    print_status("SIGTSTP in an orphaned process group", st);
    return 0;
}
