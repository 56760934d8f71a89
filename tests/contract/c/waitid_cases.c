/* waitid: P_PID/P_ALL/P_PGID, WEXITED, WNOHANG (si_pid 0), WNOWAIT (still waitable), si_code
 * CLD_EXITED/CLD_KILLED, si_status; EINVAL without a wait type; ECHILD. */
#include "contract.h"

static void show(const char *label, long r, siginfo_t *si, pid_t want)
{
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    const char *code = si->si_code == CLD_EXITED ? "CLD_EXITED" :
                       si->si_code == CLD_KILLED ? "CLD_KILLED" :
                       si->si_code == CLD_DUMPED ? "CLD_KILLED" :  /* core depends on host */
                       si->si_code == CLD_STOPPED ? "CLD_STOPPED" :
                       si->si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other";
    char status[32];
    if (si->si_code == CLD_EXITED)
        snprintf(status, sizeof status, "%d", si->si_status);
    else
        snprintf(status, sizeof status, "%s", signame(si->si_status));
    printf("%s: %ld signo %s code %s status %s pid %s\n", label, r,
           si->si_signo == SIGCHLD ? "SIGCHLD" : si->si_signo == 0 ? "0" : "other", code,
           status, si->si_pid == want ? "match" : "differs");
}

int main(void)
{
    siginfo_t si;
    CHECK("no children", RAW(SYS_waitid, P_ALL, 0, &si, WEXITED, NULL));
    CHECK("no wait type", RAW(SYS_waitid, P_ALL, 0, &si, 0, NULL));
    CHECK("bad idtype", RAW(SYS_waitid, 17, 0, &si, WEXITED, NULL));
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(9);
    }
    close(p[0]);
    memset(&si, 0xff, sizeof si);
    long r = RAW(SYS_waitid, P_PID, pid, &si, WEXITED | WNOHANG, NULL);
    printf("WNOHANG running: %ld si_pid %d si_signo %d\n", r, si.si_pid, si.si_signo);
    close(p[1]);
    memset(&si, 0, sizeof si);
    show("WNOWAIT", RAW(SYS_waitid, P_PID, pid, &si, WEXITED | WNOWAIT, NULL), &si, pid);
    memset(&si, 0, sizeof si);
    show("again (reaps)", RAW(SYS_waitid, P_ALL, 0, &si, WEXITED, NULL), &si, pid);
    CHECK("gone", RAW(SYS_waitid, P_PID, pid, &si, WEXITED | WNOHANG, NULL));
    pid = FORK();
    if (pid == 0) {
        pause();
        _exit(1);
    }
    kill(pid, SIGUSR2);
    memset(&si, 0, sizeof si);
    show("killed", RAW(SYS_waitid, P_PGID, getpgid(0), &si, WEXITED, NULL), &si, pid);
    return 0;
}
