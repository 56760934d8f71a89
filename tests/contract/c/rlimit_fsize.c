/* RLIMIT_FSIZE (Linux's generic_write_check_limits and inode_newsize_ok): a write is cut at
 * the limit; one starting at or past it raises SIGXFSZ and fails EFBIG when the signal is
 * ignored or caught; growing a file by truncate past the limit too; pipes and devices are
 * not limited. */
#include "contract.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static volatile int caught;
static void on_xfsz(int sig) { caught++; }

static void limit(rlim_t n)
{
    struct rlimit rl = {n, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
        printf("setrlimit: %s\n", errname(errno));
        exit(99);
    }
}

static long fsize(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return st.st_size;
}

static void ignored(void)
{
    char buf[200];
    memset(buf, 'x', sizeof buf);
    signal(SIGXFSZ, SIG_IGN);
    limit(100);
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("write 60", write(fd, buf, 60));
    CHECK("write 60 more (cut at the limit)", write(fd, buf, 60));
    CHECK("size", fsize(fd));
    CHECK("write 1 at the limit", write(fd, buf, 1));
    CHECK("write 0 at the limit", write(fd, buf, 0));
    CHECK("pwrite 5 at 98", pwrite(fd, buf, 5, 98));
    CHECK("pwrite 1 at 100", pwrite(fd, buf, 1, 100));
    CHECK("pwrite 1 at 1000", pwrite(fd, buf, 1, 1000));
    CHECK("pwrite 10 at 0 (inside)", pwrite(fd, buf, 10, 0));
    struct iovec iov[2] = {{buf, 30}, {buf, 30}};
    lseek(fd, 50, SEEK_SET);
    CHECK("writev 60 at 50", writev(fd, iov, 2));
    CHECK_OK("ftruncate 40 (shrink)", ftruncate(fd, 40));
    CHECK_OK("ftruncate 100 (= limit)", ftruncate(fd, 100));
    CHECK_OK("ftruncate 101", ftruncate(fd, 101));
    CHECK_OK("truncate 500", truncate("f", 500));
    CHECK("size", fsize(fd));
    int afd = open("f", O_WRONLY | O_APPEND);
    CHECK("append at the limit", write(afd, buf, 1));
    CHECK_OK("ftruncate 90", ftruncate(fd, 90));
    CHECK("append 20 at 90", write(afd, buf, 20));
    int null = open("/dev/null", O_WRONLY);
    CHECK("/dev/null is not limited", write(null, buf, 200));
    int p[2];
    pipe(p);
    CHECK("a pipe is not limited", write(p[1], buf, 200));
    CHECK("caught nothing", caught);
    exit(0);
}

static void handled(void)
{
    char buf[16] = "0123456789abcdef";
    struct sigaction sa = {.sa_handler = on_xfsz};
    sigaction(SIGXFSZ, &sa, NULL);
    limit(10);
    int fd = open("g", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("write 16 (cut)", write(fd, buf, 16));
    CHECK("signals so far", caught);
    CHECK("write past", write(fd, buf, 16));
    CHECK("signals", caught);
    CHECK_OK("ftruncate 11", ftruncate(fd, 11));
    CHECK("signals", caught);
    exit(0);
}

static void defaulted(void)
{
    limit(10);
    int fd = open("h", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    printf("about to write past the limit\n");
    fflush(stdout);
    write(fd, "x", 1);
    printf("still alive\n");
    exit(0);
}

static void run(const char *name, void (*fn)(void))
{
    printf("-- %s\n", name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        fn();
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", name, WTERMSIG(st));
    else
        printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

int main(void)
{
    enter_workdir("rlimit_fsize");
    run("ignored", ignored);
    run("handled", handled);
    run("default", defaulted);
    return 0;
}
