/* splice (file to pipe, pipe to file, pipe to pipe; with and without offsets), tee and
 * vmsplice (both directions): the data moved, file positions, SPLICE_F_NONBLOCK and
 * O_NONBLOCK, EOF, EPIPE with SIGPIPE, sleeping until a writer comes, and the error cases
 * (EINVAL, ESPIPE, EBADF, EFAULT) in Linux's order. */
#include "contract.h"
#include <sys/uio.h>

#ifndef SPLICE_F_MOVE
#define SPLICE_F_MOVE 1
#define SPLICE_F_NONBLOCK 2
#define SPLICE_F_MORE 4
#define SPLICE_F_GIFT 8
#endif

static long sp(int in, loff_t *oin, int out, loff_t *oout, size_t len, unsigned flags)
{
    return RAW(SYS_splice, in, oin, out, oout, len, flags);
}

static long te(int in, int out, size_t len, unsigned flags)
{
    return RAW(SYS_tee, in, out, len, flags);
}

static long vs(int fd, struct iovec *iov, unsigned long n, unsigned flags)
{
    return RAW(SYS_vmsplice, fd, iov, n, flags);
}

/* Drain a pipe (non-blocking) and print what it held. */
static void drain(const char *label, int fd)
{
    char buf[256];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int n = read(fd, buf, sizeof buf);
    fcntl(fd, F_SETFL, fl);
    if (n < 0)
        printf("%s: empty (%s)\n", label, errname(errno));
    else
        printf("%s: \"%.*s\"\n", label, n, buf);
}

static void file_is(const char *label, const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    int n = read(fd, buf, sizeof buf);
    close(fd);
    printf("%s: \"%.*s\"\n", label, n > 0 ? n : 0, buf);
}

static int got_sigpipe;
static void on_pipe(int sig) { (void)sig; got_sigpipe++; }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("splice_tee");
    put_file("src", "0123456789abcdefghij", 20, 0644);
    int src = open("src", O_RDONLY);
    int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int p[2], q[2];
    pipe(p);
    pipe(q);
    loff_t off = 5;

    /* errors, in order */
    CHECK("len 0, bad fds", sp(99, NULL, 98, NULL, 0, 0));
    CHECK("bad flags", sp(src, NULL, p[1], NULL, 4, 0x10));
    CHECK("bad fd in", sp(99, NULL, p[1], NULL, 4, 0));
    CHECK("bad fd out", sp(src, NULL, 99, NULL, 4, 0));
    CHECK("file to file", sp(src, NULL, dst, NULL, 4, 0));
    CHECK("pipe to pipe, itself", sp(p[0], NULL, p[1], NULL, 4, SPLICE_F_NONBLOCK));
    CHECK("offset on the input pipe", sp(p[0], &off, dst, NULL, 4, 0));
    CHECK("offset on the output pipe", sp(src, NULL, p[1], &off, 4, 0));
    CHECK("offset on the input pipe, bad fd out", sp(p[0], &off, 99, NULL, 4, 0));
    CHECK("bad offset pointer", sp(src, BAD_PTR, p[1], NULL, 4, 0));
    CHECK("pipe's write end as input", sp(p[1], NULL, dst, NULL, 4, 0));
    CHECK("pipe's read end as output", sp(src, NULL, p[0], NULL, 4, 0));
    CHECK("an empty file as input", sp(dst, NULL, p[1], NULL, 4, 0));
    int ro = open("dst", O_RDONLY);
    CHECK("read-only file as output", sp(p[0], NULL, ro, NULL, 4, SPLICE_F_NONBLOCK));
    int ap = open("dst", O_WRONLY | O_APPEND);
    write(p[1], "x", 1);
    CHECK("O_APPEND output", sp(p[0], NULL, ap, NULL, 4, 0));
    drain("pipe keeps its byte", p[0]);
    off = -1;
    CHECK("negative input offset", sp(src, &off, p[1], NULL, 4, 0));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("directory as input", sp(dir, NULL, p[1], NULL, 4, 0));
    int opath = open("src", O_PATH);
    CHECK("O_PATH input", sp(opath, NULL, p[1], NULL, 4, 0));

    /* file -> pipe */
    off = 3;
    CHECK("src@3 -> pipe, 5 bytes", sp(src, &off, p[1], NULL, 5, SPLICE_F_MOVE));
    printf("offset now %lld, file position %lld\n", (long long)off,
           (long long)lseek(src, 0, SEEK_CUR));
    drain("pipe", p[0]);
    CHECK("src -> pipe, 4 bytes at the file position", sp(src, NULL, p[1], NULL, 4, 0));
    printf("file position %lld\n", (long long)lseek(src, 0, SEEK_CUR));
    drain("pipe", p[0]);
    off = 18;
    CHECK("src@18 -> pipe, 100 bytes (2 left)", sp(src, &off, p[1], NULL, 100, 0));
    drain("pipe", p[0]);
    off = 20;
    CHECK("src@20 -> pipe (EOF)", sp(src, &off, p[1], NULL, 100, 0));
    int zero = open("/dev/zero", O_RDONLY);
    CHECK("/dev/zero -> pipe", sp(zero, NULL, p[1], NULL, 3, 0));
    char z[8];
    printf("zeros: %d\n", (int)read(p[0], z, sizeof z));

    /* pipe -> file */
    write(p[1], "hello world", 11);
    off = 2;
    CHECK("pipe -> dst@2, 5 bytes", sp(p[0], NULL, dst, &off, 5, 0));
    printf("offset now %lld, file position %lld\n", (long long)off,
           (long long)lseek(dst, 0, SEEK_CUR));
    CHECK("pipe -> dst at its position", sp(p[0], NULL, dst, NULL, 100, 0));
    printf("file position %lld\n", (long long)lseek(dst, 0, SEEK_CUR));
    file_is("dst", "dst");
    CHECK("empty pipe, SPLICE_F_NONBLOCK", sp(p[0], NULL, dst, NULL, 10, SPLICE_F_NONBLOCK));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    CHECK("empty pipe, O_NONBLOCK", sp(p[0], NULL, dst, NULL, 10, 0));
    fcntl(p[0], F_SETFL, 0);
    int null = open("/dev/null", O_WRONLY);
    write(p[1], "gone", 4);
    CHECK("pipe -> /dev/null", sp(p[0], NULL, null, NULL, 100, 0));

    /* pipe -> pipe */
    write(p[1], "abcdef", 6);
    CHECK("pipe -> pipe, 4 of 6", sp(p[0], NULL, q[1], NULL, 4, 0));
    drain("first pipe", p[0]);
    drain("second pipe", q[0]);
    CHECK("empty pipe -> pipe, nonblock", sp(p[0], NULL, q[1], NULL, 4, SPLICE_F_NONBLOCK));

    /* a sleeping splice, woken by a writer */
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(50);
        write(p[1], "late", 4);
        _exit(0);
    }
    CHECK("splice waits for data", sp(p[0], NULL, q[1], NULL, 100, 0));
    reap("writer", pid);
    drain("second pipe", q[0]);

    /* EOF and EPIPE */
    int e[2];
    pipe(e);
    close(e[1]);
    CHECK("pipe without writers -> pipe", sp(e[0], NULL, q[1], NULL, 4, 0));
    CHECK("pipe without writers -> file", sp(e[0], NULL, dst, NULL, 4, 0));
    CHECK("tee from a pipe without writers", te(e[0], q[1], 4, 0));
    int r[2];
    pipe(r);
    close(r[0]);
    signal(SIGPIPE, on_pipe);
    CHECK("file -> pipe without readers", sp(src, NULL, r[1], NULL, 4, 0));
    write(p[1], "xy", 2);
    CHECK("pipe -> pipe without readers", sp(p[0], NULL, r[1], NULL, 4, 0));
    CHECK("pipe without writers -> pipe without readers", sp(e[0], NULL, r[1], NULL, 4, 0));
    printf("SIGPIPEs: %d\n", got_sigpipe);
    drain("first pipe kept its data", p[0]);

    /* tee */
    CHECK("tee bad flags", te(p[0], q[1], 4, 0x20));
    CHECK("tee len 0", te(99, 98, 0, 0));
    CHECK("tee bad flags, len 0", te(99, 98, 0, 0x20));
    CHECK("tee bad fd", te(99, q[1], 4, 0));
    CHECK("tee file", te(src, q[1], 4, 0));
    CHECK("tee into the same pipe", te(p[0], p[1], 4, 0));
    CHECK("tee wrong ends", te(p[1], q[0], 4, 0));
    CHECK("tee empty, nonblock", te(p[0], q[1], 4, SPLICE_F_NONBLOCK));
    write(p[1], "teedata", 7);
    CHECK("tee 3", te(p[0], q[1], 3, 0));
    CHECK("tee all", te(p[0], q[1], 100, 0));
    drain("source still has", p[0]);
    drain("copy has", q[0]);
    CHECK("tee empty to a pipe without readers, nonblock", te(p[0], r[1], 4, SPLICE_F_NONBLOCK));
    write(p[1], "z", 1);
    CHECK("tee to a pipe without readers, with data", te(p[0], r[1], 4, 0));
    drain("first pipe", p[0]);

    /* vmsplice */
    char a[] = "vm", b[] = "splice";
    struct iovec iov[2] = {{a, 2}, {b, 6}};
    CHECK("vmsplice bad flags", vs(p[1], iov, 2, 0x10));
    CHECK("vmsplice bad fd", vs(99, iov, 2, 0));
    CHECK("vmsplice to a file", vs(dst, iov, 2, 0));
    CHECK("vmsplice O_PATH", vs(opath, iov, 2, 0));
    CHECK("vmsplice too many segments", vs(p[1], iov, 1025, 0));
    CHECK("vmsplice bad iovec", vs(p[1], BAD_PTR, 2, 0));
    CHECK("vmsplice no segments", vs(p[1], iov, 0, 0));
    CHECK("vmsplice into the pipe", vs(p[1], iov, 2, SPLICE_F_GIFT));
    char out1[3] = {0}, out2[16] = {0};
    struct iovec oiov[2] = {{out1, 3}, {out2, 16}};
    CHECK("vmsplice out of the pipe", vs(p[0], oiov, 2, 0));
    printf("got \"%.3s\" \"%s\"\n", out1, out2);
    CHECK("vmsplice out of an empty pipe, nonblock", vs(p[0], oiov, 2, SPLICE_F_NONBLOCK));
    CHECK("vmsplice out of a pipe without writers", vs(e[0], oiov, 2, 0));
    CHECK("vmsplice into a pipe without readers", vs(r[1], iov, 2, 0));
    printf("SIGPIPEs: %d\n", got_sigpipe);
    return 0;
}
