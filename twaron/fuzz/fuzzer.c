/* twaron's system call fuzzer: a supervisor (the guest's first process) keeps PROCS fuzzing
 * children alive; each child issues random system calls with random and boundary arguments
 * (wild, unmapped and kernel-half pointers, huge lengths, negative and garbage fds, every
 * flag bit) from a generator seeded per child, so a child's call sequence is reproducible
 * from its seed alone.
 *
 *   fuzzer SEED PROCS LIFETIME [CHILD_SEED]
 *
 * A child makes LIFETIME calls and exits; the supervisor forks a new one with the next seed
 * (and does the same when a child dies of a call: a wild rt_sigreturn, a signal handler at a
 * random address, its own code unmapped). A child that stops making progress (blocked on a
 * pipe it holds both ends of, stopped by SIGSTOP) is killed by the supervisor's watchdog
 * (a 100 ms tick; no progress for 500 ms).
 * The run never ends by itself: the host side (twaron.fuzz) counts calls in the kernel and
 * stops the run. Each child announces its seed to the host with a private system call number
 * (FUZZ_ANNOUNCE) that twaron.fuzz answers before the syscall table is consulted.
 *
 * Never run this natively: it really calls mount, chroot, unlink, setrlimit, ... at random.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUZZ_ANNOUNCE 0x7f5a
#define FUZZ_MAGIC 0x66757a7aL
#define MAXPROCS 64
#define PAGE 4096UL
#define SCRATCH 0x10000000UL /* 16 RW pages: random data, valid structs, zeros */
#define SCRATCH_PAGES 16
#define RO_PAGE (SCRATCH + SCRATCH_PAGES * PAGE) /* PROT_READ, then an unmapped hole */
#define HOLE (RO_PAGE + PAGE)
#define SHARED 0x30000000UL /* supervisor <-> children: progress counters */

struct entry { int nr; const char *types; };
static const struct entry table[] = {
/* Generated from the syscall registry by twaron/fuzz/table.py: the argument codes follow
 * each call's trace formats (an fd is 'f', a path 's', ...; arg() below). */
#include "fuzz_table.inc"
};
#define NTABLE (sizeof table / sizeof table[0])

/* System calls the generic mode (random number, random arguments) must not make: they end
 * the child or reach the supervisor (exit, pause, kill by random pid, reboot, ...). */
static const int denied[] = {60, 231, 34, 130, 169, 62, 200, 234, 129, 297, 424, 246, 320,
                             101, 311, 310, 153, 302, 167, 168, 175, 176, 313, 0x7f5a};

static volatile uint64_t *progress; /* per slot, in SHARED */
static uint64_t rs;                  /* the child's generator state */
static long self_pid;

static uint64_t next(void) { /* splitmix64 */
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return next() % n; }

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t save = rs, r;
    rs = a * 0x100000001b3ULL ^ b;
    next();
    r = next();
    rs = save;
    return r;
}

/* The raw system call. A child of fork/vfork/clone/clone3 (rax 0 after one of those) exits
 * at once without touching memory: it may share the parent's stack or have a wild one. */
static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long forkish) {
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    long ret = nr;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "test %[fk], %[fk]\n\t"
        "jz 1f\n\t"
        "mov $60, %%eax\n\t"
        "xor %%edi, %%edi\n\t"
        "syscall\n\t"
        "1:"
        : "+a"(ret)
        : "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9), [fk] "r"(forkish)
        : "rcx", "r11", "memory");
    return ret;
}

static const char *const paths[] = {
    "a", "b", "c", "d", "d/e", "d/f/g", "l", "dl", "a/", "", ".", "..", "../../../..",
    "/", "/tmp", "/tmp/fz", "/proc", "/proc/self/mem", "/proc/self/fd/0", "/proc/self/fd",
    "/proc/1/mem", "/proc/self/root", "/proc/self/exe", "/proc/self/maps", "/proc/self/status",
    "/proc/self/cwd/a", "/proc/1/root/etc", "/dev/null", "/dev/zero", "/dev/urandom",
    "/dev/full", "/nonexistent/x", "/etc/passwd", "/etc", "/bin", "/bin/sh", "a/../b",
    "///tmp//./fz", "d/../../x", "l/x", "/proc/self/fd/1/x",
};
#define NPATHS (sizeof paths / sizeof paths[0])
static char longpath[5000];

static long pointer(void) {
    switch (below(20)) {
    case 0: return 0;
    case 1: case 2: case 3: return SCRATCH + below(64);
    case 4: case 5: return SCRATCH + PAGE;            /* valid structures */
    case 6: case 7: return SCRATCH + 2 * PAGE + below(PAGE); /* zeros */
    case 8: return SCRATCH + below(SCRATCH_PAGES * PAGE);
    case 9: return RO_PAGE - 1 - below(64);           /* runs into the read-only page */
    case 10: return RO_PAGE + below(PAGE);            /* read-only */
    case 11: return HOLE - 1 - below(16);             /* runs into the hole */
    case 12: return HOLE + below(1 << 20);            /* unmapped */
    case 13: return (long)(0xffff800000000000ULL + below(1ULL << 40)); /* kernel half */
    case 14: return -1 - (long)below(8192);
    case 15: return (long)(0x0000800000000000ULL - below(2) * PAGE - below(16)); /* top */
    case 16: return (long)(0x0000800000000000ULL + below(1ULL << 46)); /* non-canonical */
    case 17: return (long)next();
    case 18: return (long)below(1ULL << 47);
    default: return (long)below(PAGE);
    }
}

static long path(void) {
    unsigned r = below(20);
    if (r < 15) return (long)paths[below(NPATHS)];
    if (r == 15) return (long)longpath;
    if (r == 16) return (long)(RO_PAGE + PAGE - 3); /* "xyz" without its NUL */
    return pointer();
}

static long length(void) {
    static const uint64_t b[] = {0, 1, 2, 7, 8, 16, 64, 128, 4095, 4096, 4097, 65536,
                                 0x7fffffff, 0x80000000, 0xffffffff, 1ULL << 32, 1ULL << 40,
                                 ~0ULL, 0x7fffffffffffffffULL, -4096ULL};
    switch (below(4)) {
    case 0: return (long)b[below(sizeof b / sizeof b[0])];
    case 1: return (long)below(256);
    case 2: return (long)below(0x10000);
    default: return (long)(next() >> below(64));
    }
}

static long flags(void) {
    switch (below(7)) {
    case 0: return 0;
    case 1: return (long)(uint32_t)next();
    case 2: return (long)next();
    case 3: return 1L << below(64);
    case 4: return (long)(next() & next() & next() & 0xffffffff);
    case 5: return (long)((1UL << below(32)) | (1UL << below(32)));
    default: return (long)(next() & next() & 0xffff);
    }
}

static long integer(void) {
    static const uint64_t b[] = {0, 1, -1ULL, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff,
                                 0xffffffff80000000ULL, 1ULL << 63, 0x7fffffffffffffffULL};
    switch (below(5)) {
    case 0: return (long)b[below(sizeof b / sizeof b[0])];
    case 1: case 2: return (long)below(65);
    case 3: return (long)(uint32_t)next();
    default: return (long)next();
    }
}

static long offset(void) {
    static const uint64_t b[] = {0, 1, 4096, -1ULL, -4096ULL, 0x7fffffffffffffffULL,
                                 1ULL << 63, 0x7ffff000, 1ULL << 32};
    switch (below(3)) {
    case 0: return (long)b[below(sizeof b / sizeof b[0])];
    case 1: return (long)below(1 << 16);
    default: return (long)(next() >> below(64));
    }
}

static long fd(void) {
    static const uint64_t b[] = {-1ULL, -100ULL, 0x80000000, 0x7fffffff, 1023, 1024, 4096,
                                 0xffffffff, 0x100000003ULL, 0xffffffff00000001ULL};
    unsigned r = below(20);
    if (r < 3) return (long)below(3);
    if (r < 15) return 3 + (long)below(29);
    if (r < 19) return (long)b[below(sizeof b / sizeof b[0])];
    return (long)next();
}

static long small(void) {
    if (below(10) == 0) return integer();
    return (long)below(24) - 2;
}

static long killpid(void) { /* pids that cannot reach the supervisor or another child */
    static const long b[] = {0, 99999, -99999, 0x7fffffff, -0x7fffffffL - 1, 4194305};
    if (below(2)) return self_pid;
    if (below(4) == 0) return -self_pid; /* own process group (setsid at start) */
    return b[below(sizeof b / sizeof b[0])];
}

static long arg(char t) {
    switch (t) {
    case 'f': return fd();
    case 'd': return below(2) ? -100 : fd();
    case 'p': return pointer();
    case 's': return path();
    case 'l': return length();
    case 'v': return below(3) ? (long)below(6) : length(); /* iovec / fd-set counts */
    case 'x': return flags();
    case 'i': return integer();
    case 'o': return offset();
    case 'm': return below(4) ? (long)below(010000) : integer();
    case 'c': return small();
    case 'F': return below(4) ? (long)(1024 + below(20)) : small();
    case 'a': /* addresses for the mm calls: the scratch area, random pages, boundaries */
        switch (below(6)) {
        case 0: return SCRATCH + PAGE * below(SCRATCH_PAGES);
        case 1: return HOLE + PAGE * below(256);
        case 2: return 0;
        case 3: return (long)((below(1ULL << 47) & ~(PAGE - 1)) | 0x100000000000ULL);
        case 4: return (long)(0x0000800000000000ULL - PAGE * below(4));
        default: return pointer();
        }
    case 'n': {
        static const long b[] = {0, -1, 1, 2, 0x7fffffff, -0x7fffffffL - 1, 32768, 99999};
        return below(3) ? b[below(8)] : below(2) ? self_pid : (long)below(300);
    }
    case 'k': return killpid();
    case 'g': return below(8) ? (long)below(66) : integer();
    case 'u': return below(3) ? (long)(int[]){0, -1, 1000, 65534}[below(4)] : integer();
    case 'w': return (long)below(3); /* poll timeouts: never block for long */
    case 'z': /* timespec pointers: short, zero, invalid, or a pointer from the pool */
        switch (below(5)) {
        case 0: return SCRATCH + PAGE + 128; /* {0, 1000} */
        case 1: return SCRATCH + 2 * PAGE;   /* {0, 0} */
        case 2: return SCRATCH + PAGE + 144; /* {0, 2000000000}: EINVAL */
        case 3: return SCRATCH + PAGE + 160; /* {-1, 0}: EINVAL */
        default: { long p = pointer(); return (p >= (long)SCRATCH && p < (long)HOLE) ? 0 : p; }
        }
    case 'L': return below(4) ? 8 : length();
    default: return integer();
    }
}

static void scratch_init(void) {
    long *s = (long *)SCRATCH;
    for (unsigned i = 0; i < PAGE / 8; i++) s[i] = (long)next() >> below(64);
    long *v = (long *)(SCRATCH + PAGE); /* iovecs into scratch, a short timespec, a sigset */
    for (int i = 0; i < 8; i++) { v[2 * i] = SCRATCH + 4 * PAGE + 256 * i; v[2 * i + 1] = 64; }
    v[16] = 0; v[17] = 1000; v[18] = 0; v[19] = 2000000000; v[20] = -1; v[21] = 0;
}

static void setup_memory(void) {
    raw(9, SCRATCH, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0, 0);
    raw(9, RO_PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
        0, 0);
    memcpy((char *)RO_PAGE + PAGE - 3, "xyz", 3);
    raw(10, RO_PAGE, PAGE, PROT_READ, 0, 0, 0, 0);
    raw(11, HOLE, 1 << 22, 0, 0, 0, 0, 0);
    scratch_init();
}

static void child(int slot, uint64_t seed, long lifetime) {
    char dir[32] = "/tmp/fz/";
    dir[8] = 'a' + slot % 26;
    dir[9] = 'a' + slot / 26 % 26;
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0); dup2(null, 1); dup2(null, 2);
    if (null > 2) close(null);
    mkdir("/tmp", 01777);
    mkdir("/tmp/fz", 0777);
    mkdir(dir, 0777);
    if (chdir(dir) == 0) {
        close(open("a", O_CREAT | O_WRONLY | O_TRUNC, 0644));
        int f = open("b", O_CREAT | O_WRONLY | O_TRUNC, 0644);
        write(f, "hello, fuzzer\n", 14);
        close(f);
        mkdir("d", 0755);
        symlink("a", "l");
        symlink("d", "dl");
    }
    memset(longpath, 'a', sizeof longpath - 1);
    self_pid = getpid();
    rs = seed;
    setup_memory();
    raw(FUZZ_ANNOUNCE, FUZZ_MAGIC, (long)seed, slot, 0, 0, 0, 0);
    /* From here on: no libc (a call may have replaced %fs or the signal mask). */
    for (long n = 0; n < lifetime; n++) {
        progress[slot]++;
        if ((n & 255) == 255) setup_memory(); /* the scratch area may have been unmapped */
        long nr, a[6];
        const char *types = "";
        if (below(10)) {
            const struct entry *e = &table[below(NTABLE)];
            nr = e->nr;
            types = e->types;
        } else { /* any number, generic arguments; a few out of the table's range */
            unsigned r = below(40);
            nr = r == 0 ? (long)next() : r == 1 ? 0x100000027L : (long)below(460);
            for (unsigned i = 0; i < sizeof denied / sizeof denied[0]; i++)
                if (nr == denied[i]) nr = 39; /* getpid */
            types = "xxxxxx";
        }
        if (nr == 15 && below(20)) { n--; continue; } /* rt_sigreturn: rarely (it kills) */
        for (int i = 0; i < 6; i++) a[i] = types[0] && i < (int)strlen(types) ? arg(types[i])
                                                                       : integer();
        /* A CPU-time limit fires at a point that depends on the host's load (twaron counts
         * wall time in the guest): keep it out, so a child seed replays the same calls. */
        if ((nr == 160 && (a[0] & 0xffffffffL) == 0) || (nr == 302 && (a[1] & 0xffffffffL) == 0))
            continue;
        /* So do CPU-time timers: setitimer(ITIMER_VIRTUAL/PROF), timer_create on a CPU clock. */
        if ((nr == 38 && ((int)a[0] == 1 || (int)a[0] == 2)) ||
            (nr == 222 && ((int)a[0] < 0 || (int)a[0] == 2 || (int)a[0] == 3)))
            continue;
        long forkish = nr == 56 || nr == 57 || nr == 58 || nr == 435;
        raw(nr, a[0], a[1], a[2], a[3], a[4], a[5], forkish);
    }
    raw(231, 0, 0, 0, 0, 0, 0, 0);
}

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    uint64_t seed = strtoull(argv[1], 0, 0);
    int procs = atoi(argv[2]);
    long lifetime = atol(argv[3]);
    int have_child_seed = argc > 4;
    uint64_t child_seed = have_child_seed ? strtoull(argv[4], 0, 0) : 0;
    if (procs < 1 || procs > MAXPROCS || lifetime < 1) return 2;
    progress = mmap((void *)SHARED, PAGE, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (progress == MAP_FAILED) return 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: wait4 returns EINTR every tick */
    sigaction(SIGALRM, &sa, 0);
    pid_t pids[MAXPROCS] = {0};
    uint64_t gen[MAXPROCS] = {0}, seen[MAXPROCS] = {0}, since[MAXPROCS] = {0};
    for (;;) {
        for (int s = 0; s < procs; s++) {
            if (pids[s] > 0) continue;
            uint64_t cs = !have_child_seed ? mix(seed, (uint64_t)s << 32 | gen[s])
                          : gen[s] == 0 ? child_seed : mix(child_seed, (uint64_t)s << 32 | gen[s]);
            pid_t p = fork();
            if (p == 0) child(s, cs, lifetime);
            if (p > 0) { pids[s] = p; gen[s]++; seen[s] = progress[s]; since[s] = now_ms(); }
        }
        struct itimerval tick = {{0, 0}, {0, 100000}};
        setitimer(ITIMER_REAL, &tick, 0);
        int st;
        pid_t p = waitpid(-1, &st, 0);
        for (int s = 0; s < procs; s++)
            if (p > 0 && pids[s] == p) pids[s] = 0;
        if (p < 0) { /* a tick: kill children that made no progress for half a second */
            uint64_t t = now_ms();
            for (int s = 0; s < procs; s++) {
                if (pids[s] <= 0) continue;
                if (progress[s] != seen[s]) { seen[s] = progress[s]; since[s] = t; }
                else if (t - since[s] > 500) kill(pids[s], SIGKILL);
            }
        }
    }
}
