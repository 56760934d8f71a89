/* Blocking calls interrupted by a handled signal, with and without SA_RESTART (signal(7)):
 * read of an empty pipe, write to a full pipe and wait4 are restarted with SA_RESTART and
 * fail with EINTR without it; nanosleep and poll (no timeout or a timeout) fail with EINTR
 * either way, nanosleep leaving the time left in rem. The signal is SIGALRM from a timer
 * (the handler then makes the call able to complete: writes the data, drains the pipe, kills
 * the child) or SIGUSR1 from a child that waits until we sleep (/proc/PID/stat), signals, and
 * once the handler has run (it writes to an ack pipe) makes the call able to complete. */
// contract: timeout=120
#include "contract.h"
#include <poll.h>
#include <sys/time.h>

enum kind { K_READ, K_WRITE, K_WAIT4, K_NANOSLEEP, K_POLL_INF, K_POLL_TIMEOUT };
static const char *kind_name[] = {"read (empty pipe)", "write (full pipe)", "wait4",
                                  "nanosleep", "poll (timeout -1)", "poll (timeout 5s)"};

static int data_p[2], ack_p[2];
static volatile int hits, by_timer;
static enum kind cur;
static pid_t victim;
static long filled;

static void drain_nonblocking(void)
{
    static char buf[4096];
    long r;
    while ((r = read(data_p[0], buf, sizeof buf)) > 0)
        filled -= r;
}

static void handler(int sig)
{
    (void)sig;
    hits++;
    if (!by_timer) {
        write(ack_p[1], "a", 1);
        return;
    }
    switch (cur) {
    case K_READ:
        write(data_p[1], "data", 4);
        break;
    case K_WRITE:
        drain_nonblocking();
        break;
    case K_WAIT4:
        kill(victim, SIGKILL);
        break;
    default:
        break;
    }
}

static void wait_sleeping(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    wait_sleeping_at(path);
}

/* Fill data_p until a non-blocking write says EAGAIN; the write end blocks again after. */
static void fill_pipe(void)
{
    static char buf[4096];
    memset(buf, 'f', sizeof buf);
    fcntl(data_p[1], F_SETFL, O_NONBLOCK);
    long r;
    filled = 0;
    while ((r = write(data_p[1], buf, sizeof buf)) > 0)
        filled += r;
    fcntl(data_p[1], F_SETFL, 0);
}

static void one(enum kind k, int restart, int timer)
{
    char label[128];
    snprintf(label, sizeof label, "%s, %s, %s", kind_name[k],
             timer ? "SIGALRM from a timer" : "SIGUSR1 from a child",
             restart ? "SA_RESTART" : "no SA_RESTART");
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    hits = 0;
    by_timer = timer;
    cur = k;
    pipe(data_p);
    pipe(ack_p);
    if (k == K_WRITE)
        fill_pipe();
    long expect_drained = filled;
    pid_t parent = getpid();
    pid_t child = FORK();
    if (child == 0) {
        if (timer) { /* only a process to wait for: the handler kills it */
            if (k != K_WAIT4)
                _exit(0);
            for (;;)
                pause();
        }
        close(ack_p[1]);
        wait_sleeping(parent);
        kill(parent, SIGUSR1);
        char a;
        read(ack_p[0], &a, 1); /* the handler ran: now let the call complete */
        switch (k) {
        case K_READ:
            write(data_p[1], "data", 4);
            break;
        case K_WRITE: {
            close(data_p[1]);
            fcntl(data_p[0], F_SETFL, 0);
            static char buf[4096];
            long r, total = 0;
            while ((r = read(data_p[0], buf, sizeof buf)) > 0)
                total += r;
            printf("  the child drained the filling %s\n",
                   total == expect_drained + 100 ? "and the 100 bytes written"
                   : total == expect_drained   ? "only"
                                               : "and something else");
            exit(0);
        }
        case K_WAIT4:
            _exit(7);
        default:
            break;
        }
        _exit(0);
    }
    victim = child;
    if (timer) {
        if (k == K_WRITE)
            fcntl(data_p[0], F_SETFL, O_NONBLOCK); /* the handler drains it */
        struct itimerval it = {{0, 0}, {0, 200000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    long r;
    int e;
    char buf[16] = {0};
    struct pollfd pfd = {data_p[0], POLLIN, 0};
    struct timespec req = {5, 0}, rem = {0, 0};
    int st = 0;
    long t0 = now_ms();
    switch (k) {
    case K_READ:
        r = read(data_p[0], buf, sizeof buf - 1);
        break;
    case K_WRITE: {
        static char w[100];
        memset(w, 'w', sizeof w);
        r = write(data_p[1], w, sizeof w);
        break;
    }
    case K_WAIT4:
        r = RAW(SYS_wait4, child, &st, 0, NULL);
        break;
    case K_NANOSLEEP:
        r = nanosleep(&req, &rem);
        break;
    case K_POLL_INF:
        r = poll(&pfd, 1, -1);
        break;
    default:
        r = poll(&pfd, 1, 5000);
        break;
    }
    e = errno;
    long dt = now_ms() - t0;
    if (r < 0)
        printf("%s: -1 %s, handler ran %d\n", label, errname(e), hits);
    else if (k == K_READ)
        printf("%s: %ld '%s', handler ran %d\n", label, r, buf, hits);
    else if (k == K_WAIT4)
        printf("%s: %s, handler ran %d\n", label, r == child ? "the child's pid" : "other",
               hits);
    else
        printf("%s: %ld, handler ran %d\n", label, r, hits);
    if (k == K_NANOSLEEP && r < 0)
        /* rem comes from the timer's hard expiry: the request plus the timer slack (50 us),
         * so a signal in the first microseconds leaves a little more than the request */
        printf("  rem > 0 and <= the request (+ 1 ms of slack): %s, woke early: %s\n",
               (rem.tv_sec > 0 || rem.tv_nsec > 0) &&
                       (rem.tv_sec < 5 || (rem.tv_sec == 5 && rem.tv_nsec <= 1000000))
                   ? "yes"
                   : "no",
               dt < 4000 ? "yes" : "no");
    if ((k == K_POLL_INF || k == K_POLL_TIMEOUT) && r < 0)
        printf("  woke early: %s\n", dt < 4000 ? "yes" : "no");
    fflush(stdout);
    /* clean up: let the child finish, reap it */
    if (k == K_READ && r < 0) {
        /* the handler's data is in the pipe, or the child writes it now */
        memset(buf, 0, sizeof buf);
        r = read(data_p[0], buf, sizeof buf - 1);
        printf("  then read %ld '%s'\n", r, buf);
    }
    if (k == K_WRITE) {
        close(data_p[1]);
        if (timer) {
            drain_nonblocking();
            printf("  the handler drained the filling%s\n",
                   filled == 0 ? "" : filled == -100 ? " and the 100 bytes written" : " (?)");
        }
    }
    fflush(stdout);
    if (k == K_WAIT4 && r == child)
        print_status("  status", st);
    else
        reap("  child", child);
    close(data_p[0]);
    if (k != K_WRITE)
        close(data_p[1]);
    close(ack_p[0]);
    close(ack_p[1]);
}

int main(void)
{
    for (int k = K_READ; k <= K_POLL_TIMEOUT; k++)
        for (int timer = 0; timer < 2; timer++)
            for (int restart = 1; restart >= 0; restart--)
                one(k, restart, timer);
    return 0;
}
