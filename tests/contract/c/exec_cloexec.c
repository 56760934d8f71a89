/* Across execve: O_CLOEXEC / FD_CLOEXEC fds close, others stay (offset kept); handlers reset
 * to SIG_DFL, SIG_IGN stays, the blocked mask and pid stay. The program re-execs itself. */
// contract: args=start
#include "contract.h"

static void handler(int s) { (void)s; }

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        BOOL("fd 5 (plain) open", fcntl(5, F_GETFD) >= 0);
        CHECK("fd 5 offset", lseek(5, 0, SEEK_CUR));
        CHECK("fd 6 (O_CLOEXEC)", fcntl(6, F_GETFD));
        CHECK("fd 7 (FD_CLOEXEC)", fcntl(7, F_GETFD));
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        BOOL("SIGUSR1 handler reset to SIG_DFL", sa.sa_handler == SIG_DFL);
        sigaction(SIGUSR2, NULL, &sa);
        BOOL("SIGUSR2 still SIG_IGN", sa.sa_handler == SIG_IGN);
        sigset_t m;
        sigprocmask(SIG_BLOCK, NULL, &m);
        BOOL("SIGTERM still blocked", sigismember(&m, SIGTERM));
        BOOL("same pid", atoi(argv[2]) == getpid());
        return 0;
    }
    int fd = open("/etc/passwd", O_RDONLY);
    dup2(fd, 5);
    lseek(5, 3, SEEK_SET);
    dup3(fd, 6, O_CLOEXEC);
    dup2(fd, 7);
    fcntl(7, F_SETFD, FD_CLOEXEC);
    signal(SIGUSR1, handler);
    signal(SIGUSR2, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGTERM);
    sigprocmask(SIG_BLOCK, &m, NULL);
    char pidbuf[16];
    snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
    char *nargv[] = {argv[0], "after", pidbuf, NULL};
    fflush(stdout);
    execv("/proc/self/exe", nargv);
    printf("execv: %s\n", errname(errno));
    return 1;
}
