/* pidfd_send_signal takes an fd open on a /proc/PID directory as the process it names
 * (Linux's tgid_pidfd_to_pid; CPython's test_signal uses /proc/self this way): the
 * caller itself (its handler runs), a child (killed), and what is not such a directory:
 * /proc itself, /proc/PID/task/TID, a file of /proc/PID, a regular directory (EBADF).
 * pidfd_getfd and waitid(P_PIDFD) do not take it (EBADF). */
#include "contract.h"
#include <signal.h>
#include <sys/wait.h>

static int send_sig(int fd, int sig) { return RAW(SYS_pidfd_send_signal, fd, sig, 0, 0); }

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }

static void try_path(const char *label, const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) {
        printf("%s: open %s\n", label, errname(errno));
        return;
    }
    CHECK(label, send_sig(fd, 0));
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);

    int self = open("/proc/self", O_RDONLY | O_DIRECTORY);
    CHECK("self sig 0", send_sig(self, 0));
    CHECK("self SIGUSR1", send_sig(self, SIGUSR1));
    printf("handler ran: %s\n", got == SIGUSR1 ? "yes" : "no");
    CHECK("self bad signal", send_sig(self, 1000));
    CHECK("getfd on /proc/self", RAW(SYS_pidfd_getfd, self, 0, 0));
    siginfo_t si;
    CHECK("waitid P_PIDFD on /proc/self", RAW(SYS_waitid, P_PIDFD, self, &si, WEXITED, 0));
    close(self);

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)child);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    CHECK("child SIGKILL", send_sig(fd, SIGKILL));
    int status;
    waitpid(child, &status, 0);
    printf("child killed by: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
           ? "SIGKILL" : "other");
    CHECK("reaped child", send_sig(fd, 0));
    close(fd);

    snprintf(path, sizeof path, "/proc/self/task/%d", (int)getpid());
    try_path("task dir", path, O_RDONLY | O_DIRECTORY);
    try_path("/proc", "/proc", O_RDONLY | O_DIRECTORY);
    try_path("/proc/self/status", "/proc/self/status", O_RDONLY);
    try_path("/", "/", O_RDONLY | O_DIRECTORY);
    return 0;
}
