/* execve from a thread that is not the main one: the other threads end, the new program
 * runs with the process's pid (the execing thread takes the leader's), alone. */
#include "contract.h"
#include <pthread.h>

static char *self;

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static void *execer(void *arg)
{
    (void)arg;
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
    BOOL("exec thread: tid != pid", RAW(SYS_gettid) != getpid());
    fflush(stdout);
    char *argv[] = {self, "after-exec", pidbuf, 0};
    execv(self, argv);
    printf("execv: %s\n", errname(errno));
    return 0;
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 3) {
        BOOL("new program: same pid", atoi(argv[2]) == getpid());
        BOOL("new program: tid == pid", RAW(SYS_gettid) == getpid());
        printf("new program: threads %d\n", status_threads());
        return 12;
    }
    pid_t pid = FORK();
    if (pid == 0) {
        pthread_t t;
        for (int i = 0; i < 3; i++)
            pthread_create(&t, 0, sleeper, 0);
        pthread_create(&t, 0, execer, 0);
        for (;;)
            pause();
    }
    reap("exec from a thread", pid);
    return 0;
}
