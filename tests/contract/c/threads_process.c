/* Threads and the process around them: fork from a thread copies only that thread; a thread
 * waits for a child another thread forked; SIGSTOP/SIGCONT stop and continue every thread
 * (wait reports each once); SIGKILL ends them all; a thread started on a wild stack kills
 * its process: SIGSEGV, or SIGBUS when the stack pointer is not canonical (#SS). */
#include "contract.h"
#include <pthread.h>
#include <sched.h>

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD \
                      | CLONE_SYSVSEM)

static void wild_stack(const char *label, unsigned long sp)
{
    pid_t pid = FORK();
    if (pid == 0) {
        RAW(SYS_clone, THREAD_FLAGS, sp, 0, 0, 0);
        for (;;)
            pause();
    }
    reap(label, pid);
}

static void *forker(void *arg)
{
    (void)arg;
    pid_t pid = FORK();
    if (pid == 0) {
        printf("child of a thread: tid == pid: %s, threads %d\n",
               RAW(SYS_gettid) == getpid() ? "yes" : "no", status_threads());
        fflush(stdout);
        _exit(17);
    }
    reap("child forked by a thread", pid);
    return 0;
}

static pid_t other_child;

static void *waiter(void *arg)
{
    (void)arg;
    reap("another thread's child, waited for by this one", other_child);
    return 0;
}

static volatile long spins;

static void *spinner(void *arg)
{
    (void)arg;
    for (;;) {
        spins++;
        sched_yield();
    }
    return 0;
}

int main(void)
{
    pthread_t t, s;
    pthread_create(&s, 0, spinner, 0); /* another thread the fork must not copy */
    pthread_create(&t, 0, forker, 0);
    pthread_join(t, 0);

    other_child = FORK();
    if (other_child == 0)
        _exit(4);
    pthread_create(&t, 0, waiter, 0);
    pthread_join(t, 0);
    CHECK("main's waitpid afterwards", waitpid(other_child, 0, WNOHANG));

    pid_t pid = FORK();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            pthread_create(&t, 0, spinner, 0);
        for (;;)
            pause();
    }
    msleep(20);
    int st;
    kill(pid, SIGSTOP);
    CHECK("waitpid WUNTRACED", waitpid(pid, &st, WUNTRACED) == pid);
    print_status("after SIGSTOP", st);
    CHECK("no second stop report", waitpid(pid, &st, WUNTRACED | WNOHANG));
    kill(pid, SIGCONT);
    CHECK("waitpid WCONTINUED", waitpid(pid, &st, WCONTINUED) == pid);
    print_status("after SIGCONT", st);
    kill(pid, SIGKILL);
    reap("SIGKILL", pid);

    wild_stack("thread on stack 8", 8);
    wild_stack("thread on a kernel-half stack", 0xffff800000001000UL);
    wild_stack("thread on a non-canonical stack", 0x0000800000001000UL);
    return 0;
}
