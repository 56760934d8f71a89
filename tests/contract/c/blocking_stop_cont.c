/* Blocking calls in a child stopped by SIGSTOP and continued by SIGCONT while they sleep:
 * with no handler involved Linux restarts them transparently - read, write, wait4 and poll
 * without a timeout complete when their event comes; nanosleep and poll with a timeout go on
 * with the time that was left (their deadline is kept, so the stop counts as sleep: the total
 * is about the request, not the request plus the stop). With a SIGCONT handler installed,
 * the continue runs it and the call fails with EINTR (or restarts with SA_RESTART). The parent
 * sequences it all with waitpid(WUNTRACED) and waitpid(WCONTINUED); the child prints what its
 * call returned, then the parent what waitpid reported. */
// contract: timeout=120
#include "contract.h"
#include <poll.h>

enum kind { K_READ, K_WRITE, K_WAIT4, K_NANOSLEEP, K_POLL_INF, K_POLL_TIMEOUT };
static const char *kind_name[] = {"read (empty pipe)", "write (full pipe)", "wait4",
                                  "nanosleep 2s", "poll (timeout -1)", "poll (timeout 2s)"};

#define REQUEST_MS 2000
#define STOP_MS 1000

static int data_p[2], go_p[2], end_p[2];
static volatile int conts;
static void on_cont(int s) { (void)s; conts++; }

static void wait_sleeping(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    wait_sleeping_at(path);
}

static long fill_pipe(int fd)
{
    static char buf[4096];
    memset(buf, 'f', sizeof buf);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    long r, filled = 0;
    while ((r = write(fd, buf, sizeof buf)) > 0)
        filled += r;
    fcntl(fd, F_SETFL, 0);
    return filled;
}

/* The child: make the call, print what it returned. */
static void child(enum kind k, int handler, long filled)
{
    if (handler) {
        struct sigaction sa = {0};
        sa.sa_handler = on_cont;
        sa.sa_flags = handler == 2 ? SA_RESTART : 0;
        sigaction(SIGCONT, &sa, NULL);
    }
    pid_t grandchild = 0;
    if (k == K_WAIT4) { /* exits when the parent says go */
        grandchild = fork();
        if (grandchild == 0) {
            char c;
            read(go_p[0], &c, 1);
            _exit(5);
        }
    }
    close(go_p[0]);
    char buf[16] = {0};
    static char w[100];
    struct pollfd pfd = {data_p[0], POLLIN, 0};
    struct timespec req = {REQUEST_MS / 1000, 0}, rem = {0, 0};
    int st = 0;
    long r, t0 = now_ms();
    switch (k) {
    case K_READ:
        r = read(data_p[0], buf, sizeof buf - 1);
        break;
    case K_WRITE:
        memset(w, 'w', sizeof w);
        r = write(data_p[1], w, sizeof w);
        break;
    case K_WAIT4:
        r = RAW(SYS_wait4, grandchild, &st, 0, NULL);
        break;
    case K_NANOSLEEP:
        r = nanosleep(&req, &rem);
        break;
    case K_POLL_INF:
        r = poll(&pfd, 1, -1);
        break;
    default:
        r = poll(&pfd, 1, REQUEST_MS);
        break;
    }
    int e = errno;
    long dt = now_ms() - t0;
    if (r < 0)
        printf("  the call: -1 %s", errname(e));
    else if (k == K_READ)
        printf("  the call: %ld '%s'", r, buf);
    else if (k == K_WAIT4)
        printf("  the call: %s", r == grandchild ? "the child's pid" : "other");
    else
        printf("  the call: %ld", r);
    printf(", SIGCONT handler ran %d\n", conts);
    if (k == K_WAIT4 && r == grandchild)
        print_status("  its status", st);
    if ((k == K_NANOSLEEP || k == K_POLL_TIMEOUT) && r >= 0) {
        BOOL("  slept at least the request", dt >= REQUEST_MS - 10);
        BOOL("  kept its deadline (not request + stop)", dt < REQUEST_MS + STOP_MS * 7 / 10);
    }
    if (k == K_NANOSLEEP && r < 0) {
        /* rem is the part of the request not slept: 0 only when all of it went by, as it
         * can on a loaded host where the continue comes after the deadline (Linux then
         * still runs the handler and fails EINTR) */
        long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
        BOOL("  rem is what the request had left", rem_ms < REQUEST_MS &&
             rem_ms + dt >= REQUEST_MS - 10);
    }
    if (k == K_READ && r < 0) { /* the parent's data still comes */
        memset(buf, 0, sizeof buf);
        r = read(data_p[0], buf, sizeof buf - 1);
        printf("  then read %ld '%s'\n", r, buf);
    }
    if (k == K_WAIT4 && r < 0)
        reap("  its status", grandchild);
    fflush(stdout);
    char c; /* exit only after the parent saw the continue (waitpid would report the exit) */
    close(end_p[1]);
    read(end_p[0], &c, 1);
    exit(0);
}

static void one(enum kind k, int handler)
{
    printf("%s%s:\n", kind_name[k],
           handler == 2   ? ", SIGCONT handler with SA_RESTART"
           : handler == 1 ? ", SIGCONT handler"
                          : "");
    pipe(data_p);
    pipe(go_p);
    pipe(end_p);
    long filled = k == K_WRITE ? fill_pipe(data_p[1]) : 0;
    pid_t pid = FORK();
    if (pid == 0)
        child(k, handler, filled);
    close(go_p[0]);
    wait_sleeping(pid);
    int st1 = 0, st2 = 0, st3 = 0;
    kill(pid, SIGSTOP);
    pid_t r1 = waitpid(pid, &st1, WUNTRACED);
    if (k == K_NANOSLEEP || k == K_POLL_TIMEOUT)
        msleep(STOP_MS);
    else
        msleep(100);
    kill(pid, SIGCONT);
    pid_t r2 = waitpid(pid, &st2, WCONTINUED);
    close(end_p[0]);
    write(end_p[1], "e", 1);
    /* now let the call complete */
    long drained = 0;
    switch (k) {
    case K_READ:
        write(data_p[1], "data", 4);
        break;
    case K_WRITE: {
        close(data_p[1]);
        static char buf[4096];
        long n;
        while ((n = read(data_p[0], buf, sizeof buf)) > 0)
            drained += n;
        break;
    }
    case K_WAIT4:
        write(go_p[1], "g", 1);
        break;
    case K_POLL_INF:
        write(data_p[1], "data", 4);
        break;
    default:
        break;
    }
    pid_t r3 = waitpid(pid, &st3, 0);
    close(data_p[0]);
    if (k != K_WRITE)
        close(data_p[1]);
    close(go_p[1]);
    close(end_p[1]);
    if (r1 == pid)
        print_status("  WUNTRACED", st1);
    if (r2 == pid)
        print_status("  WCONTINUED", st2);
    if (r3 == pid)
        print_status("  child", st3);
    if (k == K_WRITE)
        printf("  drained the filling %s\n", drained == filled + 100 ? "and the 100 bytes written"
                                             : drained == filled     ? "only"
                                                                     : "and something else");
    fflush(stdout);
}

int main(void)
{
    for (int k = K_READ; k <= K_POLL_TIMEOUT; k++)
        one(k, 0);
    one(K_READ, 1);
    one(K_READ, 2);
    one(K_NANOSLEEP, 1);
    one(K_POLL_INF, 2);
    return 0;
}
