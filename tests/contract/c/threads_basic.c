/* pthreads: create/join with results passed back, getpid/gettid in threads, thread-local
 * storage, many threads incrementing under one mutex (futex contention), a condition
 * variable hand-off, and how /proc sees the threads (status Threads:, /proc/self/task). */
#include "contract.h"
#include <dirent.h>
#include <pthread.h>

static __thread long tls_value = 5;
static pid_t main_pid, main_tid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

struct ids { pid_t pid, tid; long tls_before, tls_after; };

static void *identify(void *arg)
{
    struct ids *ids = arg;
    ids->pid = getpid();
    ids->tid = (pid_t)RAW(SYS_gettid);
    ids->tls_before = tls_value; /* a fresh copy of the initial value */
    tls_value = 100 + ids->tid % 7;
    ids->tls_after = tls_value - ids->tid % 7;
    return ids;
}

static void *square(void *arg)
{
    long n = (long)arg;
    return (void *)(n * n);
}

static void *increment(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&lock);
        long v = counter;
        if (i % 100 == 0)
            sched_yield(); /* hold the lock across a switch now and then */
        counter = v + 1;
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage;

static void *ping(void *arg)
{
    (void)arg;
    for (int round = 0; round < 50; round++) {
        pthread_mutex_lock(&lock);
        while (stage % 2 == 0)
            pthread_cond_wait(&cond, &lock);
        stage++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static pthread_barrier_t barrier;

static void *park(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier); /* all started */
    pthread_barrier_wait(&barrier); /* main has looked */
    return 0;
}

int main(void)
{
    main_pid = getpid();
    main_tid = (pid_t)RAW(SYS_gettid);
    BOOL("main: tid == pid", main_tid == main_pid);
    /* (not after a join: a joined thread may still be on its way out) */
    printf("threads alone: status %d, task dir %d\n", status_threads(), count_tasks());

    struct ids ids[3];
    pthread_t t[8];
    for (int i = 0; i < 3; i++)
        CHECK("create", pthread_create(&t[i], 0, identify, &ids[i]));
    for (int i = 0; i < 3; i++) {
        void *ret;
        CHECK("join", pthread_join(t[i], &ret));
        BOOL("join returns the thread's value", ret == &ids[i]);
        BOOL("thread: getpid == main pid", ids[i].pid == main_pid);
        BOOL("thread: tid != pid", ids[i].tid != main_pid);
        printf("thread: tls starts at %ld, own copy %ld\n", ids[i].tls_before, ids[i].tls_after);
    }
    BOOL("tids differ", ids[0].tid != ids[1].tid && ids[1].tid != ids[2].tid
                         && ids[0].tid != ids[2].tid);
    printf("main: tls still %ld\n", tls_value);

    long sum = 0;
    for (long i = 0; i < 8; i++)
        pthread_create(&t[i], 0, square, (void *)i);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("sum of squares: %ld\n", sum);

    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], 0, increment, 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], 0);
    printf("counter: %ld\n", counter);

    pthread_create(&t[0], 0, ping, 0);
    for (int round = 0; round < 50; round++) {
        pthread_mutex_lock(&lock);
        stage++;
        pthread_cond_broadcast(&cond);
        while (stage % 2 == 1)
            pthread_cond_wait(&cond, &lock);
        pthread_mutex_unlock(&lock);
    }
    pthread_join(t[0], 0);
    printf("cond stages: %d\n", stage);

    pthread_barrier_init(&barrier, 0, 4);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], 0, park, 0);
    pthread_barrier_wait(&barrier);
    printf("threads with 3 more: status %d, task dir %d\n", status_threads(), count_tasks());
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], 0);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    CHECK("detached create", pthread_create(&t[0], &attr, square, (void *)3));
    return 0;
}
