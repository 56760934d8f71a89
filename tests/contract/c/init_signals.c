/* pid 1 is protected: signals whose action is the default are not delivered to it (not even
 * SIGKILL from inside its namespace); a handled signal is delivered; other processes die. */
#include "contract.h"

static volatile int got;
static void h(int s) { got = s; }

int main(void)
{
    printf("pid %d\n", getpid());
    CHECK("kill(1, SIGTERM) by itself", kill(1, SIGTERM));
    printf("still alive after SIGTERM\n");
    CHECK("kill(1, SIGUSR1)", kill(1, SIGUSR1));
    printf("still alive after SIGUSR1\n");
    pid_t c = FORK();
    if (c == 0) {
        kill(1, SIGKILL);
        kill(1, SIGINT);
        _exit(0);
    }
    reap("child that signalled pid 1", c);
    printf("still alive after SIGKILL and SIGINT from a child\n");
    signal(SIGUSR2, h);
    kill(1, SIGUSR2);
    printf("handled: %s\n", signame(got));
    return 0;
}
