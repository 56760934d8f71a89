/* execve of /proc/self/exe: O_CLOEXEC descriptors close, others survive, argv/envp arrive. */
#include "contract.h"

int main(int argc, char **argv, char **envp)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("child argc=%d argv2=%s env0=%s\n", argc, argv[2], envp[0] ? envp[0] : "(none)");
        struct stat st;
        CHECK("fstat kept fd 5", RAW(SYS_fstat, 5, &st));
        CHECK("fstat cloexec fd 6", RAW(SYS_fstat, 6, &st));
        char buf[8] = {0};
        CHECK("offset of kept fd", lseek(5, 0, SEEK_CUR));
        read(5, buf, 3);
        printf("kept fd reads: %s\n", buf);
        return 7;
    }
    enter_workdir("execve_self");
    put_file("f", "abcdefgh", 8, 0644);
    int a = open("f", O_RDONLY), b = open("f", O_RDONLY | O_CLOEXEC);
    dup2(a, 5);
    dup2(b, 6);
    lseek(5, 2, SEEK_SET);
    printf("parent: about to exec\n");
    fflush(stdout);
    char *nargv[] = {argv[0], "child", "second arg", NULL};
    char *nenv[] = {"ONLY=this", NULL};
    RAW(SYS_execve, "/proc/self/exe", nargv, nenv);
    printf("exec failed: %s\n", errname(errno));
    return 1;
}
