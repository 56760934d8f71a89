/* A child execs BusyBox: its output, its exit status; a failed exec returns ENOENT/EACCES
 * in the child, which then exits 127. */
#include "contract.h"

int main(void)
{
    pid_t pid = FORK();
    if (pid == 0) {
        char *argv[] = {"echo", "hello from exec", NULL};
        execv("/bin/echo", argv);
        _exit(127);
    }
    reap("echo", pid);
    pid = FORK();
    if (pid == 0) {
        char *argv[] = {"sh", "-c", "exit 5", NULL};
        execv("/bin/sh", argv);
        _exit(127);
    }
    reap("sh exit 5", pid);
    pid = FORK();
    if (pid == 0) {
        char *argv[] = {"nope", NULL};
        execv("/nonexistent/prog", argv);
        printf("exec failed: %s\n", errname(errno));
        fflush(stdout);
        _exit(127);
    }
    reap("missing", pid);
    pid = FORK();
    if (pid == 0) {
        char *argv[] = {"etc", NULL};
        execv("/etc/passwd", argv);
        printf("exec of a non-executable: %s\n", errname(errno));
        fflush(stdout);
        _exit(126);
    }
    reap("not executable", pid);
    pid = FORK();
    if (pid == 0) {
        char *argv[] = {"sh", "-c", "echo $0 $1; echo env=$CONTRACT_VAR", "zero", "one", NULL};
        char *envp[] = {"CONTRACT_VAR=yes", "PATH=/bin", NULL};
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    reap("argv and envp", pid);
    return 0;
}
