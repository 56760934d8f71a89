/* sigaltstack: SA_ONSTACK handlers run on the alternate stack (SS_ONSTACK while there, and it
 * cannot be changed then: EPERM); without SA_ONSTACK they do not; a stack overflow's SIGSEGV
 * is caught on the alternate stack. */
#include "contract.h"
#include <setjmp.h>

static char *alt;
#define ALT_SIZE (64 * 1024)
static volatile int on_alt, flags_inside, change_inside;
static sigjmp_buf env;

static int in_alt(void *p) { return (char *)p >= alt && (char *)p < alt + ALT_SIZE; }

static void h(int s)
{
    (void)s;
    int local;
    on_alt = in_alt(&local);
    stack_t cur;
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    stack_t other = {.ss_sp = alt, .ss_size = ALT_SIZE};
    change_inside = sigaltstack(&other, NULL) < 0 ? errno : 0;
}

static void segv(int s)
{
    (void)s;
    int local;
    on_alt = in_alt(&local);
    siglongjmp(env, 1);
}

static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

int main(void)
{
    stack_t ss, old;
    CHECK("query", sigaltstack(NULL, &old));
    BOOL("initially disabled", old.ss_flags == SS_DISABLE);
    alt = malloc(ALT_SIZE);
    ss.ss_sp = alt; ss.ss_size = ALT_SIZE; ss.ss_flags = 0;
    CHECK("set", sigaltstack(&ss, NULL));
    ss.ss_size = 100;
    CHECK("too small", sigaltstack(&ss, NULL));
    ss.ss_size = ALT_SIZE; ss.ss_flags = 12345;
    CHECK("bad flags", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &old);
    BOOL("query returns it", old.ss_sp == alt && old.ss_size == ALT_SIZE && old.ss_flags == 0);
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK: on alt %s, ss_flags %s, change inside %s\n", on_alt ? "yes" : "no",
           flags_inside == SS_ONSTACK ? "SS_ONSTACK" : "other", errname(change_inside));
    raise(SIGUSR2);
    printf("no SA_ONSTACK: on alt %s, ss_flags %d\n", on_alt ? "yes" : "no", flags_inside);
    sa.sa_handler = segv;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        recurse(0);
        printf("no overflow?\n");
    } else {
        printf("stack overflow caught on alt stack: %s\n", on_alt ? "yes" : "no");
    }
    ss.ss_flags = SS_DISABLE;
    CHECK("disable", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &old);
    BOOL("disabled", old.ss_flags == SS_DISABLE);
    return 0;
}
