/* A file mapped before fork, its pages touched (so mapped in page tables that fork now
 * shares between parent and child), then truncated by the child: past the new end both
 * processes get SIGBUS, for shared and private mappings, and private copies made before
 * the truncate are gone too (Linux's unmap_mapping_range reaches every mapping). */
#include "contract.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PG 4096
static sigjmp_buf env;
static volatile int sig;

static void h(int s)
{
    sig = s;
    siglongjmp(env, 1);
}

static void probe(const char *who, const char *label, volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        int c = *p;
        printf("%s %s: ok %d\n", who, label, c);
    } else {
        printf("%s %s: %s\n", who, label, signame(sig));
    }
    fflush(stdout);
}

static void probe_all(const char *who, char *shared, char *private)
{
    probe(who, "shared page 0", shared);
    probe(who, "shared page 2", shared + 2 * PG);
    probe(who, "private page 0", private);
    probe(who, "private page 2", private + 2 * PG);
}

int main(void)
{
    signal(SIGSEGV, h);
    signal(SIGBUS, h);
    int fd = open("/tmp/taf", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[3 * PG];
    memset(buf, 'f', sizeof buf);
    write(fd, buf, sizeof buf);
    char *shared = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *private = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    for (int i = 0; i < 3; i++) {
        shared[i * PG] += 1;      /* writes the file */
        private[i * PG + 1] = 'p'; /* a private copy of every page */
    }
    pid_t pid = fork();
    if (pid == 0) {
        probe_all("child before", shared, private);
        printf("child truncate: %d\n", ftruncate(fd, PG));
        probe_all("child after", shared, private);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    probe_all("parent after", shared, private);
    unlink("/tmp/taf");
    return 0;
}
