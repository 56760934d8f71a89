/* pidfds: pidfd_open (flags, errors, a thread's tid), poll until the process exits,
 * pidfd_send_signal (with and without a siginfo, errors, zombie and reaped targets),
 * pidfd_getfd (a child's file, ptrace access, errors), CLONE_PIDFD through clone3 and clone,
 * and waitid(P_PIDFD). */
#include "contract.h"
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int pidfd_open(pid_t pid, unsigned flags) { return RAW(SYS_pidfd_open, pid, flags); }
static int send_sig(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return RAW(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int getfd(int fd, int target, unsigned flags) { return RAW(SYS_pidfd_getfd, fd, target, flags); }

static int readable(int fd, int timeout)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, timeout);
    return r > 0 && (p.revents & POLLIN);
}

static void show_link(const char *label, int fd)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: %s\n", label, buf);
}

static void wait_pidfd(const char *label, int fd, int options)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (RAW(SYS_waitid, P_PIDFD, fd, &si, options, 0) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: ok code %d status %d pid_set %s\n", label, si.si_code, si.si_status,
           si.si_pid ? "yes" : "no");
}

/* ---- a thread's tid is no process */
static int thread_tid;
static int to_main[2], to_thread[2];
static void *thread_main(void *arg)
{
    (void)arg;
    thread_tid = syscall(SYS_gettid);
    char c;
    write(to_main[1], "t", 1);
    read(to_thread[0], &c, 1);
    return NULL;
}

static void test_open(void)
{
    CHECK("open bad flags", pidfd_open(getpid(), 1));
    CHECK("open pid 0", pidfd_open(0, 0));
    CHECK("open pid -1", pidfd_open(-1, 0));
    int fd = pidfd_open(getpid(), 0);
    BOOL("open self", fd >= 0);
    BOOL("cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    printf("accmode rdwr: %s\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? "yes" : "no");
    BOOL("nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK);
    show_link("link", fd);
    char c;
    CHECK("read", read(fd, &c, 1));
    CHECK("pread", pread(fd, &c, 1, 0));
    CHECK("pwrite", pwrite(fd, &c, 1, 0));
    CHECK("lseek", lseek(fd, 0, SEEK_SET));
    CHECK("ftruncate", ftruncate(fd, 0));
    CHECK("ftruncate -1", ftruncate(fd, -1));
    CHECK("fallocate", fallocate(fd, 0, 0, 10));
    CHECK("fallocate len 0", fallocate(fd, 0, 0, 0));
    BOOL("self not readable", !readable(fd, 0));
    close(fd);
    fd = pidfd_open(getpid(), PIDFD_NONBLOCK);
    BOOL("PIDFD_NONBLOCK", fcntl(fd, F_GETFL) & O_NONBLOCK);
    close(fd);

    pipe(to_main);
    pipe(to_thread);
    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    char t;
    read(to_main[0], &t, 1);  /* the thread runs until we let it go */
    /* Linux 6.1 says EINVAL, later ones ENOENT (PIDFD_THREAD came in 6.9) */
    int r = pidfd_open(thread_tid, 0);
    BOOL("open thread tid fails", r < 0 && (errno == EINVAL || errno == ENOENT));
    write(to_thread[1], "x", 1);
    pthread_join(th, NULL);
    close(to_main[0]); close(to_main[1]); close(to_thread[0]); close(to_thread[1]);

    pid_t pid = FORK();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    CHECK("open reaped", pidfd_open(pid, 0));
}

/* ---- poll until exit, signals, zombie, reap */
static volatile sig_atomic_t got_code, got_value, got_sig;
static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got_sig = sig;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
}

static void test_signals(void)
{
    int go[2], back[2];
    pipe(go);
    pipe(back);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t pid = FORK();
    if (pid == 0) {
        char c;
        for (int round = 0; round < 2; round++) {
            while (read(go[0], &c, 1) < 0 && errno == EINTR)
                ;
            char msg[64];
            int n = snprintf(msg, sizeof msg, "child: sig %d code %d value %d\n",
                             (int)got_sig, (int)got_code, (int)got_value);
            got_sig = 0;  /* before the parent hears back and signals again */
            write(back[1], msg, n);
        }
        _exit(5);
    }
    int fd = pidfd_open(pid, 0);
    BOOL("child pidfd", fd >= 0);
    BOOL("running not readable", !readable(fd, 0));
    CHECK("send flags", send_sig(fd, SIGUSR1, NULL, 8));
    CHECK("send bad sig", send_sig(fd, 65, NULL, 0));
    CHECK("send not pidfd", send_sig(go[0], SIGUSR1, NULL, 0));
    CHECK("send bad fd", send_sig(-1, SIGUSR1, NULL, 0));
    CHECK("send efault", send_sig(fd, SIGUSR1, BAD_PTR, 0));
    CHECK("send sig 0", send_sig(fd, 0, NULL, 0));

    CHECK("send SIGUSR1", send_sig(fd, SIGUSR1, NULL, 0));
    write(go[1], "a", 1);
    char buf[128];
    ssize_t n = read(back[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s", buf);

    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 77;
    siginfo_t mismatch = si;
    mismatch.si_signo = SIGUSR2;
    CHECK("send info mismatch", send_sig(fd, SIGUSR1, &mismatch, 0));
    siginfo_t user = si;
    user.si_code = SI_USER;
    CHECK("send info SI_USER to other", send_sig(fd, SIGUSR1, &user, 0));
    CHECK("send info SI_QUEUE", send_sig(fd, SIGUSR1, &si, 0));
    write(go[1], "b", 1);
    n = read(back[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s", buf);

    BOOL("exited readable", readable(fd, -1));
    CHECK("send to zombie", send_sig(fd, SIGUSR1, NULL, 0));
    wait_pidfd("waitid zombie", fd, WEXITED);
    BOOL("reaped readable", readable(fd, 0));
    CHECK("send to reaped", send_sig(fd, SIGUSR1, NULL, 0));
    CHECK("send bad sig to reaped", send_sig(fd, 65, NULL, 0));
    wait_pidfd("waitid reaped", fd, WEXITED);
    close(fd);
    close(go[0]); close(go[1]); close(back[0]); close(back[1]);
    signal(SIGUSR1, SIG_DFL);

    /* a signal that kills */
    pid = FORK();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    fd = pidfd_open(pid, 0);
    CHECK("send SIGKILL", send_sig(fd, SIGKILL, NULL, 0));
    BOOL("killed readable", readable(fd, -1));
    int st;
    waitpid(pid, &st, 0);
    print_status("killed child", st);
    close(fd);
}

/* ---- pidfd_getfd */
static void test_getfd(void)
{
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    put_file("secret", "from child", 10, 0600);
    pid_t pid = FORK();
    if (pid == 0) {
        int f = open("secret", O_RDONLY);
        dup2(f, 42);
        close(f);
        write(ready[1], "r", 1);
        char c;
        read(done[0], &c, 1);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    int fd = pidfd_open(pid, 0);
    int got = getfd(fd, 42, 0);
    BOOL("getfd", got >= 0);
    char buf[32] = {0};
    read(got, buf, sizeof buf - 1);
    printf("getfd reads: %s\n", buf);
    BOOL("getfd cloexec", fcntl(got, F_GETFD) == FD_CLOEXEC);
    close(got);
    CHECK("getfd flags", getfd(fd, 42, 1));
    CHECK("getfd closed fd", getfd(fd, 43, 0));
    CHECK("getfd negative fd", getfd(fd, -1, 0));
    CHECK("getfd not pidfd", getfd(ready[0], 0, 0));
    CHECK("getfd bad pidfd", getfd(-1, 0, 0));

    /* another user may not take a root process's files */
    pid_t other = FORK();
    if (other == 0) {
        int pfd = pidfd_open(getppid(), 0);
        setgid(1000);
        setuid(1000);
        int r = getfd(pfd, 0, 0);
        _exit(r < 0 ? errno : 0);
    }
    int st;
    waitpid(other, &st, 0);
    printf("getfd as other user: %s\n", errname(WEXITSTATUS(st)));

    write(done[1], "d", 1);
    BOOL("child exited", readable(fd, -1));
    CHECK("getfd zombie", getfd(fd, 42, 0));
    waitpid(pid, NULL, 0);
    CHECK("getfd reaped", getfd(fd, 42, 0));
    close(fd);
    close(ready[0]); close(ready[1]); close(done[0]); close(done[1]);
}

/* ---- CLONE_PIDFD */
static int lowest_free_fd(void)
{
    int fd = dup(0);
    close(fd);
    return fd;
}

static void test_clone3(void)
{
    int pidfd = -1;
    struct clone_args_v0 args = {0};
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    int expect = lowest_free_fd();
    fflush(stdout);
    long pid = RAW(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        /* the child's table was copied before the pidfd was installed */
        _exit(fcntl(expect, F_GETFD) < 0 ? 7 : 8);
    }
    BOOL("clone3 pid", pid > 0);
    BOOL("clone3 pidfd is the lowest free fd", pidfd == expect);
    BOOL("clone3 pidfd cloexec", fcntl(pidfd, F_GETFD) == FD_CLOEXEC);
    show_link("clone3 link", pidfd);
    BOOL("clone3 child exit readable", readable(pidfd, -1));
    wait_pidfd("clone3 waitid", pidfd, WEXITED);
    close(pidfd);

    /* (CLONE_PIDFD|CLONE_THREAD: EINVAL in Linux 6.1, a thread's pidfd since 6.9) */
    args.flags = CLONE_PIDFD;
    args.exit_signal = SIGCHLD;
    args.pidfd = (uint64_t)(uintptr_t)BAD_PTR;
    fflush(stdout);
    pid = RAW(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(0);
    report("clone3 bad pidfd pointer", pid);
    CHECK("no child made", waitpid(-1, NULL, WNOHANG));

    int ptid = 0;
    pidfd = -1;
    args.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.parent_tid = (uint64_t)(uintptr_t)&pidfd;
    CHECK("clone3 pidfd and parent_tid at one place", RAW(SYS_clone3, &args, sizeof args));
    args.parent_tid = (uint64_t)(uintptr_t)&ptid;
    fflush(stdout);
    pid = RAW(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(1);
    BOOL("clone3 both set", pidfd >= 0 && ptid == pid);
    wait_pidfd("clone3 waitid 2", pidfd, WEXITED);
    close(pidfd);
}

static void test_clone(void)
{
    int pidfd = -1;
    fflush(stdout);
    long pid = RAW(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (pid == 0)
        _exit(3);
    BOOL("clone pid", pid > 0);
    BOOL("clone pidfd", pidfd >= 0);
    wait_pidfd("clone waitid", pidfd, WEXITED);
    close(pidfd);
    CHECK("clone CLONE_PIDFD|CLONE_PARENT_SETTID",
          RAW(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0));
    CHECK("clone CLONE_PIDFD|CLONE_DETACHED",
          RAW(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &pidfd, 0, 0));
}

/* ---- waitid(P_PIDFD) */
static void test_waitid(void)
{
    int self = pidfd_open(getpid(), 0);
    wait_pidfd("waitid self", self, WEXITED | WNOHANG);
    close(self);
    wait_pidfd("waitid fd -1", -1, WEXITED);
    wait_pidfd("waitid not pidfd", 0, WEXITED);
    wait_pidfd("waitid no options", 0, 0);

    int go[2];
    pipe(go);
    pid_t pid = FORK();
    if (pid == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(9);
    }
    int fd = pidfd_open(pid, PIDFD_NONBLOCK);
    wait_pidfd("waitid nonblock running", fd, WEXITED);
    wait_pidfd("waitid nonblock WNOHANG", fd, WEXITED | WNOHANG);
    write(go[1], "g", 1);
    BOOL("exited", readable(fd, -1));
    wait_pidfd("waitid WNOWAIT", fd, WEXITED | WNOWAIT);
    wait_pidfd("waitid after exit", fd, WEXITED);
    wait_pidfd("waitid again", fd, WEXITED);
    close(fd);
    close(go[0]);
    close(go[1]);
}

int main(void)
{
    enter_workdir("pidfd");
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_open();
    test_signals();
    test_getfd();
    test_clone3();
    test_clone();
    test_waitid();
    return 0;
}
