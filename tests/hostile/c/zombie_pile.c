/* Forks children that exit at once and are never reaped (waitid with WNOWAIT waits for each
 * to be a zombie and leaves it one), until fork fails: each zombie is charged to the
 * machine's memory (Linux charges its task_struct and the rest to the memory it runs in),
 * so the pile is bounded by RAM and fork ends with ENOMEM. Prints how many zombies it made
 * and fork's errno. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    long n = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        if (p < 0)
            break;
        siginfo_t info;
        if (waitid(P_PID, p, &info, WEXITED | WNOWAIT) < 0)
            break;
        n++;
    }
    printf("zombies %ld fork %s\n", n, errno == ENOMEM ? "ENOMEM" : errno == EAGAIN ? "EAGAIN" : "other");
    return 0;
}
