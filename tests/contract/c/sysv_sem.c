/* System V semaphores: semget, semop/semtimedop (all operations or none, duplicates of one
 * semaphore, IPC_NOWAIT, ERANGE, EFBIG, sleeping decrements and waits for zero completed by
 * whoever makes them possible, in Linux's order; GETNCNT/GETZCNT while they sleep; a
 * complex operation; EIDRM on IPC_RMID; EINTR even with SA_RESTART; semtimedop's timeout),
 * SEM_UNDO applied at exit (clamped, cleared by SETVAL, waking sleepers), semctl (GETVAL,
 * SETVAL, GETALL, SETALL, GETPID, IPC_STAT/SET/RMID, IPC_INFO, SEM_INFO, SEM_STAT),
 * permissions of another user and /proc/sysvipc/sem. In a fresh IPC namespace: ids printed. */
// contract: timeout=120
#include "contract.h"
#include <sys/ipc.h>
#include <sys/sem.h>

#define KEY 0x5e3a

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static long sop(int id, int num, int op, int flg)
{
    struct sembuf b = {.sem_num = num, .sem_op = op, .sem_flg = flg};
    return RAW(SYS_semop, id, &b, 1);
}

static long ctl(int id, int num, int cmd, long arg)
{
    return RAW(SYS_semctl, id, num, cmd, arg);
}

/* A child that does one semop and exits with 0 or the errno (finish() prints which). */
static pid_t sleeper(const char *label, int id, int num, int op, int flg)
{
    (void)label;
    pid_t pid = FORK();
    if (pid == 0) {
        long r = sop(id, num, op, flg);
        _exit(r == 0 ? 0 : errno);
    }
    wait_state(pid, "SZ?");
    return pid;
}

static void finish(const char *label, pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("%s: %s\n", label, WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "done");
    else
        print_status(label, st);
}

static void vals(const char *label, int id, int n)
{
    unsigned short a[8] = {0};
    ctl(id, 0, GETALL, (long)a);
    printf("%s:", label);
    for (int i = 0; i < n; i++)
        printf(" %d", a[i]);
    printf("\n");
}

static void on_usr1(int sig) { (void)sig; }

static void errors(void)
{
    struct sembuf b = {0, 1, 0}, many[2] = {{0, 1, 0}, {5, 1, 0}};
    struct timespec ts = {0, 1000000000};
    CHECK("semget nsems 0", semget(IPC_PRIVATE, 0, 0600));
    CHECK("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));
    CHECK("semget nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
    CHECK("semget missing key", semget(KEY, 1, 0600));
    int id = CHECK("semget key", semget(KEY, 3, IPC_CREAT | 0600));
    CHECK("semget key more sems", semget(KEY, 4, 0600));
    CHECK("semget key 0 sems", semget(KEY, 0, 0));
    CHECK("semget key fewer", semget(KEY, 2, IPC_CREAT));
    CHECK("semget IPC_EXCL", semget(KEY, 3, IPC_CREAT | IPC_EXCL));
    CHECK("semop 0 ops", RAW(SYS_semop, id, &b, 0));
    CHECK("semop 501 ops", RAW(SYS_semop, id, &b, 501));
    CHECK("semop -1 ops", RAW(SYS_semop, id, &b, -1));
    CHECK("semop 501 ops bad pointer", RAW(SYS_semop, id, BAD_PTR, 501));
    CHECK("semop bad pointer", RAW(SYS_semop, id, BAD_PTR, 1));
    CHECK("semop bad pointer bad id", RAW(SYS_semop, -1, BAD_PTR, 1));
    CHECK("semop id -1", RAW(SYS_semop, -1, &b, 1));
    CHECK("semop bad id", RAW(SYS_semop, 777, &b, 1));
    CHECK("semop sem_num 3", sop(id, 3, 1, 0));
    CHECK("semop sem_num 5 in the 2nd op", RAW(SYS_semop, id, many, 2));
    CHECK("semop bad id and sem_num", RAW(SYS_semop, 777, many, 2));
    CHECK("semtimedop bad timeout", RAW(SYS_semtimedop, id, &b, 1, &ts));
    ts.tv_nsec = -1;
    CHECK("semtimedop negative nsec", RAW(SYS_semtimedop, id, &b, 1, &ts));
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    CHECK("semtimedop negative sec", RAW(SYS_semtimedop, id, &b, 1, &ts));
    CHECK("semtimedop bad timeout pointer", RAW(SYS_semtimedop, id, &b, 1, BAD_PTR));
    CHECK("semtimedop bad timeout pointer 0 ops", RAW(SYS_semtimedop, id, &b, 0, BAD_PTR));
    CHECK("semtimedop bad timeout, bad id", RAW(SYS_semtimedop, 777, &b, 1, &ts));
    CHECK("semtimedop bad timeout, id -1", RAW(SYS_semtimedop, -1, &b, 1, &ts));
    CHECK("semctl id -1", ctl(-1, 0, GETVAL, 0));
    CHECK("semctl bad cmd", ctl(id, 0, 99, 0));
    CHECK("semctl negative cmd", ctl(id, 0, -1, 0));
    CHECK("GETVAL semnum 3", ctl(id, 3, GETVAL, 0));
    CHECK("GETVAL semnum -1", ctl(id, -1, GETVAL, 0));
    CHECK("GETVAL bad id", ctl(777, 0, GETVAL, 0));
    CHECK("SETVAL -1", ctl(id, 0, SETVAL, -1));
    CHECK("SETVAL 32768", ctl(id, 0, SETVAL, 32768));
    CHECK("SETVAL 32768 bad id", ctl(777, 0, SETVAL, 32768));
    CHECK("SETVAL semnum 3", ctl(id, 3, SETVAL, 1));
    CHECK("SETVAL 32767", ctl(id, 0, SETVAL, 32767));
    CHECK("semop past SEMVMX", sop(id, 0, 1, 0));
    unsigned short big[3] = {1, 32768, 2};
    CHECK("SETALL 32768", ctl(id, 0, SETALL, (long)big));
    CHECK("SETALL bad pointer", ctl(id, 0, SETALL, (long)BAD_PTR));
    CHECK("GETALL bad pointer", ctl(id, 0, GETALL, (long)BAD_PTR));
    CHECK("IPC_STAT bad pointer", ctl(id, 0, IPC_STAT, (long)BAD_PTR));
    CHECK("IPC_SET bad pointer", ctl(id, 0, IPC_SET, (long)BAD_PTR));
    CHECK("IPC_INFO bad pointer", ctl(id, 0, IPC_INFO, (long)BAD_PTR));
    CHECK("IPC_RMID", ctl(id, 0, IPC_RMID, 0));
    CHECK("IPC_RMID again", ctl(id, 0, IPC_RMID, 0));
    CHECK("semop after IPC_RMID", sop(id, 0, 1, 0));
}

static void atomic(void)
{
    int id = CHECK("semget private 3", semget(IPC_PRIVATE, 3, 0600));
    struct semid_ds ds;
    ctl(id, 0, IPC_STAT, (long)&ds);
    printf("nsems %lu mode %o otime %s ctime set %s\n", (unsigned long)ds.sem_nsems,
           ds.sem_perm.mode, ds.sem_otime ? "set" : "0", ds.sem_ctime ? "yes" : "no");
    vals("fresh", id, 3);
    CHECK("GETPID fresh", ctl(id, 0, GETPID, 0));
    struct sembuf two[2] = {{0, 1, 0}, {1, -1, IPC_NOWAIT}};
    CHECK("+1 on 0 and -1 on 1 (nowait)", RAW(SYS_semop, id, two, 2));
    vals("nothing changed", id, 3);
    struct sembuf dup[3] = {{2, 5, 0}, {2, -3, 0}, {2, -2, 0}};
    CHECK("+5 -3 -2 on one semaphore", RAW(SYS_semop, id, dup, 3));
    vals("after", id, 3);
    struct sembuf dup2[2] = {{2, 3, 0}, {2, -4, IPC_NOWAIT}};
    CHECK("+3 -4 on one semaphore (nowait)", RAW(SYS_semop, id, dup2, 2));
    vals("after", id, 3);
    struct sembuf ok[3] = {{0, 2, 0}, {1, 1, 0}, {2, 0, 0}};
    CHECK("+2, +1, wait-for-zero", RAW(SYS_semop, id, ok, 3));
    vals("after", id, 3);
    CHECK("GETPID", ctl(id, 1, GETPID, 0) == getpid());
    CHECK("wait for zero on 1 (nowait)", sop(id, 1, 0, IPC_NOWAIT));
    CHECK("-3 on 0 (nowait)", sop(id, 0, -3, IPC_NOWAIT));
    CHECK("op 0 on 2 with value 0", sop(id, 2, 0, 0));
    ctl(id, 0, IPC_STAT, (long)&ds);
    printf("otime set: %s\n", ds.sem_otime ? "yes" : "no");
    struct sembuf range[2] = {{0, 32767, 0}, {1, -1, 0}};
    CHECK("ERANGE in the first op", RAW(SYS_semop, id, range, 2));
    vals("unchanged", id, 3);
    struct sembuf range2[2] = {{1, -1, 0}, {0, 32767, 0}};
    CHECK("ERANGE in the second op", RAW(SYS_semop, id, range2, 2));
    vals("unchanged", id, 3);
    unsigned short set[3] = {7, 8, 9};
    CHECK("SETALL", ctl(id, 0, SETALL, (long)set));
    vals("after SETALL", id, 3);
    CHECK("GETVAL 2", ctl(id, 2, GETVAL, 0));
    CHECK("SETVAL 1 = 0", ctl(id, 1, SETVAL, 0));
    CHECK("GETVAL 1", ctl(id, 1, GETVAL, 0));
    CHECK("IPC_RMID", ctl(id, 0, IPC_RMID, 0));
}

static void sleeping(void)
{
    int id = semget(IPC_PRIVATE, 2, 0600);
    pid_t a = sleeper("A -1", id, 0, -1, 0);
    CHECK("GETNCNT", ctl(id, 0, GETNCNT, 0));
    CHECK("GETZCNT", ctl(id, 0, GETZCNT, 0));
    CHECK("+1", sop(id, 0, 1, 0));
    finish("A", a);
    CHECK("GETNCNT after", ctl(id, 0, GETNCNT, 0));
    CHECK("value", ctl(id, 0, GETVAL, 0));
    CHECK("GETPID is A's", ctl(id, 0, GETPID, 0) == a);

    /* first come, first served: A and B both wait for 1 */
    a = sleeper("A -1", id, 0, -1, 0);
    pid_t b = sleeper("B -1", id, 0, -1, 0);
    CHECK("GETNCNT 2", ctl(id, 0, GETNCNT, 0));
    CHECK("+1", sop(id, 0, 1, 0));
    finish("A", a);
    CHECK("GETNCNT 1", ctl(id, 0, GETNCNT, 0));
    CHECK("+1", sop(id, 0, 1, 0));
    finish("B", b);

    /* a bigger decrement does not hold up a smaller one behind it */
    a = sleeper("A -2", id, 0, -2, 0);
    b = sleeper("B -1", id, 0, -1, 0);
    CHECK("+1", sop(id, 0, 1, 0));
    finish("B", b);
    CHECK("GETNCNT (A)", ctl(id, 0, GETNCNT, 0));
    CHECK("+1", sop(id, 0, 1, 0));
    CHECK("GETNCNT (A still)", ctl(id, 0, GETNCNT, 0));
    CHECK("+1", sop(id, 0, 1, 0));
    finish("A", a);
    CHECK("value", ctl(id, 0, GETVAL, 0));

    /* waiting for zero */
    CHECK("SETVAL 2", ctl(id, 1, SETVAL, 2));
    a = sleeper("A wait-for-zero", id, 1, 0, 0);
    CHECK("GETZCNT", ctl(id, 1, GETZCNT, 0));
    CHECK("GETNCNT", ctl(id, 1, GETNCNT, 0));
    CHECK("-1", sop(id, 1, -1, 0));
    CHECK("GETZCNT still", ctl(id, 1, GETZCNT, 0));
    CHECK("-1", sop(id, 1, -1, 0));
    finish("A", a);

    /* a complex operation: both semaphores at once */
    pid_t c = FORK();
    if (c == 0) {
        struct sembuf both[2] = {{0, -1, 0}, {1, -1, 0}};
        long r = RAW(SYS_semop, id, both, 2);
        _exit(r == 0 ? 0 : errno);
    }
    wait_state(c, "SZ?");
    CHECK("GETNCNT 0 (C waits on 0 first)", ctl(id, 0, GETNCNT, 0));
    CHECK("GETNCNT 1", ctl(id, 1, GETNCNT, 0));
    CHECK("+1 on 0", sop(id, 0, 1, 0));
    CHECK("GETNCNT 0 now", ctl(id, 0, GETNCNT, 0));
    CHECK("GETNCNT 1 now", ctl(id, 1, GETNCNT, 0));
    a = sleeper("A -1 on 1 (behind C)", id, 1, -1, 0);
    CHECK("+1 on 1", sop(id, 1, 1, 0));
    finish("C", c);
    CHECK("+1 on 1", sop(id, 1, 1, 0));
    finish("A", a);
    vals("values", id, 2);

    /* SETVAL and SETALL complete sleepers too */
    a = sleeper("A -3", id, 0, -3, 0);
    CHECK("SETVAL 5", ctl(id, 0, SETVAL, 5));
    finish("A", a);
    CHECK("value", ctl(id, 0, GETVAL, 0));

    /* a signal: EINTR, SA_RESTART or not */
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
        sigaction(SIGUSR1, &sa, NULL);
        a = sleeper(restart ? "A -10 SA_RESTART" : "A -10", id, 0, -10, 0);
        kill(a, SIGUSR1);
        finish("A", a);
        CHECK("GETNCNT after EINTR", ctl(id, 0, GETNCNT, 0));
    }

    /* semtimedop: the timeout is EAGAIN */
    struct timespec ts = {0, 50 * 1000000};
    struct sembuf dec = {0, -10, 0};
    CHECK("semtimedop times out", RAW(SYS_semtimedop, id, &dec, 1, &ts));
    ts.tv_nsec = 0;
    CHECK("semtimedop zero timeout", RAW(SYS_semtimedop, id, &dec, 1, &ts));
    dec.sem_op = -1;
    CHECK("semtimedop that can go", RAW(SYS_semtimedop, id, &dec, 1, &ts));

    /* IPC_RMID: the sleepers fail EIDRM */
    CHECK("SETVAL 1 on 1", ctl(id, 1, SETVAL, 1));
    a = sleeper("A -10", id, 0, -10, 0);
    b = sleeper("B wait-for-zero", id, 1, 0, 0);
    CHECK("IPC_RMID", ctl(id, 0, IPC_RMID, 0));
    finish("A", a);
    finish("B", b);
}

static void undo(void)
{
    int id = semget(IPC_PRIVATE, 2, 0600);
    pid_t p = FORK();
    if (p == 0) {
        CHECK("child +3 SEM_UNDO", sop(id, 0, 3, SEM_UNDO));
        CHECK("child -1 SEM_UNDO", sop(id, 0, -1, SEM_UNDO));
        CHECK("child +5 on 1", sop(id, 1, 5, 0));
        _exit(0);
    }
    reap("child", p);
    vals("after the child (undo 2 on 0)", id, 2);
    CHECK("GETPID is the child's", ctl(id, 0, GETPID, 0) == p);
    p = FORK();
    if (p == 0) {
        CHECK("child -4 SEM_UNDO on 1", sop(id, 1, -4, SEM_UNDO));
        _exit(0);
    }
    reap("child", p);
    vals("after the child (undo back to 5)", id, 2);
    p = FORK();
    if (p == 0) {
        CHECK("child +2 SEM_UNDO", sop(id, 0, 2, SEM_UNDO));
        CHECK("child -2 (no undo)", sop(id, 0, -2, 0));
        printf("child value %ld\n", ctl(id, 0, GETVAL, 0));
        _exit(0);
    }
    reap("child", p);
    vals("after (clamped at 0)", id, 2);
    p = FORK();
    if (p == 0) {
        CHECK("child +4 SEM_UNDO", sop(id, 0, 4, SEM_UNDO));
        printf("child: SETVAL by the parent clears the undo\n");
        fflush(stdout);
        kill(getpid(), SIGSTOP);
        _exit(0);
    }
    int st;
    waitpid(p, &st, WUNTRACED);
    CHECK("SETVAL 1", ctl(id, 0, SETVAL, 1));
    kill(p, SIGCONT);
    reap("child", p);
    vals("after", id, 2);
    /* the undo of an exiting holder lets a sleeper go */
    CHECK("SETVAL 1", ctl(id, 0, SETVAL, 1));
    int q[2];
    pipe(q);
    p = FORK();
    if (p == 0) {
        CHECK("holder -1 SEM_UNDO", sop(id, 0, -1, SEM_UNDO));
        char c;
        read(q[0], &c, 1);
        _exit(0);
    }
    for (int i = 0; i < 20000 && ctl(id, 0, GETVAL, 0) != 0; i++)
        msleep(1);
    pid_t w = sleeper("waiter -1", id, 0, -1, 0);
    write(q[1], "x", 1);
    reap("holder", p);
    finish("waiter", w);
    vals("after", id, 2);
    /* the undo range */
    p = FORK();
    if (p == 0) {
        CHECK("child +20000 SEM_UNDO", sop(id, 1, 20000, SEM_UNDO));
        CHECK("child -20000", sop(id, 1, -20000, 0));
        CHECK("child +20000 SEM_UNDO again (undo past -32768)", sop(id, 1, 20000, SEM_UNDO));
        CHECK("child -5 SEM_UNDO", sop(id, 1, -5, SEM_UNDO));
        _exit(0);
    }
    reap("child", p);
    vals("after", id, 2);
    /* IPC_RMID of a set a child holds undo records for */
    p = FORK();
    if (p == 0) {
        sop(id, 0, 1, SEM_UNDO);
        char c;
        read(q[0], &c, 1);
        _exit(0);
    }
    for (int i = 0; i < 20000 && ctl(id, 0, GETVAL, 0) != 1; i++)
        msleep(1);
    CHECK("IPC_RMID", ctl(id, 0, IPC_RMID, 0));
    int id2 = semget(IPC_PRIVATE, 1, 0600);
    write(q[1], "x", 1);
    reap("child", p);
    CHECK("another set is untouched", ctl(id2, 0, GETVAL, 0));
    ctl(id2, 0, IPC_RMID, 0);
}

static void info(void)
{
    int a = semget(IPC_PRIVATE, 4, 0640), b = semget(KEY, 2, IPC_CREAT | 0604);
    printf("ids %d %d\n", a, b);
    struct seminfo si;
    long r = ctl(0, 0, IPC_INFO, (long)&si);
    printf("IPC_INFO %ld: map %d mni %d mns %d mnu %d msl %d opm %d ume %d usz %d vmx %d aem %d\n",
           r, si.semmap, si.semmni, si.semmns, si.semmnu, si.semmsl, si.semopm, si.semume,
           si.semusz, si.semvmx, si.semaem);
    r = ctl(0, 0, SEM_INFO, (long)&si);
    printf("SEM_INFO %ld: usz %d aem %d\n", r, si.semusz, si.semaem);
    struct semid_ds ds;
    r = ctl(b & 0x7fff, 0, SEM_STAT, (long)&ds);
    printf("SEM_STAT b's index is b: %s nsems %lu\n", r == b ? "yes" : "no",
           (unsigned long)ds.sem_nsems);
    CHECK("SEM_STAT empty index", ctl(9, 0, SEM_STAT, (long)&ds));
    ctl(a, 0, IPC_STAT, (long)&ds);
    ds.sem_perm.uid = 1000;
    ds.sem_perm.mode = 0666 | 01000;
    CHECK("IPC_SET", ctl(a, 0, IPC_SET, (long)&ds));
    ctl(a, 0, IPC_STAT, (long)&ds);
    printf("after IPC_SET: uid %u cuid %u mode %o\n", ds.sem_perm.uid, ds.sem_perm.cuid,
           ds.sem_perm.mode);
    ds.sem_perm.gid = -1;
    CHECK("IPC_SET gid -1", ctl(a, 0, IPC_SET, (long)&ds));
    ds.sem_perm.gid = 0;
    ds.sem_perm.uid = 0;
    ds.sem_perm.mode = 0600;
    ctl(a, 0, IPC_SET, (long)&ds);
    ctl(b, 1, SETVAL, 1);
    char buf[2048];
    int f = open("/proc/sysvipc/sem", O_RDONLY);
    int n = read(f, buf, sizeof buf - 1);
    close(f);
    buf[n > 0 ? n : 0] = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        long key, id, nsems, uid, gid, cuid, cgid, otime;
        unsigned mode;
        if (sscanf(line, "%ld %ld %o %ld %ld %ld %ld %ld %ld", &key, &id, &mode, &nsems, &uid,
                   &gid, &cuid, &cgid, &otime) != 9) {
            printf("proc: %s\n", line);
            continue;
        }
        printf("proc: key %lx id %ld perms %o nsems %ld uid %ld gid %ld cuid %ld cgid %ld "
               "otime %s width %zu\n", key, id, mode, nsems, uid, gid, cuid, cgid,
               otime ? "set" : "0", strlen(line));
    }
    pid_t p = FORK();
    if (p == 0) {
        setgid(1000);
        setuid(1000);
        CHECK("user: GETVAL 0600", ctl(a, 0, GETVAL, 0));
        CHECK("user: SETVAL 0600", ctl(a, 0, SETVAL, 1));
        CHECK("user: semop 0600", sop(a, 0, 1, IPC_NOWAIT));
        CHECK("user: IPC_RMID", ctl(a, 0, IPC_RMID, 0));
        CHECK("user: IPC_SET", ctl(a, 0, IPC_SET, (long)&ds));
        CHECK("user: GETVAL 0604", ctl(b, 1, GETVAL, 0));
        CHECK("user: semop -1 0604", sop(b, 1, -1, IPC_NOWAIT));
        CHECK("user: wait-for-zero 0604", sop(b, 0, 0, IPC_NOWAIT));
        CHECK("user: semget 0604 read", semget(KEY, 0, 0004) == b);
        CHECK("user: semget 0604 write", semget(KEY, 0, 0006));
        _exit(0);
    }
    reap("user child", p);
    ctl(a, 0, IPC_RMID, 0);
    ctl(b, 0, IPC_RMID, 0);
    r = ctl(0, 0, SEM_INFO, (long)&si);
    printf("SEM_INFO at the end %ld: usz %d aem %d\n", r, si.semusz, si.semaem);
}

/* Linux's ids: index + 32768 * sequence, indexes given out cyclically (below 64, or 3/2 of
 * those in use), the sequence moving on when the index wraps. */
static void ids(void)
{
    int made[80], n = 0;
    for (int i = 0; i < 70; i++)
        made[n++] = semget(IPC_PRIVATE, 1, 0600);
    printf("70 sets: %d .. %d\n", made[0], made[69]);
    ctl(made[3], 0, IPC_RMID, 0);
    ctl(made[10], 0, IPC_RMID, 0);
    int x = semget(IPC_PRIVATE, 1, 0600), y = semget(IPC_PRIVATE, 1, 0600);
    printf("after two removals: %d %d\n", x, y);
    for (int i = 0; i < n; i++)
        ctl(made[i], 0, IPC_RMID, 0);
    ctl(x, 0, IPC_RMID, 0);
    ctl(y, 0, IPC_RMID, 0);
    for (int i = 0; i < 100; i++) {
        int z = semget(IPC_PRIVATE, 1, 0600);
        if (i % 20 == 0 || i > 96)
            printf("made and removed: %d\n", z);
        ctl(z, 0, IPC_RMID, 0);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    errors();
    atomic();
    sleeping();
    undo();
    info();
    ids();
    return 0;
}
