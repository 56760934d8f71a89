/* /dev/tty without a controlling terminal: a process whose session has none (its stdio
 * pipes or files, as under CI or `docker run` without -t) gets ENXIO, whatever the flags;
 * after setsid() too. CPython's test_fileio.testAbles relies on it. */
#include "contract.h"
#include <sys/sysmacros.h>

static void try_open(const char *label, int flags)
{
    int fd = open("/dev/tty", flags);
    CHECK(label, fd < 0 ? -1 : 0);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    BOOL("stdin is a terminal", isatty(0));
    try_open("open /dev/tty O_RDWR", O_RDWR);
    try_open("open /dev/tty O_WRONLY|O_APPEND", O_WRONLY | O_APPEND);
    try_open("open /dev/tty O_RDONLY|O_NOCTTY", O_RDONLY | O_NOCTTY);
    pid_t child = fork();
    if (child == 0) {
        CHECK("setsid", setsid() < 0 ? -1 : 0);
        try_open("child after setsid: open /dev/tty", O_RDWR);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    struct stat st;
    CHECK("stat /dev/tty", stat("/dev/tty", &st));
    BOOL("/dev/tty is a character device 5,0",
         S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 0);
    return 0;
}
