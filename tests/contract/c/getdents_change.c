/* getdents64 of a directory that changes between calls: every entry that exists for the
 * whole listing is returned exactly once, and one removed before the listing reached it is
 * not returned. /proc/self/fd while fds are closed (and others opened), a tmpfs directory
 * while entries are unlinked and created (those created after the listing began are not
 * returned: the listing ends); small buffers, a few entries per call. For
 * /proc/self/fd an offset is the fd's (fd + 2 on Linux): lseek back to a d_off seen earlier
 * resumes after the same fd however many lower fds were closed since. */
// contract: timeout=60
#include "contract.h"
#include <sys/mount.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

#define BUFSZ 72 /* three entries with names of up to 4 bytes */

/* ---- /proc/self/fd ---- */
#define NFD 42
static int fds[NFD], kept[1024], closed_at[1024], seen_fd[1024];

static void proc_fd(void)
{
    int dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_RDONLY);
    for (int i = 0; i < NFD; i++)
        fds[i] = i == 0 ? null : dup(null);
    memset(closed_at, -1, sizeof closed_at);
    int nkept = 0;
    kept[dirfd] = 1;
    for (int i = 0; i < NFD; i++)
        if (i % 4 == 0) {
            kept[fds[i]] = 1;
            nkept++;
        }
    nkept++; /* dirfd */
    int call = 0, dots = 0, listed_after_close = 0;
    char buf[BUFSZ];
    long n;
    while ((n = RAW(SYS_getdents64, dirfd, buf, sizeof buf)) > 0) {
        call++;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.') {
                dots++;
                continue;
            }
            int fd = atoi(d->d_name);
            if (fd < 0 || fd >= 1024)
                continue;
            seen_fd[fd]++;
            if (closed_at[fd] >= 0 && closed_at[fd] < call)
                listed_after_close++;
        }
        /* close every fd not kept that was listed (so later ones move down in a listing
         * numbered by index) and the highest one not listed yet */
        for (int i = 0; i < NFD; i++)
            if (!kept[fds[i]] && closed_at[fds[i]] < 0 && seen_fd[fds[i]]) {
                closed_at[fds[i]] = call;
                close(fds[i]);
            }
        for (int i = NFD - 1; i >= 0; i--)
            if (!kept[fds[i]] && closed_at[fds[i]] < 0) {
                closed_at[fds[i]] = call;
                close(fds[i]);
                break;
            }
    }
    int missed = 0, twice = 0, seen_kept = 0;
    for (int fd = 3; fd < 1024; fd++)
        if (kept[fd]) {
            missed += seen_fd[fd] == 0;
            twice += seen_fd[fd] > 1;
            seen_kept += seen_fd[fd] == 1;
        }
    printf("/proc/self/fd: last %ld, several calls: %s, . and .. seen %d\n", n,
           call > 5 ? "yes" : "no", dots);
    printf("  kept fds seen once: %d of %d, missed %d, seen twice %d\n", seen_kept, nkept,
           missed, twice);
    printf("  fds listed after they were closed: %d\n", listed_after_close);
    for (int i = 0; i < NFD; i++)
        if (!kept[fds[i]] && closed_at[fds[i]] < 0)
            close(fds[i]);

    /* d_off: resume at a saved offset after lower fds were closed and new ones opened */
    int a[8];
    for (int i = 0; i < 8; i++)
        a[i] = dup(null); /* the lowest free fds */
    lseek(dirfd, 0, SEEK_SET);
    int64_t resume = -1;
    int next_fd = -1;
    while ((n = RAW(SYS_getdents64, dirfd, buf, sizeof buf)) > 0 && next_fd < 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.')
                continue;
            int fd = atoi(d->d_name);
            if (resume >= 0 && next_fd < 0) {
                next_fd = fd;
            }
            if (fd == a[5] && resume < 0)
                resume = d->d_off; /* the offset just after a[5] */
        }
    }
    BOOL("  an fd follows the saved offset", next_fd > a[5]);
    for (int i = 0; i < 5; i++)
        close(a[i]);
    int b = dup(null); /* reuses the lowest */
    (void)b;
    CHECK("  lseek to the saved offset", lseek(dirfd, resume, SEEK_SET) == resume);
    n = RAW(SYS_getdents64, dirfd, buf, sizeof buf);
    struct linux_dirent64 *d = (void *)buf;
    BOOL("  the next entry is the same fd", n > 0 && atoi(d->d_name) == next_fd);
    close(dirfd);
}

/* ---- a tmpfs directory ---- */
#define NF 60
static int seen_f[NF], gone_at[NF];

static void tmpfs_dir(void)
{
    enter_workdir("getdents_change");
    mkdir("d", 0755);
    /* Natively the harness's /tmp is a directory of the host's file system: make d a tmpfs
     * (as root in the harness's private mount namespace). Inside twaron /tmp is tmpfs already
     * and mount may fail: either way the listing is a tmpfs one. */
    mount("tmpfs", "d", "tmpfs", 0, "mode=0755");
    char name[64];
    for (int i = 0; i < NF; i++) {
        snprintf(name, sizeof name, "d/f%02d", i);
        put_file(name, "", 0, 0644);
        gone_at[i] = -1;
    }
    int fd = open("d", O_RDONLY | O_DIRECTORY);
    int call = 0, dots = 0, listed_after_unlink = 0, created = 0;
    char buf[BUFSZ];
    long n;
    while ((n = RAW(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        call++;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.') {
                dots++;
                continue;
            }
            if (d->d_name[0] != 'f')
                continue; /* created during the listing: may or may not be seen */
            int i = atoi(d->d_name + 1);
            seen_f[i]++;
            if (gone_at[i] >= 0 && gone_at[i] < call)
                listed_after_unlink++;
        }
        /* unlink every entry not kept that was listed and the highest one not listed yet */
        for (int i = 0; i < NF; i++)
            if (i % 3 != 0 && gone_at[i] < 0 && seen_f[i]) {
                snprintf(name, sizeof name, "d/f%02d", i);
                unlink(name);
                gone_at[i] = call;
            }
        for (int i = NF - 1; i >= 0; i--)
            if (i % 3 != 0 && gone_at[i] < 0) {
                snprintf(name, sizeof name, "d/f%02d", i);
                unlink(name);
                gone_at[i] = call;
                break;
            }
        snprintf(name, sizeof name, "d/n%02d", created++);
        put_file(name, "", 0, 0644);
    }
    int missed = 0, twice = 0, once = 0, nkept = 0;
    for (int i = 0; i < NF; i++)
        if (i % 3 == 0) {
            nkept++;
            missed += seen_f[i] == 0;
            twice += seen_f[i] > 1;
            once += seen_f[i] == 1;
        }
    printf("tmpfs: last %ld, several calls: %s, . and .. seen %d\n", n, call > 5 ? "yes" : "no",
           dots);
    printf("  kept entries seen once: %d of %d, missed %d, seen twice %d\n", once, nkept, missed,
           twice);
    printf("  entries listed after they were unlinked: %d\n", listed_after_unlink);
    /* a second listing sees exactly what is there now */
    lseek(fd, 0, SEEK_SET);
    int total = 0;
    while ((n = RAW(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n; off += ((struct linux_dirent64 *)(buf + off))->d_reclen)
            total++;
    int expect = 2 + nkept + created;
    for (int i = 0; i < NF; i++)
        expect += i % 3 != 0 && gone_at[i] < 0;
    BOOL("  a fresh listing has every entry now there", total == expect);
    close(fd);
}

int main(void)
{
    proc_fd();
    tmpfs_dir();
    return 0;
}
