/* Two threads add to a shared counter without a lock (a read-modify-write race). Natively
 * the second thread usually starts after the first has finished, so the count is right most
 * of the time; a preemption between a thread's load and store loses updates. Exit 1 then. */
#include <pthread.h>
#include <stdio.h>

#define ADDS 2000

static volatile long counter;

static void *add(void *arg) {
    (void)arg;
    for (int i = 0; i < ADDS; i++)
        counter = counter + 1;
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, add, NULL);
    pthread_create(&b, NULL, add, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("counter=%ld expected=%d\n", counter, 2 * ADDS);
    return counter == 2 * ADDS ? 0 : 1;
}
