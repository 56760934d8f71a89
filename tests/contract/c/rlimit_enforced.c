/* Limits that the kernel enforces: RLIMIT_FSIZE (SIGXFSZ, EFBIG), RLIMIT_NOFILE (EMFILE, and
 * a child inherits it), RLIMIT_AS (mmap ENOMEM), RLIMIT_CORE 0; lowering a hard limit. */
#include "contract.h"
#include <sys/mman.h>
#include <sys/resource.h>

int main(void)
{
    enter_workdir("rlimit_enforced");
    struct rlimit rl = {4096, RLIM_INFINITY};
    CHECK("FSIZE 4096", setrlimit(RLIMIT_FSIZE, &rl));
    pid_t pid = FORK();
    if (pid == 0) {
        int fd = open("big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        static char buf[8192];
        write(fd, buf, sizeof buf);  /* SIGXFSZ by default: killed */
        _exit(0);
    }
    reap("child writing past FSIZE", pid);
    signal(SIGXFSZ, SIG_IGN);
    int fd = open("big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    static char buf[8192];
    CHECK("write crossing the limit (partial)", write(fd, buf, sizeof buf));
    CHECK("write at the limit", write(fd, buf, 1));
    CHECK("ftruncate past the limit", ftruncate(fd, 10000));
    close(fd);
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit nf;
    getrlimit(RLIMIT_NOFILE, &nf);
    rl.rlim_cur = 8; rl.rlim_max = nf.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    pid = FORK();
    if (pid == 0) {
        int last = -1, f;
        while ((f = open("/", O_RDONLY)) >= 0)
            last = f;
        printf("child: last fd %d then %s\n", last, errname(errno));
        int p[2];
        printf("child: pipe at the limit: %s\n", pipe(p) < 0 ? errname(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    reap("child", pid);
    setrlimit(RLIMIT_NOFILE, &nf);
    pid = FORK();
    if (pid == 0) {
        struct rlimit as = {64 << 20, 64 << 20};
        setrlimit(RLIMIT_AS, &as);
        void *p = mmap(NULL, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("child: 128 MiB mmap under a 64 MiB RLIMIT_AS: %s\n",
               p == MAP_FAILED ? errname(errno) : "mapped");
        p = malloc(100 << 20);
        printf("child: 100 MiB malloc: %s\n", p ? "ok" : "NULL");
        fflush(stdout);
        _exit(0);
    }
    reap("child", pid);
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    rl.rlim_cur = 0; rl.rlim_max = core.rlim_max;
    CHECK("CORE 0", setrlimit(RLIMIT_CORE, &rl));
    rl.rlim_cur = 10; rl.rlim_max = 20;
    CHECK("lower NOFILE hard to 20", setrlimit(RLIMIT_NOFILE, &rl));
    return 0;
}
