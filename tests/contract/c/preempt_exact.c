/* A loop that makes no syscall is stopped from outside while another process wants the CPU:
 * its parent, waking every 5 ms, which on one CPU runs only when the loop is preempted. The
 * stop must be exact, each read-modify-write instruction done once - a plain add to memory,
 * a locked add, and a compare-and-swap that takes a lock (done twice, it would find the lock
 * taken by itself). The parent ends the loop after 6 of its wake-ups. */
#include "contract.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define WAKEUPS 6

struct shared {
    volatile int stop;
    unsigned long plain, locked, lock_word, cas_failures, rounds;
};

static void work(struct shared *s)
{
    unsigned long n = 0;
    while (!s->stop) {
        __asm__ volatile("addq $1, %0" : "+m"(s->plain));
        __atomic_fetch_add(&s->locked, 1, __ATOMIC_RELAXED);
        if (!__sync_bool_compare_and_swap(&s->lock_word, 0, 1))
            s->cas_failures++;
        __atomic_store_n(&s->lock_word, 0, __ATOMIC_RELEASE);
        n++;
    }
    s->rounds = n;
}

int main(void)
{
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (s == MAP_FAILED)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        work(s);
        _exit(0);
    }
    struct timespec ts = {0, 5000000};
    for (int i = 0; i < WAKEUPS; i++)
        nanosleep(&ts, NULL);
    s->stop = 1;
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child: exit %d, looped: %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           s->rounds ? "yes" : "no");
    printf("plain add: %s\n", s->plain == s->rounds ? "exact" : "WRONG");
    printf("locked add: %s\n", s->locked == s->rounds ? "exact" : "WRONG");
    printf("compare-and-swap failures: %lu\n", s->cas_failures);
    return 0;
}
