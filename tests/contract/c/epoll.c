/* epoll: creation and epoll_ctl's errors in Linux's order, level- and edge-triggered and
 * EPOLLONESHOT items on pipes, hang-up and error on close, a registration that belongs to
 * the open file description (it survives close of a dup'd fd, goes with the last one),
 * ready-list order with a small maxevents, nested epolls with their loop and depth checks,
 * EPOLLEXCLUSIVE's rules, epoll_wait woken by another process, and epoll_pwait /
 * epoll_pwait2 with a temporary signal mask (EINTR, even with SA_RESTART), and the other
 * pollable files: a socketpair (EPOLLRDHUP), a pidfd, an inotify instance. */
#include "contract.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>

static volatile int got;
static void on_usr1(int s) { got = s; }

static void show_events(const char *label, long n, struct epoll_event *ev)
{
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld", label, n);
    for (long i = 0; i < n; i++) {
        unsigned e = ev[i].events;
        printf(" [data=%llu", (unsigned long long)ev[i].data.u64);
        if (e & EPOLLIN) printf(" IN");
        if (e & EPOLLOUT) printf(" OUT");
        if (e & EPOLLRDNORM) printf(" RDNORM");
        if (e & EPOLLWRNORM) printf(" WRNORM");
        if (e & EPOLLPRI) printf(" PRI");
        if (e & EPOLLRDHUP) printf(" RDHUP");
        if (e & EPOLLHUP) printf(" HUP");
        if (e & EPOLLERR) printf(" ERR");
        printf("]");
    }
    printf("\n");
}

static int add(int ep, int fd, unsigned events, unsigned long long data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, unsigned events, unsigned long long data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void wait_show(const char *label, int ep, int max, int timeout)
{
    struct epoll_event ev[8];
    memset(ev, 0, sizeof ev);
    show_events(label, epoll_wait(ep, ev, max, timeout), ev);
}

static void creation(void)
{
    CHECK("epoll_create(0)", RAW(SYS_epoll_create, 0));
    CHECK("epoll_create(-1)", RAW(SYS_epoll_create, -1));
    CHECK("epoll_create(1 << 32): an int", RAW(SYS_epoll_create, 1L << 32));
    int ep = RAW(SYS_epoll_create, 1);
    BOOL("epoll_create(1) is an fd", ep >= 0);
    BOOL("no close-on-exec", fcntl(ep, F_GETFD) == 0);
    close(ep);
    CHECK("epoll_create1(bad flags)", epoll_create1(1));
    ep = RAW(SYS_epoll_create1, 1L << 32 | EPOLL_CLOEXEC);
    BOOL("epoll_create1: flags are an int", ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC);
    close(ep);
    ep = epoll_create1(EPOLL_CLOEXEC);
    BOOL("EPOLL_CLOEXEC: close-on-exec", fcntl(ep, F_GETFD) == FD_CLOEXEC);
    printf("F_GETFL: %#x\n", fcntl(ep, F_GETFL) & ~0100000); /* ignore O_LARGEFILE */
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", ep);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", n > 0 ? link : errname(errno));
    char buf[8];
    CHECK("read of an epoll fd", read(ep, buf, sizeof buf));
    CHECK("write to an epoll fd", write(ep, buf, sizeof buf));
    CHECK("lseek of an epoll fd", lseek(ep, 0, SEEK_CUR));
    close(ep);
}

static void ctl_errors(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK("ADD with a bad event pointer (before EBADF)", epoll_ctl(99, EPOLL_CTL_ADD, 98, BAD_PTR));
    CHECK("DEL ignores the event pointer", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], BAD_PTR));
    CHECK("bad epfd", epoll_ctl(99, EPOLL_CTL_ADD, p[0], &ev));
    CHECK("bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev));
    CHECK("epfd not an epoll", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev));
    CHECK("an epoll in itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
    int d = dup(ep);
    CHECK("an epoll in itself through a dup", epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev));
    close(d);
    CHECK("unknown op", epoll_ctl(ep, 99, p[0], &ev));
    int root = open("/", O_RDONLY);
    CHECK("unknown op, fd not pollable (EPERM first)", epoll_ctl(ep, 99, root, &ev));
    close(root);
    put_file("/tmp/epoll_regular", "x", 1, 0644);
    int reg = open("/tmp/epoll_regular", O_RDONLY);
    CHECK("regular file", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
    CHECK("regular file, DEL", epoll_ctl(ep, EPOLL_CTL_DEL, reg, NULL));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK("directory", epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev));
    int null = open("/dev/null", O_RDWR);
    CHECK("/dev/null", epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev));
    CHECK("MOD of an fd not added", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    CHECK("DEL of an fd not added", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    CHECK("ADD", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    CHECK("ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    CHECK("MOD", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK("MOD with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    CHECK("DEL", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    CHECK("DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    CHECK("EPOLLEXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
    CHECK("EPOLLEXCLUSIVE with EPOLLRDHUP", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLEXCLUSIVE | EPOLLET | EPOLLWAKEUP;
    CHECK("EPOLLEXCLUSIVE with its allowed bits", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    ev.events = EPOLLIN;
    CHECK("MOD of an EPOLLEXCLUSIVE item", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    int inner = epoll_create1(0);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK("EPOLLEXCLUSIVE on a nested epoll", epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev));
    ev.events = EPOLLIN | EPOLLWAKEUP;
    CHECK("EPOLLWAKEUP (root may)", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
    struct epoll_event out[4];
    CHECK("wait: maxevents 0", epoll_wait(ep, out, 0, 0));
    CHECK("wait: maxevents -1", epoll_wait(ep, out, -1, 0));
    CHECK("wait: maxevents too big", epoll_wait(ep, out, 0x7fffffff, 0));
    CHECK("wait: bad epfd", epoll_wait(99, out, 4, 0));
    CHECK("wait: not an epoll", epoll_wait(p[0], out, 4, 0));
    CHECK("wait: not an epoll, maxevents 0 (EINVAL)", epoll_wait(p[0], out, 0, 0));
    CHECK("wait: events in the kernel half", epoll_wait(ep, KERNEL_PTR, 4, 0));
    CHECK("wait: not an epoll, kernel pointer (EFAULT first)", epoll_wait(p[0], KERNEL_PTR, 4, 0));
    write(p[1], "x", 1);
    CHECK("wait: unmapped events, ready item", epoll_wait(ep, BAD_PTR, 4, 0));
    CHECK("wait: the item is still there", epoll_wait(ep, out, 4, 0));
    close(inner);
    close(reg);
    close(dir);
    close(null);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void triggers(void)
{
    int ep = epoll_create1(0), lt[2], et[2], os[2];
    pipe(lt);
    pipe(et);
    pipe(os);
    add(ep, lt[0], EPOLLIN, 1);
    add(ep, et[0], EPOLLIN | EPOLLET, 2);
    add(ep, os[0], EPOLLIN | EPOLLONESHOT, 3);
    wait_show("nothing yet", ep, 8, 0);
    long t0 = now_ms();
    wait_show("nothing, 50 ms", ep, 8, 50);
    printf("waited about the timeout: %s\n", now_ms() - t0 >= 40 ? "yes" : "no");
    write(lt[1], "a", 1);
    write(et[1], "a", 1);
    write(os[1], "a", 1);
    wait_show("all three", ep, 8, 0);
    wait_show("again: level-triggered stays", ep, 8, 0);
    write(et[1], "b", 1);
    write(os[1], "b", 1);
    wait_show("more data: edge fires, oneshot is disabled", ep, 8, 0);
    mod(ep, os[0], EPOLLIN | EPOLLONESHOT, 33);
    wait_show("oneshot re-armed by MOD", ep, 8, 0);
    char buf[8];
    read(lt[0], buf, sizeof buf);
    wait_show("level-triggered drained", ep, 8, 0);
    mod(ep, et[0], EPOLLIN | EPOLLET, 22);
    wait_show("MOD of the edge item while ready", ep, 8, 0);
    close(lt[1]);
    wait_show("level-triggered: writer closed", ep, 8, 0);
    close(lt[0]);
    close(et[0]);
    close(et[1]);
    close(os[0]);
    close(os[1]);
    /* write ends, hang-up and error */
    int p[2];
    pipe(p);
    add(ep, p[1], EPOLLOUT, 10);
    wait_show("write end", ep, 8, 0);
    add(ep, p[0], EPOLLIN | EPOLLRDHUP | EPOLLPRI, 11);
    write(p[1], "x", 1);
    wait_show("read end with RDHUP|PRI asked", ep, 8, 0);
    close(p[0]);
    wait_show("reader closed: the write end errs", ep, 8, 0);
    mod(ep, p[1], EPOLLIN, 12);
    wait_show("ERR comes even when not asked", ep, 8, 0);
    close(p[1]);
    wait_show("all closed: nothing left", ep, 8, 0);
    pipe(p);
    add(ep, p[0], 0, 13);
    close(p[1]);
    wait_show("no events asked: HUP still comes", ep, 8, 0);
    close(p[0]);
    /* each end hears its own queue: a write tells the read end, not the write end */
    pipe(p);
    add(ep, p[0], EPOLLIN | EPOLLOUT | EPOLLET, 14);
    add(ep, p[1], EPOLLIN | EPOLLOUT | EPOLLET, 15);
    wait_show("both ends, edge-triggered", ep, 8, 0);
    write(p[1], "x", 1);
    wait_show("a write: only the read end", ep, 8, 0);
    char c2;
    read(p[0], &c2, 1);
    wait_show("a read of a pipe that was not full: nobody", ep, 8, 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    long filled = write(p[1], big, sizeof big);
    printf("filled: %ld\n", filled);
    wait_show("full", ep, 8, 0);
    read(p[0], big, 8192);
    wait_show("a read of a full pipe: the write end", ep, 8, 0);
    close(p[0]);
    close(p[1]);
    /* a FIFO open for reading and writing hears both */
    mkfifo("fifo", 0600);
    int f = open("fifo", O_RDWR | O_NONBLOCK);
    add(ep, f, EPOLLIN | EPOLLOUT | EPOLLET, 16);
    wait_show("FIFO O_RDWR", ep, 8, 0);
    write(f, "y", 1);
    wait_show("FIFO O_RDWR after a write", ep, 8, 0);
    close(f);
    unlink("fifo");
    close(ep);
}

static void other_files(void)
{
    int ep = epoll_create1(0), sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 20);
    wait_show("socketpair, nothing to read", ep, 8, 0);
    write(sv[1], "x", 1);
    wait_show("socketpair, data", ep, 8, 0);
    shutdown(sv[1], SHUT_WR);
    wait_show("peer shut down writing", ep, 8, 0);
    close(sv[1]);
    wait_show("peer closed", ep, 8, 0);
    close(sv[0]);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        _exit(0);
    }
    int pfd = RAW(434 /* pidfd_open */, pid, 0);
    add(ep, pfd, EPOLLIN, 21);
    wait_show("pidfd, child running", ep, 8, 0);
    wait_show("pidfd, child exits", ep, 8, -1);
    reap("child", pid);
    close(pfd);
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, ".", IN_CREATE);
    add(ep, in, EPOLLIN, 22);
    wait_show("inotify, nothing", ep, 8, 0);
    close(open("newfile", O_CREAT | O_WRONLY, 0600));
    wait_show("inotify, a file created", ep, 8, 0);
    close(in);
    unlink("newfile");
    close(ep);
}

static void description(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 100);
    int r2 = dup(p[0]);
    int r = p[0];
    close(r);
    write(p[1], "x", 1);
    wait_show("closed fd, dup open: still reported", ep, 8, 0);
    CHECK("DEL through the closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, r, NULL));
    CHECK("DEL through the dup (another fd)", epoll_ctl(ep, EPOLL_CTL_DEL, r2, NULL));
    CHECK("ADD of the dup is a new item", add(ep, r2, EPOLLIN, 101));
    wait_show("both items", ep, 8, 0);
    int r3 = dup2(r2, r);
    CHECK("ADD at the old fd number, same description", add(ep, r3, EPOLLIN, 102));
    CHECK("DEL at the old fd number", epoll_ctl(ep, EPOLL_CTL_DEL, r3, NULL));
    CHECK("ADD again at the old fd number", add(ep, r3, EPOLLIN, 103));
    close(r3);
    close(r2);
    wait_show("description released: its items are gone", ep, 8, 0);
    int q[2];
    pipe(q);
    CHECK("a new file at the fd number", add(ep, q[0], EPOLLIN, 104));
    close(q[0]);
    close(q[1]);
    close(p[1]);
    /* fork: the child's fds keep the description */
    pipe(p);
    add(ep, p[0], EPOLLIN, 200);
    pid_t pid = FORK();
    if (pid == 0) {
        close(p[0]);
        write(p[1], "y", 1);
        _exit(0);
    }
    close(p[1]);
    reap("child", pid);
    wait_show("written by the child", ep, 8, 0);
    close(p[0]);
    close(ep);
}

static void ordering(void)
{
    int ep = epoll_create1(0), a[2], b[2], c[2];
    pipe(a);
    pipe(b);
    pipe(c);
    add(ep, a[0], EPOLLIN, 1);
    add(ep, b[0], EPOLLIN, 2);
    add(ep, c[0], EPOLLIN, 3);
    write(b[1], "x", 1);
    write(a[1], "x", 1);
    write(c[1], "x", 1);
    wait_show("maxevents 1", ep, 1, 0);
    wait_show("maxevents 1 again", ep, 1, 0);
    wait_show("maxevents 2", ep, 2, 0);
    wait_show("all", ep, 8, 0);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[0]); close(c[1]);
    close(ep);
    /* items on one file's queue are told newest first (add_wait_queue puts them at the head) */
    ep = epoll_create1(0);
    pipe(a);
    int d1 = dup(a[0]), d2 = dup(a[0]);
    add(ep, a[0], EPOLLIN | EPOLLET, 10);
    add(ep, d1, EPOLLIN | EPOLLET, 11);
    add(ep, d2, EPOLLIN, 12);
    write(a[1], "x", 1);
    wait_show("one pipe, three fds, then a write", ep, 8, 0);
    wait_show("again: the level-triggered one", ep, 8, 0);
    close(d1); close(d2); close(a[0]); close(a[1]);
    close(ep);
}

static void nested(void)
{
    int inner = epoll_create1(0), outer = epoll_create1(0), p[2];
    pipe(p);
    add(inner, p[0], EPOLLIN, 1);
    CHECK("inner in outer", add(outer, inner, EPOLLIN, 2));
    CHECK("outer in inner: a loop", add(inner, outer, EPOLLIN, 3));
    wait_show("outer, nothing", outer, 8, 0);
    struct pollfd pf = {inner, POLLIN, 0};
    CHECK("poll inner, nothing", poll(&pf, 1, 0));
    write(p[1], "x", 1);
    wait_show("outer sees inner", outer, 8, 0);
    CHECK("poll inner", poll(&pf, 1, 0));
    printf("poll revents IN: %d\n", !!(pf.revents & POLLIN));
    wait_show("inner", inner, 8, 0);
    char c;
    read(p[0], &c, 1);
    wait_show("outer, drained", outer, 8, 0);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        write(p[1], "z", 1);
        _exit(0);
    }
    wait_show("outer, woken through inner", outer, 8, -1);
    reap("writer", pid);
    close(p[0]);
    close(p[1]);
    close(inner);
    wait_show("inner closed: outer has nothing", outer, 8, 0);
    close(outer);

    /* depth: a chain of epolls, built from the bottom and from the top */
    int e[8];
    for (int i = 0; i < 8; i++)
        e[i] = epoll_create1(0);
    for (int i = 0; i < 7; i++) {
        char label[64];
        snprintf(label, sizeof label, "bottom-up: epoll %d in epoll %d", i, i + 1);
        CHECK(label, add(e[i + 1], e[i], EPOLLIN, i));
    }
    for (int i = 0; i < 8; i++) {
        close(e[i]);
        e[i] = epoll_create1(0);
    }
    for (int i = 0; i < 7; i++) {
        char label[64];
        snprintf(label, sizeof label, "top-down: epoll %d in epoll %d", i + 1, i);
        CHECK(label, add(e[i], e[i + 1], EPOLLIN, i));
    }
    for (int i = 0; i < 8; i++)
        close(e[i]);
    int a = epoll_create1(0), b = epoll_create1(0), c2 = epoll_create1(0);
    CHECK("a in b", add(b, a, EPOLLIN, 0));
    CHECK("b in c", add(c2, b, EPOLLIN, 0));
    CHECK("c in a: a longer loop", add(a, c2, EPOLLIN, 0));
    CHECK("a in c too (no loop)", add(c2, a, EPOLLIN, 0));
    close(a); close(b); close(c2);
}

static void wakeups(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 7);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        write(p[1], "w", 1);
        _exit(0);
    }
    wait_show("woken by a writer", ep, 8, -1);
    reap("writer", pid);
    close(p[0]);
    close(p[1]);
    close(ep);
}

/* Wait (up to 10 s) until pid sleeps in the kernel: state S in /proc/PID/stat. */
static void wait_sleeping(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (int i = 0; i < 10000; i++) {
        int fd = open(path, O_RDONLY);
        long n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && p[1] == ' ' && p[2] == 'S')
                return;
        }
        msleep(1);
    }
}

/* A stop and a continue end an epoll_wait with EINTR, even without a handler (signal(7)). */
static void stop_cont(void)
{
    int ep = epoll_create1(0);
    pid_t pid = FORK();
    if (pid == 0) {
        struct epoll_event ev;
        CHECK("child: epoll_wait across SIGSTOP/SIGCONT", epoll_wait(ep, &ev, 1, -1));
        fflush(stdout);
        _exit(0);
    }
    wait_sleeping(pid);
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    print_status("stopped", st);
    kill(pid, SIGCONT);
    reap("child", pid);
    close(ep);
}

static void sigmask_waits(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, none, cur;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 5);
    struct epoll_event ev[4];
    raise(SIGUSR1);
    CHECK("pwait, USR1 still blocked, 20 ms", epoll_pwait(ep, ev, 4, 20, &usr1));
    printf("handler ran: %d\n", got == SIGUSR1);
    CHECK("pwait, USR1 unblocked (SA_RESTART): EINTR", epoll_pwait(ep, ev, 4, -1, &none));
    printf("handler ran: %d\n", got == SIGUSR1);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    BOOL("mask restored", sigismember(&cur, SIGUSR1));
    got = 0;
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    CHECK("pwait, signal while asleep: EINTR", epoll_pwait(ep, ev, 4, -1, &none));
    printf("handler ran: %d\n", got == SIGUSR1);
    reap("killer", pid);
    got = 0;
    raise(SIGUSR1);
    write(p[1], "x", 1);
    CHECK("pwait, signal pending and data ready: the data", epoll_pwait(ep, ev, 4, -1, &none));
    printf("handler ran: %d (still pending)\n", got == SIGUSR1);
    sigpending(&cur);
    BOOL("USR1 pending", sigismember(&cur, SIGUSR1));
    CHECK("pwait with a timeout of 0 and the signal unblocked", epoll_pwait(ep, ev, 4, 0, &none));
    char c;
    read(p[0], &c, 1);
    CHECK("pwait, bad sigsetsize", RAW(SYS_epoll_pwait, ep, ev, 4, 0, &none, 4));
    CHECK("pwait, bad mask pointer", RAW(SYS_epoll_pwait, ep, ev, 4, 0, BAD_PTR, 8));
    CHECK("pwait, NULL mask and bad size", RAW(SYS_epoll_pwait, ep, ev, 4, 0, NULL, 4));
    struct timespec zero = {0, 0}, bad = {0, 1000000000}, neg = {-1, 0}, short_ = {0, 20000000};
    CHECK("pwait2, zero timeout (USR1 pending, unblocked)", RAW(SYS_epoll_pwait2, ep, ev, 4, &zero, &none, 8));
    CHECK("pwait2, bad nanoseconds", RAW(SYS_epoll_pwait2, ep, ev, 4, &bad, NULL, 8));
    CHECK("pwait2, negative seconds", RAW(SYS_epoll_pwait2, ep, ev, 4, &neg, NULL, 8));
    CHECK("pwait2, bad timeout pointer", RAW(SYS_epoll_pwait2, ep, ev, 4, BAD_PTR, NULL, 8));
    CHECK("pwait2, 20 ms, USR1 blocked", RAW(SYS_epoll_pwait2, ep, ev, 4, &short_, &usr1, 8));
    CHECK("pwait2, NULL timeout, USR1 unblocked: EINTR", RAW(SYS_epoll_pwait2, ep, ev, 4, NULL, &none, 8));
    printf("handler ran: %d\n", got == SIGUSR1);
    write(p[1], "x", 1);
    show_events("pwait2 with data", RAW(SYS_epoll_pwait2, ep, ev, 4, NULL, NULL, 8), ev);
    close(p[0]);
    close(p[1]);
    close(ep);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    enter_workdir("epoll");
    creation();
    ctl_errors();
    triggers();
    other_files();
    description();
    ordering();
    nested();
    wakeups();
    stop_cont();
    sigmask_waits();
    return 0;
}
