/* ioctl: TCGETS on non-terminals gives ENOTTY; FIONREAD on a pipe; EBADF. */
#include "contract.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
    struct termios t;
    int p[2];
    pipe(p);
    CHECK("TCGETS pipe", RAW(SYS_ioctl, p[0], TCGETS, &t));
    enter_workdir("ioctl");
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    CHECK("TCGETS file", RAW(SYS_ioctl, fd, TCGETS, &t));
    CHECK("TIOCGWINSZ file", RAW(SYS_ioctl, fd, TIOCGWINSZ, &t));
    int nul = open("/dev/null", O_RDWR);
    CHECK("TCGETS /dev/null", RAW(SYS_ioctl, nul, TCGETS, &t));
    CHECK("TCGETS bad fd", RAW(SYS_ioctl, 99, TCGETS, &t));
    write(p[1], "hello", 5);
    int avail = -1;
    CHECK("FIONREAD pipe", RAW(SYS_ioctl, p[0], FIONREAD, &avail));
    printf("available: %d\n", avail);
    write(fd, "0123456789", 10);
    lseek(fd, 4, SEEK_SET);
    CHECK("FIONREAD file", RAW(SYS_ioctl, fd, FIONREAD, &avail));
    printf("available: %d\n", avail);
    int on = 1;
    CHECK("FIONBIO", RAW(SYS_ioctl, p[0], FIONBIO, &on));
    BOOL("O_NONBLOCK set", fcntl(p[0], F_GETFL) & O_NONBLOCK);
    CHECK("FIOCLEX", RAW(SYS_ioctl, fd, FIOCLEX));
    CHECK("F_GETFD after FIOCLEX", fcntl(fd, F_GETFD));
    return 0;
}
