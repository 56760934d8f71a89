/* A program that some process runs cannot be written: opening it for writing, O_TRUNC or
 * truncate(2) is ETXTBSY (its own executable, through /proc/self/exe, in a forked child
 * too, and a copy run by a child); reading it is fine; once the last process running it has
 * gone (or exec'd something else), it can be written again. */
#include "contract.h"
#include <signal.h>
#include <sys/wait.h>

static void try_open(const char *label, const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd >= 0) {
        printf("%s: ok\n", label);
        close(fd);
    } else {
        printf("%s: -1 %s\n", label, errname(errno));
    }
}

static void copy_self(const char *to)
{
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            printf("short write\n");
    close(in);
    close(out);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {  /* the copy, run by a child */
        char c;
        (void)!read(0, &c, 1);  /* until the parent closes the pipe */
        return 0;
    }
    try_open("own exe O_WRONLY", "/proc/self/exe", O_WRONLY);
    try_open("own exe O_RDWR", "/proc/self/exe", O_RDWR);
    try_open("own exe O_RDONLY|O_TRUNC", "/proc/self/exe", O_RDONLY | O_TRUNC);
    try_open("own exe O_RDONLY", "/proc/self/exe", O_RDONLY);
    report("own exe truncate", truncate("/proc/self/exe", 0));
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        try_open("child: parent's exe O_WRONLY", "/proc/self/exe", O_WRONLY);
        fflush(stdout);
        _exit(0);
    }
    waitpid(p, NULL, 0);

    enter_workdir("etxtbsy");
    copy_self("copy");
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    fflush(stdout);
    p = fork();
    if (p == 0) {
        dup2(pfd[0], 0);
        close(pfd[1]);
        execl("./copy", "copy", "wait", (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    /* wait until the child runs the copy: its /proc/PID/exe names it */
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)p);
    for (int i = 0; i < 10000; i++) {
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 5 && memcmp(target + n - 5, "/copy", 5) == 0)
            break;
        usleep(1000);
    }
    try_open("running copy O_WRONLY", "copy", O_WRONLY);
    report("running copy truncate", truncate("copy", 0));
    try_open("running copy O_RDONLY", "copy", O_RDONLY);
    close(pfd[1]);
    int st;
    waitpid(p, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    try_open("copy after exit O_WRONLY", "copy", O_WRONLY);
    report("copy after exit truncate", truncate("copy", 0));
    return 0;
}
