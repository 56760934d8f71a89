/* POSIX record locks (fcntl F_GETLK, F_SETLK, F_SETLKW) between processes: the argument
 * checks, byte ranges (SEEK_SET/CUR/END, negative lengths, to EOF), splitting and merging
 * seen by another process's F_GETLK (type, range, and the owner's pid compared with the
 * known pid), EAGAIN, locks dropped by closing ANY fd of the file and at exit, not inherited
 * by fork, F_SETLKW sleeping until the lock goes, EINTR and SA_RESTART, EDEADLK, and
 * /proc/locks with a blocked waiter. */
// contract: timeout=120
#include "contract.h"

static int fd;
static char path[] = "f";
static struct stat st0;

static int setlk(int f, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(f, cmd, &fl);
}

static const char *tname(int t)
{
    return t == F_RDLCK ? "RDLCK" : t == F_WRLCK ? "WRLCK" : t == F_UNLCK ? "UNLCK" : "?";
}

/* F_GETLK from a fresh child process (another owner): what blocks the range, and whose. */
static void probe(const char *label, short type, off_t start, off_t len)
{
    pid_t pid = FORK();
    if (pid == 0) {
        int f = open(path, O_RDWR);
        struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start,
                           .l_len = len, .l_pid = 12345};
        if (fcntl(f, F_GETLK, &fl) < 0) {
            printf("%s: -1 %s\n", label, errname(errno));
        } else if (fl.l_type == F_UNLCK) {
            printf("%s: UNLCK (start %lld len %lld whence %d pid kept %s)\n", label,
                   (long long)fl.l_start, (long long)fl.l_len, fl.l_whence,
                   fl.l_pid == 12345 ? "yes" : "no");
        } else {
            printf("%s: %s start %lld len %lld whence %d pid %s\n", label, tname(fl.l_type),
                   (long long)fl.l_start, (long long)fl.l_len, fl.l_whence,
                   fl.l_pid == getppid() ? "parent" : fl.l_pid == -1 ? "-1" : "other");
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* The state letter of /proc/PID/stat. */
/* Until pid sleeps (it is then inside the call under test). */
static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /proc/locks lines about our file: kind, type, range, whether it is ours or a waiter
 * (sorted: Linux lists the locks of each CPU newest first). */
static void show_proc_locks(const char *label)
{
    char out[32][128];
    char *sorted[32];
    int nout = 0;
    char buf[8192], want[64];
    int f = open("/proc/locks", O_RDONLY);
    int n = 0, r;
    while (f >= 0 && (r = read(f, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    if (f >= 0)
        close(f);
    buf[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, ":%llu ", (unsigned long long)st0.st_ino);
    printf("%s:\n", label);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, want))
            continue;
        char kind[16], adv[16], rw[16], dev[64], s[32], e[32];
        int pid;
        int waiter = strstr(line, "->") != NULL;
        char *p = strchr(line, ':') + 1;
        if (waiter)
            p = strstr(p, "->") + 2;
        if (sscanf(p, "%15s %15s %15s %d %63s %31s %31s", kind, adv, rw, &pid, dev, s, e) != 7)
            continue;
        if (nout < 32) {
            snprintf(out[nout], sizeof out[nout], "  %s%s %s %s %s-%s %s", waiter ? "-> " : "",
                     kind, adv, rw, s, e, pid == getpid() ? "mine" : "other");
            sorted[nout] = out[nout];
            nout++;
        }
    }
    qsort(sorted, nout, sizeof sorted[0], cmpstr);
    for (int i = 0; i < nout; i++)
        printf("%s\n", sorted[i]);
}

static void on_usr1(int sig) { (void)sig; }

/* Reap a child that reports its call's result by its exit status (0 or the errno): a woken
 * child and its parent would otherwise print in any order. */
static void finish(const char *label, pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("%s: %s\n", label, WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "0");
    else
        print_status(label, st);
}

static void checks(void)
{
    struct flock fl;
    CHECK("F_GETLK with F_UNLCK", setlk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1));
    CHECK("bad whence", setlk(fd, F_SETLK, F_WRLCK, 3, 0, 1));
    CHECK("bad type", setlk(fd, F_SETLK, 5, SEEK_SET, 0, 1));
    CHECK("F_GETLK bad type", setlk(fd, F_GETLK, 7, SEEK_SET, 0, 1));
    CHECK("negative start", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1));
    CHECK("negative len before 0", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -6));
    CHECK("len overflow", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 2, 0x7fffffffffffffffLL));
    CHECK("SEEK_END start overflow",
          setlk(fd, F_SETLK, F_WRLCK, SEEK_END, 0x7fffffffffffffffLL, 1));
    CHECK("SEEK_END before 0", setlk(fd, F_SETLK, F_WRLCK, SEEK_END, -101, 1));
    CHECK("bad type and bad whence", setlk(fd, F_SETLK, 9, 7, 0, 1));
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    CHECK("write lock on O_RDONLY", setlk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    CHECK("read lock on O_WRONLY", setlk(wo, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1));
    CHECK("unlock on O_RDONLY", setlk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    CHECK("F_GETLK write on O_RDONLY", setlk(ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
    CHECK("bad type on O_RDONLY", setlk(ro, F_SETLK, 4, SEEK_SET, 0, 1));
    close(ro);
    close(wo);
    int op = open(path, O_PATH);
    CHECK("O_PATH F_GETLK", setlk(op, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
    CHECK("O_PATH F_SETLK", setlk(op, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    close(op);
    CHECK("bad pointer F_SETLK", fcntl(fd, F_SETLK, BAD_PTR));
    CHECK("bad pointer F_GETLK", fcntl(fd, F_GETLK, BAD_PTR));
    CHECK("closed fd", setlk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_len = 1;
    fl.l_pid = 777;
    CHECK("own lock", fcntl(fd, F_SETLK, &fl));
    CHECK("F_GETLK own lock", fcntl(fd, F_GETLK, &fl));
    printf("own lock not reported: %s, pid kept: %s\n", tname(fl.l_type),
           fl.l_pid == 777 ? "yes" : "no");
    CHECK("unlock all", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
}

static void ranges(void)
{
    CHECK("W 0-9", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    CHECK("R 20-29", setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10));
    CHECK("W 50-EOF", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, 0));
    probe("probe W 0+5", F_WRLCK, 0, 5);
    probe("probe R 20+5", F_RDLCK, 20, 5);
    probe("probe W 25+1", F_WRLCK, 25, 1);
    probe("probe W 10+10", F_WRLCK, 10, 10);
    probe("probe R 1000+1", F_RDLCK, 1000, 1);
    probe("probe W 0+EOF", F_WRLCK, 0, 0);
    CHECK("unlock 3-5 (split)", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 3, 3));
    probe("probe W 0+10", F_WRLCK, 0, 10);
    probe("probe W 3+3", F_WRLCK, 3, 3);
    probe("probe W 4+60", F_WRLCK, 4, 60);
    CHECK("W 3-5 (merge)", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, 3));
    probe("probe W 0+1", F_WRLCK, 0, 1);
    CHECK("W 10-19 (adjacent)", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10));
    probe("probe W 0+1 again", F_WRLCK, 0, 1);
    CHECK("R 5-14 inside W", setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 10));
    probe("probe R 5+1", F_RDLCK, 5, 1);
    probe("probe R 4+1", F_RDLCK, 4, 1);
    probe("probe R 15+1", F_RDLCK, 15, 1);
    probe("probe W 5+1", F_WRLCK, 5, 1);
    CHECK("W 0-29 over all", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 30));
    probe("probe R 0+1", F_RDLCK, 0, 1);
    probe("probe R 29+1", F_RDLCK, 29, 1);
    CHECK("unlock all", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
    probe("probe after unlock all", F_WRLCK, 0, 0);
    CHECK("W start 100 len -10", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, -10));
    probe("probe W 95+1", F_WRLCK, 95, 1);
    lseek(fd, 200, SEEK_SET);
    CHECK("R SEEK_CUR -10 len 5", setlk(fd, F_SETLK, F_RDLCK, SEEK_CUR, -10, 5));
    probe("probe W 192+1", F_WRLCK, 192, 1);
    CHECK("W SEEK_END -20 len 5", setlk(fd, F_SETLK, F_WRLCK, SEEK_END, -20, 5));
    probe("probe R 82+1", F_RDLCK, 82, 1);
    CHECK("W SEEK_END 0 len 0", setlk(fd, F_SETLK, F_WRLCK, SEEK_END, 0, 0));
    probe("probe R 500+1", F_RDLCK, 500, 1);
    CHECK("unlock SEEK_END -1000 len 0", setlk(fd, F_SETLK, F_UNLCK, SEEK_END, -100, 0));
    probe("probe all after", F_WRLCK, 0, 0);
    show_proc_locks("proc locks (none)");
}

static void contention(void)
{
    CHECK("W 0-9", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    CHECK("R 20-29", setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10));
    show_proc_locks("proc locks (two)");
    pid_t pid = FORK();
    if (pid == 0) {
        int f = open(path, O_RDWR);
        CHECK("child W 5-5", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 5, 1));
        CHECK("child R 5-5", setlk(f, F_SETLK, F_RDLCK, SEEK_SET, 5, 1));
        CHECK("child R 20-29", setlk(f, F_SETLK, F_RDLCK, SEEK_SET, 20, 10));
        CHECK("child W 25-25", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 25, 1));
        CHECK("child W 10-19", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 10, 10));
        CHECK("child unlock 0-EOF", setlk(f, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
        /* the child's unlock of everything only dropped its own */
        CHECK("child W 5-5 again", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 5, 1));
        fflush(stdout);
        _exit(0);
    }
    reap("child", pid);
    probe("parent's locks survive the child's unlock", F_WRLCK, 0, 0);

    /* Closing another fd of the file drops the process's locks. */
    int fd2 = open(path, O_RDONLY);
    close(fd2);
    probe("after closing another fd", F_WRLCK, 0, 0);
    CHECK("W 0-9 again", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    int d = dup(fd);
    close(d);
    probe("after closing a dup", F_WRLCK, 0, 0);

    /* Locks are not inherited: the child does not hold the parent's. */
    CHECK("W 0-9 once more", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    pid = FORK();
    if (pid == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        CHECK("forked child F_GETLK", fcntl(fd, F_GETLK, &fl));
        printf("forked child sees: %s pid %s\n", tname(fl.l_type),
               fl.l_pid == getppid() ? "parent" : "other");
        CHECK("forked child W on inherited fd", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
        close(fd); /* the child's close does not drop the parent's lock */
        fflush(stdout);
        _exit(0);
    }
    reap("forked child", pid);
    probe("parent's lock after child's close", F_WRLCK, 0, 1);

    /* A child's locks go when it exits. */
    CHECK("unlock all", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
    pid = FORK();
    if (pid == 0) {
        int f = open(path, O_RDWR);
        setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 40, 2);
        _exit(0);
    }
    reap("locking child", pid);
    CHECK("W 40-41 after the child exited", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 40, 2));
    CHECK("unlock all", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
}

static void sleeping(void)
{
    int p[2], got[2];
    pipe(p);
    pipe(got);
    CHECK("W 0-9", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    pid_t pid = FORK();
    if (pid == 0) {
        int f = open(path, O_RDWR);
        CHECK("child F_SETLK", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 5, 10));
        int r = setlk(f, F_SETLKW, F_WRLCK, SEEK_SET, 5, 10);
        char c = r == 0 ? 0 : errno;
        write(got[1], &c, 1); /* it holds the lock now */
        read(p[0], &c, 1);    /* the parent has looked */
        _exit(0);
    }
    wait_state(pid, "S");
    show_proc_locks("proc locks with a waiter");
    long r = setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
    char c;
    read(got[0], &c, 1);
    CHECK("unlock 0-9", r);
    printf("child F_SETLKW (slept): %s\n", c ? errname(c) : "0");
    probe("probe while the child holds it", F_RDLCK, 0, 0);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK("parent F_GETLK", fcntl(fd, F_GETLK, &fl));
    printf("parent sees: %s start %lld len %lld, l_pid is the child's: %s\n", tname(fl.l_type),
           (long long)fl.l_start, (long long)fl.l_len, fl.l_pid == pid ? "yes" : "no");
    write(p[1], "x", 1);
    reap("sleeping child", pid);

    /* A signal ends the sleep: EINTR without SA_RESTART, a restart with it. */
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
        sigaction(SIGUSR1, &sa, NULL);
        CHECK("W 0-9", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
        pid = FORK();
        if (pid == 0) {
            int f = open(path, O_RDWR);
            _exit(setlk(f, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1) == 0 ? 0 : errno);
        }
        wait_state(pid, "S");
        kill(pid, SIGUSR1);
        if (restart) {
            msleep(50);
            wait_state(pid, "S");
            CHECK("unlock", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
        }
        finish(restart ? "child F_SETLKW SA_RESTART" : "child F_SETLKW no SA_RESTART", pid);
        setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    }

    /* EDEADLK: the child holds B and waits for A, which we hold; we ask for B. */
    CHECK("parent W A (0)", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    int q[2];
    pipe(q);
    pid = FORK();
    if (pid == 0) {
        int f = open(path, O_RDWR);
        CHECK("child W B (1)", setlk(f, F_SETLK, F_WRLCK, SEEK_SET, 1, 1));
        fflush(stdout);
        write(q[1], "b", 1);
        _exit(setlk(f, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1) == 0 ? 0 : errno);
    }
    read(q[0], &c, 1);
    wait_state(pid, "S");
    CHECK("parent F_SETLK B", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1));
    CHECK("parent F_SETLKW B", setlk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
    CHECK("parent F_SETLKW B read", setlk(fd, F_SETLKW, F_RDLCK, SEEK_SET, 0, 2));
    CHECK("parent unlock A", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    finish("child F_SETLKW A", pid);
    CHECK("parent F_SETLKW B after", setlk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
    CHECK("unlock all", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));

    /* Several waiters: each gets the lock in turn once it is free. */
    CHECK("W 0-0", setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = FORK();
        if (kids[i] == 0) {
            int f = open(path, O_RDWR);
            int r = setlk(f, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
            msleep(10);
            _exit(r == 0 ? 0 : 1);
        }
        wait_state(kids[i], "S");
    }
    CHECK("unlock for the waiters", setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
    for (int i = 0; i < 3; i++)
        reap("waiter", kids[i]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("locks_posix");
    char data[100];
    memset(data, 'x', sizeof data);
    put_file(path, data, sizeof data, 0644);
    fd = open(path, O_RDWR);
    fstat(fd, &st0);
    checks();
    ranges();
    contention();
    sleeping();
    return 0;
}
