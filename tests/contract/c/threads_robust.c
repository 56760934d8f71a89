/* A robust mutex whose owner thread ends without unlocking it (a raw exit: the C library's
 * own clean-up does not run): the kernel walks the thread's robust list (set_robust_list),
 * marks the lock FUTEX_OWNER_DIED and wakes a waiter, so the next lock says EOWNERDEAD. */
#include "contract.h"
#include <pthread.h>

static pthread_mutex_t m;
static volatile int locked;

static void *owner(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    locked = 1;
    RAW(SYS_exit, 0); /* dies holding the lock */
    return 0;
}

static const char *lock_result(int r)
{
    return r == 0 ? "0" : r == EOWNERDEAD ? "EOWNERDEAD" : r == ENOTRECOVERABLE
        ? "ENOTRECOVERABLE" : errname(r);
}

int main(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    /* musl hands only process-shared robust mutexes to the kernel's robust list */
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&m, &a);
    pthread_t t;
    pthread_create(&t, 0, owner, 0);
    while (!locked)
        sched_yield();
    int r = pthread_mutex_lock(&m); /* waits until the owner is gone */
    printf("lock after the owner died: %s\n", lock_result(r));
    printf("consistent: %d\n", pthread_mutex_consistent(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));
    printf("lock again: %s\n", lock_result(pthread_mutex_lock(&m)));
    pthread_mutex_unlock(&m);

    /* the same with nobody waiting yet: the word is marked when the owner exits */
    locked = 0;
    pthread_create(&t, 0, owner, 0);
    while (!locked)
        sched_yield();
    msleep(20);
    printf("trylock after the owner died: %s\n", lock_result(pthread_mutex_trylock(&m)));
    pthread_mutex_consistent(&m);
    pthread_mutex_unlock(&m);

    void *head = BAD_PTR;
    size_t len = 0;
    CHECK("get_robust_list(0)", RAW(SYS_get_robust_list, 0, &head, &len));
    BOOL("head set by the C library, len 24", head != 0 && head != BAD_PTR && len == 24);
    CHECK("get_robust_list(own tid)", RAW(SYS_get_robust_list, getpid(), &head, &len));
    CHECK("get_robust_list(no such thread)", RAW(SYS_get_robust_list, 999999, &head, &len));
    CHECK("get_robust_list(bad pointer)", RAW(SYS_get_robust_list, 0, BAD_PTR, &len));
    CHECK("set_robust_list(bad length)", RAW(SYS_set_robust_list, head, 8));
    return 0;
}
