/* System V shared memory: shmget (IPC_PRIVATE and keys, IPC_CREAT/IPC_EXCL, sizes), shmat
 * (SHM_RND, SHM_RDONLY, SHM_REMAP, fixed addresses), shmdt, shmctl (IPC_STAT fields,
 * IPC_SET, IPC_RMID while attached: the key goes at once, the id still attaches, the segment
 * goes with the last detach; SHM_LOCK/UNLOCK, IPC_INFO, SHM_INFO, SHM_STAT), real sharing
 * between processes, nattch across fork, exec, exit and an mprotect split, permissions of
 * another user, /proc/sysvipc/shm and /proc/self/maps. Runs in a fresh IPC namespace
 * (natively too), so ids are printed. */
#include "contract.h"
#include <setjmp.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define KEY 0x5a17

static struct shmid_ds ds;

static long st(int id)
{
    memset(&ds, 0, sizeof ds);
    return RAW(SYS_shmctl, id, IPC_STAT, &ds);
}

static long nattch(int id)
{
    return st(id) < 0 ? -errno : (long)ds.shm_nattch;
}

static sigjmp_buf jb;
static void on_segv(int sig)
{
    siglongjmp(jb, sig);
}

/* Does a write (or read) at p fault? */
static const char *touch(volatile char *p, int write)
{
    struct sigaction sa = {.sa_handler = on_segv}, old_segv, old_bus;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    int sig = sigsetjmp(jb, 1);
    const char *r = "ok";
    if (sig == 0) {
        if (write)
            *p = 'w';
        else
            (void)*p;
    } else {
        r = sig == SIGSEGV ? "SIGSEGV" : "SIGBUS";
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return r;
}

static void proc_sysvipc(const char *label, int id)
{
    char buf[4096];
    int f = open("/proc/sysvipc/shm", O_RDONLY);
    int n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
    if (f >= 0)
        close(f);
    if (n < 0) {
        printf("%s: cannot read\n", label);
        return;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    printf("%s header: %.*s\n", label, nl ? (int)(nl - buf) : 0, buf);
    for (char *line = nl ? nl + 1 : buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        long key, sid, size, cpid, lpid, natt, uid, gid, cuid, cgid;
        unsigned mode;
        if (sscanf(line, "%ld %ld %o %ld %ld %ld %ld %ld %ld %ld %ld", &key, &sid, &mode, &size,
                   &cpid, &lpid, &natt, &uid, &gid, &cuid, &cgid) != 11)
            continue;
        if (sid != id)
            continue;
        /* the fixed-width columns up to nattch */
        printf("%s line: key %ld perms %o size %ld cpid mine %s lpid mine %s nattch %ld uid %ld "
               "gid %ld cuid %ld cgid %ld width %d\n", label, key, mode, size,
               cpid == getpid() ? "yes" : "no", lpid == getpid() ? "yes" : "no", natt, uid, gid,
               cuid, cgid, (int)(strchr(line, '\n') - line));
    }
}

static void maps_line(const char *label, void *addr)
{
    char buf[16384], want[32];
    int f = open("/proc/self/maps", O_RDONLY), n = 0, r;
    while ((r = read(f, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    close(f);
    buf[n] = 0;
    snprintf(want, sizeof want, "%lx-", (unsigned long)addr);
    char *line = strstr(buf, want);
    if (!line) {
        printf("%s: not in maps\n", label);
        return;
    }
    char *end = strchr(line, '\n');
    *end = 0;
    char perms[8];
    sscanf(line, "%*s %7s", perms);
    char *name = strrchr(line, ' ');
    char *sysv = strstr(line, "/SYSV");
    printf("%s: %s %s deleted %s\n", label, perms, sysv ? sysv : "(no name)",
           name && strcmp(name, " (deleted)") == 0 ? "yes" : "no");
    *end = '\n';
}

static void errors(void)
{
    CHECK("shmget size 0", shmget(IPC_PRIVATE, 0, 0600));
    CHECK("shmget huge", RAW(SYS_shmget, IPC_PRIVATE, -1L, 0600));
    CHECK("shmget missing key", shmget(KEY + 99, 4096, 0600));
    int id = CHECK("shmget key create", shmget(KEY, 8192, IPC_CREAT | 0640));
    CHECK("shmget key again", shmget(KEY, 8192, 0));
    CHECK("shmget key smaller", shmget(KEY, 100, 0600));
    CHECK("shmget key bigger", shmget(KEY, 8193, 0600));
    CHECK("shmget key bigger no create", shmget(KEY, 8193, 0));
    CHECK("shmget IPC_EXCL", shmget(KEY, 8192, IPC_CREAT | IPC_EXCL | 0600));
    CHECK("shmget IPC_EXCL without IPC_CREAT", shmget(KEY, 8192, IPC_EXCL));
    CHECK("shmget hugetlb-free private", shmget(IPC_PRIVATE, 1, 0600));
    CHECK("shmat -1", RAW(SYS_shmat, -1, 0, 0));
    CHECK("shmat bad id", RAW(SYS_shmat, 12345, 0, 0));
    CHECK("shmat bad seq", RAW(SYS_shmat, id + 32768, 0, 0));
    CHECK("shmat unaligned", RAW(SYS_shmat, id, 0x7f0000001000UL + 5, 0));
    CHECK("shmat SHM_REMAP no addr", RAW(SYS_shmat, id, 0, SHM_REMAP));
    void *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("shmat over a mapping", RAW(SYS_shmat, id, m, 0));
    long r = RAW(SYS_shmat, id, m, SHM_REMAP);
    BOOL("shmat SHM_REMAP over a mapping at its address", r == (long)m);
    CHECK("shmat below mmap_min_addr (root may)", RAW(SYS_shmat, id, 4096, 0));
    CHECK("shmdt it", RAW(SYS_shmdt, 4096));
    CHECK("shmat past the user range", RAW(SYS_shmat, id, 0x7ffffffff000UL, 0));
    r = RAW(SYS_shmat, id, (char *)m + 4096 + 123, SHM_RND | SHM_REMAP);
    BOOL("shmat SHM_RND rounds down", r == (long)m + 4096);
    CHECK("nattch", nattch(id));
    CHECK("shmdt unaligned", RAW(SYS_shmdt, (char *)m + 1));
    CHECK("shmdt not attached", RAW(SYS_shmdt, (char *)m + 3 * 4096 + 4096 * 100));
    CHECK("shmdt inside an attachment", RAW(SYS_shmdt, (char *)m + 2 * 4096));
    CHECK("shmdt", RAW(SYS_shmdt, m));
    CHECK("shmdt again", RAW(SYS_shmdt, m));
    CHECK("shmdt rounded one", RAW(SYS_shmdt, (char *)m + 4096));
    CHECK("nattch after", nattch(id));
    CHECK("shmctl -1", RAW(SYS_shmctl, -1, IPC_STAT, &ds));
    CHECK("shmctl bad cmd", RAW(SYS_shmctl, id, 99, &ds));
    CHECK("shmctl negative cmd", RAW(SYS_shmctl, id, -1, &ds));
    CHECK("shmctl IPC_64 flag", RAW(SYS_shmctl, id, IPC_STAT | 0x100, &ds));
    CHECK("IPC_STAT bad pointer", RAW(SYS_shmctl, id, IPC_STAT, BAD_PTR));
    CHECK("IPC_SET bad pointer", RAW(SYS_shmctl, id, IPC_SET, BAD_PTR));
    CHECK("IPC_STAT bad id", RAW(SYS_shmctl, 4242, IPC_STAT, &ds));
    CHECK("IPC_RMID bad id", RAW(SYS_shmctl, 4242, IPC_RMID, 0));
    CHECK("IPC_RMID", RAW(SYS_shmctl, id, IPC_RMID, 0));
    CHECK("IPC_STAT after IPC_RMID", st(id));
    CHECK("shmget key after IPC_RMID", shmget(KEY, 8192, 0));
}

static void sharing(char *self)
{
    int id = CHECK("shmget private", shmget(IPC_PRIVATE, 5000, 0600));
    CHECK("IPC_STAT fresh", st(id));
    printf("segsz %lu nattch %lu mode %o cpid mine %s lpid %d atime %s dtime %s ctime set %s "
           "uid %u gid %u cuid %u cgid %u key %d\n", (unsigned long)ds.shm_segsz,
           (unsigned long)ds.shm_nattch, ds.shm_perm.mode, ds.shm_cpid == getpid() ? "yes" : "no",
           ds.shm_lpid, ds.shm_atime ? "set" : "0", ds.shm_dtime ? "set" : "0",
           ds.shm_ctime ? "yes" : "no", ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid,
           ds.shm_perm.cgid, ds.shm_perm.__ipc_perm_key);
    char *p = (char *)RAW(SYS_shmat, id, 0, 0);
    BOOL("shmat page aligned", ((unsigned long)p & 4095) == 0);
    CHECK("IPC_STAT attached", st(id));
    printf("nattch %lu lpid mine %s atime set %s\n", (unsigned long)ds.shm_nattch,
           ds.shm_lpid == getpid() ? "yes" : "no", ds.shm_atime ? "yes" : "no");
    printf("fresh memory is zero: %s\n", p[0] == 0 && p[4999] == 0 ? "yes" : "no");
    strcpy(p, "parent");
    printf("byte past segsz in the last page: %s\n", touch(p + 8000, 1));
    maps_line("maps", p);
    char *q = (char *)RAW(SYS_shmat, id, 0, 0);
    printf("second attach sees it: %s\n", strcmp(q, "parent") == 0 ? "yes" : "no");
    CHECK("nattch with two attaches", nattch(id));
    CHECK("shmdt second", RAW(SYS_shmdt, q));
    pid_t pid = FORK();
    if (pid == 0) {
        CHECK("child nattch after fork", nattch(id));
        printf("child sees: %s\n", p);
        strcpy(p + 100, "child");
        _exit(0);
    }
    reap("child", pid);
    printf("parent sees the child's write: %s\n", p + 100);
    CHECK("nattch after the child exited", nattch(id));
    printf("lpid is the child's: %s\n", st(id) == 0 && ds.shm_lpid == pid ? "yes" : "no");
    pid = FORK();
    if (pid == 0) {
        char arg[32];
        snprintf(arg, sizeof arg, "%d", id);
        execl(self, self, "exec-child", arg, (char *)NULL);
        _exit(99);
    }
    reap("exec child", pid);
    /* an mprotect of part of it splits the attachment: nattch counts both parts */
    CHECK("mprotect first page", mprotect(p, 4096, PROT_READ));
    CHECK("nattch after split", nattch(id));
    CHECK("mprotect back", mprotect(p, 4096, PROT_READ | PROT_WRITE));
    CHECK("nattch after mprotect back", nattch(id));
    /* read-only attach */
    char *ro = (char *)RAW(SYS_shmat, id, 0, SHM_RDONLY);
    printf("read-only attach reads: %s, write: %s\n", ro, touch(ro, 1));
    maps_line("maps ro", ro);
    CHECK("shmdt ro", RAW(SYS_shmdt, ro));
    /* IPC_RMID while attached */
    int kid = CHECK("shmget key", shmget(KEY, 4096, IPC_CREAT | 0600));
    char *k = (char *)RAW(SYS_shmat, kid, 0, 0);
    strcpy(k, "keyed");
    CHECK("IPC_RMID attached", RAW(SYS_shmctl, kid, IPC_RMID, 0));
    CHECK("IPC_STAT removed but attached", st(kid));
    printf("mode %o key %d nattch %lu\n", ds.shm_perm.mode, ds.shm_perm.__ipc_perm_key,
           (unsigned long)ds.shm_nattch);
    CHECK("shmget key is gone", shmget(KEY, 4096, 0));
    int kid2 = CHECK("shmget key makes a new one", shmget(KEY, 4096, IPC_CREAT | 0600));
    BOOL("new id differs", kid2 != kid);
    char *k2 = (char *)RAW(SYS_shmat, kid, 0, 0);
    printf("attach by id after IPC_RMID: %s\n", (long)k2 == -1 ? errname(errno) : k2);
    CHECK("nattch", nattch(kid));
    proc_sysvipc("proc", kid);
    CHECK("IPC_RMID again", RAW(SYS_shmctl, kid, IPC_RMID, 0));
    CHECK("shmdt one", RAW(SYS_shmdt, k));
    CHECK("still there", nattch(kid));
    CHECK("shmdt last", RAW(SYS_shmdt, k2));
    CHECK("gone with the last detach", st(kid));
    CHECK("shmat after it went", RAW(SYS_shmat, kid, 0, 0));
    CHECK("IPC_RMID new keyed", RAW(SYS_shmctl, kid2, IPC_RMID, 0));
    /* the original one goes when the process that holds it exits */
    CHECK("IPC_RMID attached", RAW(SYS_shmctl, id, IPC_RMID, 0));
    pid = FORK();
    if (pid == 0) {
        CHECK("child IPC_STAT", st(id));
        printf("child: mode %o nattch %lu\n", ds.shm_perm.mode, (unsigned long)ds.shm_nattch);
        _exit(0);
    }
    reap("child", pid);
    CHECK("shmdt", RAW(SYS_shmdt, p));
    CHECK("gone", st(id));
}

static void ctl(void)
{
    int a = shmget(IPC_PRIVATE, 10000, 0600), b = shmget(KEY, 4096, IPC_CREAT | 0666);
    printf("ids %d %d\n", a, b);
    struct shminfo si;
    long r = RAW(SYS_shmctl, 0, IPC_INFO, &si);
    printf("IPC_INFO: %ld shmmax %lu shmmin %lu shmmni %lu shmseg %lu shmall %lu\n", r,
           si.shmmax, si.shmmin, si.shmmni, si.shmseg, si.shmall);
    char *p = (char *)RAW(SYS_shmat, a, 0, 0);
    p[0] = 1;
    p[8192] = 1;
    struct shm_info inf;
    r = RAW(SYS_shmctl, 0, SHM_INFO, &inf);
    printf("SHM_INFO: %ld used %d tot %lu rss %lu swp %lu\n", r, inf.__used_ids, inf.shm_tot,
           inf.shm_rss, inf.shm_swp);
    CHECK("IPC_INFO bad pointer", RAW(SYS_shmctl, 0, IPC_INFO, BAD_PTR));
    r = RAW(SYS_shmctl, b & 0x7fff, SHM_STAT, &ds);
    printf("SHM_STAT b's index: is b's id %s\n", r == b ? "yes" : "no");
    CHECK("SHM_STAT index 7", RAW(SYS_shmctl, 7, SHM_STAT, &ds));
    r = RAW(SYS_shmctl, b & 0x7fff, SHM_STAT_ANY, &ds);
    printf("SHM_STAT_ANY b's index: is b's id %s\n", r == b ? "yes" : "no");
    CHECK("SHM_STAT with an id", RAW(SYS_shmctl, b, SHM_STAT, &ds));
    CHECK("SHM_LOCK", RAW(SYS_shmctl, a, SHM_LOCK, 0));
    st(a);
    printf("mode after SHM_LOCK %o\n", ds.shm_perm.mode);
    CHECK("SHM_UNLOCK", RAW(SYS_shmctl, a, SHM_UNLOCK, 0));
    st(a);
    printf("mode after SHM_UNLOCK %o\n", ds.shm_perm.mode);
    st(b);
    ds.shm_perm.uid = 1000;
    ds.shm_perm.gid = 100;
    ds.shm_perm.mode = 07640;
    ds.shm_perm.cuid = 55;
    CHECK("IPC_SET", RAW(SYS_shmctl, b, IPC_SET, &ds));
    st(b);
    printf("after IPC_SET: uid %u gid %u cuid %u cgid %u mode %o\n", ds.shm_perm.uid,
           ds.shm_perm.gid, ds.shm_perm.cuid, ds.shm_perm.cgid, ds.shm_perm.mode);
    ds.shm_perm.uid = -1;
    CHECK("IPC_SET uid -1", RAW(SYS_shmctl, b, IPC_SET, &ds));
    /* another user */
    ds.shm_perm.uid = 0;
    ds.shm_perm.gid = 0;
    ds.shm_perm.mode = 0604;
    RAW(SYS_shmctl, b, IPC_SET, &ds);
    pid_t pid = FORK();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        CHECK("user: shmget a private one by id? (IPC_STAT)", st(a));
        CHECK("user: shmat 0600", RAW(SYS_shmat, a, 0, 0));
        CHECK("user: IPC_RMID", RAW(SYS_shmctl, a, IPC_RMID, 0));
        CHECK("user: SHM_LOCK", RAW(SYS_shmctl, a, SHM_LOCK, 0));
        CHECK("user: IPC_SET", RAW(SYS_shmctl, b, IPC_SET, &ds));
        CHECK("user: shmget key 0604 read", shmget(KEY, 0, 0004));
        CHECK("user: shmget key 0604 write", shmget(KEY, 0, 0002));
        CHECK("user: shmget key no mode", shmget(KEY, 0, 0));
        CHECK("user: IPC_STAT 0604", st(b) < 0 ? -1 : 0);
        long r2 = RAW(SYS_shmat, b, 0, 0);
        printf("user: shmat rw 0604: %s\n", r2 == -1 ? errname(errno) : "ok");
        r2 = RAW(SYS_shmat, b, 0, SHM_RDONLY);
        printf("user: shmat ro 0604: %s\n", r2 == -1 ? errname(errno) : "ok");
        int mine = CHECK("user: shmget own", shmget(IPC_PRIVATE, 4096, 0600));
        st(mine);
        printf("user: own uid %u cuid %u gid %u\n", ds.shm_perm.uid, ds.shm_perm.cuid,
               ds.shm_perm.gid);
        CHECK("user: SHM_LOCK own", RAW(SYS_shmctl, mine, SHM_LOCK, 0));
        CHECK("user: IPC_RMID own", RAW(SYS_shmctl, mine, IPC_RMID, 0));
        _exit(0);
    }
    reap("user child", pid);
    CHECK("IPC_RMID a", RAW(SYS_shmctl, a, IPC_RMID, 0));
    CHECK("IPC_RMID b", RAW(SYS_shmctl, b, IPC_RMID, 0));
    CHECK("shmdt a", RAW(SYS_shmdt, p));
    r = RAW(SYS_shmctl, 0, SHM_INFO, &inf);
    printf("SHM_INFO at the end: %ld used %d tot %lu rss %lu\n", r, inf.__used_ids, inf.shm_tot,
           inf.shm_rss);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "exec-child") == 0) {
        /* exec detached the child's inherited attachment: only the parent's is left */
        printf("exec child: nattch %ld\n", nattch(atoi(argv[2])));
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    errors();
    sharing(argv[0]);
    ctl();
    return 0;
}
