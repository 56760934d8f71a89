/* writev/readv/pwritev/preadv with totals larger than a pipe's capacity: through a pipe and a
 * FIFO to a slow reader (small reads, short sleeps), a blocking writev returns the whole
 * count and every byte arrives in order; readv of a pipe returns what is there, scattered
 * over the iovecs in order; pwritev/preadv on a pipe or FIFO are ESPIPE; on a regular file
 * they use the offset given and leave the file position alone. */
#include "contract.h"
#include <sys/uio.h>

#define BIG 300000

static unsigned char pat(long i) { return (unsigned char)((i * 7 + i / 251) & 0xff); }

static unsigned char src[BIG], dst[BIG];

static void fill(unsigned char *b, long n, long base)
{
    for (long i = 0; i < n; i++)
        b[i] = pat(base + i);
}

/* Read fd in small chunks with short pauses until EOF; print what arrived. */
static void slow_reader(const char *label, int fd)
{
    static unsigned char buf[1500];
    long total = 0, wrong = 0, calls = 0, r;
    while ((r = read(fd, buf, 1000 + (calls % 3) * 250)) > 0) {
        for (long i = 0; i < r; i++)
            if (buf[i] != pat(total + i))
                wrong++;
        total += r;
        if (++calls % 16 == 0)
            msleep(1);
        else
            sched_yield();
    }
    printf("%s: reader got %ld bytes, %ld wrong, last read %s\n", label, total, wrong,
           r == 0 ? "0 (EOF)" : errname(errno));
}

/* writev iov[0..n) to a pipe/FIFO write end while a child reads slowly from rfd. */
static void writev_to_slow_reader(const char *label, int rfd, int wfd, struct iovec *iov,
                                  int n)
{
    pid_t pid = FORK();
    if (pid == 0) {
        close(wfd);
        slow_reader(label, rfd);
        exit(0);
    }
    close(rfd);
    msleep(20); /* the reader is (likely) asleep on the empty pipe: either way must work */
    long want = 0;
    for (int i = 0; i < n; i++)
        want += iov[i].iov_len;
    long r = writev(wfd, iov, n);
    int e = errno;
    close(wfd);
    reap("reader", pid);
    if (r < 0)
        printf("%s: writev -1 %s\n", label, errname(e));
    else
        printf("%s: writev returned %ld, the whole %ld: %s\n", label, r, want,
               r == want ? "yes" : "no");
}

static int several(struct iovec *iov)
{
    /* ~300,000 bytes in 6 iovecs: uneven sizes, an empty one, one bigger than a pipe */
    static const long sizes[] = {70001, 1, 0, 100000, 4095, 125903};
    long off = 0;
    for (int i = 0; i < 6; i++) {
        iov[i].iov_base = src + off;
        iov[i].iov_len = sizes[i];
        off += sizes[i];
    }
    return 6;
}

/* Write BIG bytes in pieces with short pauses, then close. */
static void feed(int wfd)
{
    long off = 0;
    int k = 0;
    while (off < BIG) {
        long n = 20000 + (k++ % 5) * 7000;
        if (n > BIG - off)
            n = BIG - off;
        if (write(wfd, src + off, n) != n)
            _exit(1);
        off += n;
        if (k % 3 == 0)
            msleep(2);
    }
    close(wfd);
}

/* readv rfd into several iovecs covering the rest of dst until EOF; print what arrived. */
static void readv_all(const char *label, int rfd)
{
    memset(dst, 0, sizeof dst);
    long total = 0, r = 0, calls = 0, bad_ret = 0;
    while (total < BIG) {
        /* three iovecs covering the rest of dst, the middle one small */
        long rest = BIG - total;
        long b = rest > 10 ? 10 : 0, a = (rest - b) / 2, c = rest - a - b;
        struct iovec iov[3] = {{dst + total, a}, {dst + total + a, b},
                               {dst + total + a + b, c}};
        r = readv(rfd, iov, 3);
        if (r <= 0)
            break;
        if (r > rest)
            bad_ret++;
        total += r;
        calls++;
    }
    long wrong = 0;
    for (long i = 0; i < total; i++)
        if (dst[i] != pat(i))
            wrong++;
    char x;
    long end = read(rfd, &x, 1);
    printf("%s: readv got %ld bytes, %ld wrong, more than one call: %s, bad returns %ld, "
           "then read %ld\n", label, total, wrong, calls > 1 ? "yes" : "no", bad_ret, end);
    close(rfd);
}

static void positional_on_pipe(const char *label, int fd, int writing)
{
    struct iovec iov = {src, 100};
    if (writing) {
        CHECK_OK(label, pwritev(fd, &iov, 1, 0));
    } else {
        iov.iov_base = dst;
        CHECK_OK(label, preadv(fd, &iov, 1, 0));
    }
}

int main(void)
{
    enter_workdir("rw_vectors_big");
    fill(src, BIG, 0);
    struct iovec iov[8];
    int p[2];

    /* pipe: one 200,000-byte iovec */
    pipe(p);
    iov[0].iov_base = src;
    iov[0].iov_len = 200000;
    writev_to_slow_reader("pipe, 1 iovec of 200000", p[0], p[1], iov, 1);

    /* pipe: several iovecs adding up to 300,000 */
    pipe(p);
    writev_to_slow_reader("pipe, 6 iovecs of 300000", p[0], p[1], iov, several(iov));

    /* pipe: readv of a big stream */
    pipe(p);
    pid_t wpid = FORK();
    if (wpid == 0) {
        close(p[0]);
        feed(p[1]);
        _exit(0);
    }
    close(p[1]);
    readv_all("pipe", p[0]);
    reap("writer", wpid);

    /* positional I/O on a pipe */
    pipe(p);
    positional_on_pipe("pwritev on a pipe", p[1], 1);
    write(p[1], "x", 1);
    positional_on_pipe("preadv on a pipe", p[0], 0);
    iov[0].iov_base = src;
    iov[0].iov_len = 1;
    CHECK_OK("pwritev on a pipe, offset -1", pwritev(p[1], iov, 1, -1));
    close(p[0]);
    close(p[1]);

    /* FIFO: the same through a named pipe (the reader opens it in a child) */
    unlink("fifo");
    CHECK_OK("mkfifo", mkfifo("fifo", 0600));
    for (int round = 0; round < 2; round++) {
        const char *label = round == 0 ? "fifo, 1 iovec of 200000" : "fifo, 6 iovecs of 300000";
        pid_t pid = FORK();
        if (pid == 0) {
            slow_reader(label, open("fifo", O_RDONLY));
            exit(0);
        }
        int w = open("fifo", O_WRONLY);
        int n = 1;
        iov[0].iov_base = src;
        iov[0].iov_len = 200000;
        if (round == 1)
            n = several(iov);
        long want = 0;
        for (int i = 0; i < n; i++)
            want += iov[i].iov_len;
        long r = writev(w, iov, n);
        int e = errno;
        close(w);
        reap("reader", pid);
        if (r < 0)
            printf("%s: writev -1 %s\n", label, errname(e));
        else
            printf("%s: writev returned %ld, the whole %ld: %s\n", label, r, want,
                   r == want ? "yes" : "no");
    }
    /* readv from a FIFO fed in pieces by a writer that opens it in a child */
    pid_t pid = FORK();
    if (pid == 0) {
        feed(open("fifo", O_WRONLY));
        _exit(0);
    }
    readv_all("fifo", open("fifo", O_RDONLY));
    reap("writer", pid);
    /* positional I/O on a FIFO's two ends */
    pid = FORK();
    if (pid == 0) {
        int r = open("fifo", O_RDONLY);
        positional_on_pipe("preadv on a FIFO", r, 0);
        exit(0);
    }
    int w = open("fifo", O_WRONLY);
    iov[0].iov_base = src;
    iov[0].iov_len = 100;
    long pr = pwritev(w, iov, 1, 0);
    int pe = errno;
    reap("FIFO reader", pid);
    close(w);
    if (pr < 0)
        printf("pwritev on a FIFO: -1 %s\n", errname(pe));
    else
        printf("pwritev on a FIFO: ok\n");

    /* regular file: pwritev/preadv at offsets, the file position untouched */
    int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    lseek(fd, 5, SEEK_SET);
    int n = several(iov);
    long r = pwritev(fd, iov, n, 100000);
    CHECK("pwritev 300000 at 100000", r);
    CHECK("position after pwritev", lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("size: %ld\n", (long)st.st_size);
    memset(dst, 0xee, sizeof dst);
    struct iovec in[3] = {{dst, 50000}, {dst + 50000, 0}, {dst + 50000, 250000}};
    r = preadv(fd, in, 3, 150000);
    CHECK("preadv 300000 at 150000 (250000 before EOF)", r);
    long wrong = 0;
    for (long i = 0; i < r; i++)
        if (dst[i] != pat(50000 + i))
            wrong++;
    printf("preadv content wrong: %ld, untouched after: %s\n", wrong,
           dst[r] == 0xee && dst[BIG - 1] == 0xee ? "yes" : "no");
    memset(dst, 0xee, 1000);
    in[0].iov_base = dst;
    in[0].iov_len = 1000;
    CHECK("preadv of the hole", preadv(fd, in, 1, 99500));
    long zeros = 0;
    for (int i = 0; i < 500; i++)
        zeros += dst[i] == 0;
    printf("hole reads as zeros: %s, data after it: %s\n", zeros == 500 ? "yes" : "no",
           dst[500] == pat(0) && dst[999] == pat(499) ? "yes" : "no");
    CHECK("preadv at EOF", preadv(fd, in, 1, 400000));
    CHECK("preadv past EOF", preadv(fd, in, 1, 1 << 30));
    CHECK("preadv negative offset", preadv(fd, in, 1, -5));
    CHECK("pwritev negative offset", pwritev(fd, in, 1, -5));
    CHECK("position at the end", lseek(fd, 0, SEEK_CUR));
    close(fd);
    /* O_APPEND: Linux appends whatever offset pwritev names (pwrite(2), BUGS) */
    fd = open("file", O_WRONLY | O_APPEND);
    iov[0].iov_base = "tail";
    iov[0].iov_len = 4;
    CHECK("pwritev O_APPEND at 0", pwritev(fd, iov, 1, 0));
    fstat(fd, &st);
    printf("size after O_APPEND pwritev: %ld\n", (long)st.st_size);
    close(fd);
    unlink("file");
    unlink("fifo");
    return 0;
}
