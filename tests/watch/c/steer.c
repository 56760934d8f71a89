/* A deterministic program for the watch tests (tests/watch/): the same calls in the same
 * order every run, natively and in twaron. It opens, writes and closes a file of its own
 * in /tmp five times, forks a child that does the same once, waits for it, removes the
 * file and prints what each call answered (errno names only). Its exit status is the
 * number of calls that failed. With an argument "quiet" it prints nothing but the tally.
 */
#include "contract.h"
#include <sys/wait.h>

static int failures;

static void step(const char *label, long r)
{
    if (r < 0) {
        failures++;
        printf("%s: -1 %s\n", label, errname(errno));
    } else {
        printf("%s: ok\n", label);
    }
}

static void round_trip(const char *path, int i)
{
    char label[32];
    snprintf(label, sizeof label, "open %d", i);
    int fd = openat(AT_FDCWD, path, O_RDWR | O_CREAT, 0600);
    step(label, fd);
    if (fd < 0)
        return;
    snprintf(label, sizeof label, "write %d", i);
    step(label, write(fd, "data\n", 5));
    snprintf(label, sizeof label, "close %d", i);
    step(label, close(fd));
}

int main(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/twaron-steer-%ld", (long)getpid());
    setvbuf(stdout, NULL, _IONBF, 0); /* one write per line: the order survives fork */
    for (int i = 1; i <= 5; i++)
        round_trip(path, i);
    pid_t child = fork();
    if (child == 0) {
        round_trip(path, 6);
        _exit(failures);
    }
    int status = 0;
    step("wait", waitpid(child, &status, 0));
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    step("unlink", unlink(path));
    printf("failures: %d\n", failures);
    return failures;
}
