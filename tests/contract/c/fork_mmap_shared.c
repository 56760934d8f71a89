/* MAP_SHARED|MAP_ANONYMOUS is shared across fork, MAP_PRIVATE is copied; a shared file mapping
 * written by the child reaches the file. */
#include "contract.h"
#include <sys/mman.h>

int main(void)
{
    enter_workdir("fork_mmap_shared");
    volatile int *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 1; shared[1024] = 1;
    priv[0] = 1;
    put_file("f", "AAAAAAAAAAAAAAAA", 16, 0644);
    int fd = open("f", O_RDWR);
    char *fm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pid_t pid = FORK();
    if (pid == 0) {
        shared[0] = 42;
        shared[1024] = 43;  /* second page, first touched after fork */
        priv[0] = 99;
        memcpy(fm, "child", 5);
        _exit(0);
    }
    reap("child", pid);
    printf("shared: %d %d\n", shared[0], shared[1024]);
    printf("private: %d\n", priv[0]);
    char buf[17] = {0};
    pread(fd, buf, 16, 0);
    printf("file: %s\n", buf);
    /* parent writes after fork are seen by a new child too */
    shared[1] = 7;
    pid = FORK();
    if (pid == 0) {
        shared[1] += 1;
        _exit(shared[1]);
    }
    reap("child 2", pid);
    printf("shared[1] now %d\n", shared[1]);
    return 0;
}
