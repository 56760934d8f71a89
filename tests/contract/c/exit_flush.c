/* exit() flushes stdio buffers, _exit() does not; a child's buffered output copied by fork is
 * printed twice unless flushed first; atexit handlers run on exit() only. */
#include "contract.h"

static void bye(void) { printf("atexit handler ran in %s\n", getpid() == 1 ? "pid 1" : "child"); }

int main(void)
{
    setvbuf(stdout, NULL, _IOFBF, 4096);
    atexit(bye);
    pid_t p = FORK();
    if (p == 0) {
        printf("child buffered, _exit\n");
        _exit(0);
    }
    reap("child 1", p);
    p = FORK();
    if (p == 0) {
        printf("child buffered, exit\n");
        exit(0);
    }
    reap("child 2", p);
    printf("parent buffered before fork\n");  /* not flushed: the child inherits a copy */
    p = fork();
    if (p == 0)
        exit(0);
    waitpid(p, NULL, 0);
    fflush(stdout);
    return 0;
}
