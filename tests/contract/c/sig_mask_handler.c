/* Inside a handler its own signal and sa_mask are blocked (delivered after it returns);
 * SA_NODEFER lets it nest; SA_RESETHAND restores SIG_DFL; the mask is restored afterwards. */
#include "contract.h"

static char log_[256];
static int depth;

static void logc(const char *s) { strcat(log_, s); }

static void h1(int s)
{
    (void)s;
    logc("<1");
    if (depth++ == 0) {
        raise(SIGUSR1);  /* blocked: own signal */
        raise(SIGUSR2);  /* blocked: in sa_mask */
        sigset_t m;
        sigpending(&m);
        logc(sigismember(&m, SIGUSR1) && sigismember(&m, SIGUSR2) ? "(both pending)" : "(?)");
    }
    logc(">");
}

static void h2(int s) { (void)s; logc("<2>"); }

static int nest;
static void hn(int s)
{
    (void)s;
    logc("<n");
    if (nest++ == 0)
        raise(SIGURG);
    logc(">");
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = h1;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = h2;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR1);
    printf("sa_mask: %s\n", log_);
    sigset_t m;
    sigprocmask(SIG_BLOCK, NULL, &m);
    BOOL("mask restored after handlers", !sigismember(&m, SIGUSR1) && !sigismember(&m, SIGUSR2));
    log_[0] = 0;
    sa.sa_handler = hn;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGURG, &sa, NULL);
    raise(SIGURG);
    printf("SA_NODEFER: %s\n", log_);
    log_[0] = 0;
    sa.sa_handler = h2;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    struct sigaction old;
    sigaction(SIGUSR2, NULL, &old);
    printf("SA_RESETHAND: %s, now %s\n", log_, old.sa_handler == SIG_DFL ? "SIG_DFL" : "handler");
    return 0;
}
