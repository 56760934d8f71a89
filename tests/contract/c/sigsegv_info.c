/* SIGSEGV for a program's own bad accesses: si_code and si_addr for a write to an unmapped
 * page, to a read-only mapping, to the text segment, a NULL read; SIGBUS past a file's end;
 * the handler can fix the page with mprotect and return to retry the access. */
#include "contract.h"
#include <setjmp.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile void *addr;
static volatile int sig, code;
static char *fixme;

static void h(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    sig = s;
    code = si->si_code;
    addr = si->si_addr;
    if (fixme && (char *)si->si_addr >= fixme && (char *)si->si_addr < fixme + 4096) {
        mprotect(fixme, 4096, PROT_READ | PROT_WRITE);
        return;  /* retry the faulting write */
    }
    siglongjmp(env, 1);
}

static const char *cname(int s, int c)
{
    if (s == SIGSEGV)
        return c == SEGV_MAPERR ? "SEGV_MAPERR" : c == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    if (s == SIGBUS)
        return c == BUS_ADRERR ? "BUS_ADRERR" : "other";
    return "other";
}

#define TRY(label, stmt, expect)                                                          \
    do {                                                                                  \
        if (sigsetjmp(env, 1) == 0) {                                                     \
            stmt;                                                                         \
            printf("%s: no fault\n", label);                                              \
        } else {                                                                          \
            printf("%s: %s %s addr %s\n", label, signame(sig), cname(sig, code),          \
                   addr == (void *)(expect) ? "match" : "differs");                      \
        }                                                                                 \
    } while (0)

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    char *ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    TRY("write unmapped", *(volatile char *)(gone + 5) = 1, gone + 5);
    TRY("write read-only", *(volatile char *)(ro + 4097) = 1, ro + 4097);
    TRY("write text", *(volatile char *)(void *)main = 1, (void *)main);
    TRY("read NULL", (void)*(volatile int *)0, 0);
    TRY("read high kernel address", (void)*(volatile char *)KERNEL_PTR, 0);
    enter_workdir("sigsegv_info");
    put_file("small", "x", 1, 0644);
    int fd = open("small", O_RDONLY);
    char *fm = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    TRY("read past EOF page", (void)*(volatile char *)(fm + 4096), fm + 4096);
    printf("first page readable: %c\n", fm[0]);
    fixme = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sig = 0;
    fixme[10] = 'k';
    printf("handler fixed the page and the write retried: %s (%c)\n",
           sig == SIGSEGV && fixme[10] == 'k' ? "yes" : "no", fixme[10]);
    return 0;
}
