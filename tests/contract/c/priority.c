/* getpriority/setpriority on a process, a process group, a user, a thread: the raw call
 * answers 20 - nice (libc turns it back), values are clamped to -20..19, nice values are
 * inherited across fork and by threads, EPERM for another user's process, EACCES for
 * lowering one's nice value beyond RLIMIT_NICE, ESRCH when nothing matches. The user cases
 * use uid 4242, which owns nothing on the host (a root PRIO_USER call would renice it). */
#include "contract.h"
#include <pthread.h>
#include <sys/resource.h>

#define UID 4242

static long rawget(int which, int who) { return RAW(SYS_getpriority, which, who); }

static int ready[2];

/* A child that, once in its process group and with its uid, says so on `ready`, waits for a
 * byte on `go`, reports its raw priority on `out`, exits. */
static pid_t sleeper(int go[2], int out[2], int uid, int pgrp_of)
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (pgrp_of >= 0)
            setpgid(0, pgrp_of);
        if (uid >= 0)
            setresuid(uid, uid, uid);
        write(ready[1], "r", 1);
        char b;
        read(go[0], &b, 1);
        long v = rawget(PRIO_PROCESS, 0);
        write(out[1], &v, sizeof v);
        _exit(0);
    }
    if (pgrp_of >= 0)
        setpgid(c, pgrp_of ? pgrp_of : c);
    char r;
    read(ready[0], &r, 1);
    return c;
}

static long ask(int go[2], int out[2])
{
    long v = -1;
    write(go[1], "x", 1);
    read(out[0], &v, sizeof v);
    return v;
}

static void *thread_fn(void *arg)
{
    long *v = arg;
    v[0] = rawget(PRIO_PROCESS, 0);
    v[1] = syscall(SYS_gettid);
    while (!__atomic_load_n(&v[2], __ATOMIC_SEQ_CST))
        sched_yield();
    v[3] = rawget(PRIO_PROCESS, 0);
    return NULL;
}

int main(void)
{
    int go[2], out[2];
    pipe(go);
    pipe(out);
    pipe(ready);
    CHECK("getpriority raw", rawget(PRIO_PROCESS, 0));
    errno = 0;
    CHECK("getpriority libc", getpriority(PRIO_PROCESS, 0));
    CHECK("setpriority 5", RAW(SYS_setpriority, PRIO_PROCESS, 0, 5));
    CHECK("getpriority raw", rawget(PRIO_PROCESS, 0));
    CHECK("setpriority 100 (clamped to 19)", RAW(SYS_setpriority, PRIO_PROCESS, 0, 100));
    CHECK("getpriority raw", rawget(PRIO_PROCESS, 0));
    CHECK("setpriority -100 (root; clamped to -20)", RAW(SYS_setpriority, PRIO_PROCESS, 0, -100));
    CHECK("getpriority raw", rawget(PRIO_PROCESS, 0));
    CHECK("getpriority which 3", rawget(3, 0));
    CHECK("getpriority which -1", rawget(-1, 0));
    CHECK("setpriority which 3", RAW(SYS_setpriority, 3, 0, 0));
    CHECK("getpriority no such pid", rawget(PRIO_PROCESS, 99999));
    CHECK("getpriority pid -1", rawget(PRIO_PROCESS, -1));
    CHECK("setpriority no such pid", RAW(SYS_setpriority, PRIO_PROCESS, 99999, 0));
    CHECK("getpriority no such process group", rawget(PRIO_PGRP, 99999));
    CHECK("getpriority a user with no process", rawget(PRIO_USER, UID + 1));
    CHECK("setpriority a user with no process", RAW(SYS_setpriority, PRIO_USER, UID + 1, 0));

    /* inherited across fork; setpriority on a child changes the child, not the caller */
    RAW(SYS_setpriority, PRIO_PROCESS, 0, 3);
    pid_t c = sleeper(go, out, -1, -1);
    CHECK("child's priority seen by the parent", rawget(PRIO_PROCESS, c));
    CHECK("setpriority child 7", RAW(SYS_setpriority, PRIO_PROCESS, c, 7));
    CHECK("parent unchanged", rawget(PRIO_PROCESS, 0));
    printf("child reports: %ld\n", ask(go, out));
    reap("child", c);

    /* a process group: the best priority of its members; set for them all */
    pid_t a = sleeper(go, out, -1, 0);
    pid_t b = sleeper(go, out, -1, a);
    RAW(SYS_setpriority, PRIO_PROCESS, a, 10);
    RAW(SYS_setpriority, PRIO_PROCESS, b, 2);
    CHECK("getpriority PGRP (best of 10 and 2)", rawget(PRIO_PGRP, a));
    CHECK("setpriority PGRP 4", RAW(SYS_setpriority, PRIO_PGRP, a, 4));
    printf("members report: %ld %ld\n", ask(go, out), ask(go, out));
    reap("member a", a);
    reap("member b", b);

    /* a user: uid 4242's two processes */
    a = sleeper(go, out, UID, -1);
    b = sleeper(go, out, UID, -1);
    RAW(SYS_setpriority, PRIO_PROCESS, a, 12);
    RAW(SYS_setpriority, PRIO_PROCESS, b, 6);
    CHECK("getpriority USER (best of 12 and 6)", rawget(PRIO_USER, UID));
    CHECK("setpriority USER 9", RAW(SYS_setpriority, PRIO_USER, UID, 9));
    printf("user's processes report: %ld %ld\n", ask(go, out), ask(go, out));
    reap("user a", a);
    reap("user b", b);

    /* permissions: another user's process, lowering without CAP_SYS_NICE */
    RAW(SYS_setpriority, PRIO_PROCESS, 0, 0);
    pid_t parent = getpid();
    fflush(stdout);
    c = fork();
    if (c == 0) {
        setresuid(UID, UID, UID);
        CHECK("user: setpriority 5 (raise)", RAW(SYS_setpriority, PRIO_PROCESS, 0, 5));
        CHECK("user: setpriority 5 again", RAW(SYS_setpriority, PRIO_PROCESS, 0, 5));
        CHECK("user: setpriority 2 (lower)", RAW(SYS_setpriority, PRIO_PROCESS, 0, 2));
        CHECK("user: getpriority raw", rawget(PRIO_PROCESS, 0));
        CHECK("user: setpriority root's process", RAW(SYS_setpriority, PRIO_PROCESS, parent, 19));
        CHECK("user: getpriority root's process", rawget(PRIO_PROCESS, parent));
        CHECK("user: setpriority root's group", RAW(SYS_setpriority, PRIO_PGRP, 0, 19));
        fflush(stdout);
        _exit(0);
    }
    reap("user child", c);

    /* per thread: a thread inherits the creator's nice; setting a thread's leaves the rest */
    RAW(SYS_setpriority, PRIO_PROCESS, 0, 6);
    long tv[4] = {0};
    pthread_t t;
    pthread_create(&t, NULL, thread_fn, tv);
    while (!__atomic_load_n(&tv[1], __ATOMIC_SEQ_CST))
        sched_yield();
    CHECK("thread's priority at start", tv[0]);
    CHECK("setpriority the thread 11", RAW(SYS_setpriority, PRIO_PROCESS, (int)tv[1], 11));
    __atomic_store_n(&tv[2], 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    CHECK("thread's priority after", tv[3]);
    CHECK("main thread's priority", rawget(PRIO_PROCESS, 0));
    return 0;
}
