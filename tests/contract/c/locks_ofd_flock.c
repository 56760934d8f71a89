/* Locks owned by the open file description: OFD record locks (F_OFD_SETLK, F_OFD_SETLKW,
 * F_OFD_GETLK: l_pid must be 0, two opens of one file conflict even in one process, a dup or
 * a fork shares the lock, it goes with the last close of the description, it conflicts with
 * classic POSIX locks) and flock (LOCK_SH/LOCK_EX/LOCK_UN/LOCK_NB, upgrade and downgrade -
 * a conversion is not atomic on Linux -, EWOULDBLOCK, sleeping until the lock goes, EINTR,
 * independence from fcntl locks), and /proc/locks. */
// contract: timeout=120
#include "contract.h"
#include <sys/file.h>

static const char *path = "f";
static struct stat st0;

static int lk(int f, int cmd, short type, off_t start, off_t len, pid_t pid)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len,
                       .l_pid = pid};
    return fcntl(f, cmd, &fl);
}

static const char *tname(int t)
{
    return t == F_RDLCK ? "RDLCK" : t == F_WRLCK ? "WRLCK" : t == F_UNLCK ? "UNLCK" : "?";
}

static void getlk(const char *label, int f, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(f, cmd, &fl) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    if (fl.l_type == F_UNLCK)
        printf("%s: UNLCK\n", label);
    else
        printf("%s: %s start %lld len %lld pid %s\n", label, tname(fl.l_type),
               (long long)fl.l_start, (long long)fl.l_len,
               fl.l_pid == -1 ? "-1" : fl.l_pid == getpid() ? "mine" : "other");
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_proc_locks(const char *label)
{
    char buf[8192], want[64], out[32][128];
    char *sorted[32];
    int nout = 0, n = 0, r;
    int f = open("/proc/locks", O_RDONLY);
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
                     kind, adv, rw, s, e,
                     pid == -1 ? "-1" : pid == getpid() ? "mine" : "other");
            sorted[nout] = out[nout];
            nout++;
        }
    }
    qsort(sorted, nout, sizeof sorted[0], cmpstr);
    for (int i = 0; i < nout; i++)
        printf("%s\n", sorted[i]);
}

static void on_usr1(int sig) { (void)sig; }

/* Reap a child that reports its call's result by its exit status (0 or the errno). */
static void finish(const char *label, pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("%s: %s\n", label, WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "0");
    else
        print_status(label, st);
}

static void ofd(void)
{
    int a = open(path, O_RDWR), b = open(path, O_RDWR);
    CHECK("OFD SETLK l_pid 1", lk(a, F_OFD_SETLK, F_WRLCK, 0, 10, 1));
    CHECK("OFD SETLKW l_pid 1", lk(a, F_OFD_SETLKW, F_WRLCK, 0, 10, 1));
    CHECK("OFD GETLK l_pid 1", lk(a, F_OFD_GETLK, F_WRLCK, 0, 10, 1));
    CHECK("OFD GETLK F_UNLCK", lk(a, F_OFD_GETLK, F_UNLCK, 0, 10, 0));
    CHECK("OFD SETLK bad type", lk(a, F_OFD_SETLK, 3, 0, 10, 1));
    CHECK("OFD SETLK bad pointer", fcntl(a, F_OFD_SETLK, BAD_PTR));
    CHECK("OFD W 0-9 on a", lk(a, F_OFD_SETLK, F_WRLCK, 0, 10, 0));
    CHECK("OFD W 5-5 on b (same process)", lk(b, F_OFD_SETLK, F_WRLCK, 5, 1, 0));
    CHECK("OFD R 5-5 on b", lk(b, F_OFD_SETLK, F_RDLCK, 5, 1, 0));
    CHECK("OFD W 10-19 on b", lk(b, F_OFD_SETLK, F_WRLCK, 10, 10, 0));
    getlk("OFD GETLK on b", b, F_OFD_GETLK, F_RDLCK, 0, 0);
    getlk("OFD GETLK on a", a, F_OFD_GETLK, F_WRLCK, 0, 0);
    getlk("OFD GETLK F_UNLCK on a (its own)", a, F_OFD_GETLK, F_UNLCK, 0, 0);
    getlk("OFD GETLK F_UNLCK on b (its own)", b, F_OFD_GETLK, F_UNLCK, 12, 100);
    getlk("OFD GETLK F_UNLCK on a past it", a, F_OFD_GETLK, F_UNLCK, 10, 10);
    getlk("classic GETLK", a, F_GETLK, F_WRLCK, 0, 0);
    CHECK("classic W 0-0 on a", lk(a, F_SETLK, F_WRLCK, 0, 1, 0));
    CHECK("classic W 30-39", lk(a, F_SETLK, F_WRLCK, 30, 10, 0));
    getlk("OFD GETLK sees classic", b, F_OFD_GETLK, F_WRLCK, 25, 10);
    show_proc_locks("proc locks");
    int d = dup(a);
    CHECK("OFD R 0-9 on a's dup (converts)", lk(d, F_OFD_SETLK, F_RDLCK, 0, 10, 0));
    CHECK("OFD R 0-0 on b", lk(b, F_OFD_SETLK, F_RDLCK, 0, 1, 0));
    CHECK("OFD W 0-9 on a's dup again", lk(d, F_OFD_SETLK, F_WRLCK, 0, 10, 0));
    CHECK("OFD unlock 0-0 on b", lk(b, F_OFD_SETLK, F_UNLCK, 0, 1, 0));
    CHECK("OFD W 0-9 on a's dup", lk(d, F_OFD_SETLK, F_WRLCK, 0, 10, 0));
    close(d);
    CHECK("OFD W 0-0 on b after closing the dup", lk(b, F_OFD_SETLK, F_WRLCK, 0, 1, 0));
    /* a classic close of another fd of the file drops classic locks only */
    int other = open(path, O_RDONLY);
    close(other);
    getlk("after a close: classic gone, OFD stays", b, F_OFD_GETLK, F_WRLCK, 0, 40);
    /* the child shares the description: it can unlock the parent's OFD lock */
    pid_t pid = FORK();
    if (pid == 0) {
        getlk("child OFD GETLK on a", a, F_OFD_GETLK, F_WRLCK, 0, 10);
        CHECK("child OFD unlock on a", lk(a, F_OFD_SETLK, F_UNLCK, 0, 0, 0));
        _exit(0);
    }
    reap("child", pid);
    CHECK("OFD W 0-9 on b after the child's unlock", lk(b, F_OFD_SETLK, F_WRLCK, 0, 10, 0));
    CHECK("OFD W 0-9 on a now", lk(a, F_OFD_SETLK, F_WRLCK, 0, 10, 0));
    /* F_OFD_SETLKW sleeps until the description holding it is closed */
    pid = FORK();
    if (pid == 0) {
        int c = open(path, O_RDWR);
        close(a); /* the inherited fds would keep b's description (and its lock) alive */
        close(b);
        CHECK("child OFD SETLKW (sleeps)", lk(c, F_OFD_SETLKW, F_WRLCK, 0, 1, 0));
        _exit(0);
    }
    wait_state(pid, "S");
    show_proc_locks("proc locks with an OFD waiter");
    close(b);
    reap("OFD sleeper", pid);
    CHECK("OFD W 0-0 on a after all", lk(a, F_OFD_SETLK, F_WRLCK, 0, 1, 0));
    close(a);
    CHECK("reopen: OFD W 0-EOF", lk(other = open(path, O_RDWR), F_OFD_SETLK, F_WRLCK, 0, 0, 0));
    close(other);
}

static void flocks(void)
{
    int a = open(path, O_RDONLY), b = open(path, O_RDONLY), c = open(path, O_WRONLY);
    CHECK("flock 0", flock(a, 0));
    CHECK("flock SH|EX", flock(a, LOCK_SH | LOCK_EX));
    CHECK("flock NB alone", flock(a, LOCK_NB));
    CHECK("flock 16", flock(a, 16));
    CHECK("flock bad fd", flock(99, LOCK_SH));
    CHECK("flock bad op bad fd", flock(99, 3));
    CHECK("flock LOCK_MAND", flock(a, 32 | LOCK_EX));
    CHECK("flock LOCK_MAND bad fd", flock(99, 32));
    int op = open(path, O_PATH);
    CHECK("flock O_PATH", flock(op, LOCK_SH));
    CHECK("flock O_PATH unlock", flock(op, LOCK_UN));
    close(op);
    CHECK("unlock without a lock", flock(a, LOCK_UN));
    CHECK("a SH", flock(a, LOCK_SH));
    CHECK("b SH", flock(b, LOCK_SH));
    CHECK("c EX|NB", flock(c, LOCK_EX | LOCK_NB));
    printf("EWOULDBLOCK is EAGAIN: %s\n", EWOULDBLOCK == EAGAIN ? "yes" : "no");
    show_proc_locks("proc locks (two shared)");
    CHECK("a SH again", flock(a, LOCK_SH));
    CHECK("a upgrade EX|NB (b holds SH)", flock(a, LOCK_EX | LOCK_NB));
    CHECK("b unlock", flock(b, LOCK_UN));
    CHECK("c EX|NB (a lost its lock in the upgrade)", flock(c, LOCK_EX | LOCK_NB));
    CHECK("c downgrade SH", flock(c, LOCK_SH | LOCK_NB));
    CHECK("a SH|NB", flock(a, LOCK_SH | LOCK_NB));
    CHECK("a EX|NB", flock(a, LOCK_EX | LOCK_NB));
    CHECK("c unlock|NB", flock(c, LOCK_UN | LOCK_NB));
    CHECK("a EX|NB now", flock(a, LOCK_EX | LOCK_NB));
    CHECK("a EX again", flock(a, LOCK_EX));
    /* independent of fcntl locks */
    int w = open(path, O_RDWR);
    CHECK("fcntl W beside flock EX", lk(w, F_SETLK, F_WRLCK, 0, 0, 0));
    CHECK("fcntl unlock", lk(w, F_SETLK, F_UNLCK, 0, 0, 0));
    close(w);
    /* a dup shares it; closing the dup keeps it; fork shares it */
    int d = dup(a);
    CHECK("dup EX|NB (same description)", flock(d, LOCK_EX | LOCK_NB));
    close(d);
    CHECK("b SH|NB after closing the dup", flock(b, LOCK_SH | LOCK_NB));
    pid_t pid = FORK();
    if (pid == 0) {
        CHECK("child EX|NB on the shared fd", flock(a, LOCK_EX | LOCK_NB));
        CHECK("child unlock on the shared fd", flock(a, LOCK_UN));
        _exit(0);
    }
    reap("child", pid);
    CHECK("b SH|NB after the child's unlock", flock(b, LOCK_SH | LOCK_NB));
    CHECK("b EX|NB", flock(b, LOCK_EX | LOCK_NB));
    /* sleeping for it */
    pid = FORK();
    if (pid == 0) {
        int e = open(path, O_RDONLY);
        close(b);
        CHECK("child SH (sleeps)", flock(e, LOCK_SH));
        _exit(0);
    }
    wait_state(pid, "S");
    show_proc_locks("proc locks with a flock waiter");
    close(b); /* the last close of the description drops the lock */
    reap("flock sleeper", pid);
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
        sigaction(SIGUSR1, &sa, NULL);
        CHECK("a EX", flock(a, LOCK_EX));
        pid = FORK();
        if (pid == 0) {
            int e = open(path, O_RDONLY);
            _exit(flock(e, LOCK_EX) == 0 ? 0 : errno);
        }
        wait_state(pid, "S");
        kill(pid, SIGUSR1);
        if (restart) {
            msleep(50);
            wait_state(pid, "S");
            CHECK("a unlock", flock(a, LOCK_UN));
        }
        finish(restart ? "child EX SA_RESTART" : "child EX no SA_RESTART", pid);
    }
    /* a pipe can be flocked too */
    int p[2];
    pipe(p);
    CHECK("flock pipe EX", flock(p[0], LOCK_EX | LOCK_NB));
    CHECK("flock other end EX", flock(p[1], LOCK_EX | LOCK_NB));
    CHECK("fcntl lock on a pipe", lk(p[1], F_SETLK, F_WRLCK, 0, 0, 0));
    close(a);
    close(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("locks_ofd_flock");
    put_file(path, "0123456789abcdefghij0123456789abcdefghij", 40, 0644);
    stat(path, &st0);
    ofd();
    flocks();
    return 0;
}
