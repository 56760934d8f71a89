/* copy_file_range: offsets given or the file positions (moved only when not given), the count
 * cut at the input's end, overlapping ranges of one file (EINVAL), different file systems
 * (EXDEV), flags, and the checks of generic_copy_file_checks in Linux's order. */
#include "contract.h"
#include <sys/mount.h>
#include <sys/resource.h>

static long cfr(int in, loff_t *oin, int out, loff_t *oout, size_t len, unsigned flags)
{
    return RAW(SYS_copy_file_range, in, oin, out, oout, len, flags);
}

static void file_is(const char *label, const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    int n = read(fd, buf, sizeof buf);
    close(fd);
    for (int i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = '.';
    printf("%s: \"%.*s\"\n", label, n > 0 ? n : 0, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("copy_file_range");
    mkdir("t", 0755);
    int mounted = mount("tmpfs", "t", "tmpfs", 0, "mode=0755") == 0;
    chdir("t");
    put_file("src", "0123456789abcdefghij", 20, 0644);
    int in = open("src", O_RDONLY);
    int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    loff_t oi = 2, oo = 4;
    CHECK("copy 5 with both offsets", cfr(in, &oi, out, &oo, 5, 0));
    printf("offsets %lld %lld, positions %lld %lld\n", (long long)oi, (long long)oo,
           (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    file_is("dst", "dst");
    CHECK("copy 3 at the positions", cfr(in, NULL, out, NULL, 3, 0));
    printf("positions %lld %lld\n", (long long)lseek(in, 0, SEEK_CUR),
           (long long)lseek(out, 0, SEEK_CUR));
    file_is("dst", "dst");
    oi = 15;
    CHECK("copy 100 from 15 (cut at EOF)", cfr(in, &oi, out, NULL, 100, 0));
    printf("offset %lld, out position %lld\n", (long long)oi, (long long)lseek(out, 0, SEEK_CUR));
    oi = 20;
    CHECK("copy from EOF", cfr(in, &oi, out, NULL, 100, 0));
    oi = 500;
    CHECK("copy from past EOF", cfr(in, &oi, out, NULL, 100, 0));
    CHECK("copy 0 bytes", cfr(in, NULL, out, NULL, 0, 0));
    oo = 1000;
    oi = 0;
    CHECK("copy to far past the output's end", cfr(in, &oi, out, &oo, 2, 0));
    struct stat st;
    fstat(out, &st);
    printf("dst size %lld\n", (long long)st.st_size);

    /* one file */
    int rw = open("src", O_RDWR);
    oi = 0;
    oo = 10;
    CHECK("same file, disjoint", cfr(rw, &oi, rw, &oo, 10, 0));
    file_is("src", "src");
    oi = 0;
    oo = 5;
    CHECK("same file, overlapping", cfr(rw, &oi, rw, &oo, 10, 0));
    oi = 5;
    oo = 0;
    CHECK("same file, overlapping backwards", cfr(rw, &oi, rw, &oo, 10, 0));
    oi = 18;
    oo = 15;
    CHECK("same file, overlap only before the cut at EOF", cfr(rw, &oi, rw, &oo, 10, 0));
    oi = 0;
    oo = 0;
    CHECK("same file, same offset", cfr(rw, &oi, rw, &oo, 4, 0));
    oi = 0;
    oo = 0;
    CHECK("same file, same offset, 0 bytes", cfr(rw, &oi, rw, &oo, 0, 0));

    /* errors */
    CHECK("flags 1", cfr(in, NULL, out, NULL, 1, 1));
    CHECK("bad fd in", cfr(99, NULL, out, NULL, 1, 0));
    CHECK("bad fd out", cfr(in, NULL, 99, NULL, 1, 0));
    CHECK("bad in offset pointer", cfr(in, BAD_PTR, out, NULL, 1, 0));
    CHECK("bad out offset pointer", cfr(in, NULL, out, BAD_PTR, 1, 0));
    CHECK("bad pointer and flags", cfr(in, BAD_PTR, out, NULL, 1, 1));
    CHECK("flags, bad fd", cfr(99, NULL, out, NULL, 1, 1));
    int wo = open("dst", O_WRONLY), ro = open("dst", O_RDONLY), ap = open("dst", O_WRONLY | O_APPEND);
    CHECK("input write-only", cfr(wo, NULL, out, NULL, 1, 0));
    CHECK("output read-only", cfr(in, NULL, ro, NULL, 1, 0));
    CHECK("output O_APPEND", cfr(in, NULL, ap, NULL, 1, 0));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK("directory input", cfr(dir, NULL, out, NULL, 1, 0));
    CHECK("directory output", cfr(in, NULL, dir, NULL, 1, 0));
    int p[2];
    pipe(p);
    write(p[1], "pp", 2);
    CHECK("pipe input", cfr(p[0], NULL, out, NULL, 1, 0));
    CHECK("pipe output", cfr(in, NULL, p[1], NULL, 1, 0));
    CHECK("pipe input, read-only output", cfr(p[0], NULL, ro, NULL, 1, 0));
    int null = open("/dev/null", O_RDWR);
    CHECK("/dev/null", cfr(null, NULL, out, NULL, 1, 0));
    int op = open("src", O_PATH);
    CHECK("O_PATH", cfr(op, NULL, out, NULL, 1, 0));
    oi = -1;
    CHECK("negative input offset", cfr(in, &oi, out, NULL, 1, 0));
    oi = -1;
    CHECK("negative input offset, 0 bytes", cfr(in, &oi, out, NULL, 0, 0));
    oo = -5;
    CHECK("negative output offset", cfr(in, NULL, out, &oo, 1, 0));
    oi = 0x7ffffffffffffff0LL;
    CHECK("input offset near the top", cfr(in, &oi, out, NULL, 0x100, 0));
    oi = 0;
    oo = 0x7ffffffffffffff0LL;
    CHECK("output offset near the top", cfr(in, &oi, out, &oo, 0x100, 0));
    oo = 0x7fffffffffffffffLL;
    CHECK("output offset at the top", cfr(in, &oi, out, &oo, 1, 0));
    CHECK("length wraps the offset", cfr(in, NULL, out, NULL, (size_t)-1, 0));
    /* another file system: EXDEV (natively t is a tmpfs of its own; inside twaron /dev is) */
    int other;
    if (mounted)
        other = open("../other", O_RDWR | O_CREAT | O_TRUNC, 0644);
    else
        other = open("/dev/cfr_other", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("to another file system", cfr(in, NULL, other, NULL, 1, 0));
    CHECK("from another file system", cfr(other, NULL, out, NULL, 1, 0));
    CHECK("to another file system, 0 bytes", cfr(in, NULL, other, NULL, 0, 0));
    int proc = open("/proc/self/status", O_RDONLY);
    CHECK("from procfs", cfr(proc, NULL, out, NULL, 10, 0));
    /* RLIMIT_FSIZE */
    struct rlimit rl = {1000, 1000};
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &rl);
    oi = 0;
    oo = 995;
    CHECK("cut at RLIMIT_FSIZE", cfr(in, &oi, out, &oo, 10, 0));
    oo = 1000;
    CHECK("at RLIMIT_FSIZE", cfr(in, &oi, out, &oo, 10, 0));
    return 0;
}
