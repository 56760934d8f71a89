/* Signals delivered on either tier: SIGUSR1 sent to itself after an exit-dense stretch
 * (emulated) and right after a compute burst (on KVM), each handler run checking that the
 * interrupted code's registers come back; a timer's SIGALRM during the bursts. */
#include <signal.h>
#include <sys/time.h>
#include "tier.h"

static volatile int usr1, alrm;
static volatile double in_handler;

static void on_usr1(int sig) { (void)sig; usr1++; in_handler = in_handler * 2.0 + 1.0; }
static void on_alrm(int sig) { (void)sig; alrm++; }

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, 0);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_REAL, &it, 0);
    unsigned long x = 1, y = 1;
    for (int r = 0; r < 6; r++) {
        dense(300);
        kill(getpid(), SIGUSR1);   /* emulated */
        x = burst(x, 30);
        kill(getpid(), SIGUSR1);   /* on KVM */
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    for (long i = 0; i < 6 * 30 * CHUNK; i++)
        y = y * 6364136223846793005UL + 1442695040888963407UL;
    printf("usr1 %d, handler value %.1f, alarms %s, bursts %s\n", usr1, in_handler,
           alrm > 0 ? "yes" : "no", x == y ? "agree" : "DIFFER");
    return 0;
}
