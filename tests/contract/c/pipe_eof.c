/* EOF only when every write end is closed, in every process holding one. */
#include "contract.h"

int main(void)
{
    int p[2];
    pipe(p);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = FORK();
        if (kids[i] == 0) {
            close(p[0]);
            msleep(20 * (i + 1));
            char c = 'a' + i;
            write(p[1], &c, 1);
            _exit(0);
        }
    }
    close(p[1]);
    char buf[16] = {0};
    int n = 0, r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    /* the writers' order is the scheduler's: only which bytes arrived is checked */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && buf[j - 1] > buf[j]; j--) {
            char t = buf[j];
            buf[j] = buf[j - 1];
            buf[j - 1] = t;
        }
    printf("read until EOF: %d bytes '%s', last read %d\n", n, buf, r);
    for (int i = 0; i < 3; i++)
        reap("writer", kids[i]);
    CHECK("read again at EOF", read(p[0], buf, 1));
    /* the reader's own copy of the write end keeps the pipe open: non-blocking read */
    pipe(p);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    CHECK("own write end open", read(p[0], buf, 1));
    close(p[1]);
    CHECK("after closing it", read(p[0], buf, 1));
    return 0;
}
