/*
 * Guest compute kernels for `twaron bench --guest-speed` (twaron/bench/guestspeed.py): the
 * same machine code timed natively, inside twaron, and in a bare Unicorn loop (which calls
 * guest_kernel() directly: so the kernels touch no TLS, make no syscall and read only their
 * own static data and a stack canary at %fs:0x28).
 *
 *   guestspeed KERNEL ROUNDS     prints "GUESTSPEED <kernel> <rounds> <ns> <checksum>"
 *
 * One round of a kernel executes the same instructions every time (no data-dependent
 * branches across rounds): instructions per round are counted once, in Unicorn.
 *   sha256  the compression function over 16 KiB (long straight-line ALU blocks)
 *   interp  a switch-dispatched bytecode interpreter (indirect jumps, like sh, sed or bc)
 *   qsort   musl's qsort with a comparator (calls across pages, indirect calls)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHA_BYTES 16384
#define SORT_N 2048

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint8_t data[SHA_BYTES];
static int array[SORT_N];

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
                      w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static uint64_t k_sha256(void)
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < SHA_BYTES; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (int off = 0; off < SHA_BYTES; off += 64)
        sha256_block(h, data + off);
    return h[0] ^ h[7];
}

/* A stack machine: a loop summing a polynomial, dispatched by a switch. */
enum { PUSH, LOAD, STORE, ADD, MUL, SUB, JNZ, DUP, DROP, HALT };
static const int program[] = {
    PUSH, 0, STORE, 0,           /* acc = 0 */
    PUSH, 3000, STORE, 1,        /* n = 3000 */
    LOAD, 1, DUP, MUL, PUSH, 3, MUL, LOAD, 1, ADD, LOAD, 0, ADD, STORE, 0, /* acc += 3n^2+n */
    LOAD, 1, PUSH, 1, SUB, DUP, STORE, 1, JNZ, 8, /* while (--n) */
    LOAD, 0, HALT};

static uint64_t k_interp(void)
{
    int64_t stack[16], vars[4] = {0};
    int sp = 0, pc = 0;
    for (;;) {
        switch (program[pc++]) {
        case PUSH: stack[sp++] = program[pc++]; break;
        case LOAD: stack[sp++] = vars[program[pc++]]; break;
        case STORE: vars[program[pc++]] = stack[--sp]; break;
        case ADD: sp--, stack[sp - 1] += stack[sp]; break;
        case MUL: sp--, stack[sp - 1] *= stack[sp]; break;
        case SUB: sp--, stack[sp - 1] -= stack[sp]; break;
        case JNZ: pc = stack[--sp] ? program[pc] : pc + 1; break;
        case DUP: stack[sp] = stack[sp - 1], sp++; break;
        case DROP: sp--; break;
        case HALT: return (uint64_t)stack[sp - 1];
        }
    }
}

static int compare(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static uint64_t k_qsort(void)
{
    uint32_t seed = 12345;
    for (int i = 0; i < SORT_N; i++) {
        seed = seed * 1103515245 + 12345;
        array[i] = (int)(seed >> 8);
    }
    qsort(array, SORT_N, sizeof array[0], compare);
    return (uint64_t)array[0] ^ (uint64_t)array[SORT_N - 1];
}

/* What the bare-Unicorn runner calls: `which` (0 sha256, 1 interp, 2 qsort), `rounds`. */
__attribute__((noinline, used)) uint64_t guest_kernel(long which, long rounds)
{
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++)
        sum += which == 0 ? k_sha256() : which == 1 ? k_interp() : k_qsort();
    return sum;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static const char *names[] = {"sha256", "interp", "qsort"};
    if (argc != 3) {
        fprintf(stderr, "usage: guestspeed sha256|interp|qsort ROUNDS\n");
        return 2;
    }
    long which = -1, rounds = atol(argv[2]);
    for (int i = 0; i < 3; i++)
        if (!strcmp(argv[1], names[i]))
            which = i;
    if (which < 0 || rounds < 1) {
        fprintf(stderr, "guestspeed: unknown kernel or bad rounds\n");
        return 2;
    }
    guest_kernel(which, 1); /* warm: translated (emulators), cached (native) */
    long long t0 = now_ns();
    uint64_t sum = guest_kernel(which, rounds);
    long long t1 = now_ns();
    printf("GUESTSPEED %s %ld %lld %llu\n", names[which], rounds, t1 - t0,
           (unsigned long long)sum);
    return 0;
}
