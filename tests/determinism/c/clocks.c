/* What a deterministic run must make a function of the seed and the run alone: the time
 * stamp counter, the clocks (through the vDSO when the kernel maps one), sleeps, the random
 * sources (/dev/urandom, getrandom, RDRAND, RDSEED) and CPUID. */
#include <cpuid.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t rdtscp(uint32_t *aux) {
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return (uint64_t)hi << 32 | lo;
}

static void hex(const char *what, const unsigned char *p, int n) {
    printf("%s ", what);
    for (int i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static long long ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    printf("vdso %s\n", getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
    uint64_t t0 = rdtsc(), t1 = rdtsc();
    uint32_t aux = 99;
    uint64_t t2 = rdtscp(&aux);
    printf("rdtsc %llu %llu rdtscp %llu aux %u increasing %d\n", (unsigned long long)t0,
           (unsigned long long)t1, (unsigned long long)t2, aux, t0 < t1 && t1 < t2);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("realtime %lld gettimeofday %lld.%06ld time %lld\n", ns(CLOCK_REALTIME),
           (long long)tv.tv_sec, (long)tv.tv_usec, (long long)time(NULL));
    long long mono = ns(CLOCK_MONOTONIC);
    printf("monotonic %lld boottime %lld\n", mono, ns(CLOCK_BOOTTIME));
    /* the vDSO's time and the syscall's are one clock: never backwards from one to the other */
    struct timespec sys_ts;
    long long v0 = ns(CLOCK_MONOTONIC);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &sys_ts);
    long long s1 = sys_ts.tv_sec * 1000000000LL + sys_ts.tv_nsec;
    long long v2 = ns(CLOCK_MONOTONIC);
    printf("mixed ordered %d\n", v0 <= s1 && s1 <= v2);
    long long m0 = ns(CLOCK_MONOTONIC);
    uint64_t s0 = rdtsc();
    struct timespec nap = {1, 500000000};
    nanosleep(&nap, NULL);
    long long slept = ns(CLOCK_MONOTONIC) - m0;
    printf("slept %lld ns, tsc advanced %llu\n", slept, (unsigned long long)(rdtsc() - s0));
    unsigned char buf[16];
    int fd = open("/dev/urandom", O_RDONLY);
    read(fd, buf, sizeof buf);
    close(fd);
    hex("urandom", buf, sizeof buf);
    getrandom(buf, sizeof buf, 0);
    hex("getrandom", buf, sizeof buf);
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    int has_rdrand = c >> 30 & 1;
    __cpuid_count(7, 0, a, b, c, d);
    int has_rdseed = b >> 18 & 1;
    printf("cpuid rdrand %d rdseed %d\n", has_rdrand, has_rdseed);
    if (has_rdrand) {
        uint64_t r64 = 0;
        uint32_t r32 = 0;
        uint16_t r16 = 0;
        unsigned char ok64, ok32, ok16;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(r64), "=qm"(ok64));
        __asm__ volatile("rdrand %0; setc %1" : "=r"(r32), "=qm"(ok32));
        __asm__ volatile("rdrand %0; setc %1" : "=r"(r16), "=qm"(ok16));
        printf("rdrand %016llx %08x %04x ok %d%d%d\n", (unsigned long long)r64, r32, r16, ok64,
               ok32, ok16);
    }
    if (has_rdseed) {
        uint64_t s = 0;
        unsigned char ok;
        __asm__ volatile("rdseed %0; setc %1" : "=r"(s), "=qm"(ok));
        printf("rdseed %016llx ok %d\n", (unsigned long long)s, ok);
    }
    return 0;
}
