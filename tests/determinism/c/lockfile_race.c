/* Two processes take a "lock" by checking that a file does not exist and then creating it
 * (check-then-act without O_EXCL). Natively the child starts well after the parent has
 * taken the lock, so one process wins most of the time; a switch between one's check and
 * its create lets both win. Exit 1 then. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOCK "/tmp/lock"

static int take_lock(const char *who) {
    if (access(LOCK, F_OK) == 0)
        return 0;  /* someone holds it */
    int fd = open(LOCK, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return 0;
    write(fd, who, 1);
    close(fd);
    return 1;
}

int main(void) {
    unlink(LOCK);
    pid_t child = fork();
    if (child == 0)
        _exit(take_lock("c"));
    int mine = take_lock("p");
    int status = 0;
    waitpid(child, &status, 0);
    int winners = mine + (WIFEXITED(status) ? WEXITSTATUS(status) : 0);
    printf("winners=%d\n", winners);
    return winners == 1 ? 0 : 1;
}
