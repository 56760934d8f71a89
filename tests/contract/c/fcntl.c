/* fcntl: F_GETFD/F_SETFD, F_GETFL/F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC, errors. */
#include "contract.h"

int main(void)
{
    enter_workdir("fcntl");
    int fd = open("f", O_RDWR | O_CREAT | O_APPEND, 0644);
    CHECK("F_GETFD", RAW(SYS_fcntl, fd, F_GETFD));
    CHECK("F_SETFD FD_CLOEXEC", RAW(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC));
    CHECK("F_GETFD", RAW(SYS_fcntl, fd, F_GETFD));
    CHECK("F_SETFD 0", RAW(SYS_fcntl, fd, F_SETFD, 0));
    CHECK("F_GETFD", RAW(SYS_fcntl, fd, F_GETFD));
    long fl = RAW(SYS_fcntl, fd, F_GETFL);
    printf("F_GETFL accmode=%ld append=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND),
           !!(fl & O_NONBLOCK));
    CHECK("F_SETFL O_NONBLOCK", RAW(SYS_fcntl, fd, F_SETFL, O_NONBLOCK));
    fl = RAW(SYS_fcntl, fd, F_GETFL);
    printf("F_GETFL accmode=%ld append=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND),
           !!(fl & O_NONBLOCK));
    CHECK("F_SETFL ignores access mode", RAW(SYS_fcntl, fd, F_SETFL, O_RDONLY | O_APPEND));
    fl = RAW(SYS_fcntl, fd, F_GETFL);
    printf("F_GETFL accmode=%ld append=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND),
           !!(fl & O_NONBLOCK));
    int ro = open("f", O_RDONLY);
    fl = RAW(SYS_fcntl, ro, F_GETFL);
    printf("O_RDONLY accmode=%ld\n", fl & O_ACCMODE);
    CHECK("F_DUPFD 10", RAW(SYS_fcntl, fd, F_DUPFD, 10));
    CHECK("F_DUPFD 10 again", RAW(SYS_fcntl, fd, F_DUPFD, 10));
    CHECK("F_GETFD of dup", RAW(SYS_fcntl, 10, F_GETFD));
    CHECK("F_DUPFD_CLOEXEC 20", RAW(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 20));
    CHECK("F_GETFD of cloexec dup", RAW(SYS_fcntl, 20, F_GETFD));
    CHECK("F_DUPFD 0 gives lowest", RAW(SYS_fcntl, fd, F_DUPFD, 0));
    CHECK("F_DUPFD negative", RAW(SYS_fcntl, fd, F_DUPFD, -1));
    CHECK("F_DUPFD huge", RAW(SYS_fcntl, fd, F_DUPFD, 1 << 30));
    CHECK("bad cmd", RAW(SYS_fcntl, fd, 9999));
    CHECK("bad fd", RAW(SYS_fcntl, 99, F_GETFL));
    CHECK("dup shares flags: F_GETFL of 10 has append",
          (RAW(SYS_fcntl, 10, F_GETFL) & O_APPEND) ? 1 : 0);
    return 0;
}
