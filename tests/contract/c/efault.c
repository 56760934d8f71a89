/* EFAULT: bad user pointers given to write/read/openat/stat/fstat/uname/getcwd. */
#include "contract.h"
#include <sys/utsname.h>

int main(void)
{
    enter_workdir("efault");
    put_file("data", "some data\n", 10, 0644);
    void *ptrs[] = {BAD_PTR, KERNEL_PTR};
    const char *names[] = {"(void*)1", "kernel half"};
    for (int i = 0; i < 2; i++) {
        void *p = ptrs[i];
        printf("-- %s\n", names[i]);
        fflush(stdout);
        CHECK("write", RAW(SYS_write, 1, p, 5));
        int fd = open("data", O_RDONLY);
        CHECK("read", RAW(SYS_read, fd, p, 5));
        CHECK("offset unchanged", lseek(fd, 0, SEEK_CUR));
        CHECK("fstat", RAW(SYS_fstat, fd, p));
        close(fd);
        CHECK("openat path", RAW(SYS_openat, AT_FDCWD, p, O_RDONLY));
        CHECK("newfstatat path", RAW(SYS_newfstatat, AT_FDCWD, p, malloc(256), 0));
        struct stat st;
        CHECK("newfstatat buf", RAW(SYS_newfstatat, AT_FDCWD, "data", p, 0));
        CHECK("stat ok after", RAW(SYS_newfstatat, AT_FDCWD, "data", &st, 0));
        CHECK("uname", RAW(SYS_uname, p));
        CHECK("getcwd", RAW(SYS_getcwd, p, 100));
        CHECK("chdir", RAW(SYS_chdir, p));
        CHECK("mkdir", RAW(SYS_mkdir, p, 0755));
        CHECK("unlink", RAW(SYS_unlink, p));
        CHECK("pipe2", RAW(SYS_pipe2, p, 0));
        CHECK("clock_gettime", RAW(SYS_clock_gettime, 1, p));
    }
    return 0;
}
