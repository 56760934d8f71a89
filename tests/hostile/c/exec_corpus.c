/* Exec every file named on the command line (fork, execve, wait) and print how it went:
 * the errno name when execve fails, else how the new program ended. */
#include "contract.h"
#include <sys/wait.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int pipefd[2];
        pipe(pipefd);
        pid_t pid = fork();
        if (pid == 0) {
            close(pipefd[0]);
            fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
            char *args[] = {argv[i], 0}, *env[] = {0};
            execve(argv[i], args, env);
            int e = errno;
            write(pipefd[1], &e, sizeof e);
            _exit(127);
        }
        close(pipefd[1]);
        int e = 0, st = 0;
        ssize_t n = read(pipefd[0], &e, sizeof e);
        close(pipefd[0]);
        waitpid(pid, &st, 0);
        const char *name = strrchr(argv[i], '/') + 1;
        if (n == sizeof e)
            printf("%s: execve %s\n", name, errname(e));
        else if (WIFSIGNALED(st))
            printf("%s: killed by signal %d\n", name, WTERMSIG(st));
        else
            printf("%s: exit %d\n", name, WEXITSTATUS(st));
        fflush(stdout);
    }
    return 0;
}
