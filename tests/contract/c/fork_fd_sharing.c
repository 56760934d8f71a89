/* After fork the open file description is shared: offsets move together, O_APPEND and
 * close in one process does not close it in the other. */
#include "contract.h"

int main(void)
{
    enter_workdir("fork_fd_sharing");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123", 4);
    pid_t pid = FORK();
    if (pid == 0) {
        write(fd, "child", 5);
        close(fd);
        _exit(0);
    }
    reap("child", pid);
    CHECK("parent offset after child's write", lseek(fd, 0, SEEK_CUR));
    write(fd, "parent", 6);
    char buf[32] = {0};
    pread(fd, buf, sizeof buf - 1, 0);
    printf("content: %s\n", buf);
    CHECK("fd still open in parent", fcntl(fd, F_GETFD));
    return 0;
}
