/* Writing to a pipe with no reader: SIGPIPE kills by default; ignored -> EPIPE; a handler runs
 * and write fails with EPIPE; data written before the reader left is not an error. */
#include "contract.h"

static volatile int got;
static void handler(int s) { got = s; }

static void attempt(const char *label, void (*disp)(int))
{
    int p[2];
    pipe(p);
    close(p[0]);  /* no reader at all */
    pid_t pid = FORK();
    if (pid == 0) {
        if (disp != (void (*)(int))-1)
            signal(SIGPIPE, disp);
        long r = write(p[1], "x", 1);
        printf("%s: write %ld %s, handler %s\n", label, r, r < 0 ? errname(errno) : "",
               got == SIGPIPE ? "ran" : "no");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    reap(label, pid);
}

int main(void)
{
    attempt("default", (void (*)(int))-1);
    attempt("ignored", SIG_IGN);
    attempt("handled", handler);
    /* reader closes after some data is in the pipe */
    int p[2];
    pipe(p);
    signal(SIGPIPE, SIG_IGN);
    CHECK("write with a reader", write(p[1], "abc", 3));
    close(p[0]);
    CHECK("write after the reader closed", write(p[1], "d", 1));
    /* a blocked writer is woken when the reader goes away */
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        close(p[0]);
        static char big[200000];
        long r = write(p[1], big, sizeof big);
        printf("blocked writer: %s\n", r < 0 ? errname(errno) : "partial count");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    msleep(100);
    char buf[1000];
    read(p[0], buf, sizeof buf);
    close(p[0]);
    reap("blocked writer", pid);
    return 0;
}
