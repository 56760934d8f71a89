/* Thread exit versus process exit: SYS_exit ends one thread, exit_group every thread; the
 * process's status is that of its last thread (Linux's synchronize_group_exit), and its
 * parent hears of it only then; the main thread may end first while another carries on. */
#include "contract.h"
#include <pthread.h>

static volatile int flag;

static void *exit_one(void *arg)
{
    (void)arg;
    flag = 1;
    RAW(SYS_exit, 9); /* this thread only */
    return 0;
}

static void *exit_all(void *arg)
{
    (void)arg;
    printf("thread: calling exit_group(7)\n");
    fflush(stdout);
    RAW(SYS_exit_group, 7);
    return 0;
}

static volatile uint32_t main_alive; /* cleared by the kernel when the main thread ends */

static void *outlive_main(void *arg)
{
    (void)arg;
    uint32_t v;
    while ((v = main_alive) != 0)
        RAW(SYS_futex, &main_alive, 0 /* FUTEX_WAIT */, v, 0, 0, 0);
    printf("thread: main thread gone, getpid still works: %s\n", getpid() > 0 ? "yes" : "no");
    /* the main thread is a zombie until the process ends: still there for tgkill */
    printf("thread: tgkill(pid, pid, 0) to the gone main thread: %ld\n",
           RAW(SYS_tgkill, getpid(), getpid(), 0));
    fflush(stdout);
    RAW(SYS_exit, 5); /* the last thread: its code is the process's status */
    return 0;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

int main(void)
{
    pthread_t t;
    pid_t pid = FORK();
    if (pid == 0) {
        pthread_create(&t, 0, exit_one, 0);
        while (!flag)
            sched_yield();
        msleep(20);
        printf("child: still running after the thread's exit\n");
        fflush(stdout);
        _exit(3);
    }
    reap("one thread exits, then the process", pid);

    pid = FORK();
    if (pid == 0) {
        pthread_create(&t, 0, exit_all, 0);
        pthread_join(t, 0);
        printf("child: not reached\n");
        _exit(1);
    }
    reap("exit_group from a thread", pid);

    pid = FORK();
    if (pid == 0) {
        main_alive = 1;
        RAW(SYS_set_tid_address, &main_alive);
        pthread_create(&t, 0, outlive_main, 0);
        RAW(SYS_exit, 6); /* only the main thread */
        _exit(1);
    }
    reap("main thread exit(6) first, last thread exit(5)", pid);

    pid = FORK();
    if (pid == 0) {
        for (int i = 0; i < 4; i++)
            pthread_create(&t, 0, sleeper, 0);
        msleep(10);
        exit(4); /* exit_group: the paused threads end too */
    }
    reap("exit with sleeping threads", pid);

    pid = FORK();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            pthread_create(&t, 0, sleeper, 0);
        msleep(10);
        *(volatile int *)0 = 1; /* a fault in one thread kills the process */
        _exit(1);
    }
    reap("fault with other threads", pid);

    pid = FORK();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            pthread_create(&t, 0, sleeper, 0);
        pause();
        _exit(1);
    }
    msleep(20);
    kill(pid, SIGTERM);
    reap("SIGTERM to a process of four threads", pid);
    return 0;
}
