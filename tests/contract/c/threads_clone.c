/* clone for threads by hand: CLONE_VM|CLONE_THREAD|... with PARENT_SETTID, CHILD_SETTID,
 * CHILD_CLEARTID (zeroed and futex-woken at exit), SETTLS (the new thread's FS base), the
 * new stack; CLONE_FILES and CLONE_FS sharing; the flag checks Linux makes (EINVAL), for
 * clone and clone3. */
#include "contract.h"
#include <sched.h>
#include <sys/mman.h>

#define ARCH_GET_FS 0x1003
#define FUTEX_WAIT 0
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD \
                      | CLONE_SYSVSEM)

static volatile pid_t child_tid_word, parent_tid_word, seen_tid, seen_pid;
static volatile unsigned long seen_fs;
static volatile long on_new_stack;
static char stack[65536] __attribute__((aligned(16)));
static unsigned long fake_tls[8];
static volatile int shared_fd = -1;

static int thread_fn(void *arg)
{
    char here;
    seen_tid = (pid_t)RAW(SYS_gettid);
    seen_pid = (pid_t)RAW(SYS_getpid);
    on_new_stack = &here >= stack && &here < stack + sizeof stack;
    unsigned long fs = 0;
    RAW(SYS_arch_prctl, ARCH_GET_FS, &fs);
    seen_fs = fs;
    if (arg) {
        shared_fd = (int)RAW(SYS_open, "/", O_RDONLY | O_DIRECTORY);
        RAW(SYS_chdir, "/proc");
    }
    return 0;
}

static void wait_cleared(void)
{
    pid_t v;
    while ((v = child_tid_word) != 0)
        RAW(SYS_futex, &child_tid_word, FUTEX_WAIT, v, 0, 0, 0);
}

struct clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

int main(void)
{
    child_tid_word = -1;
    int tid = clone(thread_fn, stack + sizeof stack,
                    THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS,
                    0, &parent_tid_word, fake_tls, &child_tid_word);
    BOOL("clone returned a tid", tid > 0);
    wait_cleared();
    BOOL("PARENT_SETTID wrote the tid", parent_tid_word == tid);
    BOOL("CHILD_CLEARTID cleared it", child_tid_word == 0);
    BOOL("thread saw its own tid", seen_tid == tid);
    BOOL("thread's getpid is the process's", seen_pid == getpid());
    BOOL("thread ran on the new stack", on_new_stack);
    BOOL("SETTLS set the thread's FS base", seen_fs == (unsigned long)fake_tls);

    /* CHILD_SETTID writes the tid in the child's (shared) memory; CLONE_FILES, CLONE_FS */
    child_tid_word = 0;
    tid = clone(thread_fn, stack + sizeof stack,
                THREAD_FLAGS | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID, (void *)1, 0, 0,
                &child_tid_word);
    while (child_tid_word == 0 && seen_tid != tid)
        sched_yield();
    wait_cleared();
    BOOL("CHILD_SETTID, then cleared", child_tid_word == 0 && seen_tid == tid);
    CHECK_OK("fd opened by the thread is ours (CLONE_FILES)", fcntl(shared_fd, F_GETFD));
    char cwd[64];
    getcwd(cwd, sizeof cwd);
    printf("cwd changed by the thread (CLONE_FS): %s\n", cwd);
    chdir("/");

    /* flag checks */
    CHECK("CLONE_THREAD without CLONE_SIGHAND",
          RAW(SYS_clone, CLONE_THREAD | CLONE_VM, stack + sizeof stack, 0, 0, 0));
    CHECK("CLONE_SIGHAND without CLONE_VM",
          RAW(SYS_clone, CLONE_SIGHAND | CLONE_THREAD, stack + sizeof stack, 0, 0, 0));
    CHECK("CLONE_FS|CLONE_NEWUSER",
          RAW(SYS_clone, CLONE_FS | CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
    CHECK("CLONE_THREAD|CLONE_NEWPID", RAW(SYS_clone, THREAD_FLAGS | CLONE_NEWPID,
                                           stack + sizeof stack, 0, 0, 0));
    CHECK("SETTLS with a kernel address", RAW(SYS_clone, THREAD_FLAGS | CLONE_SETTLS,
                                              stack + sizeof stack, 0, 0, KERNEL_PTR));
    struct clone_args ca = {0};
    ca.flags = THREAD_FLAGS;
    ca.exit_signal = SIGCHLD;
    ca.stack = (uint64_t)stack;
    ca.stack_size = sizeof stack;
    CHECK("clone3 thread with an exit signal", RAW(SYS_clone3, &ca, sizeof ca));
    ca.exit_signal = 0;
    ca.stack_size = 0;
    CHECK("clone3 stack without a size", RAW(SYS_clone3, &ca, sizeof ca));
    ca.stack_size = sizeof stack;
    ca.flags = THREAD_FLAGS | CLONE_DETACHED;
    CHECK("clone3 CLONE_DETACHED", RAW(SYS_clone3, &ca, sizeof ca));
    ca.flags = CLONE_SIGHAND;
    CHECK("clone3 CLONE_SIGHAND without CLONE_VM", RAW(SYS_clone3, &ca, sizeof ca));
    ca.flags = CLONE_PARENT;
    ca.exit_signal = SIGCHLD;
    ca.stack = ca.stack_size = 0;
    CHECK("clone3 CLONE_PARENT with an exit signal", RAW(SYS_clone3, &ca, sizeof ca));
    return 0;
}
