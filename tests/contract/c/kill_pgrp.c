/* kill(-pgid) reaches every member of a process group and nobody else; kill(0) reaches the
 * caller's group (including itself); killpg to a missing group is ESRCH. */
#include "contract.h"

static volatile int got;
static void h(int s) { got = s; }

int main(void)
{
    signal(SIGUSR1, h);
    pid_t leader = FORK();
    if (leader == 0) {
        setpgid(0, 0);
        pause();
        _exit(1);
    }
    setpgid(leader, leader);  /* both sides, as a shell does: no race */
    pid_t member = FORK();
    if (member == 0) {
        setpgid(0, leader);
        pause();
        _exit(1);
    }
    setpgid(member, leader);
    pid_t outsider = FORK();
    if (outsider == 0) {
        setpgid(0, 0);
        signal(SIGTERM, SIG_IGN);  /* only SIGKILL at the end */
        pause();
        _exit(1);
    }
    setpgid(outsider, outsider);
    CHECK("members' group", getpgid(member) == leader);
    CHECK("kill(-pgid, SIGTERM)", kill(-leader, SIGTERM));
    reap("leader", leader);
    reap("member", member);
    CHECK("outsider still alive", kill(outsider, 0));
    CHECK("kill missing group", kill(-0x3fffff, SIGTERM));
    CHECK("killpg(outsider)", killpg(outsider, SIGKILL));
    reap("outsider", outsider);
    /* kill(0): our own group, ourselves included (a handler is set, so even pid 1 gets it) */
    pid_t same = FORK();
    if (same == 0) {
        signal(SIGUSR1, SIG_DFL);
        pause();
        _exit(1);
    }
    msleep(20);
    CHECK("kill(0, SIGUSR1)", kill(0, SIGUSR1));
    printf("self got %s\n", signame(got));
    reap("same-group child", same);
    return 0;
}
