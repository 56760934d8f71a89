/* prctl PR_SET_NAME / PR_GET_NAME (comm is 15 bytes + NUL); /proc/self/comm agrees. */
#include "contract.h"
#include <sys/prctl.h>

static void show_comm(void)
{
    char buf[64] = {0};
    int fd = open("/proc/self/comm", O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("/proc/self/comm: %ld [%s]\n", n, buf[0] ? strtok(buf, "\n") : "");
}

int main(void)
{
    char name[32];
    memset(name, 'Q', sizeof name);
    CHECK("PR_GET_NAME", RAW(SYS_prctl, PR_GET_NAME, name, 0, 0, 0));
    printf("initial name: [%s]\n", name);
    show_comm();
    CHECK("PR_SET_NAME short", RAW(SYS_prctl, PR_SET_NAME, "short", 0, 0, 0));
    RAW(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
    printf("name: [%s]\n", name);
    CHECK("PR_SET_NAME long", RAW(SYS_prctl, PR_SET_NAME, "a-very-long-process-name", 0, 0, 0));
    memset(name, 'Q', sizeof name);
    RAW(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
    printf("name: [%s] len %zu byte16 %d\n", name, strlen(name), name[16]);
    show_comm();
    CHECK("PR_SET_NAME bad ptr", RAW(SYS_prctl, PR_SET_NAME, BAD_PTR, 0, 0, 0));
    CHECK("PR_GET_NAME bad ptr", RAW(SYS_prctl, PR_GET_NAME, BAD_PTR, 0, 0, 0));
    CHECK("unknown option", RAW(SYS_prctl, 0x7fff1234, 0, 0, 0, 0));
    CHECK("PR_GET_DUMPABLE", RAW(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0));
    CHECK("PR_SET_PDEATHSIG", RAW(SYS_prctl, PR_SET_PDEATHSIG, 9, 0, 0, 0));
    int sig = -1;
    CHECK("PR_GET_PDEATHSIG", RAW(SYS_prctl, PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    printf("pdeathsig: %d\n", sig);
    return 0;
}
