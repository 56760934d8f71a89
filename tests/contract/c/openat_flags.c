/* openat(2) flags: O_CREAT|O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, and path errors. */
#include "contract.h"

static long fsize(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

int main(void)
{
    enter_workdir("openat_flags");
    int fd = CHECK("creat excl new", RAW(SYS_openat, AT_FDCWD, "f", O_WRONLY | O_CREAT | O_EXCL, 0644));
    CHECK("write", write(fd, "0123456789", 10));
    CHECK("close", close(fd));
    CHECK("creat excl existing", RAW(SYS_openat, AT_FDCWD, "f", O_WRONLY | O_CREAT | O_EXCL, 0644));
    printf("size before trunc: %ld\n", fsize("f"));

    fd = RAW(SYS_openat, AT_FDCWD, "f", O_WRONLY | O_APPEND);
    CHECK("append write", write(fd, "ab", 2));
    lseek(fd, 0, SEEK_SET);
    CHECK("append write after seek 0", write(fd, "cd", 2));
    close(fd);
    printf("size after append: %ld\n", fsize("f"));
    char buf[32] = {0};
    fd = open("f", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("contents: %s\n", buf);

    fd = RAW(SYS_openat, AT_FDCWD, "f", O_RDWR | O_TRUNC);
    close(fd);
    printf("size after trunc: %ld\n", fsize("f"));

    CHECK("O_DIRECTORY on file", RAW(SYS_openat, AT_FDCWD, "f", O_RDONLY | O_DIRECTORY));
    fd = CHECK("O_DIRECTORY on dir", RAW(SYS_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY));
    close(fd);
    CHECK("missing file", RAW(SYS_openat, AT_FDCWD, "nope", O_RDONLY));
    CHECK("missing dir component", RAW(SYS_openat, AT_FDCWD, "nodir/x", O_RDONLY | O_CREAT, 0644));
    CHECK("file as dir component", RAW(SYS_openat, AT_FDCWD, "f/x", O_RDONLY));
    CHECK("dir for writing", RAW(SYS_openat, AT_FDCWD, ".", O_WRONLY));
    CHECK("empty path", RAW(SYS_openat, AT_FDCWD, "", O_RDONLY));
    CHECK("bad dirfd relative", RAW(SYS_openat, 99, "f", O_RDONLY));
    fd = CHECK("bad dirfd absolute", RAW(SYS_openat, 99, "/tmp/openat_flags/f", O_RDONLY));
    close(fd);
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK("name too long", RAW(SYS_openat, AT_FDCWD, longname, O_RDONLY | O_CREAT, 0644));

    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    fd = CHECK("openat relative to dirfd", RAW(SYS_openat, dfd, "g", O_WRONLY | O_CREAT, 0600));
    close(fd);
    printf("g exists: %ld\n", fsize("g"));
    fd = CHECK("lowest fd reused", RAW(SYS_openat, AT_FDCWD, "g", O_RDONLY));
    close(fd);
    close(dfd);
    return 0;
}
