/* Helpers for twaron contract programs.
 *
 * Every program prints only deterministic facts: errno names, return values that
 * Linux defines, and booleans derived from addresses, times and ids - never the
 * addresses, times or ids themselves. The same binary runs natively (in a chroot
 * with the twaron root layout) and inside twaron; the outputs must be identical.
 *
 * Directives read by the harness (anywhere in the source, one per line):
 *   // contract: stdin=TEXT         bytes fed to stdin (Python escapes: \n, \x00)
 *   // contract: args=A B C         extra argv words
 *   // contract: xfail=REASON       expected to fail inside twaron until REASON lands
 *   // contract: timeout=SECONDS    twaron-side timeout
 *   // contract: stderr=ignore      do not compare stderr
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define BAD_PTR ((void *)1)
#define KERNEL_PTR ((void *)0xffff800000000000UL)

static const char *errname(int e)
{
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST)
    E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
    E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE)
    E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(EOVERFLOW) E(EOPNOTSUPP)
    E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT)
    E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN)
    E(ETOOMANYREFS) E(ETIMEDOUT) E(ECONNREFUSED) E(EALREADY) E(EINPROGRESS) E(EDOM)
    E(EDEADLK) E(ENOLCK) E(ENOMSG) E(EIDRM) E(ENODATA)
#undef E
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

/* Print "label: N" for a non-negative result, "label: -1 ENAME" for a failure. */
static long report(const char *label, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld\n", label, r);
    return r;
}

/* Print only whether it succeeded: "label: ok" or "label: -1 ENAME". */
static long report_ok(const char *label, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: ok\n", label);
    return r;
}

#define CHECK(label, expr) report((label), (long)(expr))
#define CHECK_OK(label, expr) report_ok((label), (long)(expr))
#define BOOL(label, cond) printf("%s: %s\n", (label), (cond) ? "yes" : "no")
/* Raw system call; every argument is widened to long (an int -1 passed through syscall()'s
 * varargs would arrive as 0xffffffff). Returns -1 with errno set on failure. */
#define RAW(...) RAW_(__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define RAW_(n, a, b, c, d, e, f, ...) \
    syscall((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* Write a whole file; abort loudly on failure (setup, not under test). */
static void put_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        printf("setup failed: %s: %s\n", path, errname(errno));
        exit(99);
    }
    close(fd);
}

/* Work in a fresh directory under /tmp so runs don't see each other. */
static void enter_workdir(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/%s", name);
    mkdir("/tmp", 01777);
    mkdir(path, 0755);
    if (chdir(path) != 0) {
        printf("setup failed: chdir %s: %s\n", path, errname(errno));
        exit(99);
    }
}

/* ---- processes and signals (fork/wait/signal contract programs) ---- */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char *signame(int s)
{
    switch (s) {
#define S(x) case x: return #x;
    S(SIGHUP) S(SIGINT) S(SIGQUIT) S(SIGILL) S(SIGTRAP) S(SIGABRT) S(SIGBUS) S(SIGFPE)
    S(SIGKILL) S(SIGUSR1) S(SIGSEGV) S(SIGUSR2) S(SIGPIPE) S(SIGALRM) S(SIGTERM)
    S(SIGCHLD) S(SIGCONT) S(SIGSTOP) S(SIGTSTP) S(SIGTTIN) S(SIGTTOU) S(SIGURG) S(SIGXCPU)
    S(SIGXFSZ) S(SIGVTALRM) S(SIGPROF) S(SIGWINCH) S(SIGIO) S(SIGSYS)
#undef S
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "SIG%d", s);
        return buf;
    }
    }
}

/* "label: exited N" | "killed SIGX" | "stopped SIGX" | "continued" (never the core bit). */
static void print_status(const char *label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed %s\n", label, signame(WTERMSIG(st)));
    else if (WIFSTOPPED(st))
        printf("%s: stopped %s\n", label, signame(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", label);
    else
        printf("%s: status %#x\n", label, st);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The state letter in a stat file (/proc/PID/stat, /proc/self/task/TID/stat); '?' if it
 * cannot be read. */
static char task_state_at(const char *statpath)
{
    char buf[512];
    int fd = open(statpath, O_RDONLY);
    long n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

static char proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return task_state_at(path);
}

/* Wait (up to 10 s) until the task whose stat file is at `statpath` sleeps in the kernel:
 * state S. */
static void wait_sleeping_at(const char *statpath)
{
    for (int i = 0; i < 10000 && task_state_at(statpath) != 'S'; i++)
        msleep(1);
}

/* Wait (up to 20 s) until process pid is in one of `states` (e.g. "S", or "SZ?" when it may
 * also be gone), then 20 ms more for it to settle into its sleep. */
static void wait_state(pid_t pid, const char *states)
{
    for (int i = 0; i < 20000 && !strchr(states, proc_state(pid)); i++)
        msleep(1);
    msleep(20);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for one specific child and print its status under label. */
static int reap(const char *label, pid_t pid)
{
    int st = 0;
    pid_t r = waitpid(pid, &st, 0);
    if (r != pid) {
        printf("%s: waitpid -1 %s\n", label, errname(errno));
        return -1;
    }
    print_status(label, st);
    return st;
}

/* "Threads:" of /proc/self/status (-1 if absent). */
static int status_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* Print to stdout from a child safely: flush first so buffers are not duplicated by fork. */
#define FORK() (fflush(stdout), fork())
