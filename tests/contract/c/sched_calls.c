/* The sched_* calls: priority ranges, setting and reading policies and priorities with
 * Linux's checks (EINVAL for bad policies, priorities and NULL params, ESRCH for a missing
 * pid, EPERM for real-time without privilege), SCHED_RESET_ON_FORK, sched_rr_get_interval,
 * sched_getattr/sched_setattr, and CPU affinity (the mask must name an online CPU). */
#include "contract.h"
#include <sched.h>
#include <stdint.h>

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static long setsched(pid_t pid, long policy, int prio)
{
    struct sched_param p = {prio};
    return RAW(SYS_sched_setscheduler, pid, policy, &p);
}

static void show(const char *label, pid_t pid)
{
    struct sched_param p = {-1};
    long pol = RAW(SYS_sched_getscheduler, pid);
    RAW(SYS_sched_getparam, pid, &p);
    printf("%s: policy %#lx priority %d\n", label, pol, p.sched_priority);
}

static void ranges(void)
{
    for (long pol = -1; pol <= 6; pol++) { /* 7: SCHED_EXT on newer kernels */
        long max = RAW(SYS_sched_get_priority_max, pol);
        long min = RAW(SYS_sched_get_priority_min, pol);
        if (max < 0)
            printf("priority range of %ld: %s\n", pol, errname(errno));
        else
            printf("priority range of %ld: %ld..%ld\n", pol, min, max);
    }
}

static void get_errors(void)
{
    struct sched_param p;
    CHECK("getscheduler 0", RAW(SYS_sched_getscheduler, 0));
    CHECK("getscheduler self", RAW(SYS_sched_getscheduler, getpid()));
    CHECK("getscheduler -1", RAW(SYS_sched_getscheduler, -1));
    CHECK("getscheduler no such pid", RAW(SYS_sched_getscheduler, 99999));
    CHECK("getparam", RAW(SYS_sched_getparam, 0, &p));
    CHECK("getparam NULL", RAW(SYS_sched_getparam, 0, NULL));
    CHECK("getparam -1", RAW(SYS_sched_getparam, -1, &p));
    CHECK("getparam no such pid", RAW(SYS_sched_getparam, 99999, &p));
    CHECK("getparam bad pointer", RAW(SYS_sched_getparam, 0, BAD_PTR));
}

static void set_policies(void)
{
    CHECK("setscheduler FIFO 10", setsched(0, SCHED_FIFO, 10));
    show("after FIFO 10", 0);
    struct sched_param p = {20};
    CHECK("setparam 20", RAW(SYS_sched_setparam, 0, &p));
    show("after setparam 20", 0);
    CHECK("setscheduler RR 99", setsched(0, SCHED_RR, 99));
    struct timespec ts;
    CHECK("rr_get_interval RR", RAW(SYS_sched_rr_get_interval, 0, &ts));
    printf("RR interval: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    CHECK("setscheduler RR 100", setsched(0, SCHED_RR, 100));
    CHECK("setscheduler FIFO 0", setsched(0, SCHED_FIFO, 0));
    CHECK("setscheduler FIFO -1", setsched(0, SCHED_FIFO, -1));
    CHECK("setscheduler OTHER 5", setsched(0, SCHED_OTHER, 5));
    CHECK("setscheduler policy 4", setsched(0, 4, 0));
    CHECK("setscheduler policy 7", setsched(0, 7, 0));
    CHECK("setscheduler policy -1", setsched(0, -1, 0));
    CHECK("setscheduler DEADLINE", setsched(0, 6, 0));
    CHECK("setscheduler NULL param", RAW(SYS_sched_setscheduler, 0, SCHED_FIFO, NULL));
    CHECK("setscheduler bad pointer", RAW(SYS_sched_setscheduler, 0, SCHED_FIFO, BAD_PTR));
    CHECK("setscheduler pid -1", setsched(-1, SCHED_FIFO, 1));
    CHECK("setscheduler no such pid", setsched(99999, SCHED_FIFO, 1));
    CHECK("setscheduler FIFO 1", setsched(0, SCHED_FIFO, 1));
    CHECK("rr_get_interval FIFO", RAW(SYS_sched_rr_get_interval, 0, &ts));
    printf("FIFO interval: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    CHECK("setscheduler BATCH", setsched(0, SCHED_BATCH, 0));
    show("after BATCH", 0);
    CHECK("setscheduler IDLE", setsched(0, SCHED_IDLE, 0));
    show("after IDLE", 0);
    CHECK("setscheduler OTHER", setsched(0, SCHED_OTHER, 0));
    p.sched_priority = 1;
    CHECK("setparam 1 under OTHER", RAW(SYS_sched_setparam, 0, &p));
    CHECK("setparam NULL", RAW(SYS_sched_setparam, 0, NULL));
    CHECK("setparam no such pid", RAW(SYS_sched_setparam, 99999, &p));
    CHECK_OK("rr_get_interval OTHER", RAW(SYS_sched_rr_get_interval, 0, &ts));
    CHECK("rr_get_interval -1", RAW(SYS_sched_rr_get_interval, -1, &ts));
    CHECK("rr_get_interval no such pid", RAW(SYS_sched_rr_get_interval, 99999, &ts));
    CHECK("rr_get_interval bad pointer", RAW(SYS_sched_rr_get_interval, 0, BAD_PTR));
}

static void reset_on_fork(void)
{
    CHECK("setscheduler RR|RESET_ON_FORK", setsched(0, SCHED_RR | SCHED_RESET_ON_FORK, 5));
    show("after RR|RESET_ON_FORK", 0);
    pid_t c = FORK();
    if (c == 0) {
        show("fork child of a reset-on-fork RR task", 0);
        fflush(stdout);
        _exit(0);
    }
    reap("reset child", c);
    CHECK("setscheduler FIFO 3", setsched(0, SCHED_FIFO, 3));
    show("root may clear reset-on-fork", 0);
    c = FORK();
    if (c == 0) {
        show("fork child of a FIFO task", 0);
        fflush(stdout);
        _exit(0);
    }
    reap("FIFO child", c);
    setsched(0, SCHED_OTHER, 0);
}

static void unprivileged(void)
{
    pid_t parent = getpid();
    pid_t c = FORK();
    if (c == 0) {
        setuid(65534);
        CHECK("nobody: setscheduler FIFO 1", setsched(0, SCHED_FIFO, 1));
        CHECK("nobody: setscheduler OTHER", setsched(0, SCHED_OTHER, 0));
        CHECK("nobody: setscheduler BATCH", setsched(0, SCHED_BATCH, 0));
        CHECK("nobody: setscheduler of root's process", setsched(parent, SCHED_OTHER, 0));
        CHECK("nobody: getscheduler of root's process", RAW(SYS_sched_getscheduler, parent));
        CHECK("nobody: setscheduler IDLE", setsched(0, SCHED_IDLE, 0));
        CHECK("nobody: back from IDLE to OTHER", setsched(0, SCHED_OTHER, 0));
        CHECK("nobody: IDLE|RESET_ON_FORK", setsched(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0));
        CHECK("nobody: clearing reset-on-fork", setsched(0, SCHED_IDLE, 0));
        struct attr a = {.size = 48, .policy = 6, .runtime = 10000000, .deadline = 30000000,
                         .period = 30000000};
        CHECK("nobody: setattr DEADLINE", RAW(SYS_sched_setattr, 0, &a, 0));
        fflush(stdout);
        _exit(0);
    }
    reap("nobody", c);
}

static void attrs(void)
{
    struct attr a;
    memset(&a, 0xff, sizeof a);
    CHECK("getattr 48", RAW(SYS_sched_getattr, 0, &a, 48, 0));
    printf("getattr: size %u policy %u flags %lu nice %d priority %u\n", a.size, a.policy,
           (unsigned long)a.flags, a.nice, a.priority);
    CHECK("getattr 47", RAW(SYS_sched_getattr, 0, &a, 47, 0));
    CHECK("getattr 4097", RAW(SYS_sched_getattr, 0, &a, 4097, 0));
    CHECK("getattr flags 1", RAW(SYS_sched_getattr, 0, &a, 48, 1));
    CHECK("getattr NULL", RAW(SYS_sched_getattr, 0, NULL, 48, 0));
    CHECK("getattr -1", RAW(SYS_sched_getattr, -1, &a, 48, 0));
    CHECK("getattr no such pid", RAW(SYS_sched_getattr, 99999, &a, 48, 0));
    CHECK("getattr bad pointer", RAW(SYS_sched_getattr, 0, BAD_PTR, 48, 0));

    memset(&a, 0, sizeof a);
    a.size = 48;
    a.policy = SCHED_OTHER;
    a.nice = 5;
    CHECK("setattr OTHER nice 5", RAW(SYS_sched_setattr, 0, &a, 0));
    CHECK("getpriority after it", RAW(SYS_getpriority, PRIO_PROCESS, 0));
    a.nice = 30;
    CHECK("setattr nice 30 (clamped)", RAW(SYS_sched_setattr, 0, &a, 0));
    CHECK("getpriority after it", RAW(SYS_getpriority, PRIO_PROCESS, 0));
    a.size = 0;
    a.nice = 0;
    CHECK("setattr size 0 (VER0)", RAW(SYS_sched_setattr, 0, &a, 0));
    a.size = 40;
    CHECK("setattr size 40", RAW(SYS_sched_setattr, 0, &a, 0));
    printf("size written back: %u\n", a.size);
    char big[128];
    memset(big, 0, sizeof big);
    memcpy(big, &a, 48);
    ((struct attr *)big)->size = 128;
    CHECK("setattr size 128, zero tail", RAW(SYS_sched_setattr, 0, big, 0));
    big[100] = 1;
    CHECK("setattr size 128, tail not zero", RAW(SYS_sched_setattr, 0, big, 0));
    a.size = 48;
    CHECK("setattr flags argument 1", RAW(SYS_sched_setattr, 0, &a, 1));
    CHECK("setattr NULL", RAW(SYS_sched_setattr, 0, NULL, 0));
    CHECK("setattr bad pointer", RAW(SYS_sched_setattr, 0, BAD_PTR, 0));
    CHECK("setattr pid -1", RAW(SYS_sched_setattr, -1, &a, 0));
    CHECK("setattr no such pid", RAW(SYS_sched_setattr, 99999, &a, 0));
    a.flags = 0x100;
    CHECK("setattr unknown sched_flags", RAW(SYS_sched_setattr, 0, &a, 0));
    a.flags = 0x20; /* SCHED_FLAG_UTIL_CLAMP_MIN needs a VER1 size */
    CHECK("setattr util clamp, size 48", RAW(SYS_sched_setattr, 0, &a, 0));
    a.flags = 0;
    a.policy = SCHED_FIFO;
    a.priority = 7;
    CHECK("setattr FIFO 7", RAW(SYS_sched_setattr, 0, &a, 0));
    show("after setattr FIFO 7", 0);
    a.flags = 0x08; /* SCHED_FLAG_KEEP_POLICY */
    a.policy = 99;
    a.priority = 9;
    CHECK("setattr KEEP_POLICY priority 9", RAW(SYS_sched_setattr, 0, &a, 0));
    show("after KEEP_POLICY", 0);
    a.flags = 0;
    a.policy = 0x80000000u;
    CHECK("setattr policy (int) < 0", RAW(SYS_sched_setattr, 0, &a, 0));
    memset(&a, 0, sizeof a);
    a.size = 48;
    a.policy = 6;
    a.runtime = 100;
    a.deadline = 1000000;
    CHECK("setattr DEADLINE runtime < 1024 ns", RAW(SYS_sched_setattr, 0, &a, 0));
    a.runtime = 2000000;
    CHECK("setattr DEADLINE runtime > deadline", RAW(SYS_sched_setattr, 0, &a, 0));
    a.runtime = 10000;
    a.deadline = 50000;
    CHECK("setattr DEADLINE period < 100 us", RAW(SYS_sched_setattr, 0, &a, 0));
    a.deadline = 0;
    CHECK("setattr DEADLINE deadline 0", RAW(SYS_sched_setattr, 0, &a, 0));
    setsched(0, SCHED_OTHER, 0);
}

static void affinity(void)
{
    unsigned long mask = 0, one = 1, none = 0, far = 1UL << 60;
    CHECK("getaffinity 8", RAW(SYS_sched_getaffinity, 0, 8, &mask));
    BOOL("CPU 0 in the mask", mask & 1);
    CHECK("getaffinity 4", RAW(SYS_sched_getaffinity, 0, 4, &mask));
    CHECK("getaffinity 0", RAW(SYS_sched_getaffinity, 0, 0, &mask));
    CHECK("getaffinity 12", RAW(SYS_sched_getaffinity, 0, 12, &mask));
    CHECK("getaffinity no such pid", RAW(SYS_sched_getaffinity, 99999, 8, &mask));
    CHECK("getaffinity -1", RAW(SYS_sched_getaffinity, -1, 8, &mask));
    CHECK("getaffinity bad pointer", RAW(SYS_sched_getaffinity, 0, 8, BAD_PTR));
    CHECK("setaffinity CPU 0", RAW(SYS_sched_setaffinity, 0, 8, &one));
    CHECK("setaffinity empty", RAW(SYS_sched_setaffinity, 0, 8, &none));
    CHECK("setaffinity CPU 60 only", RAW(SYS_sched_setaffinity, 0, 8, &far));
    CHECK("setaffinity length 0", RAW(SYS_sched_setaffinity, 0, 0, &one));
    CHECK("setaffinity length 1", RAW(SYS_sched_setaffinity, 0, 1, &one));
    CHECK("setaffinity bad pointer", RAW(SYS_sched_setaffinity, 0, 8, BAD_PTR));
    CHECK("setaffinity bad pointer no such pid", RAW(SYS_sched_setaffinity, 99999, 8, BAD_PTR));
    CHECK("setaffinity no such pid", RAW(SYS_sched_setaffinity, 99999, 8, &one));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CHECK("sched_setaffinity (libc) CPU 0", sched_setaffinity(0, sizeof set, &set));
    CHECK("sched_getaffinity (libc)", sched_getaffinity(0, sizeof set, &set));
    BOOL("libc mask has CPU 0", CPU_ISSET(0, &set));
    pid_t parent = getpid();
    pid_t c = FORK();
    if (c == 0) {
        setuid(65534);
        CHECK("nobody: setaffinity of root's process", RAW(SYS_sched_setaffinity, parent, 8, &one));
        CHECK("nobody: getaffinity of root's process", RAW(SYS_sched_getaffinity, parent, 8, &mask));
        fflush(stdout);
        _exit(0);
    }
    reap("affinity child", c);
}

int main(void)
{
    ranges();
    get_errors();
    set_policies();
    reset_on_fork();
    unprivileged();
    attrs();
    affinity();
    return 0;
}
