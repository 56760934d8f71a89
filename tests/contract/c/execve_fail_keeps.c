/* A failed execve leaves the caller untouched: after each failure an O_CLOEXEC fd is still
 * open, a handler installed before is still installed (and runs), a second thread created
 * before still answers through a pipe, the pid is the same. The failures are all ones Linux
 * finds before its point of no return (begin_new_exec): arguments past the stack's share
 * (E2BIG), one argument longer than MAX_ARG_STRLEN (E2BIG; one byte shorter is accepted), a
 * PT_INTERP naming a missing interpreter (ENOENT, found before any PT_LOAD is looked at, so
 * even with a PT_LOAD in the kernel half), an interpreter that is not ELF (ELIBBAD), a
 * program header table over 64 KiB (ENOEXEC); also one failure from the second thread.
 * A PT_LOAD the address space cannot take (in the kernel half, or a p_memsz of 2^62) is only
 * found past that point on Linux: the process is killed with SIGSEGV (tried in a child). */
// contract: timeout=120
#include "contract.h"
#include <elf.h>
#include <pthread.h>

#define MAX_ARG_STRLEN (32 * 4096)

static const char *ename(int e) { return e == ELIBBAD ? "ELIBBAD" : errname(e); }

static unsigned char code[] = {0xb8, 60, 0, 0, 0, 0xbf, 42, 0, 0, 0, 0x0f, 0x05}; /* exit(42) */

/* A static ELF64 with one PT_LOAD of its page at 0x1000 (code: exit(42)); optionally a
 * PT_INTERP naming interp, a bogus phnum. */
static void make_elf(const char *path, uint64_t vaddr, uint64_t memsz, const char *interp,
                     int phnum)
{
    static unsigned char buf[8192];
    memset(buf, 0, sizeof buf);
    Elf64_Ehdr *eh = (void *)buf;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof *eh;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    Elf64_Phdr *ph = (void *)(buf + sizeof *eh);
    int i = 0;
    if (interp) {
        strcpy((char *)buf + 0x400, interp);
        ph[0].p_type = PT_INTERP;
        ph[0].p_flags = PF_R;
        ph[0].p_offset = 0x400;
        ph[0].p_filesz = ph[0].p_memsz = strlen(interp) + 1;
        ph[0].p_align = 1;
        i = 1;
    }
    ph[i].p_type = PT_LOAD;
    ph[i].p_flags = PF_R | PF_X;
    ph[i].p_offset = 0x1000;
    ph[i].p_vaddr = ph[i].p_paddr = vaddr;
    ph[i].p_filesz = 0x1000;
    ph[i].p_memsz = memsz;
    ph[i].p_align = 0x1000;
    eh->e_phnum = phnum ? phnum : i + 1;
    memcpy(buf + 0x1000, code, sizeof code);
    eh->e_entry = vaddr;
    put_file(path, buf, sizeof buf, 0755);
}

/* ---- the second thread: answers each byte on ask[0] with byte+1 on answer[1]; byte 'x'
 * makes it execve the file named in exec_path and answer with the errno ---- */
static int ask[2], answer[2];
static char exec_path[64];

static void *responder(void *arg)
{
    (void)arg;
    unsigned char c;
    while (read(ask[0], &c, 1) == 1) {
        if (c == 'q')
            break;
        if (c == 'x') {
            char *av[] = {"from-thread", NULL}, *ev[] = {NULL};
            execve(exec_path, av, ev);
            c = (unsigned char)errno;
        } else {
            c++;
        }
        write(answer[1], &c, 1);
    }
    return NULL;
}

static int thread_answers(void)
{
    unsigned char c = 'a';
    if (write(ask[1], &c, 1) != 1 || read(answer[0], &c, 1) != 1)
        return 0;
    return c == 'b';
}

static volatile int handled;
static void on_usr1(int s) { (void)s; handled++; }

static pid_t pid0;
static int cloexec_fd;

static void check(void)
{
    BOOL("  O_CLOEXEC fd still open with FD_CLOEXEC", fcntl(cloexec_fd, F_GETFD) == FD_CLOEXEC);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    BOOL("  SIGUSR1 handler still installed", sa.sa_handler == on_usr1);
    int before = handled;
    raise(SIGUSR1);
    BOOL("  and it runs", handled == before + 1);
    BOOL("  the second thread answers", thread_answers());
    BOOL("  same pid", getpid() == pid0 && RAW(SYS_gettid) == pid0);
    BOOL("  threads", status_threads() == 2);
}

static void try_exec(const char *label, const char *path, char **argv)
{
    char *envp[] = {"A=1", NULL};
    fflush(stdout);
    long r = execve(path, argv, envp);
    printf("%s: %ld %s\n", label, r, ename(errno));
    check();
}

int main(void)
{
    enter_workdir("execve_fail_keeps");
    pid0 = getpid();
    cloexec_fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pipe(ask);
    pipe(answer);
    pthread_t th;
    pthread_create(&th, NULL, responder, NULL);
    printf("before:\n");
    check();

    /* the targets (absolute paths: the thread's execve too) */
    make_elf("/tmp/execve_fail_keeps/nointerp", 0x400000, 0x1000, "/nonexistent/ld.so", 0);
    make_elf("/tmp/execve_fail_keeps/nointerp_kernel_load", 0xffff800000000000UL, 0x1000,
             "/nonexistent/ld.so", 0);
    put_file("/tmp/execve_fail_keeps/notelf", "just text\n", 10, 0755);
    make_elf("/tmp/execve_fail_keeps/shortinterp", 0x400000, 0x1000,
             "/tmp/execve_fail_keeps/notelf", 0);
    static char text[200];
    memset(text, 't', sizeof text);
    put_file("/tmp/execve_fail_keeps/notelf2", text, sizeof text, 0755);
    make_elf("/tmp/execve_fail_keeps/badinterp", 0x400000, 0x1000,
             "/tmp/execve_fail_keeps/notelf2", 0);
    make_elf("/tmp/execve_fail_keeps/bigphdrs", 0x400000, 0x1000, NULL, 1200);
    make_elf("/tmp/execve_fail_keeps/kernel_load", 0xffff800000000000UL, 0x1000, NULL, 0);
    make_elf("/tmp/execve_fail_keeps/huge_memsz", 0x400000, 1UL << 62, NULL, 0);
    make_elf("/tmp/execve_fail_keeps/good", 0x400000, 0x1000, NULL, 0);

    char *argv1[] = {"prog", NULL};

    /* (b) arguments past ARG_MAX: 256 x 100,000 bytes (the same string) */
    static char big[MAX_ARG_STRLEN + 2];
    memset(big, 'a', 100000);
    static char *many[260];
    many[0] = "prog";
    for (int i = 1; i < 257; i++)
        many[i] = big;
    many[257] = NULL;
    try_exec("(b) 25.6 MB of arguments", "/tmp/execve_fail_keeps/nointerp", many);

    /* (c) one argument of MAX_ARG_STRLEN bytes with its NUL: accepted (then ENOENT for the
     * interpreter); one byte more: E2BIG */
    memset(big, 'b', sizeof big - 1);
    big[MAX_ARG_STRLEN - 1] = 0;
    char *one[] = {"prog", big, NULL};
    try_exec("(c) an argument of MAX_ARG_STRLEN with its NUL", "/tmp/execve_fail_keeps/nointerp",
             one);
    big[MAX_ARG_STRLEN - 1] = 'b';
    big[MAX_ARG_STRLEN] = 0;
    try_exec("(c) an argument one byte longer", "/tmp/execve_fail_keeps/nointerp", one);
    char *env_big[] = {big, NULL};
    fflush(stdout);
    long r = execve("/tmp/execve_fail_keeps/nointerp", argv1, env_big);
    printf("(c) an environment string one byte longer: %ld %s\n", r, ename(errno));
    check();

    /* (d) PT_INTERP naming a missing interpreter */
    try_exec("(d) missing interpreter", "/tmp/execve_fail_keeps/nointerp", argv1);
    try_exec("(a+d) missing interpreter, PT_LOAD in the kernel half",
             "/tmp/execve_fail_keeps/nointerp_kernel_load", argv1);
    try_exec("interpreter shorter than an ELF header", "/tmp/execve_fail_keeps/shortinterp",
             argv1);
    try_exec("interpreter not ELF", "/tmp/execve_fail_keeps/badinterp", argv1);
    try_exec("program headers over 64 KiB", "/tmp/execve_fail_keeps/bigphdrs", argv1);

    /* from the second thread: the thread itself survives and answers */
    strcpy(exec_path, "/tmp/execve_fail_keeps/nointerp");
    unsigned char c = 'x';
    fflush(stdout);
    write(ask[1], &c, 1);
    read(answer[0], &c, 1);
    printf("missing interpreter, execve from the second thread: %s\n", ename(c));
    check();

    /* (a) a PT_LOAD the address space cannot take: Linux gets past its point of no return
     * first and kills the process (a child here) with SIGSEGV */
    const char *fatal[] = {"/tmp/execve_fail_keeps/kernel_load",
                           "/tmp/execve_fail_keeps/huge_memsz", "/tmp/execve_fail_keeps/good"};
    const char *what[] = {"(a) PT_LOAD in the kernel half", "(a) p_memsz of 2^62",
                          "a good one (exits 42)"};
    for (int i = 0; i < 3; i++) {
        pid_t pid = FORK();
        if (pid == 0) {
            char *envp[] = {NULL};
            execve(fatal[i], argv1, envp);
            printf("%s: execve -1 %s, the process survives\n", what[i], ename(errno));
            fflush(stdout);
            _exit(0);
        }
        reap(what[i], pid);
    }
    check();

    c = 'q';
    write(ask[1], &c, 1);
    pthread_join(th, NULL);
    return 0;
}
