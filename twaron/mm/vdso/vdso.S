/*
 * twaron's vDSO: the code of the [vdso] page (build.py wraps it in an ELF shared object).
 *
 * clock_gettime, gettimeofday, time, clock_getres and getcpu answered in user mode, without
 * a syscall, from the data page [vvar] mapped just below this image. The kernel keeps that
 * page (mm/vdso/__init__.py) in step with its one Clock (twaron/clock.py):
 *
 *     CLOCK_MONOTONIC ns = ns_base + ((rdtsc - tsc_base) * mult >> 32)
 *     CLOCK_REALTIME     = CLOCK_MONOTONIC + real_off
 *     CLOCK_TAI          = CLOCK_REALTIME + tai_off
 *     the _COARSE clocks = CLOCK_MONOTONIC rounded down to a tick (+ real_off)
 *
 * the same integer arithmetic the kernel does, so the vDSO and the syscalls agree to the
 * nanosecond. Anything else (CPU-time clocks, bad clock ids, a kernel without a usable TSC:
 * mode != 1) goes to the real syscall. The page is only ever written while no guest code
 * runs, but the sequence counter is honoured anyway: odd means being written, a change
 * means read again.
 *
 * Position-independent, no relocations, no stack use beyond one call. Assembled with GNU as
 * only (`python -m twaron.mm.vdso.build`): the ELF tables around it are made in Python.
 */
        .set    TEXT_OFFSET, 0x800          /* where build.py puts .text in the image */
        .set    PAGE_SIZE, 0x1000

        /* the data page: build.py and mm/vdso/__init__.py use the same offsets */
        .set    VV_SEQ, 0                   /* u32 */
        .set    VV_MODE, 4                  /* u32: 1 = TSC, else use the syscall */
        .set    VV_TSC_BASE, 8              /* u64 */
        .set    VV_NS_BASE, 16              /* u64 */
        .set    VV_MULT, 24                 /* u64: ns per tick << 32 */
        .set    VV_REAL_OFF, 32             /* s64 ns */
        .set    VV_TAI_OFF, 40              /* s64 ns */
        .set    VV_TICK, 48                 /* u64 ns */
        .set    VV_TZ, 56                   /* struct timezone (2 x s32) */

        .set    NR_GETTIMEOFDAY, 96
        .set    NR_TIME, 201
        .set    NR_CLOCK_GETTIME, 228
        .set    NR_CLOCK_GETRES, 229
        .set    NSEC_PER_SEC, 1000000000
        .set    CLOCK_REALTIME, 0
        .set    CLOCK_REALTIME_COARSE, 5
        .set    CLOCK_TAI, 11
        /* REALTIME MONOTONIC MONOTONIC_RAW BOOTTIME TAI; REALTIME_COARSE MONOTONIC_COARSE */
        .set    FINE_CLOCKS, (1 << 0) | (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11)
        .set    COARSE_CLOCKS, (1 << 5) | (1 << 6)

        .text
        .globl  __vdso_text
__vdso_text:
        .set    VVAR, __vdso_text - TEXT_OFFSET - PAGE_SIZE

/* mono_ns: %rax = CLOCK_MONOTONIC in ns, %r8 = the data page; carry set: use the syscall.
 * Clobbers %rdx and %r9. */
        .p2align 4
mono_ns:
        leaq    VVAR(%rip), %r8
1:      movl    VV_SEQ(%r8), %r9d
        testl   $1, %r9d
        jnz     3f
        cmpl    $1, VV_MODE(%r8)
        jne     4f
        lfence
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
        subq    VV_TSC_BASE(%r8), %rax
        jae     2f
        xorl    %eax, %eax                  /* read a hair behind on another CPU: no earlier */
2:      mulq    VV_MULT(%r8)
        shrdq   $32, %rdx, %rax
        addq    VV_NS_BASE(%r8), %rax
        cmpl    VV_SEQ(%r8), %r9d
        jne     1b
        clc
        ret
3:      pause
        jmp     1b
4:      stc
        ret

/* %rax (ns) -> the timespec at (%rsi); returns 0 */
store_timespec:
        movl    $NSEC_PER_SEC, %ecx
        xorl    %edx, %edx
        divq    %rcx
        movq    %rax, (%rsi)
        movq    %rdx, 8(%rsi)
        xorl    %eax, %eax
        ret

/* int clock_gettime(clockid_t clk, struct timespec *ts) */
        .p2align 4
        .globl  __vdso_clock_gettime
        .type   __vdso_clock_gettime, @function
__vdso_clock_gettime:
        cmpl    $31, %edi
        ja      .Lcgt_sys                   /* CPU-time clocks (negative ids), bad ids */
        movl    $FINE_CLOCKS, %eax
        btl     %edi, %eax
        jc      .Lcgt_fine
        movl    $COARSE_CLOCKS, %eax
        btl     %edi, %eax
        jnc     .Lcgt_sys
        call    mono_ns
        jc      .Lcgt_sys
        xorl    %edx, %edx
        divq    VV_TICK(%r8)
        mulq    VV_TICK(%r8)
        cmpl    $CLOCK_REALTIME_COARSE, %edi
        jne     store_timespec
        addq    VV_REAL_OFF(%r8), %rax
        jmp     store_timespec
.Lcgt_fine:
        call    mono_ns
        jc      .Lcgt_sys
        cmpl    $CLOCK_REALTIME, %edi
        je      .Lcgt_real
        cmpl    $CLOCK_TAI, %edi
        jne     store_timespec
        addq    VV_TAI_OFF(%r8), %rax
.Lcgt_real:
        addq    VV_REAL_OFF(%r8), %rax
        jmp     store_timespec
.Lcgt_sys:
        movl    $NR_CLOCK_GETTIME, %eax
        syscall
        ret
        .size   __vdso_clock_gettime, . - __vdso_clock_gettime

/* int gettimeofday(struct timeval *tv, struct timezone *tz) */
        .p2align 4
        .globl  __vdso_gettimeofday
        .type   __vdso_gettimeofday, @function
__vdso_gettimeofday:
        testq   %rdi, %rdi
        jz      .Lgtod_tz
        call    mono_ns
        jc      .Lgtod_sys
        addq    VV_REAL_OFF(%r8), %rax
        movl    $NSEC_PER_SEC, %ecx
        xorl    %edx, %edx
        divq    %rcx
        movq    %rax, (%rdi)
        movq    %rdx, %rax
        movl    $1000, %ecx
        xorl    %edx, %edx
        divq    %rcx
        movq    %rax, 8(%rdi)
.Lgtod_tz:
        testq   %rsi, %rsi
        jz      1f
        movq    VVAR + VV_TZ(%rip), %rax
        movq    %rax, (%rsi)
1:      xorl    %eax, %eax
        ret
.Lgtod_sys:
        movl    $NR_GETTIMEOFDAY, %eax
        syscall
        ret
        .size   __vdso_gettimeofday, . - __vdso_gettimeofday

/* time_t time(time_t *t) */
        .p2align 4
        .globl  __vdso_time
        .type   __vdso_time, @function
__vdso_time:
        call    mono_ns
        jc      .Ltime_sys
        addq    VV_REAL_OFF(%r8), %rax
        movl    $NSEC_PER_SEC, %ecx
        xorl    %edx, %edx
        divq    %rcx
        testq   %rdi, %rdi
        jz      1f
        movq    %rax, (%rdi)
1:      ret
.Ltime_sys:
        movl    $NR_TIME, %eax
        syscall
        ret
        .size   __vdso_time, . - __vdso_time

/* int clock_getres(clockid_t clk, struct timespec *res) */
        .p2align 4
        .globl  __vdso_clock_getres
        .type   __vdso_clock_getres, @function
__vdso_clock_getres:
        cmpl    $31, %edi
        ja      .Lres_sys
        movl    $1, %r9d
        movl    $FINE_CLOCKS, %eax
        btl     %edi, %eax
        jc      .Lres_store
        movl    $COARSE_CLOCKS, %eax
        btl     %edi, %eax
        jnc     .Lres_sys
        movq    VVAR + VV_TICK(%rip), %r9
.Lres_store:
        testq   %rsi, %rsi
        jz      1f
        movq    $0, (%rsi)
        movq    %r9, 8(%rsi)
1:      xorl    %eax, %eax
        ret
.Lres_sys:
        movl    $NR_CLOCK_GETRES, %eax
        syscall
        ret
        .size   __vdso_clock_getres, . - __vdso_clock_getres

/* long getcpu(unsigned *cpu, unsigned *node, void *cache): one CPU, one node */
        .p2align 4
        .globl  __vdso_getcpu
        .type   __vdso_getcpu, @function
__vdso_getcpu:
        testq   %rdi, %rdi
        jz      1f
        movl    $0, (%rdi)
1:      testq   %rsi, %rsi
        jz      2f
        movl    $0, (%rsi)
2:      xorl    %eax, %eax
        ret
        .size   __vdso_getcpu, . - __vdso_getcpu
