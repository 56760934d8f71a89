/* Fault-around must not change which accesses fault: a file of 5.5 pages mapped over 8
 * pages (the partial page reads its tail as zeros, the pages past it are SIGBUS however
 * their neighbours were touched, and readable once the file grows); private pages mapped
 * by a neighbour's fault still copy on write, shared ones still write the file; PROT_NONE
 * guards inside anonymous and file mappings, and holes punched by munmap, stay SIGSEGV;
 * a file truncated under its mappings is SIGBUS past its new end, private copies too. */
#include "contract.h"
#include <setjmp.h>
#include <sys/mman.h>

#define PG 4096
static sigjmp_buf env;
static volatile int sig, code;

static void h(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    sig = s;
    code = si->si_code;
    siglongjmp(env, 1);
}

/* "ok BYTE", "SIGBUS BUS_ADRERR" or "SIGSEGV SEGV_..." for a read at p */
static void probe(const char *label, volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        int c = *p;
        printf("%s: ok %d\n", label, c);
        return;
    }
    const char *c = sig == SIGBUS ? (code == BUS_ADRERR ? "BUS_ADRERR" : "other")
                    : code == SEGV_MAPERR ? "SEGV_MAPERR"
                    : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    printf("%s: %s %s\n", label, signame(sig), c);
}

static void probe_write(const char *label, volatile char *p, char v)
{
    if (sigsetjmp(env, 1) == 0) {
        *p = v;
        printf("%s: ok\n", label);
        return;
    }
    printf("%s: %s\n", label, signame(sig));
}

static void probe_pages(const char *what, char *base, int pages, int at)
{
    char label[64];
    for (int i = 0; i < pages; i++) {
        snprintf(label, sizeof label, "%s page %d+%d", what, i, at);
        probe(label, base + i * PG + at);
    }
}

static int make_file(const char *name, size_t size)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(size);
    for (size_t i = 0; i < size; i++)
        buf[i] = (char)(1 + i / PG);  /* page i holds the byte i + 1 */
    if (write(fd, buf, size) != (ssize_t)size)
        printf("short write\n");
    free(buf);
    return fd;
}

static char file_byte(int fd, off_t off)
{
    char c = 0;
    if (pread(fd, &c, 1, off) != 1)
        return -1;
    return c;
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    enter_workdir("fault_around");

    /* 5.5 pages: page 5 is partial, pages 6 and 7 of the mapping are past EOF */
    int fd = make_file("half", 5 * PG + PG / 2);
    char *m = mmap(NULL, 8 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    probe("private first touch page 0", m);
    probe_pages("private", m, 8, 0);
    probe("private page 5 last byte in the file", m + 5 * PG + PG / 2 - 1);
    probe("private page 5 tail past EOF", m + 5 * PG + PG / 2);
    probe("private page 5 last byte", m + 6 * PG - 1);
    probe("private page 7 last byte", m + 8 * PG - 1);
    munmap(m, 8 * PG);

    /* the fault nearest EOF first, then the others */
    m = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
    probe("shared first touch page 5", m + 5 * PG);
    probe_pages("shared", m, 8, 100);
    /* the file grows: the pages past the old end are readable (zeros), none past the new */
    if (ftruncate(fd, 7 * PG) < 0)
        printf("ftruncate: %s\n", errname(errno));
    probe_pages("grown", m, 8, 0);
    munmap(m, 8 * PG);
    close(fd);

    /* a private writable mapping: neighbours come in read-only and still copy on write */
    fd = make_file("full", 16 * PG);
    m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    probe("cow read page 0", m);
    probe_write("cow write page 3", m + 3 * PG, 'w');
    printf("cow: mapping %d, file %d, page 4 %d\n", m[3 * PG], file_byte(fd, 3 * PG), m[4 * PG]);
    munmap(m, 16 * PG);

    /* a shared writable mapping: a neighbour's write reaches the file */
    m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    probe("shared rw read page 8", m + 8 * PG);
    probe_write("shared rw write page 9", m + 9 * PG, 's');
    printf("shared rw: file page 9 %c\n", file_byte(fd, 9 * PG));

    /* a guard page inside a file mapping */
    mprotect(m + 2 * PG, PG, PROT_NONE);
    probe("file guard: page 1 before", m + PG);
    probe_pages("file guard", m, 4, 8);
    munmap(m, 16 * PG);
    close(fd);

    /* anonymous memory with PROT_NONE guards and an unmapped hole */
    char *a = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(a + 4 * PG, 2 * PG, PROT_NONE);
    mprotect(a + 15 * PG, PG, PROT_NONE);
    munmap(a + 20 * PG, 4 * PG);
    probe_write("anon write page 0", a, 1);
    probe_write("anon write page 17", a + 17 * PG, 2);
    probe_pages("anon", a, 32, 0);
    probe_write("anon write guard page 4", a + 4 * PG, 3);
    probe_write("anon write hole page 21", a + 21 * PG, 3);
    munmap(a, 32 * PG);

    /* the file shrinks under a shared and a private mapping whose pages are all mapped */
    fd = make_file("shrink", 16 * PG);
    m = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, fd, 0);
    a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    probe("shrink shared page 0", m);
    probe("shrink private page 0", a);
    probe_write("shrink private write page 10", a + 10 * PG, 'p');
    if (ftruncate(fd, 2 * PG + 10) < 0)
        printf("ftruncate: %s\n", errname(errno));
    probe_pages("shrunk shared", m, 5, 20);
    probe("shrunk shared page 2 tail", m + 2 * PG + 10);
    probe_pages("shrunk private", a, 5, 0);
    probe("shrunk private copied page 10", a + 10 * PG);
    munmap(m, 16 * PG);
    munmap(a, 16 * PG);
    close(fd);

    /* a guard just past a file mapping's last page */
    fd = make_file("two", 2 * PG);
    m = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    mprotect(m + 2 * PG, 2 * PG, PROT_NONE);
    probe_pages("two", m, 4, 0);
    munmap(m, 4 * PG);
    close(fd);
    return 0;
}
