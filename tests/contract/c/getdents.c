/* getdents64 of a directory the program creates: sorted names with types; errors. */
#include "contract.h"
#include <dirent.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path, int bufsize)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    char *names[64];
    int count = 0, calls = 0, zero_ino = 0;
    char *buf = malloc(bufsize);
    long n;
    while ((n = RAW(SYS_getdents64, fd, buf, bufsize)) > 0) {
        calls++;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            char *s = malloc(300);
            const char *t = d->d_type == DT_REG ? "reg" : d->d_type == DT_DIR ? "dir"
                          : d->d_type == DT_LNK ? "lnk" : "?";
            snprintf(s, 300, "%s %s", d->d_name, t);
            names[count++] = s;
            if (d->d_ino == 0)
                zero_ino++;
            off += d->d_reclen;
        }
    }
    printf("%s: last=%ld entries=%d several-calls=%s\n", path, n, count,
           calls > 1 ? "yes" : "no");
    BOOL("all inodes nonzero", zero_ino == 0);
    qsort(names, count, sizeof names[0], cmp);
    for (int i = 0; i < count; i++)
        printf("  %s\n", names[i]);
    CHECK("again at end", RAW(SYS_getdents64, fd, buf, bufsize));
    CHECK("rewind", lseek(fd, 0, SEEK_SET));
    long again = RAW(SYS_getdents64, fd, buf, bufsize);
    BOOL("entries after rewind", again > 0);
    close(fd);
}

int main(void)
{
    enter_workdir("getdents");
    mkdir("d", 0755);
    put_file("d/charlie", "c", 1, 0644);
    put_file("d/alpha", "a", 1, 0644);
    put_file("d/bravo", "", 0, 0644);
    mkdir("d/zulu", 0755);
    symlink("alpha", "d/link");
    list("d", 4096);
    list("d", 64);          /* forces several calls */
    mkdir("empty", 0755);
    list("empty", 4096);

    char buf[4096];
    int fd = open("d/alpha", O_RDONLY);
    CHECK("getdents on file", RAW(SYS_getdents64, fd, buf, sizeof buf));
    close(fd);
    CHECK("getdents bad fd", RAW(SYS_getdents64, 99, buf, sizeof buf));
    fd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK("getdents tiny buffer", RAW(SYS_getdents64, fd, buf, 8));
    CHECK("getdents bad buffer", RAW(SYS_getdents64, fd, BAD_PTR, 4096));
    close(fd);
    return 0;
}
