/* The first step of Unicorn's syscall hook, in C (platform/unicorn.py, SyscallShim).
 *
 * Every syscall on Unicorn enters the Python kernel through this hook. Python reads the
 * arguments from the live CPU state and writes the result there (no call), but RFLAGS (for
 * r11, as SYSCALL saves it) exists only as QEMU's lazy condition codes, which Unicorn
 * computes in uc_reg_read: from Python a ctypes call that cost ~0.5 us of a ~1.1 us getpid.
 * Here it is a C call, and the Python handler is called without arguments to convert.
 * The pending-exception field is cleared here too (see _clear_exception_in_flight).
 *
 * The hook also counts syscalls and says when it is in Python, for the timer's wait
 * (twaron_tick_wait): the timer thread sleeps here, without the GIL, until a run has lasted
 * a slice or made no syscall for a while. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <time.h>

typedef int (*reg_read_fn)(void *uc, int regid, void *value);
typedef void (*handler_fn)(void);

struct shim {
	reg_read_fn reg_read;  /* Unicorn's uc_reg_read */
	handler_fn handler;    /* the Python syscall handler */
	int32_t *exception;    /* the CPU's exception_index (NULL: none known) */
	int32_t rflags_id;     /* UC_X86_REG_RFLAGS */
	int32_t pad;
	uint64_t rflags;       /* out: RFLAGS at the syscall */
	/* shared with the timer thread (x86-64: aligned 64-bit loads and stores are atomic) */
	volatile uint64_t runs;       /* odd while a run is in progress (Python counts) */
	volatile uint64_t syscalls;   /* syscalls entered */
	volatile int32_t in_syscall;  /* the Python handler is running */
	volatile int32_t closed;      /* the platform is closed: the timer ends */
	int32_t wake_fd;              /* readable once closed: the timer's sleep ends at once */
	int32_t pad3;
	/* the timer's own state, kept between its waits */
	uint64_t seen;         /* the run it is watching */
	uint64_t seen_calls;   /* the syscall count at its last change */
	uint64_t changed_ns;   /* when the count last changed (or the run was first seen) */
	uint32_t steps;        /* steps the run has lasted */
	uint32_t pad2;
};

void twaron_syscall_hook(void *uc, struct shim *s)
{
	if (s->exception)
		*s->exception = -1;
	s->reg_read(uc, s->rflags_id, &s->rflags);
	s->syscalls++;
	s->in_syscall = 1;
	s->handler();
	s->in_syscall = 0;
}

static uint64_t monotonic_ns(void)  /* Python's time.perf_counter_ns() */
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum { TICK_CLOSED = -1, TICK_SLICE = 1, TICK_QUIET = 2 };

/* The Unicorn timer's wait (platform/unicorn.py, _tick), called with the GIL released:
 * sleep in steps of step_ns until the run in progress has lasted slice_steps more steps
 * (TICK_SLICE) or, with quiet set, has made no syscall during a whole step and is not in
 * one (TICK_QUIET); both bits when both hold. *since: when the run's syscall count last
 * changed (or when the run was first seen); *run: the run. TICK_CLOSED once the platform
 * is closed. */
int twaron_tick_wait(struct shim *s, uint64_t step_ns, uint32_t slice_steps, int quiet,
		     uint64_t *since, uint64_t *run)
{
	struct timespec step = { (time_t)(step_ns / 1000000000u), (long)(step_ns % 1000000000u) };
	struct pollfd wake = { s->wake_fd, POLLIN, 0 };

	for (;;) {
		ppoll(&wake, 1, &step, 0);  /* the step, or less once the platform closes */
		if (s->closed)
			return TICK_CLOSED;
		uint64_t r = s->runs, n = s->syscalls, now = monotonic_ns();
		if (!(r & 1) || r != s->seen) {  /* no run, or a new one since the last step */
			s->seen = r;
			s->seen_calls = n;
			s->changed_ns = now;
			s->steps = 0;
			continue;
		}
		int why = 0;
		if (n != s->seen_calls) {
			s->seen_calls = n;
			s->changed_ns = now;
		} else if (quiet && !s->in_syscall) {
			why |= TICK_QUIET;
		}
		if (++s->steps >= slice_steps) {
			s->steps = 0;
			why |= TICK_SLICE;
		}
		if (why) {
			*since = s->changed_ns;
			*run = r;
			return why;
		}
	}
}

/* CPUID answered from a table (platform/cpuid.py): the tiered platform's and the
 * deterministic mode's. The guest's registers are QEMU's live ones (rax rcx rdx rbx ...);
 * CPUID writes the four 32-bit registers, zero-extended. Returns 1: Unicorn's own CPUID is
 * skipped. */
struct cpuid_leaf {
	uint32_t leaf, sub;
	uint32_t words[4];     /* eax ebx ecx edx */
};

struct cpuid_table {
	uint64_t *live;        /* QEMU's env->regs */
	uint32_t top;          /* the highest basic leaf */
	uint32_t subleaf_mask; /* bit n: leaf n (< 32) depends on the subleaf */
	uint32_t n;
	uint32_t pad;
	struct cpuid_leaf leaves[];
};

static const uint32_t *cpuid_find(const struct cpuid_table *t, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->leaves[i].leaf == leaf && t->leaves[i].sub == sub)
			return t->leaves[i].words;
	return 0;
}

int twaron_cpuid_hook(void *uc, struct cpuid_table *t)
{
	static const uint32_t zero[4];
	uint64_t *r = t->live;
	uint32_t leaf = (uint32_t)r[0], sub = (uint32_t)r[1];
	const uint32_t *w;

	(void)uc;
	if (!(leaf < 32 && (t->subleaf_mask >> leaf) & 1))
		sub = 0;
	w = cpuid_find(t, leaf, sub);
	if (!w && leaf > t->top && leaf < 0x80000000u)
		w = cpuid_find(t, t->top, 0);  /* Intel: a leaf above the highest is the highest */
	if (!w)
		w = zero;
	r[0] = w[0];
	r[3] = w[1];
	r[1] = w[2];
	r[2] = w[3];
	return 1;
}
