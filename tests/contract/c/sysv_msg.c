/* System V message queues: msgget, msgsnd/msgrcv (types: 0, > 0, < 0, MSG_EXCEPT;
 * MSG_NOERROR, E2BIG, ENOMSG, MSG_COPY, EFAULT that loses the message), queue limits
 * (msg_qbytes in bytes and in messages) with a sleeping sender, sleeping receivers served
 * directly by msgsnd (a too small one fails E2BIG), EIDRM for sleepers on IPC_RMID, EINTR,
 * IPC_SET (msg_qbytes above MSGMNB needs root; sleepers look again), IPC_STAT fields,
 * IPC_INFO, MSG_INFO, MSG_STAT, permissions and /proc/sysvipc/msg. Fresh IPC namespace. */
// contract: timeout=120
#include "contract.h"
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>

#define KEY 0x3e55
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

struct mbuf {
    long mtype;
    char mtext[9000];
};

static struct mbuf m;

static long snd(int id, long type, const char *text, size_t len, int flg)
{
    m.mtype = type;
    memcpy(m.mtext, text, len);
    return RAW(SYS_msgsnd, id, &m, len, flg);
}

/* msgrcv into m; prints "label: type T "text" (n)" or the error */
static long rcv(const char *label, int id, size_t size, long type, int flg)
{
    memset(&m, 0, sizeof m);
    long r = RAW(SYS_msgrcv, id, &m, size, type, flg);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: type %ld \"%.*s\" (%ld)\n", label, m.mtype, (int)(r > 40 ? 40 : r), m.mtext,
               r);
    return r;
}

static struct msqid_ds ds;

static void show(const char *label, int id)
{
    memset(&ds, 0, sizeof ds);
    if (RAW(SYS_msgctl, id, IPC_STAT, &ds) < 0) {
        printf("%s: IPC_STAT -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: qnum %lu cbytes %lu qbytes %lu lspid %s lrpid %s stime %s rtime %s mode %o\n",
           label, (unsigned long)ds.msg_qnum, ds.msg_cbytes, (unsigned long)ds.msg_qbytes,
           ds.msg_lspid == 0 ? "0" : ds.msg_lspid == getpid() ? "mine" : "other",
           ds.msg_lrpid == 0 ? "0" : ds.msg_lrpid == getpid() ? "mine" : "other",
           ds.msg_stime ? "set" : "0", ds.msg_rtime ? "set" : "0", ds.msg_perm.mode);
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

/* A child receiving (or sending) one message; it exits with 0 or the errno, and the
 * message's type and length go back through a pipe. */
static int res[2];

static pid_t receiver(int id, size_t size, long type, int flg, int uid)
{
    pid_t pid = FORK();
    if (pid == 0) {
        if (uid) {
            setgid(uid);
            setuid(uid);
        }
        struct mbuf b;
        long r = RAW(SYS_msgrcv, id, &b, size, type, flg);
        if (r >= 0) {
            char line[64];
            int n = snprintf(line, sizeof line, "got type %ld len %ld\n", b.mtype, r);
            write(res[1], line, n);
        }
        _exit(r >= 0 ? 0 : errno);
    }
    wait_state(pid, "SZ?");
    return pid;
}

static void result(void)
{
    char line[64];
    int n = read(res[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = 0;
    printf("receiver %s", n > 0 ? line : "got nothing\n");
}

static void on_usr1(int sig) { (void)sig; }

static void errors(void)
{
    CHECK("msgget missing key", msgget(KEY, 0600));
    int id = CHECK("msgget key", msgget(KEY, IPC_CREAT | 0600));
    CHECK("msgget key again", msgget(KEY, 0));
    CHECK("msgget IPC_EXCL", msgget(KEY, IPC_CREAT | IPC_EXCL | 0600));
    CHECK("msgsnd bad msgp", RAW(SYS_msgsnd, id, BAD_PTR, 4, 0));
    CHECK("msgsnd bad msgp, id -1", RAW(SYS_msgsnd, -1, BAD_PTR, 4, 0));
    CHECK("msgsnd id -1", snd(-1, 1, "x", 1, 0));
    CHECK("msgsnd mtype 0", snd(id, 0, "x", 1, 0));
    CHECK("msgsnd mtype -1", snd(id, -1, "x", 1, 0));
    CHECK("msgsnd 8193 bytes", snd(id, 1, "x", 8193, 0));
    CHECK("msgsnd size -1", RAW(SYS_msgsnd, id, &m, -1L, 0));
    CHECK("msgsnd bad id", snd(777, 1, "x", 1, 0));
    CHECK("msgsnd bad id, mtype 0", snd(777, 0, "x", 1, 0));
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    long *tail = (long *)(page + 4096 - 8);
    *tail = 1;
    CHECK("msgsnd text unmapped", RAW(SYS_msgsnd, id, tail, 1, 0));
    CHECK("msgsnd text unmapped, bad id", RAW(SYS_msgsnd, 777, tail, 1, 0));
    CHECK("msgsnd 0 bytes at the edge", RAW(SYS_msgsnd, id, tail, 0, 0));
    CHECK("msgrcv id -1", RAW(SYS_msgrcv, -1, &m, 10, 0, 0));
    CHECK("msgrcv size -1", RAW(SYS_msgrcv, id, &m, -1L, 0, 0));
    CHECK("msgrcv bad id", RAW(SYS_msgrcv, 777, &m, 10, 0, 0));
    rcv("msgrcv the empty message", id, 10, 0, 0);
    rcv("msgrcv empty queue, IPC_NOWAIT", id, 10, 0, IPC_NOWAIT);
    CHECK("msgctl id -1", RAW(SYS_msgctl, -1, IPC_STAT, &ds));
    CHECK("msgctl bad cmd", RAW(SYS_msgctl, id, 99, &ds));
    CHECK("msgctl negative cmd", RAW(SYS_msgctl, id, -1, &ds));
    CHECK("IPC_STAT bad pointer", RAW(SYS_msgctl, id, IPC_STAT, BAD_PTR));
    CHECK("IPC_SET bad pointer", RAW(SYS_msgctl, id, IPC_SET, BAD_PTR));
    CHECK("IPC_STAT bad id", RAW(SYS_msgctl, 777, IPC_STAT, &ds));
    CHECK("IPC_RMID", RAW(SYS_msgctl, id, IPC_RMID, 0));
    CHECK("IPC_RMID again", RAW(SYS_msgctl, id, IPC_RMID, 0));
    CHECK("msgsnd after IPC_RMID", snd(id, 1, "x", 1, 0));
}

static void types(void)
{
    int id = msgget(IPC_PRIVATE, 0600);
    show("fresh", id);
    snd(id, 3, "three", 5, 0);
    snd(id, 1, "one-a", 5, 0);
    snd(id, 2, "two", 3, 0);
    snd(id, 1, "one-b", 5, 0);
    snd(id, 5, "five", 4, 0);
    snd(id, 4, "four", 4, 0);
    show("five messages", id);
    rcv("type 0", id, 100, 0, 0);
    rcv("type 1", id, 100, 1, 0);
    rcv("type -3 (lowest up to 3)", id, 100, -3, 0);
    rcv("type 1 MSG_EXCEPT", id, 100, 1, MSG_EXCEPT);
    rcv("type 9 IPC_NOWAIT", id, 100, 9, IPC_NOWAIT);
    rcv("type -3 IPC_NOWAIT", id, 100, -3, IPC_NOWAIT);
    snd(id, 6, "a longer message", 16, 0);
    rcv("buffer too small", id, 5, 6, IPC_NOWAIT);
    show("still queued", id);
    rcv("MSG_COPY without IPC_NOWAIT", id, 100, 0, MSG_COPY);
    rcv("MSG_COPY with MSG_EXCEPT", id, 100, 0, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT);
    rcv("MSG_COPY 0", id, 100, 0, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 1", id, 100, 1, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 2", id, 100, 2, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 1 small buffer", id, 5, 1, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 1 small buffer, MSG_NOERROR", id, 5, 1, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
    show("after the copies", id);
    rcv("MSG_NOERROR truncates", id, 5, 6, MSG_NOERROR);
    rcv("LONG_MIN", id, 100, (long)(1UL << 63), IPC_NOWAIT);
    snd(id, 8, "lost", 4, 0);
    CHECK("msgrcv into a bad buffer", RAW(SYS_msgrcv, id, BAD_PTR, 100, 0, 0));
    show("the message went anyway", id);
    snd(id, 8, "lost", 4, 0);
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    CHECK("msgrcv text past the buffer's page", RAW(SYS_msgrcv, id, page + 4096 - 8, 100, 0, 0));
    show("gone too", id);
    RAW(SYS_msgctl, id, IPC_RMID, 0);
}

static void limits(void)
{
    int id = msgget(IPC_PRIVATE, 0600);
    pipe(res);
    char big[8192];
    memset(big, 'b', sizeof big);
    CHECK("8192 bytes", snd(id, 1, big, 8192, 0));
    CHECK("8192 bytes", snd(id, 2, big, 8192, 0));
    CHECK("1 byte more, IPC_NOWAIT", snd(id, 3, "c", 1, IPC_NOWAIT));
    CHECK("0 bytes, IPC_NOWAIT", snd(id, 3, "", 0, IPC_NOWAIT));
    pid_t s = FORK();
    if (s == 0) {
        long r = snd(id, 3, "late", 4, 0);
        _exit(r == 0 ? 0 : errno);
    }
    wait_state(s, "SZ?");
    show("full", id);
    rcv("receive one", id, 8192, 1, 0);
    finish("sleeping sender", s);
    show("after", id);
    /* msg_qbytes also limits the number of messages */
    RAW(SYS_msgctl, id, IPC_STAT, &ds);
    ds.msg_qbytes = 8192 + 4 + 2;
    CHECK("IPC_SET qbytes 8198", RAW(SYS_msgctl, id, IPC_SET, &ds));
    CHECK("one empty message", snd(id, 4, "", 0, IPC_NOWAIT));
    CHECK("another empty message", snd(id, 4, "", 0, IPC_NOWAIT));
    show("at the limit", id);
    RAW(SYS_msgctl, id, IPC_STAT, &ds);
    ds.msg_qbytes = 3;
    CHECK("IPC_SET qbytes 3 (below what is queued)", RAW(SYS_msgctl, id, IPC_SET, &ds));
    CHECK("send with the queue over its new limit", snd(id, 4, "", 0, IPC_NOWAIT));
    /* (root may set msg_qbytes above MSGMNB only with CAP_SYS_RESOURCE, which a container
     * may lack: not compared) */
    pid_t p = FORK();
    if (p == 0) {
        setgid(1000);
        setuid(1000);
        RAW(SYS_msgctl, id, IPC_STAT, &ds);
        CHECK("user: IPC_STAT 0600", RAW(SYS_msgctl, id, IPC_STAT, &ds));
        CHECK("user: msgsnd 0600", snd(id, 1, "x", 1, IPC_NOWAIT));
        CHECK("user: msgrcv 0600", RAW(SYS_msgrcv, id, &m, 10, 0, IPC_NOWAIT));
        CHECK("user: IPC_RMID", RAW(SYS_msgctl, id, IPC_RMID, 0));
        int own = msgget(IPC_PRIVATE, 0600);
        RAW(SYS_msgctl, own, IPC_STAT, &ds);
        ds.msg_qbytes = 16385;
        CHECK("user: own qbytes above MSGMNB", RAW(SYS_msgctl, own, IPC_SET, &ds));
        ds.msg_qbytes = 100;
        CHECK("user: own qbytes 100", RAW(SYS_msgctl, own, IPC_SET, &ds));
        CHECK("user: IPC_RMID own", RAW(SYS_msgctl, own, IPC_RMID, 0));
        _exit(0);
    }
    reap("user child", p);
    RAW(SYS_msgctl, id, IPC_RMID, 0);
}

static void receivers(void)
{
    int id = msgget(IPC_PRIVATE, 0666);
    pid_t r = receiver(id, 100, 7, 0, 0);
    snd(id, 6, "six", 3, 0);
    snd(id, 7, "seven", 5, 0);
    finish("receiver of type 7", r);
    result();
    show("type 6 stays queued, 7 went straight", id);
    r = receiver(id, 2, 9, 0, 0);
    pid_t r2 = receiver(id, 100, 9, 0, 0);
    snd(id, 9, "nine!", 5, 0);
    finish("small receiver", r);
    finish("second receiver", r2);
    result();
    show("after", id);
    r = receiver(id, 2, 10, MSG_NOERROR, 0);
    snd(id, 10, "ten is long", 11, 0);
    finish("MSG_NOERROR receiver", r);
    result();
    r = receiver(id, 100, -3, 0, 0);
    snd(id, 5, "five", 4, 0);
    snd(id, 2, "two", 3, 0);
    finish("receiver of type <= 3", r);
    result();
    r = receiver(id, 100, 5, MSG_EXCEPT, 0);
    snd(id, 5, "five", 4, 0);
    snd(id, 11, "eleven", 6, 0);
    finish("receiver of any type but 5", r);
    result();
    /* a signal: EINTR, SA_RESTART or not */
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
        sigaction(SIGUSR1, &sa, NULL);
        r = receiver(id, 100, 99, 0, 0);
        kill(r, SIGUSR1);
        finish(restart ? "receiver SA_RESTART" : "receiver", r);
    }
    /* IPC_SET wakes receivers, who look again: one without access any more fails */
    r = receiver(id, 100, 98, 0, 1000);
    RAW(SYS_msgctl, id, IPC_STAT, &ds);
    ds.msg_perm.mode = 0600;
    CHECK("IPC_SET mode 0600", RAW(SYS_msgctl, id, IPC_SET, &ds));
    finish("user receiver", r);
    /* IPC_RMID: EIDRM for a sleeping receiver and a sleeping sender */
    RAW(SYS_msgctl, id, IPC_STAT, &ds);
    ds.msg_qbytes = 10;
    RAW(SYS_msgctl, id, IPC_SET, &ds);
    r = receiver(id, 100, 97, 0, 0);
    pid_t s = FORK();
    if (s == 0) {
        long rr = snd(id, 1, "0123456789abc", 13, 0);
        _exit(rr == 0 ? 0 : errno);
    }
    wait_state(s, "SZ?");
    CHECK("IPC_RMID", RAW(SYS_msgctl, id, IPC_RMID, 0));
    finish("sleeping receiver", r);
    finish("sleeping sender", s);
}

static void info(void)
{
    int a = msgget(IPC_PRIVATE, 0600), b = msgget(KEY, IPC_CREAT | 0640);
    printf("ids %d %d\n", a, b);
    snd(a, 1, "hello", 5, 0);
    snd(a, 1, "world!", 6, 0);
    struct msginfo mi;
    long r = RAW(SYS_msgctl, 0, IPC_INFO, &mi);
    printf("IPC_INFO %ld: pool %d map %d max %d mnb %d mni %d ssz %d tql %d seg %u\n", r,
           mi.msgpool, mi.msgmap, mi.msgmax, mi.msgmnb, mi.msgmni, mi.msgssz, mi.msgtql,
           mi.msgseg);
    r = RAW(SYS_msgctl, 0, MSG_INFO, &mi);
    printf("MSG_INFO %ld: pool %d map %d tql %d\n", r, mi.msgpool, mi.msgmap, mi.msgtql);
    r = RAW(SYS_msgctl, b & 0x7fff, MSG_STAT, &ds);
    printf("MSG_STAT b's index is b: %s\n", r == b ? "yes" : "no");
    CHECK("MSG_STAT empty index", RAW(SYS_msgctl, 50, MSG_STAT, &ds));
    char buf[2048];
    int f = open("/proc/sysvipc/msg", O_RDONLY);
    int n = read(f, buf, sizeof buf - 1);
    close(f);
    buf[n > 0 ? n : 0] = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        long key, id, cbytes, qnum, lspid, lrpid, uid, gid, cuid, cgid;
        unsigned mode;
        if (sscanf(line, "%ld %ld %o %ld %ld %ld %ld %ld %ld %ld %ld", &key, &id, &mode, &cbytes,
                   &qnum, &lspid, &lrpid, &uid, &gid, &cuid, &cgid) != 11) {
            printf("proc: %s\n", line);
            continue;
        }
        printf("proc: key %lx id %ld perms %o cbytes %ld qnum %ld lspid %s lrpid %ld uid %ld "
               "gid %ld cuid %ld cgid %ld width %zu\n", key, id, mode, cbytes, qnum,
               lspid == getpid() ? "mine" : lspid ? "other" : "0", lrpid, uid, gid, cuid, cgid,
               strlen(line));
    }
    RAW(SYS_msgctl, a, IPC_RMID, 0);
    RAW(SYS_msgctl, b, IPC_RMID, 0);
    r = RAW(SYS_msgctl, 0, MSG_INFO, &mi);
    printf("MSG_INFO at the end %ld: pool %d map %d tql %d\n", r, mi.msgpool, mi.msgmap,
           mi.msgtql);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    errors();
    types();
    limits();
    receivers();
    info();
    return 0;
}
