/* prctl beyond the name: the parent-death signal (sent when the parent *thread* exits, reset
 * by fork and by a change of credentials), child subreapers (orphans come to them instead of
 * init), dumpable, keep-caps, the capability bounding set, no_new_privs' argument checks,
 * what exec keeps and resets, unknown options; and writes to /proc/PID/comm. */
#include "contract.h"
#include <pthread.h>
#include <sys/prctl.h>

static int get_int(int option)
{
    int v = -1;
    if (RAW(SYS_prctl, option, &v, 0, 0, 0) < 0)
        return -100 - errno;
    return v;
}

static void after_exec(void)
{
    printf("exec: dumpable %ld keepcaps %ld pdeathsig %d subreaper %d nnp %ld\n",
           RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0), RAW(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0),
           get_int(PR_GET_PDEATHSIG), get_int(PR_GET_CHILD_SUBREAPER),
           RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    char name[17] = {0};
    RAW(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
    printf("exec: name is the program's: %s\n", strcmp(name, "twaron-named") ? "yes" : "no");
}

static void simple_options(void)
{
    CHECK("PR_SET_PDEATHSIG 0", RAW(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0));
    CHECK("PR_SET_PDEATHSIG 64", RAW(SYS_prctl, PR_SET_PDEATHSIG, 64, 0, 0, 0));
    printf("pdeathsig: %d\n", get_int(PR_GET_PDEATHSIG));
    CHECK("PR_SET_PDEATHSIG 65", RAW(SYS_prctl, PR_SET_PDEATHSIG, 65, 0, 0, 0));
    CHECK("PR_SET_PDEATHSIG -1", RAW(SYS_prctl, PR_SET_PDEATHSIG, -1L, 0, 0, 0));
    CHECK("PR_GET_PDEATHSIG bad pointer", RAW(SYS_prctl, PR_GET_PDEATHSIG, BAD_PTR, 0, 0, 0));
    RAW(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0);

    CHECK("PR_GET_DUMPABLE", RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0));
    CHECK("PR_SET_DUMPABLE 0", RAW(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0));
    CHECK("PR_GET_DUMPABLE", RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0));
    CHECK("PR_SET_DUMPABLE 2", RAW(SYS_prctl, PR_SET_DUMPABLE, 2, 0, 0, 0));
    CHECK("PR_SET_DUMPABLE -1", RAW(SYS_prctl, PR_SET_DUMPABLE, -1L, 0, 0, 0));
    CHECK("PR_SET_DUMPABLE 1", RAW(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0));

    CHECK("PR_GET_KEEPCAPS", RAW(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK("PR_SET_KEEPCAPS 1", RAW(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0));
    CHECK("PR_GET_KEEPCAPS", RAW(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK("PR_SET_KEEPCAPS 2", RAW(SYS_prctl, PR_SET_KEEPCAPS, 2, 0, 0, 0));
    CHECK("PR_SET_KEEPCAPS 0", RAW(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0));

    CHECK("PR_CAPBSET_READ CAP_CHOWN", RAW(SYS_prctl, PR_CAPBSET_READ, 0, 0, 0, 0));
    CHECK("PR_CAPBSET_READ CAP_KILL", RAW(SYS_prctl, PR_CAPBSET_READ, 5, 0, 0, 0));
    CHECK("PR_CAPBSET_READ 41", RAW(SYS_prctl, PR_CAPBSET_READ, 41, 0, 0, 0));
    CHECK("PR_CAPBSET_READ -1", RAW(SYS_prctl, PR_CAPBSET_READ, -1L, 0, 0, 0));

    CHECK("PR_SET_CHILD_SUBREAPER 5", RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 5, 0, 0, 0));
    printf("subreaper: %d\n", get_int(PR_GET_CHILD_SUBREAPER));
    CHECK("PR_SET_CHILD_SUBREAPER 0", RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0));
    printf("subreaper: %d\n", get_int(PR_GET_CHILD_SUBREAPER));
    CHECK("PR_GET_CHILD_SUBREAPER bad pointer", RAW(SYS_prctl, PR_GET_CHILD_SUBREAPER, BAD_PTR, 0, 0, 0));

    CHECK("PR_GET_NO_NEW_PRIVS", RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK("PR_GET_NO_NEW_PRIVS arg2 1", RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    CHECK("PR_GET_NO_NEW_PRIVS arg5 1", RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 1));
    CHECK("PR_SET_NO_NEW_PRIVS 2", RAW(SYS_prctl, PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
    CHECK("PR_SET_NO_NEW_PRIVS 1, arg3 1", RAW(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0));
    CHECK("PR_SET_NO_NEW_PRIVS 1, arg4 1", RAW(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 1, 0));
    CHECK("PR_GET_NO_NEW_PRIVS", RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK("unknown option 1000", RAW(SYS_prctl, 1000, 0, 0, 0, 0));
    CHECK("unknown option -1", RAW(SYS_prctl, -1, 0, 0, 0, 0));
}

/* fork resets the death signal; the subreaper flag is not inherited; dumpable and
 * keep-caps are; a change of effective uid clears the death signal and dumpable */
static void fork_and_credentials(void)
{
    RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    pid_t c = FORK();
    if (c == 0) {
        printf("fork child: pdeathsig %d subreaper %d keepcaps %ld dumpable %ld\n",
               get_int(PR_GET_PDEATHSIG), get_int(PR_GET_CHILD_SUBREAPER),
               RAW(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0),
               RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0));
        RAW(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
        RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        CHECK("fork child: setresuid(-1, 65534, -1)", setresuid(-1, 65534, -1));
        printf("fork child after euid change: pdeathsig %d dumpable %ld\n",
               get_int(PR_GET_PDEATHSIG), RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0));
        CHECK("fork child: PR_CAPBSET_DROP as nobody", RAW(SYS_prctl, PR_CAPBSET_DROP, 5, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    reap("fork child", c);
    RAW(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
    RAW(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

static void exec_resets(char *self)
{
    pid_t c = FORK();
    if (c == 0) {
        RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
        RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        RAW(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
        RAW(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
        RAW(SYS_prctl, PR_SET_NAME, "twaron-named", 0, 0, 0);
        CHECK("exec child: PR_SET_NO_NEW_PRIVS", RAW(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        CHECK("exec child: PR_CAPBSET_DROP CAP_KILL", RAW(SYS_prctl, PR_CAPBSET_DROP, 5, 0, 0, 0));
        CHECK("exec child: PR_CAPBSET_READ CAP_KILL", RAW(SYS_prctl, PR_CAPBSET_READ, 5, 0, 0, 0));
        CHECK("exec child: PR_CAPBSET_DROP 41", RAW(SYS_prctl, PR_CAPBSET_DROP, 41, 0, 0, 0));
        fflush(stdout);
        char *argv[] = {self, "exec", NULL};
        execv("/proc/self/exe", argv);
        _exit(99);
    }
    reap("exec child", c);
}

/* The parent-death signal follows Linux: it comes when the *thread* that forked the child
 * exits, even though its process lives on; then again when the process's last thread exits,
 * and the orphan goes to the nearest subreaper, not init. */
static int ready[2];

static void *forking_thread(void *arg)
{
    pid_t c = fork();
    if (c == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, NULL);
        pid_t mid = getppid();
        RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
        write(ready[1], "1", 1);
        siginfo_t si;
        sigdelset(&set, SIGUSR2);
        int sig = sigwaitinfo(&set, &si);
        printf("orphan: %s after its parent thread exited; from its process: %s; parent "
               "still that process: %s\n", signame(sig), si.si_pid == mid ? "yes" : "no",
               getppid() == mid ? "yes" : "no");
        RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        fflush(stdout);
        write(ready[1], "2", 1);
        sig = sigwaitinfo(&set, &si);
        printf("orphan: %s after its parent process exited; now a child of the subreaper: "
               "%s\n", signame(sig), getppid() == *(pid_t *)arg ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    char b;
    read(ready[0], &b, 1);
    return (void *)(long)c;
}

static void pdeath_and_subreaper(void)
{
    pid_t me = getpid();
    CHECK("PR_SET_CHILD_SUBREAPER 1", RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    pipe(ready);
    int report[2];
    pipe(report);
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        pthread_t t;
        void *orphan;
        pthread_create(&t, NULL, forking_thread, &me);
        pthread_join(t, &orphan);
        char b;
        read(ready[0], &b, 1);
        pid_t o = (pid_t)(long)orphan;
        write(report[1], &o, sizeof o);
        _exit(5);
    }
    pid_t orphan;
    read(report[0], &orphan, sizeof orphan);
    int st_mid = 0, st_orphan = 0;
    waitpid(mid, &st_mid, 0);
    pid_t got = waitpid(-1, &st_orphan, 0);
    print_status("middle process", st_mid);
    printf("the subreaper reaped the orphan: %s\n", got == orphan ? "yes" : "no");
    print_status("orphan", st_orphan);
    RAW(SYS_prctl, PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void show_comm(const char *label, const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = '|';
    printf("%s: %ld [%s]\n", label, n, buf);
}

static void comm_writes(void)
{
    int fd = open("/proc/self/comm", O_WRONLY);
    CHECK("write comm 'ab\\n'", write(fd, "ab\n", 3));
    close(fd);
    show_comm("comm (the newline is kept)", "/proc/self/comm");
    fd = open("/proc/self/comm", O_WRONLY);
    CHECK("write comm 26 bytes", write(fd, "abcdefghijklmnopqrstuvwxyz", 26));
    close(fd);
    show_comm("comm (15 bytes kept)", "/proc/self/comm");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)gettid());
    fd = open(path, O_WRONLY);
    CHECK("write task/TID/comm", write(fd, "thread", 6));
    close(fd);
    show_comm("comm", "/proc/self/comm");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    snprintf(path, sizeof path, "/proc/%d/comm", (int)c);
    fd = open(path, O_WRONLY);
    CHECK("write another process's comm (root too)", write(fd, "other", 5));
    close(fd);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        after_exec();
        return 0;
    }
    simple_options();
    fork_and_credentials();
    exec_resets(argv[0]);
    pdeath_and_subreaper();
    comm_writes();
    CHECK("PR_SET_NO_NEW_PRIVS 1", RAW(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    CHECK("PR_GET_NO_NEW_PRIVS", RAW(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    return 0;
}
