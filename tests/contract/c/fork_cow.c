/* Copy-on-write: parent and child each see their own writes to data, bss, stack and heap. */
#include "contract.h"

static int data_var = 1;
static int bss_var;

int main(void)
{
    int stack_var = 3;
    int *heap = malloc(sizeof *heap);
    *heap = 4;
    bss_var = 2;
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        data_var = 10; bss_var = 20; stack_var = 30; *heap = 40;
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%d %d %d %d", data_var, bss_var, stack_var, *heap);
        write(p[1], buf, n);
        _exit(0);
    }
    close(p[1]);
    char buf[64] = {0};
    read(p[0], buf, sizeof buf - 1);
    reap("child", pid);
    printf("child saw: %s\n", buf);
    printf("parent sees: %d %d %d %d\n", data_var, bss_var, stack_var, *heap);
    data_var = 100;
    pid = FORK();
    if (pid == 0)
        _exit(data_var == 100 ? 0 : 1);
    reap("second child sees parent's later write", pid);
    return 0;
}
