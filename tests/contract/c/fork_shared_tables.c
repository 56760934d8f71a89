/* After fork, parent and child write the same pages - stack, heap, a big anonymous mapping
 * spanning several page tables, a MAP_SHARED mapping, private and shared file mappings - and
 * each sees its own data while shared memory stays shared; the kernel's own writes (read()
 * into a buffer) too. Then: grandchildren sharing what their parents share, munmap and
 * mprotect in a child of a range it shares with its parent, vfork, and a fork from a
 * process with a second thread that keeps writing. (On-demand fork shares the page tables
 * themselves until a write or a change of mappings.) */
#include "contract.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define BIG (10 << 20) /* five 2 MiB page tables and more */
#define PAGE 4096

static int data_var = 1;
static char bss_buf[3 * PAGE];

static void sync_write(int fd) { char c = 'x'; if (write(fd, &c, 1) != 1) _exit(90); }
static void sync_read(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(91); }

/* Page i of [p, p+len) gets v + i in its first word and its last byte: a sub-range starting
 * at page k checks with v + k. */
static void fill(volatile char *p, size_t len, int v)
{
    for (size_t off = 0; off < len; off += PAGE) {
        *(volatile int *)(p + off) = v + (int)(off / PAGE);
        p[off + PAGE - 1] = (char)(v + (int)(off / PAGE));
    }
}

static int check(volatile char *p, size_t len, int v)
{
    for (size_t off = 0; off < len; off += PAGE)
        if (*(volatile int *)(p + off) != v + (int)(off / PAGE) || p[off + PAGE - 1] != (char)(v + (int)(off / PAGE)))
            return 0;
    return 1;
}

static void both_write(void)
{
    volatile char stack_buf[2 * PAGE];
    char *heap = malloc(5 * PAGE);
    char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile int *shm = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char content[2 * PAGE];
    memset(content, 'F', sizeof content);
    put_file("f", content, sizeof content, 0644);
    int fd = open("f", O_RDWR);
    char *fpriv = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *fshared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fill(stack_buf, sizeof stack_buf, 10);
    fill(heap, 5 * PAGE, 20);
    fill(big, BIG, 30);
    fill(bss_buf, sizeof bss_buf, 40);
    data_var = 5;
    shm[0] = 1;
    fpriv[0] = 'p';
    /* written after fork by the kernel only (read() into it), before any user write there */
    char *kbuf = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *kb = kbuf + (2 << 20) + 10;
    memset(kb - 10, 'K', 64);
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t pid = FORK();
    int me = pid == 0 ? 100 : 200;
    if (pid == 0)
        pread(fd, kb, 8, 0);
    /* The child writes first, then the parent; then each checks its own view. */
    if (pid != 0)
        sync_read(to_parent[0]);
    fill(stack_buf, sizeof stack_buf, me + 1);
    fill(heap, 5 * PAGE, me + 2);
    fill(big + PAGE, BIG - 2 * PAGE, me + 3); /* not the first and last page */
    fill(bss_buf, sizeof bss_buf, me + 4);
    data_var = me;
    fpriv[1] = (char)me;
    shm[pid == 0 ? 1 : 2] = me;
    fshared[pid == 0 ? 10 : 11] = pid == 0 ? 'c' : 'p';
    /* the kernel writes into the shared tables too */
    char *rbuf = heap + 2 * PAGE + 100;
    pread(fd, rbuf, 8, pid == 0 ? 0 : 100);
    if (pid == 0) {
        sync_write(to_parent[1]);
        sync_read(to_child[0]);
    } else {
        sync_write(to_child[1]);
    }
    char line[256];
    snprintf(line, sizeof line,
             "%s: stack %d heap %d big %d edges %d bss %d data %d fpriv %d shm %d %d %d "
             "fshared %c%c rbuf %d kbuf %d\n",
             pid == 0 ? "child" : "parent",
             check(stack_buf, sizeof stack_buf, me + 1),
             /* the pread went into the third heap page: compare around it */
             *(volatile int *)heap == me + 2 && heap[5 * PAGE - 1] == (char)(me + 2 + 4),
             check(big + PAGE, BIG - 2 * PAGE, me + 3),
             check(big, PAGE, 30) && *(volatile int *)(big + BIG - PAGE) == 30 + BIG / PAGE - 1,
             check(bss_buf, sizeof bss_buf, me + 4), data_var == me,
             fpriv[0] == 'p' && fpriv[1] == (char)me, shm[0], shm[1], shm[2],
             fshared[10], fshared[11], memcmp(rbuf, "FFFFFFFF", 8) == 0,
             memcmp(kb, pid == 0 ? "FFFFFFFF" : "KKKKKKKK", 8) == 0);
    if (pid == 0) {
        write(to_parent[1], line, strlen(line));
        _exit(0);
    }
    char got[256] = {0};
    read(to_parent[0], got, sizeof got - 1);
    reap("child", pid);
    fputs(got, stdout);
    fputs(line, stdout);
    char file[4] = {0};
    pread(fd, file, 3, 0);
    printf("file: private writes stayed private: %d, shared writes reached it: %d\n",
           file[0] == 'F' && file[1] == 'F', fshared[10] == 'c' && fshared[11] == 'p');
    close(fd);
    munmap(big, BIG);
    munmap(kbuf, 4 << 20);
    free(heap);
}

/* One table shared three ways: parent, child and grandchild, each writing in turn. */
static void nested(void)
{
    char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(big, BIG, 1);
    int p[2];
    pipe(p);
    pid_t child = FORK();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            int ok = check(big, BIG, 1);
            fill(big, BIG / 2, 3);
            ok = ok && check(big, BIG / 2, 3) && check(big + BIG / 2, BIG / 2, 1 + BIG / 2 / PAGE);
            _exit(ok ? 0 : 1);
        }
        int st;
        waitpid(grandchild, &st, 0);
        int ok = check(big, BIG, 1); /* the grandchild's writes are its own */
        fill(big + BIG / 2, BIG / 2, 2);
        ok = ok && check(big, BIG / 2, 1) && check(big + BIG / 2, BIG / 2, 2);
        /* a second grandchild, sharing what this child now owns */
        pid_t g2 = fork();
        if (g2 == 0)
            _exit(check(big + BIG / 2, BIG / 2, 2) && check(big, BIG / 2, 1) ? 0 : 1);
        int st2;
        waitpid(g2, &st2, 0);
        _exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 && WEXITSTATUS(st2) == 0 ? 0 : 1);
    }
    reap("nested child and grandchildren", child);
    BOOL("parent's big mapping untouched", check(big, BIG, 1));
    munmap(big, BIG);
}

static void segv_handler(int sig) { (void)sig; _exit(77); }

/* munmap and mprotect, in the child, of a range it still shares with the parent. */
static void change_mappings(void)
{
    char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(big, BIG, 50);
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        /* a whole aligned 2 MiB somewhere inside, and one page */
        uintptr_t a = ((uintptr_t)big + (4 << 20)) & ~(uintptr_t)((2 << 20) - 1);
        int ok = munmap((void *)a, 2 << 20) == 0 && munmap(big + PAGE, PAGE) == 0;
        ok = ok && mprotect(big + 2 * PAGE, 2 * PAGE, PROT_READ) == 0;
        ok = ok && check(big, PAGE, 50) && check(big + 2 * PAGE, 2 * PAGE, 52);
        ok = ok && mprotect(big + 8 * PAGE, PAGE, PROT_NONE) == 0;
        fill(big + 16 * PAGE, PAGE, 60);
        ok = ok && check(big + 16 * PAGE, PAGE, 60);
        pid_t g = fork();
        if (g == 0) {
            signal(SIGSEGV, segv_handler);
            big[2 * PAGE] = 1; /* read-only now: SIGSEGV */
            _exit(0);
        }
        int st;
        waitpid(g, &st, 0);
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 77;
        sync_write(p[1]);
        _exit(ok ? 0 : 1);
    }
    sync_read(p[0]);
    reap("child: munmap and mprotect of shared ranges", pid);
    BOOL("parent still has every page", check(big, BIG, 50));
    fill(big, BIG, 70);
    BOOL("parent writes every page", check(big, BIG, 70));
    munmap(big, BIG);
}

static volatile int vfork_var;

static void vfork_case(void)
{
    /* a forked child still shares the tables while the vfork child writes through them */
    int p[2];
    pipe(p);
    pid_t sleeper = FORK();
    if (sleeper == 0) {
        sync_read(p[0]);
        _exit(vfork_var == 0 ? 0 : 1);
    }
    vfork_var = 0;
    pid_t v = vfork();
    if (v == 0) {
        vfork_var = 42; /* the parent's memory: vfork shares it */
        _exit(0);
    }
    reap("vfork child", v);
    printf("vfork child's write seen by parent: %d\n", vfork_var);
    sync_write(p[1]);
    reap("forked child sees its own copy", sleeper);
}

static volatile int thread_counter;
static volatile int thread_stop;

static void *writer(void *arg)
{
    (void)arg;
    while (!thread_stop)
        thread_counter++;
    return NULL;
}

static void threads_case(void)
{
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    while (thread_counter < 1000)
        ;
    int p[2];
    pipe(p);
    pid_t pid = FORK();
    if (pid == 0) {
        int seen = thread_counter; /* no writer thread in the child: the value is frozen */
        for (volatile int i = 0; i < 100000; i++)
            ;
        _exit(thread_counter == seen ? 0 : 1);
    }
    reap("child of a threaded process", pid);
    int before = thread_counter;
    while (thread_counter == before)
        ;
    thread_stop = 1;
    pthread_join(t, NULL);
    BOOL("the thread kept writing in the parent", thread_counter > before);
}

int main(void)
{
    enter_workdir("fork_shared_tables");
    both_write();
    nested();
    change_mappings();
    vfork_case();
    threads_case();
    return 0;
}
