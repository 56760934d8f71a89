/* Unicorn's syscall hook in C (platform/unicorn.py, SyscallShim).
 *
 * Every syscall on Unicorn enters the Python kernel here. The hook reads the arguments from
 * QEMU's live CPU state, calls the kernel's entry with them through the C API, and writes
 * the result back: no Python frame between Unicorn and the kernel, and no ctypes callback
 * (the Python hook this replaces cost ~0.45 us of a ~0.7 us getpid, the kernel ~0.1 us and
 * Unicorn's own exit ~0.05 us). RFLAGS (for r11, as SYSCALL saves it) exists only as QEMU's
 * lazy condition codes, which uc_reg_read computes. The pending-exception field is cleared
 * here too (see _clear_exception_in_flight).
 *
 * What the hook and Python share is a row of 64-bit words (struct shim; platform/unicorn.py
 * names them W_*): the state of the syscall in progress, the stop and resched requests, the
 * --deterministic syscall budget, the tiered platform's window, and the timer's state. The
 * Python objects the hook calls are borrowed: the platform keeps each one referenced.
 *
 * The timer thread sleeps here too (twaron_tick_wait), without the GIL, until a run has
 * lasted a slice or made no syscall for a while. */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>

typedef int (*reg_read_fn)(void *uc, int regid, void *value);
typedef int (*emu_stop_fn)(void *uc);

struct shim {
	/* set once */
	void *uc;
	reg_read_fn reg_read;      /* Unicorn's uc_reg_read */
	emu_stop_fn emu_stop;      /* Unicorn's uc_emu_stop */
	int32_t *exception;        /* the CPU's exception_index (NULL: none known) */
	uint64_t *live;            /* QEMU's env->regs: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rip */
	uint64_t rflags_id;        /* UC_X86_REG_RFLAGS */
	uint64_t window_mask;      /* on_window is looked at when syscalls & window_mask is 0 */
	/* what the hook calls */
	PyObject *entry;           /* syscall_entry(task, nr, a0, ..., a5) -> int | None */
	PyObject *task;            /* the task on the CPU */
	PyObject *on_window;       /* on_window(now_ns), or NULL */
	PyObject *narrowed;        /* narrowed(task, mm): a syscall narrowed mm's mappings */
	PyObject *failed;          /* failed(exc): a kernel bug, raised from run() */
	/* the syscall in progress */
	uint64_t rflags, rip;
	/* shared with the timer thread (x86-64: aligned 64-bit loads and stores are atomic) */
	volatile uint64_t runs;        /* odd while a run is in progress (Python counts) */
	volatile uint64_t syscalls;    /* syscalls entered */
	volatile uint64_t in_syscall;  /* the kernel's entry is running */
	volatile uint64_t closed;      /* the platform is closed: the timer ends */
	volatile uint64_t stop;        /* the run stops after this syscall */
	volatile uint64_t need_resched;/* the slice is over: stop at the next syscall */
	uint64_t budget;           /* --deterministic: syscalls the run may make (0: any) */
	uint64_t budget_hit;       /* the budget ran out */
	uint64_t window_end;       /* on_window is due from this time (perf_counter_ns) */
	int64_t wake_fd;           /* readable once closed: the timer's sleep ends at once */
	/* the timer's own state, kept between its waits */
	uint64_t seen;             /* the run it is watching */
	uint64_t seen_calls;       /* the syscall count at its last change */
	uint64_t changed_ns;       /* when the count last changed (or the run was first seen) */
	uint64_t steps;            /* steps the run has lasted */
};

enum { R_RAX = 0, R_RCX = 1, R_RDX = 2, R_RSI = 6, R_RDI = 7, R_R8 = 8, R_R9 = 9, R_R10 = 10,
       R_R11 = 11, R_RIP = 16 };

static uint64_t monotonic_ns(void);

/* A kernel bug surfaced: the exception goes to the platform (run() raises it). */
static void failed(struct shim *s)
{
	PyObject *type, *value, *tb, *res;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (tb && value)
		PyException_SetTraceback(value, tb);
	res = PyObject_CallOneArg(s->failed, value ? value : Py_None);
	if (res)
		Py_DECREF(res);
	else
		PyErr_WriteUnraisable(s->failed);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	s->stop = 1;
}

/* A syscall that narrowed the task's mappings: the TLB forgets them before user code runs. */
static void check_narrowed(struct shim *s, PyObject *task)
{
	static PyObject *mm_name, *dirty_name;
	PyObject *mm, *dirty, *res;
	int is_dirty;

	if (!mm_name) {
		mm_name = PyUnicode_InternFromString("mm");
		dirty_name = PyUnicode_InternFromString("tlb_dirty");
		if (!mm_name || !dirty_name) {
			failed(s);
			return;
		}
	}
	mm = PyObject_GetAttr(task, mm_name);
	if (!mm) {
		failed(s);
		return;
	}
	dirty = mm == Py_None ? NULL : PyObject_GetAttr(mm, dirty_name);
	is_dirty = dirty ? PyObject_IsTrue(dirty) : (mm == Py_None ? 0 : -1);
	Py_XDECREF(dirty);
	if (is_dirty > 0) {
		res = PyObject_CallFunctionObjArgs(s->narrowed, task, mm, NULL);
		if (res)
			Py_DECREF(res);
		else
			is_dirty = -1;
	}
	Py_DECREF(mm);
	if (is_dirty < 0)
		failed(s);
}

/* syscall_entry(task, nr, a0..a5); its result to rax, and rcx and r11 as SYSCALL and
 * SYSRET leave them. None: the kernel set the registers itself, or the call sleeps. */
static void call_entry(struct shim *s, uint64_t *r)
{
	static const int arg_regs[7] = { R_RAX, R_RDI, R_RSI, R_RDX, R_R10, R_R8, R_R9 };
	PyObject *argv[9], *entry = s->entry, *task = s->task, *ret;
	uint64_t v;
	int i, n;

	Py_INCREF(entry);  /* the call may switch tasks or entries: keep these for its length */
	Py_INCREF(task);
	argv[0] = NULL;
	argv[1] = task;
	for (n = 0; n < 7; n++)
		if (!(argv[2 + n] = PyLong_FromUnsignedLongLong(r[arg_regs[n]])))
			break;
	ret = n == 7 ? PyObject_Vectorcall(entry, argv + 1, 8 | PY_VECTORCALL_ARGUMENTS_OFFSET,
					   NULL) : NULL;
	for (i = 0; i < n; i++)
		Py_DECREF(argv[2 + i]);
	if (ret && ret != Py_None) {
		v = PyLong_AsUnsignedLongLongMask(ret);
		if (v == (uint64_t)-1 && PyErr_Occurred()) {
			Py_DECREF(ret);
			ret = NULL;
		} else {
			r[R_RAX] = v;
			r[R_RCX] = s->rip + 2;
			r[R_R11] = s->rflags;
		}
	}
	if (ret) {
		Py_DECREF(ret);
		check_narrowed(s, task);
	} else {
		failed(s);
	}
	Py_DECREF(task);
	Py_DECREF(entry);
}

/* After the call: the tiered platform's look at the run (every window_mask + 1 syscalls,
 * once its window has ended), the --deterministic budget, then stop if anything asked. */
static void after_syscall(struct shim *s, uint64_t n)
{
	PyObject *now, *res;
	uint64_t t;

	if (!(n & s->window_mask) && s->on_window && !s->stop) {
		t = monotonic_ns();
		if (t >= s->window_end) {
			now = PyLong_FromUnsignedLongLong(t);
			res = now ? PyObject_CallOneArg(s->on_window, now) : NULL;
			Py_XDECREF(now);
			if (res)
				Py_DECREF(res);
			else
				failed(s);
		}
	}
	if (s->budget && !--s->budget)
		s->need_resched = s->budget_hit = 1;
	if (s->need_resched)  /* the slice is over: yield at this safe point */
		s->stop = 1;
	if (s->stop)
		s->emu_stop(s->uc);
}

void twaron_syscall_hook(void *uc, struct shim *s)
{
	uint64_t *r = s->live, n;
	PyGILState_STATE gil;

	if (s->exception)  /* Unicorn's own fault around `syscall`: see the platform */
		*s->exception = -1;
	s->reg_read(uc, (int)s->rflags_id, &s->rflags);
	s->rip = r[R_RIP];
	n = ++s->syscalls;
	s->in_syscall = 1;
	gil = PyGILState_Ensure();
	call_entry(s, r);
	s->in_syscall = 0;
	after_syscall(s, n);
	PyGILState_Release(gil);
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
	struct pollfd wake = { (int)s->wake_fd, POLLIN, 0 };

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
