/* Reads and writes bigger than memory. Vectored reads from a 1 GiB sparse file: readv,
 * preadv and preadv2 stop at the first buffer the caller cannot take (a short count, EFAULT
 * when nothing was read), the file position moves by what was read, and a buffer larger
 * than the kernel's read chunk is filled whole. Writes of a 1 GiB mapping never touched
 * (it reads as zeros, without taking memory) to /dev/null, and writes to a file that stop
 * at a hole in the buffer. (The fuzzer found twaron reading a whole request into the host's
 * memory first: 1 GiB for one call.) */
#include "contract.h"
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define GIB (1L << 30)
#define MIB (1L << 20)

static void show(const char *label, long n, int fd)
{
    const char *e = errname(errno);
    if (n < 0)
        printf("%s: -1 %s position %ld\n", label, e, (long)lseek(fd, 0, SEEK_CUR));
    else
        printf("%s: %ld position %ld\n", label, n, (long)lseek(fd, 0, SEEK_CUR));
}

static unsigned long sum(const unsigned char *p, long n)
{
    unsigned long s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

/* Read fd to its end, then reap the writer. */
static void drain(const char *label, int fd, pid_t writer)
{
    long got = 0;
    unsigned long s = 0;
    static unsigned char rb[65536];
    for (;;) {
        long n = read(fd, rb, sizeof rb);
        if (n <= 0)
            break;
        for (long i = 0; i < n; i++)
            s = s * 31 + rb[i];
        got += n;
    }
    int status;
    waitpid(writer, &status, 0);
    printf("%s: read %ld sum %lx writer status %d\n", label, got, s, WEXITSTATUS(status));
}

int main(void)
{
    int fd = open("/tmp/readv_big", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, GIB) != 0)
        return 1;
    pwrite(fd, "hello", 5, 0);
    pwrite(fd, "middle", 6, 9 * MIB - 3);
    pwrite(fd, "tail", 4, GIB - 4);

    /* 16 MiB mapped, its upper half unmapped again: a hole after 8 MiB. */
    unsigned char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 8 * MIB, 8 * MIB);
    unsigned char small[10];
    void *unmapped = p + 8 * MIB;

    struct iovec two[2] = {{small, 10}, {unmapped, GIB}};
    show("readv small then unmapped", readv(fd, two, 2), fd);
    printf("  small: %.5s\n", small);
    struct iovec bad[1] = {{unmapped, GIB}};
    show("readv unmapped only", readv(fd, bad, 1), fd);
    show("preadv unmapped only", preadv(fd, bad, 1, 0), fd);

    struct iovec big[1] = {{p, GIB}};
    lseek(fd, 0, SEEK_SET);
    show("readv into 8 MiB then the hole", readv(fd, big, 1), fd);
    printf("  %.5s %lx\n", p, sum(p, 8 * MIB));
    show("preadv at 8 MiB", preadv(fd, big, 1, 8 * MIB), fd);
    printf("  %.6s %lx\n", p + MIB - 3, sum(p, 8 * MIB));
    show("preadv near the end", preadv(fd, big, 1, GIB - 4), fd);
    printf("  %.4s\n", p);
    show("preadv2 at the position", syscall(SYS_preadv2, fd, two, 2, -1L, 0, 0), fd);
    struct iovec three[3] = {{small, 10}, {p, 3 * MIB}, {unmapped, GIB}};
    show("preadv2 three buffers", syscall(SYS_preadv2, fd, three, 3, 9 * MIB - 13, 0, 0), fd);
    printf("  %.6s %lx\n", p, sum(p, 3 * MIB));

    unsigned char *huge = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int null = open("/dev/null", O_WRONLY);
    printf("write 1 GiB untouched to /dev/null: %ld\n", (long)write(null, huge, GIB));
    struct iovec halves[2] = {{huge, GIB / 2}, {huge + GIB / 4, GIB / 2}};
    printf("writev 2 x 512 MiB to /dev/null: %ld\n", (long)writev(null, halves, 2));
    printf("pwrite64 to /dev/null: %ld\n", (long)pwrite(null, huge, 3 * MIB, 0));
    munmap(huge, GIB);

    lseek(fd, 0, SEEK_SET);
    show("write 16 MiB with a hole at 8 MiB", write(fd, p, 16 * MIB), fd);
    show("pwrite64 the same at 1 MiB", pwrite(fd, p, 16 * MIB, MIB), fd);
    struct iovec w3[3] = {{small, 10}, {p, 2 * MIB}, {unmapped, MIB}};
    show("writev small, 2 MiB, unmapped", writev(fd, w3, 3), fd);
    show("pwritev the same at 0", pwritev(fd, w3, 3, 0), fd);
    show("pwritev2 the same at -1", syscall(SYS_pwritev2, fd, w3, 3, -1L, 0, 0), fd);
    struct iovec wbad[1] = {{unmapped, 4 * MIB}};
    show("write unmapped only", writev(fd, wbad, 1), fd);
    struct stat st;
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    unlink("/tmp/readv_big");

    /* 24 MiB through a pipe in one write (the reader takes it as it comes), and a write of
     * 8 MiB into a pipe nobody reads any more: EPIPE and SIGPIPE. */
    int pfd[2];
    pipe(pfd);
    for (long i = 0; i < 8 * MIB; i++)
        p[i] = (unsigned char)(i * 7 + i / 4096);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        struct iovec pv[3] = {{p, 8 * MIB}, {p, 8 * MIB}, {p, 8 * MIB}};
        long n = writev(pfd[1], pv, 3);
        _exit(n == 24 * MIB ? 0 : 1);
    }
    close(pfd[1]);
    drain("pipe", pfd[0], pid);
    close(pfd[0]);
    pipe(pfd);
    close(pfd[0]);
    signal(SIGPIPE, SIG_IGN);
    long n = write(pfd[1], p, 8 * MIB);
    printf("write 8 MiB to a pipe without readers: %ld %s\n", n, errname(errno));

    /* The same 24 MiB through a stream socket in one write; 2 MiB as one datagram. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        unsigned char *q = mmap(NULL, 24 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int k = 0; k < 3; k++)
            memcpy(q + k * 8 * MIB, p, 8 * MIB);
        _exit(write(sv[1], q, 24 * MIB) == 24 * MIB ? 0 : 1);
    }
    close(sv[1]);
    drain("stream socket", sv[0], pid);
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    n = write(sv[0], p, 2 * MIB);
    printf("write 2 MiB as one datagram: %ld %s\n", n, errname(errno));
    return 0;
}
