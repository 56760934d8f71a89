/* signalfd and signalfd4: blocked signals read through the fd as struct signalfd_siginfo
 * (signo, code, pid, uid, status, int/ptr: the deterministic fields), thread-directed ones
 * first, queued real-time signals in order, several records per read, SIGCHLD (ignored by
 * default, but blocked signals are never ignored), a new mask for an existing signalfd, the
 * reader's own signals after fork, poll and epoll readiness, a read woken by another
 * process's kill, and the errors. */
#include "contract.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

static int sigusr_seen;
static void on_sig(int s) { sigusr_seen = s; }

static const char *code_name(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    default: {
        static char b[16];
        snprintf(b, sizeof b, "%d", c);
        return b;
    }
    }
}

static void show(const char *label, struct signalfd_siginfo *s, pid_t pid)
{
    printf("%s: %s code %s pid %s uid %u status %d int %d ptr %llu errno %d tid %u "
           "overrun %u fd %d band %u addr %llu\n",
           label, signame(s->ssi_signo), code_name(s->ssi_code),
           s->ssi_pid == (uint32_t)pid ? "ok" : "other", s->ssi_uid, s->ssi_status,
           s->ssi_int, (unsigned long long)s->ssi_ptr, s->ssi_errno, s->ssi_tid,
           s->ssi_overrun, s->ssi_fd, s->ssi_band, (unsigned long long)s->ssi_addr);
}

static void rd(const char *label, int fd, pid_t pid)
{
    struct signalfd_siginfo s;
    memset(&s, 0xaa, sizeof s);
    ssize_t n = read(fd, &s, sizeof s);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %zd bytes\n", label, n);
    show(label, &s, pid);
}

int main(void)
{
    sigset_t all, usr1, usr2, both;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGCHLD);
    sigaddset(&both, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &both, NULL);
    pid_t me = getpid();
    int p[2];
    pipe(p);

    CHECK("bad flags", signalfd(-1, &usr1, 1));
    CHECK("bad size", RAW(SYS_signalfd4, -1, &usr1, 4, 0));
    CHECK("bad mask pointer", RAW(SYS_signalfd4, -1, BAD_PTR, 8, 0));
    CHECK("bad fd", signalfd(99, &usr1, 0));
    CHECK("fd -2", signalfd(-2, &usr1, 0));
    CHECK("not a signalfd", signalfd(p[0], &usr1, 0));
    CHECK("bad flags on an existing fd (checked first)", RAW(SYS_signalfd4, p[0], &usr1, 8, 1));
    CHECK("signalfd (no flags): bad size", RAW(SYS_signalfd, -1, &usr1, 16));

    int fd = signalfd(-1, &both, SFD_NONBLOCK | SFD_CLOEXEC);
    BOOL("close-on-exec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    printf("F_GETFL: %#x\n", fcntl(fd, F_GETFL) & ~0100000);
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", n > 0 ? link : errname(errno));
    CHECK("lseek", lseek(fd, 0, SEEK_CUR));
    CHECK("write", write(fd, "x", 1));

    rd("nothing pending", fd, me);
    char small[100];
    CHECK("read of 100 bytes", read(fd, small, sizeof small));
    struct pollfd pf = {fd, POLLIN, 0};
    CHECK("poll, nothing", poll(&pf, 1, 0));

    raise(SIGUSR1);
    CHECK("poll, USR1 pending", poll(&pf, 1, 0));
    rd("raise(USR1)", fd, me);
    kill(me, SIGUSR2);
    rd("kill(self, USR2)", fd, me);
    union sigval v = {.sival_int = 1234};
    sigqueue(me, SIGRTMIN, v);
    v.sival_int = 5678;
    sigqueue(me, SIGRTMIN, v);
    struct signalfd_siginfo three[3];
    n = read(fd, three, sizeof three);
    printf("two queued RTMIN, room for three: %zd bytes\n", n);
    for (int i = 0; i < n / (ssize_t)sizeof three[0]; i++)
        show("  rt", &three[i], me);

    /* the thread's own signals come before the process's, whatever their numbers */
    kill(me, SIGUSR1);
    syscall(SYS_tgkill, me, syscall(SYS_gettid), SIGUSR2);
    n = read(fd, three, sizeof three);
    printf("process USR1, thread USR2: %zd bytes, first %s, second %s\n", n,
           signame(three[0].ssi_signo), n > 128 ? signame(three[1].ssi_signo) : "-");

    /* SIGCHLD: ignored by default, but blocked, so it stays pending */
    pid_t child = FORK();
    if (child == 0)
        _exit(3);
    CHECK("poll until SIGCHLD is pending", poll(&pf, 1, -1));
    rd("SIGCHLD", fd, child);
    waitpid(child, NULL, 0);

    /* a new mask */
    CHECK("new mask: the same fd", signalfd(fd, &usr2, SFD_NONBLOCK));
    raise(SIGUSR1);
    rd("USR1 is no longer in the mask", fd, me);
    raise(SIGUSR2);
    rd("USR2", fd, me);
    sigpending(&all);
    BOOL("USR1 still pending", sigismember(&all, SIGUSR1));
    CHECK("old signalfd call: mask update", RAW(SYS_signalfd, fd, &usr1, 8));
    rd("USR1 through the updated fd", fd, me);

    /* after fork, a signalfd reads the reader's own signals */
    child = FORK();
    if (child == 0) {
        raise(SIGUSR1);
        rd("child: its own USR1", fd, getpid());
        fflush(stdout);
        _exit(0);
    }
    reap("child", child);
    rd("parent: nothing", fd, me);

    /* in an epoll set */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    CHECK("epoll, nothing", epoll_wait(ep, out, 2, 0));
    raise(SIGUSR1);
    int r = epoll_wait(ep, out, 2, 0);
    printf("epoll, USR1 pending: %d data %llu events %#x\n", r,
           (unsigned long long)out[0].data.u64, out[0].events);
    rd("read", fd, me);
    child = FORK();
    if (child == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    r = epoll_wait(ep, out, 2, -1);
    printf("epoll woken by another process's kill: %d\n", r);
    rd("read", fd, child);
    reap("killer", child);
    close(ep);

    /* a blocking read woken by a signal from another process */
    int bfd = signalfd(-1, &usr1, 0);
    child = FORK();
    if (child == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    rd("blocking read", bfd, child);
    reap("killer", child);

    /* a signal of the mask that is not blocked is delivered as usual */
    signal(SIGUSR1, on_sig);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    raise(SIGUSR1);
    printf("handler ran: %d\n", sigusr_seen == SIGUSR1);
    fcntl(bfd, F_SETFL, O_NONBLOCK);
    rd("nothing left for the signalfd", bfd, me);

    /* SIGKILL and SIGSTOP in a mask are left out */
    sigfillset(&all);
    int kfd = signalfd(-1, &all, SFD_NONBLOCK);
    rd("everything but KILL and STOP", kfd, me);
    close(kfd);
    close(bfd);
    close(fd);
    return 0;
}
