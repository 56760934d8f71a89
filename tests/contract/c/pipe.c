/* pipe2: data through, EOF after the write end closes, flags, errors. No fork. */
#include "contract.h"

int main(void)
{
    int p[2];
    CHECK("pipe2", RAW(SYS_pipe2, p, 0));
    BOOL("two distinct fds", p[0] != p[1] && p[0] >= 0 && p[1] >= 0);
    CHECK("write", write(p[1], "through the pipe", 16));
    char buf[64] = {0};
    CHECK("read partial", read(p[0], buf, 7));
    printf("got: %s\n", buf);
    memset(buf, 0, sizeof buf);
    CHECK("read rest", read(p[0], buf, sizeof buf));
    printf("got: %s\n", buf);
    CHECK("write end not readable", RAW(SYS_read, p[1], buf, 1));
    CHECK("read end not writable", RAW(SYS_write, p[0], "x", 1));
    close(p[1]);
    CHECK("read at EOF", read(p[0], buf, sizeof buf));
    close(p[0]);
    CHECK("pipe2 O_CLOEXEC|O_NONBLOCK", RAW(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK));
    CHECK("F_GETFD", fcntl(p[0], F_GETFD));
    BOOL("O_NONBLOCK", fcntl(p[1], F_GETFL) & O_NONBLOCK);
    CHECK("empty nonblocking read", RAW(SYS_read, p[0], buf, 1));
    /* fill the pipe without blocking: capacity is 64 KiB by default */
    static char chunk[4096];
    long total = 0, r;
    while ((r = RAW(SYS_write, p[1], chunk, sizeof chunk)) > 0)
        total += r;
    printf("capacity: %ld then %s\n", total, errname(errno));
    CHECK("pipe2 bad flags", RAW(SYS_pipe2, p, 0x1));
    CHECK("pipe bad pointer", RAW(SYS_pipe2, BAD_PTR, 0));
    struct stat st;
    fstat(p[0], &st);
    BOOL("S_ISFIFO", S_ISFIFO(st.st_mode));
    return 0;
}
