/* Data integrity under SIGKILL: a worker writes generation after generation of a file (in
 * several write() calls), renames it over DIR/target, then appends one 64-byte record to
 * DIR/log and reports the generation once that write() returned.
 *
 *   data_kill worker DIR        the worker (reports "w GEN" lines on stdout)
 *   data_kill kill ROUNDS SEED  a parent that forks the worker and SIGKILLs it after a
 *                               random delay, ROUNDS times, checking the files after each
 *
 * After every kill: DIR/target is one complete generation, never older than the last one
 * seen, and DIR/log holds every record whose write() returned, each complete. */
#include "contract.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define REC 64

static size_t gen_size(long gen) { return 64 + (size_t)(gen * 7919 % 20000); }

static void make(long gen, char *buf, size_t n)
{
    int h = snprintf(buf, n, "GEN %010ld LEN %010zu\n", gen, n);
    for (size_t i = h; i < n - 16; i++)
        buf[i] = 'a' + (char)((gen + i) % 26);
    snprintf(buf + n - 16, 17, "END %010ld\n", gen);
}

/* the generation of a complete file, or -1 */
static long valid(const char *buf, size_t n)
{
    long gen;
    size_t len;
    if (n < 64 || sscanf(buf, "GEN %ld LEN %zu", &gen, &len) != 2 || len != n ||
        len != gen_size(gen))
        return -1;
    static char want[64 + 20000];
    make(gen, want, n);
    return memcmp(buf, want, n) == 0 ? gen : -1;
}

static long read_all(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = 0, r;
    while ((r = read(fd, buf + n, cap - n)) > 0)
        n += r;
    close(fd);
    return n;
}

static void worker(const char *dir, long gen, int report)
{
    static char buf[64 + 20000];
    char tmp[256], target[256], log[256], rec[REC + 1];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    for (;; gen++) {
        size_t n = gen_size(gen);
        make(gen, buf, n);
        snprintf(tmp, sizeof tmp, "%s/tmp.%ld", dir, gen);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (size_t off = 0; off < n; off += 4096)
            write(fd, buf + off, n - off < 4096 ? n - off : 4096);
        close(fd);
        rename(tmp, target);
        snprintf(rec, sizeof rec, "REC %010ld %*s\n", gen, REC - 16, "x");
        if (write(lfd, rec, REC) == REC) {
            if (report >= 0)
                write(report, &gen, sizeof gen);
            else {
                printf("w %ld\n", gen);
                fflush(stdout);
            }
        }
    }
}

/* every record complete and in order; returns how many, or -1 */
static long check_log(const char *dir, long *last)
{
    static char buf[1 << 22];
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    long n = read_all(path, buf, sizeof buf);
    if (n < 0)
        return 0;
    if (n % REC)
        return -1;
    *last = -1;
    for (long i = 0; i < n; i += REC) {
        long g;
        if (sscanf(buf + i, "REC %ld", &g) != 1 || buf[i + REC - 1] != '\n' || g <= *last)
            return -1;
        *last = g;
    }
    return n / REC;
}

static int kill_rounds(int rounds, unsigned seed)
{
    const char *dir = "/tmp/data";
    mkdir("/tmp", 01777);
    mkdir(dir, 0755);
    static char buf[64 + 20000 + 1];
    make(0, buf, gen_size(0));
    put_file("/tmp/data/target", buf, gen_size(0), 0644);
    srand(seed);
    long seen = 0, logged = 0;
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        int p[2];
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            worker(dir, (r + 1) * 1000000L, p[1]);
        }
        close(p[1]);
        struct timespec ts = {0, (rand() % 20000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        long g, reported = 0;
        while (read(p[0], &g, sizeof g) == sizeof g)
            reported++;
        close(p[0]);
        long n = read_all("/tmp/data/target", buf, sizeof buf);
        long tg = n > 0 ? valid(buf, n) : -1;
        long last, recs = check_log(dir, &last);
        if (tg < 0 || tg < seen || recs < 0 || recs < logged + reported) {
            printf("round %d: BAD target gen %ld (last seen %ld, size %ld, starts %.30s), "
                   "log %ld (want >= %ld)\n", r, tg, seen, n, n > 0 ? buf : "", recs,
                   logged + reported);
            bad++;
        }
        if (tg > seen)
            seen = tg;
        if (recs > logged)
            logged = recs;
    }
    printf("rounds: %d, records: %ld, bad: %d\n", rounds, logged, bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "worker") == 0) {
        mkdir(argv[2], 0755);
        worker(argv[2], 1, -1);
    }
    if (argc == 4 && strcmp(argv[1], "kill") == 0)
        return kill_rounds(atoi(argv[2]), (unsigned)atoi(argv[3]));
    printf("usage: data_kill worker DIR | kill ROUNDS SEED\n");
    return 2;
}
