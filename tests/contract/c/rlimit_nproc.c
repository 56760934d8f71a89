/* RLIMIT_NPROC (Linux's copy_process): fork fails EAGAIN when the real user already has
 * rlim_cur tasks; zombies count until reaped; root (uid 0) is exempt (so is
 * CAP_SYS_RESOURCE/CAP_SYS_ADMIN). The limit counts the user's tasks on the whole host,
 * namespaces or not, so the user is a random uid: parallel native runs of this program
 * must not count each other's children. */
#include "contract.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <sys/random.h>

static uid_t random_uid(void)
{
    unsigned int r = 0;
    getrandom(&r, sizeof r, 0);
    return 100000 + r % 1000000000;
}

static pid_t spawn(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void as_user(void)
{
    pid_t kids[16];
    int n = 0;
    uid_t uid = random_uid();
    if (setgid(uid) != 0 || setuid(uid) != 0) {
        printf("setuid: %s\n", errname(errno));
        exit(99);
    }
    struct rlimit rl = {4, 4};
    CHECK_OK("setrlimit NPROC 4", setrlimit(RLIMIT_NPROC, &rl));
    pid_t pid;
    while (n < 16 && (pid = spawn()) > 0)
        kids[n++] = pid;
    printf("forks before failing: %d, then %s\n", n, errname(errno));
    if (n == 0)
        exit(1);
    kill(kids[0], SIGKILL);
    usleep(100000);
    CHECK_OK("fork with a zombie", spawn());
    waitpid(kids[0], NULL, 0);
    kids[0] = spawn();
    BOOL("fork after reaping it", kids[0] > 0);
    pid = spawn();
    printf("next fork: %s\n", pid > 0 ? "ok" : errname(errno));
    rl.rlim_cur = rl.rlim_max = 1000;
    CHECK("raise the hard limit", setrlimit(RLIMIT_NPROC, &rl));
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    if (pid > 0)
        kill(pid, SIGKILL);
    while (wait(NULL) > 0)
        ;
    exit(0);
}

int main(void)
{
    struct rlimit rl, old;
    getrlimit(RLIMIT_NPROC, &old);
    rl = old;
    rl.rlim_cur = 0;
    CHECK_OK("root: setrlimit NPROC 0", setrlimit(RLIMIT_NPROC, &rl));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    BOOL("root: fork over the limit works", pid > 0);
    waitpid(pid, NULL, 0);
    CHECK_OK("root: raise it again", setrlimit(RLIMIT_NPROC, &old));
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        as_user();
    int st;
    waitpid(pid, &st, 0);
    printf("user: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    return 0;
}
