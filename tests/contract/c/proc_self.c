/* /proc/self: exe link (basename only), cmdline, readlink errors and truncation. */
// contract: args=first second
#include "contract.h"
#include <libgen.h>

int main(int argc, char **argv)
{
    char buf[512];
    long n = CHECK("readlink exe", RAW(SYS_readlink, "/proc/self/exe", buf, sizeof buf));
    if (n > 0) {
        buf[n] = 0;
        printf("exe basename: %s\n", basename(buf));
        BOOL("exe absolute", buf[0] == '/');
    }
    BOOL("exe length matches argv[0]", n == (long)strlen(argv[0]));
    CHECK("readlink truncated", RAW(SYS_readlink, "/proc/self/exe", buf, 3));
    CHECK("readlink size 0", RAW(SYS_readlink, "/proc/self/exe", buf, 0));
    CHECK("readlink not a link", RAW(SYS_readlink, "/proc/self/cmdline", buf, sizeof buf));
    CHECK("readlink missing", RAW(SYS_readlink, "/nonexistent", buf, sizeof buf));
    CHECK("readlink bad buf", RAW(SYS_readlink, "/proc/self/exe", BAD_PTR, 10));
    int fd = open("/proc/self/cmdline", O_RDONLY);
    n = read(fd, buf, sizeof buf);
    close(fd);
    printf("cmdline bytes: %ld, args:", n);
    for (long i = 0, start = 0; i < n; i++)
        if (buf[i] == 0) {
            printf(" [%s]", start == 0 ? basename(buf) : buf + start);
            start = i + 1;
        }
    printf("\nargc: %d\n", argc);
    n = RAW(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, sizeof buf);
    BOOL("readlinkat agrees", n == (long)strlen(argv[0]));
    struct stat st;
    BOOL("/proc/self is a dir", stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode));
    return 0;
}
