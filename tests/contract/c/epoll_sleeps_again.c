/* epoll_wait (no signal mask) asleep and woken: its timeout passing, an event before the
 * timeout (whose timer must not end a later wait), a signal with an SA_RESTART handler
 * (EINTR all the same), a SIGKILL while asleep, and another thread closing the epoll fd
 * and reusing its number while the call sleeps: the call keeps the file it started with,
 * as Linux's fdget does. (twaron runs the rest of such a call without a stack of its own:
 * wait.wait_tail.) */
#include "contract.h"
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/wait.h>

static volatile int got;
static void on_usr1(int s) { got = s; }

static int add(int ep, int fd, unsigned long long data)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void show(const char *label, int n, struct epoll_event *ev)
{
    if (n <= 0) {
        CHECK(label, n);
        return;
    }
    printf("%s: %d event(s), data %llu, EPOLLIN %d\n", label, n,
           (unsigned long long)ev[0].data.u64, !!(ev[0].events & EPOLLIN));
}

static void timeouts(int ep, int p[2])
{
    struct epoll_event ev[4];
    long t0 = now_ms();
    CHECK("nothing ready, 40 ms", epoll_wait(ep, ev, 4, 40));
    BOOL("slept at least 35 ms", now_ms() - t0 >= 35);
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(30);
        write(p[1], "a", 1);
        _exit(0);
    }
    show("a write before a 5 s timeout", epoll_wait(ep, ev, 4, 5000), ev);
    reap("writer", pid);
    char c;
    read(p[0], &c, 1);
    /* a shorter timeout first, then a longer sleep: the earlier wait's timer is stale */
    show("a write before a 60 ms timeout", (write(p[1], "b", 1), epoll_wait(ep, ev, 4, 60)), ev);
    read(p[0], &c, 1);
    t0 = now_ms();
    CHECK("then nothing ready, 120 ms", epoll_wait(ep, ev, 4, 120));
    BOOL("slept at least 110 ms", now_ms() - t0 >= 110);
}

static void signals(int ep)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    struct epoll_event ev[4];
    pid_t parent = getpid(), pid = FORK();
    if (pid == 0) {
        wait_state(parent, "S");
        kill(parent, SIGUSR1);
        _exit(0);
    }
    CHECK("a signal while asleep (SA_RESTART): EINTR", epoll_wait(ep, ev, 4, -1));
    printf("handler ran: %d\n", got == SIGUSR1);
    reap("signaller", pid);
    pid = FORK();
    if (pid == 0) {
        epoll_wait(ep, ev, 4, -1);
        _exit(3);
    }
    wait_state(pid, "S");
    kill(pid, SIGKILL);
    reap("killed while asleep", pid);
}

struct closer {
    int ep, wfd, reused;
};

static void *close_and_write(void *arg)
{
    struct closer *c = arg;
    msleep(30);
    close(c->ep);
    c->reused = epoll_create1(0); /* the lowest free number: the one just closed */
    msleep(20);
    write(c->wfd, "c", 1);
    return NULL;
}

static void closed_under(int p[2])
{
    int ep = epoll_create1(0);
    add(ep, p[0], 42);
    struct closer c = {ep, p[1], -1};
    pthread_t t;
    pthread_create(&t, NULL, close_and_write, &c);
    struct epoll_event ev[4];
    show("the fd closed and reused while asleep", epoll_wait(ep, ev, 4, 5000), ev);
    pthread_join(t, NULL);
    BOOL("its number was reused", c.reused == ep);
    CHECK("the new epoll there has nothing", epoll_wait(c.reused, ev, 4, 0));
    char ch;
    read(p[0], &ch, 1);
    close(c.reused);
}

int main(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], 7);
    timeouts(ep, p);
    signals(ep);
    closed_under(p);
    close(ep);
    close(p[0]);
    close(p[1]);
    return 0;
}
