/*
 * twaron's workload benchmark program: the workloads of shared/notes/benchmarks.md (Kevlar's
 * definitions), run identically on the host's Linux and inside twaron.
 *
 * Built by twaron.bench with `musl-gcc -static -O2`. Usage:
 *
 *   bench [-q] [-w WARMUP] WORKLOAD [ITERATIONS]   one workload (-q: quick counts)
 *   bench list                                     the workload names, one a line
 *   bench profile N WARMUP PROGRAM [ARGS...]       fork+exec+wait PROGRAM N times
 *
 * Output, one line each (machine-readable, parsed by twaron/bench/runner.py):
 *
 *   BENCH <name> <iterations> <total_ns> <per_iteration_ns>
 *   BENCH_FAIL <name> <reason...>
 *   BENCH_PROFILE_START                  (profile mode: warm-up done, timed loop begins)
 *
 * Every child's exit status is checked: a child that did not exit 0 (exec failed, command
 * failed, killed by a signal) makes the workload fail, and a failed workload is never timed.
 * Every syscall of the micro-benchmarks is checked too. Before the timed loop, WARMUP
 * iterations run untimed (default 2 for process workloads, 1% for micro-benchmarks): the
 * emulator translates code on first use, and natively the page cache warms up.
 * Times come from clock_gettime(CLOCK_MONOTONIC) inside this program on both sides.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *current = "?";
static int quick;
static int warmup = -1; /* -1: the workload's default */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(const char *name, long iters, long long total)
{
    printf("BENCH %s %ld %lld %lld\n", name, iters, total, iters ? total / iters : 0);
    fflush(stdout);
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    printf("BENCH_FAIL %s ", current);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(1);
}

static void describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, n, "wait status %#x", status);
}

/* fork; the child execs path with argv (or calls _exit(0) when path is NULL); wait; fail
 * unless the child exited 0. */
static void spawn_wait(const char *path, char *const argv[], long iteration)
{
    pid_t pid = fork();
    if (pid < 0)
        fail("iteration %ld: fork: %s", iteration, strerror(errno));
    if (pid == 0) {
        if (path == NULL)
            _exit(0);
        execv(path, argv);
        dprintf(2, "bench: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int status;
    pid_t got;
    do
        got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got != pid)
        fail("iteration %ld: waitpid: %s", iteration, got < 0 ? strerror(errno) : "wrong pid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char what[64];
        describe_status(status, what, sizeof what);
        fail("iteration %ld: child %s: %s", iteration, path ? path : "(fork)", what);
    }
}

/* The process workloads: warm-up, then `iters` timed fork(+exec)+wait. */
static void process_loop(const char *name, const char *path, char *const argv[], long iters)
{
    long w = warmup < 0 ? 2 : warmup;
    for (long i = 0; i < w; i++)
        spawn_wait(path, argv, -1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        spawn_wait(path, argv, i);
    report(name, iters, now_ns() - t0);
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        fail("setup: open %s: %s", path, strerror(errno));
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n <= 0)
            fail("setup: write %s: %s", path, strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0)
        fail("setup: close %s: %s", path, strerror(errno));
}

/* ---- the workloads ---------------------------------------------------------------- */

static void w_fork_exit(long iters)
{
    process_loop("fork_exit", NULL, NULL, iters);
}

static void w_exec_true(long iters)
{
    char *argv[] = {"true", NULL}; /* execl("/bin/true", "true") */
    process_loop("exec_true", "/bin/true", argv, iters);
}

static void shell(const char *name, const char *cmd, long iters)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL}; /* execl("/bin/sh", "sh", "-c", cmd) */
    process_loop(name, "/bin/sh", argv, iters);
}

static void w_shell_noop(long iters)
{
    shell("shell_noop", "true", iters);
}

static void w_pipe_grep(long iters)
{
    static const char data[] = "line1 apple\nline2 banana\nline3 apple\n";
    char buf[sizeof data * 100];
    size_t n = 0;
    for (int i = 0; i < 100; i++, n += sizeof data - 1)
        memcpy(buf + n, data, sizeof data - 1);
    write_file("/tmp/bench_grep", buf, n);
    shell("pipe_grep", "grep apple /tmp/bench_grep > /dev/null", iters);
    unlink("/tmp/bench_grep");
}

static void w_sed_pipeline(long iters)
{
    char buf[200 * 64];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "prefix_item_%d_suffix\n", i);
    write_file("/tmp/bench_sed", buf, n);
    shell("sed_pipeline", "sed 's/prefix/PRE/;s/suffix/SUF/' /tmp/bench_sed > /dev/null", iters);
    unlink("/tmp/bench_sed");
}

static void w_sort_uniq(long iters)
{
    static const char *words[] = {"apple", "banana", "cherry", "date", "elderberry", "fig",
                                  "grape"};
    char buf[500 * 12];
    size_t n = 0;
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", words[i % 7]);
    write_file("/tmp/bench_sort", buf, n);
    shell("sort_uniq", "sort /tmp/bench_sort | uniq -c | sort -rn > /dev/null", iters);
    unlink("/tmp/bench_sort");
}

/* Mostly user-mode work: where hardware execution (KVM) shows over emulation. */
static void w_sha256_64m(long iters)
{
    static char chunk[1 << 20];
    unsigned long x = 88172645463325252UL;
    for (size_t i = 0; i < sizeof chunk; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        chunk[i] = (char)x;
    }
    int fd = open("/tmp/bench_big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail("cannot create /tmp/bench_big");
    for (int i = 0; i < 64; i++) {
        chunk[0] = (char)i; /* every MiB differs */
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            fail("short write to /tmp/bench_big");
    }
    close(fd);
    shell("sha256_64m", "sha256sum /tmp/bench_big > /dev/null", iters);
    unlink("/tmp/bench_big");
}

static void run_sh_once(const char *cmd)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    spawn_wait("/bin/sh", argv, -1);
}

/* gzip_16m: BusyBox's gzip -9 of 16 MiB of text-like data (words and digits drawn by a
 * xorshift generator: ~4.5:1 compressible, so the match search does real work) in tmpfs,
 * written once before timing. Nearly all the time is user-mode compression with large reads
 * (gzip fills its 64 KiB window from the file), beside sha256_64m's hashing. One untimed
 * warm-up (each run takes seconds), then the timed runs; afterwards the output must
 * decompress to the input (gzip -d | cmp), so a wrong compression fails the workload. */
static void w_gzip_16m(long iters)
{
    static const char *words[] = {"the ", "kernel ", "page ", "fault ", "twaron ", "linux ",
                                  "map ", "file ", "\n", "process ", "signal ", "of ",
                                  "and ", "a ", "memory ", "table "};
    static char chunk[1 << 20];
    unsigned long x = 88172645463325252UL;
    int fd = open("/tmp/bench_gz_in", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail("cannot create /tmp/bench_gz_in");
    for (int m = 0; m < 16; m++) {
        size_t i = 0;
        while (i < sizeof chunk) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if ((x >> 8) % 7 == 0) {
                chunk[i++] = (char)('0' + (x >> 16) % 75);
                continue;
            }
            for (const char *w = words[x & 15]; *w && i < sizeof chunk; w++)
                chunk[i++] = *w;
        }
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            fail("short write to /tmp/bench_gz_in");
    }
    close(fd);
    char *argv[] = {"sh", "-c", "gzip -9 < /tmp/bench_gz_in > /tmp/bench_gz_out", NULL};
    long w = warmup < 0 ? 1 : warmup;
    for (long i = 0; i < w; i++)
        spawn_wait("/bin/sh", argv, -1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        spawn_wait("/bin/sh", argv, i);
    long long t = now_ns() - t0;
    char *check[] = {"sh", "-c", "gzip -d < /tmp/bench_gz_out | cmp -s - /tmp/bench_gz_in",
                     NULL};
    spawn_wait("/bin/sh", check, iters);
    unlink("/tmp/bench_gz_in");
    unlink("/tmp/bench_gz_out");
    report("gzip_16m", iters, t);
}

static void w_tar_extract(long iters)
{
    run_sh_once("rm -rf /tmp/bench_tar_in /tmp/bench_tar_out /tmp/bench.tar");
    if (mkdir("/tmp/bench_tar_in", 0755) < 0)
        fail("setup: mkdir /tmp/bench_tar_in: %s", strerror(errno));
    for (int i = 0; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/bench_tar_in/f%d", i);
        write_file(path, "benchmark data\n", 15);
    }
    run_sh_once("tar cf /tmp/bench.tar -C /tmp bench_tar_in");
    shell("tar_extract",
          "rm -rf /tmp/bench_tar_out; mkdir /tmp/bench_tar_out; "
          "tar xf /tmp/bench.tar -C /tmp/bench_tar_out",
          iters);
    run_sh_once("rm -rf /tmp/bench_tar_in /tmp/bench_tar_out /tmp/bench.tar");
}

static void file_tree_once(long it)
{
    char path[64];
    if (mkdir("/tmp/bench_tree", 0755) < 0 || mkdir("/tmp/bench_tree/sub", 0755) < 0)
        fail("iteration %ld: mkdir: %s", it, strerror(errno));
    for (int j = 0; j < 10; j++) {
        snprintf(path, sizeof path, "/tmp/bench_tree/sub/f%d", j);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
            fail("iteration %ld: create %s: %s", it, path, strerror(errno));
    }
    DIR *d = opendir("/tmp/bench_tree/sub");
    if (!d)
        fail("iteration %ld: opendir: %s", it, strerror(errno));
    int entries = 0;
    while (readdir(d))
        entries++;
    closedir(d);
    if (entries != 12)
        fail("iteration %ld: readdir saw %d entries, expected 12", it, entries);
    for (int j = 0; j < 10; j++) {
        snprintf(path, sizeof path, "/tmp/bench_tree/sub/f%d", j);
        if (unlink(path) < 0)
            fail("iteration %ld: unlink %s: %s", it, path, strerror(errno));
    }
    if (rmdir("/tmp/bench_tree/sub") < 0 || rmdir("/tmp/bench_tree") < 0)
        fail("iteration %ld: rmdir: %s", it, strerror(errno));
}

static void w_file_tree(long iters)
{
    long w = warmup < 0 ? 1 : warmup;
    for (long i = 0; i < w; i++)
        file_tree_once(-1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        file_tree_once(i);
    report("file_tree", iters, now_ns() - t0);
}

/* ---- syscall micro-benchmarks ----------------------------------------------------- */

static long micro_warmup(long iters)
{
    return warmup < 0 ? (iters / 100 > 0 ? iters / 100 : 1) : warmup;
}

static void w_getpid(long iters)
{
    pid_t me = getpid();
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        if (getpid() != me)
            fail("getpid changed");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        if (getpid() != me)
            fail("iteration %ld: getpid changed", i);
    report("getpid", iters, now_ns() - t0);
}

/* musl's clock_gettime: through the vDSO (no system call) where the kernel maps one. */
static void w_clock_gettime(long iters)
{
    struct timespec ts, last = {0, 0};
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
            fail("clock_gettime: %s", strerror(errno));
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
            fail("iteration %ld: clock_gettime: %s", i, strerror(errno));
        if (ts.tv_sec < last.tv_sec || (ts.tv_sec == last.tv_sec && ts.tv_nsec < last.tv_nsec))
            fail("iteration %ld: CLOCK_MONOTONIC went back", i);
        last = ts;
    }
    report("clock_gettime", iters, now_ns() - t0);
}

static void w_read_null(long iters)
{
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0)
        fail("open /dev/null: %s", strerror(errno));
    char buf[1];
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        if (read(fd, buf, 1) != 0)
            fail("read /dev/null: %s", strerror(errno));
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        if (read(fd, buf, 1) != 0)
            fail("iteration %ld: read /dev/null did not return 0", i);
    report("read_null", iters, now_ns() - t0);
    close(fd);
}

static void w_write_null(long iters)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        fail("open /dev/null: %s", strerror(errno));
    char buf[1] = {0};
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        if (write(fd, buf, 1) != 1)
            fail("write /dev/null: %s", strerror(errno));
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        if (write(fd, buf, 1) != 1)
            fail("iteration %ld: write /dev/null did not return 1", i);
    report("write_null", iters, now_ns() - t0);
    close(fd);
}

static void pipe_once(int fds[2], char *buf, long i)
{
    if (write(fds[1], buf, 4096) != 4096)
        fail("iteration %ld: write to pipe: %s", i, strerror(errno));
    if (read(fds[0], buf, 4096) != 4096)
        fail("iteration %ld: read from pipe: %s", i, strerror(errno));
}

static void w_pipe(long iters)
{
    int fds[2];
    if (pipe(fds) < 0)
        fail("pipe: %s", strerror(errno));
    static char buf[4096];
    memset(buf, 'A', sizeof buf);
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        pipe_once(fds, buf, -1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        pipe_once(fds, buf, i);
    report("pipe", iters, now_ns() - t0);
    close(fds[0]);
    close(fds[1]);
}

/* unix_stream: throughput between two processes over socketpair(AF_UNIX, SOCK_STREAM). One
 * iteration is one 64 KiB chunk written by the child and read by the parent (the runner
 * reports MB/s); the child's exit status is checked and every byte counted. */
#define UNIX_CHUNK 65536

static void unix_stream_writer(int fd, long chunks)
{
    static char buf[UNIX_CHUNK];
    memset(buf, 'U', sizeof buf);
    for (long i = 0; i < chunks; i++) {
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t n = write(fd, buf + off, sizeof buf - off);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
    }
    _exit(0);
}

static void unix_stream_reader(int fd, long chunks, long i)
{
    static char buf[UNIX_CHUNK];
    long long want = (long long)chunks * UNIX_CHUNK, got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            fail("iteration %ld: read from socket after %lld of %lld bytes: %s", i, got, want,
                 n ? strerror(errno) : "EOF");
        got += n;
    }
}

static void unix_stream_run(long chunks, long i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        fail("socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        unix_stream_writer(sv[1], chunks);
    }
    close(sv[1]);
    unix_stream_reader(sv[0], chunks, i);
    close(sv[0]);
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("iteration %ld: the writer failed (status %#x)", i, status);
}

static void w_unix_stream(long iters)
{
    long w = warmup >= 0 ? warmup : (iters / 16 > 0 ? iters / 16 : 1);
    unix_stream_run(w, -1);
    long long t0 = now_ns();
    unix_stream_run(iters, 0);
    report("unix_stream", iters, now_ns() - t0);
}

/* tcp_loopback: the same over a TCP connection on 127.0.0.1 (a listener on an ephemeral
 * port, the child connects and writes). */
static int tcp_listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)a, sizeof *a) < 0 || listen(l, 128) < 0 ||
        getsockname(l, (struct sockaddr *)a, &len) < 0)
        fail("tcp listener: %s", strerror(errno));
    return l;
}

static void tcp_loopback_run(long chunks, long i)
{
    struct sockaddr_in a;
    int l = tcp_listener(&a);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(l);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
            _exit(2);
        unix_stream_writer(c, chunks);
    }
    int s = accept(l, NULL, NULL);
    if (s < 0)
        fail("accept: %s", strerror(errno));
    close(l);
    unix_stream_reader(s, chunks, i);
    close(s);
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("iteration %ld: the writer failed (status %#x)", i, status);
}

static void w_tcp_loopback(long iters)
{
    long w = warmup >= 0 ? warmup : (iters / 16 > 0 ? iters / 16 : 1);
    tcp_loopback_run(w, -1);
    long long t0 = now_ns();
    tcp_loopback_run(iters, 0);
    report("tcp_loopback", iters, now_ns() - t0);
}

/* tcp_connect: one iteration is a connection made and taken on 127.0.0.1 (connect, accept,
 * one byte each way, close both): the connect/accept rate. */
static void tcp_connect_once(int l, struct sockaddr_in *a, long i)
{
    char b = 'x';
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)a, sizeof *a) < 0)
        fail("iteration %ld: connect: %s", i, strerror(errno));
    int s = accept(l, NULL, NULL);
    if (s < 0)
        fail("iteration %ld: accept: %s", i, strerror(errno));
    if (write(c, &b, 1) != 1 || read(s, &b, 1) != 1 || write(s, &b, 1) != 1 ||
        read(c, &b, 1) != 1)
        fail("iteration %ld: the byte did not go round: %s", i, strerror(errno));
    close(s);
    close(c);
}

static void w_tcp_connect(long iters)
{
    struct sockaddr_in a;
    int l = tcp_listener(&a);
    long w = warmup >= 0 ? warmup : (iters / 16 > 0 ? iters / 16 : 1);
    for (long i = 0; i < w; i++)
        tcp_connect_once(l, &a, -1);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        tcp_connect_once(l, &a, i);
    report("tcp_connect", iters, now_ns() - t0);
    close(l);
}

/* Two processes bounce a token over two eventfds, each waiting for it in epoll_wait: one
 * iteration is a round trip (two wake-ups through epoll, two reads, two writes). The child
 * stops when it reads anything but a single token. */
#define PONG_STOP 1000

static void pong_wait(int ep, int fd, uint64_t *value, long i)
{
    struct epoll_event ev;
    int n;
    do
        n = epoll_wait(ep, &ev, 1, -1);
    while (n < 0 && errno == EINTR);
    if (n != 1 || ev.data.fd != fd || !(ev.events & EPOLLIN))
        fail("iteration %ld: epoll_wait returned %d: %s", i, n, n < 0 ? strerror(errno) : "");
    if (read(fd, value, sizeof *value) != sizeof *value)
        fail("iteration %ld: read from eventfd: %s", i, strerror(errno));
}

static int pong_epoll(int fd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        fail("epoll setup: %s", strerror(errno));
    return ep;
}

static void pong_send(int fd, uint64_t value, long i)
{
    if (write(fd, &value, sizeof value) != sizeof value)
        fail("iteration %ld: write to eventfd: %s", i, strerror(errno));
}

static void ping_once(int ep, int to, int from, long i)
{
    uint64_t v;
    pong_send(to, 1, i);
    pong_wait(ep, from, &v, i);
    if (v != 1)
        fail("iteration %ld: the token came back as %llu", i, (unsigned long long)v);
}

static void w_epoll_pingpong(long iters)
{
    int to_child = eventfd(0, EFD_NONBLOCK), to_parent = eventfd(0, EFD_NONBLOCK);
    if (to_child < 0 || to_parent < 0)
        fail("eventfd: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int ep = pong_epoll(to_child);
        for (long i = 0;; i++) {
            uint64_t v;
            pong_wait(ep, to_child, &v, i);
            if (v != 1)
                _exit(v == PONG_STOP ? 0 : 1);
            pong_send(to_parent, 1, i);
        }
    }
    int ep = pong_epoll(to_parent);
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        ping_once(ep, to_child, to_parent, -1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        ping_once(ep, to_child, to_parent, i);
    long long total = now_ns() - t0;
    pong_send(to_child, PONG_STOP, iters);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char what[64];
        describe_status(status, what, sizeof what);
        fail("the other process: %s", what);
    }
    report("epoll_pingpong", iters, total);
    close(ep);
    close(to_child);
    close(to_parent);
}

/* pty_echo: a byte from the master to the slave and back (raw mode: no echo, no lines). */
static void pty_once(int m, int s, long i)
{
    char c = 'x';
    if (write(m, &c, 1) != 1 || read(s, &c, 1) != 1)
        fail("iteration %ld: master to slave: %s", i, strerror(errno));
    if (write(s, &c, 1) != 1 || read(m, &c, 1) != 1)
        fail("iteration %ld: slave to master: %s", i, strerror(errno));
    if (c != 'x')
        fail("iteration %ld: the byte came back as %#x", i, c);
}

static void w_pty_echo(long iters)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        fail("posix_openpt: %s", strerror(errno));
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0)
        fail("open %s: %s", ptsname(m), strerror(errno));
    struct termios t;
    if (tcgetattr(s, &t) < 0)
        fail("tcgetattr: %s", strerror(errno));
    cfmakeraw(&t);
    if (tcsetattr(s, TCSANOW, &t) < 0)
        fail("tcsetattr: %s", strerror(errno));
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        pty_once(m, s, -1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        pty_once(m, s, i);
    report("pty_echo", iters, now_ns() - t0);
    close(s);
    close(m);
}

static void open_close_once(long i)
{
    int fd = open("/tmp/benchfile", O_RDONLY);
    if (fd < 0 || close(fd) < 0)
        fail("iteration %ld: open/close /tmp/benchfile: %s", i, strerror(errno));
}

static void w_open_close(long iters)
{
    write_file("/tmp/benchfile", "", 0);
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        open_close_once(-1 - i);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        open_close_once(i);
    report("open_close", iters, now_ns() - t0);
    unlink("/tmp/benchfile");
}

static void w_stat(long iters)
{
    struct stat st;
    for (long i = 0, w = micro_warmup(iters); i < w; i++)
        if (stat("/tmp", &st) < 0)
            fail("stat /tmp: %s", strerror(errno));
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        if (stat("/tmp", &st) < 0)
            fail("iteration %ld: stat /tmp: %s", i, strerror(errno));
    report("stat", iters, now_ns() - t0);
    if (!S_ISDIR(st.st_mode))
        fail("stat /tmp: not a directory");
}

static void w_mmap_fault(long pages)
{
    /* iterations = pages: mmap, then write one byte per page (one fault each). */
    size_t len = (size_t)pages * 4096;
    long long t0 = now_ns();
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                            -1, 0);
    if (p == MAP_FAILED)
        fail("mmap %zu bytes: %s", len, strerror(errno));
    for (long i = 0; i < pages; i++)
        p[i * 4096] = (char)i;
    long long t = now_ns() - t0;
    for (long i = 0; i < pages; i++)
        if (p[i * 4096] != (char)i)
            fail("page %ld lost its byte", i);
    munmap((void *)p, len);
    report("mmap_fault", pages, t);
}

/* ---- registry --------------------------------------------------------------------- */

struct workload {
    const char *name;
    void (*fn)(long);
    long full, quick;
};

/* full: Kevlar's counts; quick: small enough for an emulated kernel (twaron bench --quick). */
static const struct workload workloads[] = {
    {"fork_exit", w_fork_exit, 500, 100},
    {"exec_true", w_exec_true, 200, 50},
    {"shell_noop", w_shell_noop, 100, 30},
    {"pipe_grep", w_pipe_grep, 100, 20},
    {"sed_pipeline", w_sed_pipeline, 100, 20},
    {"sort_uniq", w_sort_uniq, 50, 10},
    {"tar_extract", w_tar_extract, 50, 10},
    {"file_tree", w_file_tree, 50, 20},
    {"getpid", w_getpid, 1000000, 100000},
    {"clock_gettime", w_clock_gettime, 10000000, 1000000},
    {"read_null", w_read_null, 500000, 50000},
    {"write_null", w_write_null, 500000, 50000},
    {"pipe", w_pipe, 256, 64},
    {"pty_echo", w_pty_echo, 10000, 1000},
    {"epoll_pingpong", w_epoll_pingpong, 10000, 1000},
    {"unix_stream", w_unix_stream, 1024, 128},
    {"tcp_loopback", w_tcp_loopback, 1024, 128},
    {"tcp_connect", w_tcp_connect, 2000, 200},
    {"open_close", w_open_close, 100000, 10000},
    {"stat", w_stat, 200000, 20000},
    {"mmap_fault", w_mmap_fault, 4096, 1024},
    {"sha256_64m", w_sha256_64m, 3, 1},
    {"gzip_16m", w_gzip_16m, 2, 1},
    {NULL, NULL, 0, 0},
};

/* profile mode: the parent of `twaron profile`. */
static int profile(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench profile N WARMUP PROGRAM [ARGS...]\n");
        return 2;
    }
    long n = atol(argv[1]), w = atol(argv[2]);
    char **prog = argv + 3;
    current = "profile";
    for (long i = 0; i < w; i++)
        spawn_wait(prog[0], prog, -1 - i);
    printf("BENCH_PROFILE_START\n");
    fflush(stdout);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        spawn_wait(prog[0], prog, i);
    report("profile", n, now_ns() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-q"))
            quick = 1;
        else if (!strcmp(argv[i], "-w") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else {
            fprintf(stderr, "bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: bench [-q] [-w WARMUP] WORKLOAD [ITERATIONS] | list | "
                        "profile N WARMUP PROGRAM [ARGS...]\n");
        return 2;
    }
    if (!strcmp(argv[i], "profile"))
        return profile(argc - i, argv + i);
    if (!strcmp(argv[i], "list")) {
        for (const struct workload *w = workloads; w->name; w++)
            printf("%s %ld %ld\n", w->name, w->full, w->quick);
        return 0;
    }
    for (const struct workload *w = workloads; w->name; w++) {
        if (strcmp(w->name, argv[i]))
            continue;
        long iters = i + 1 < argc ? atol(argv[i + 1]) : (quick ? w->quick : w->full);
        if (iters <= 0) {
            fprintf(stderr, "bench: bad iteration count\n");
            return 2;
        }
        current = w->name;
        w->fn(iters);
        return 0;
    }
    fprintf(stderr, "bench: unknown workload %s\n", argv[i]);
    return 2;
}
