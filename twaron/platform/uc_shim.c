/* The first step of Unicorn's syscall hook, in C (platform/unicorn.py, SyscallShim).
 *
 * Every syscall on Unicorn enters the Python kernel through this hook. Python reads the
 * arguments from the live CPU state and writes the result there (no call), but RFLAGS (for
 * r11, as SYSCALL saves it) exists only as QEMU's lazy condition codes, which Unicorn
 * computes in uc_reg_read: from Python a ctypes call that cost ~0.5 us of a ~1.1 us getpid.
 * Here it is a C call, and the Python handler is called without arguments to convert.
 * The pending-exception field is cleared here too (see _clear_exception_in_flight). */
#include <stdint.h>

typedef int (*reg_read_fn)(void *uc, int regid, void *value);
typedef void (*handler_fn)(void);

struct shim {
	reg_read_fn reg_read;  /* Unicorn's uc_reg_read */
	handler_fn handler;    /* the Python syscall handler */
	int32_t *exception;    /* the CPU's exception_index (NULL: none known) */
	int32_t rflags_id;     /* UC_X86_REG_RFLAGS */
	int32_t pad;
	uint64_t rflags;       /* out: RFLAGS at the syscall */
};

void twaron_syscall_hook(void *uc, struct shim *s)
{
	if (s->exception)
		*s->exception = -1;
	s->reg_read(uc, s->rflags_id, &s->rflags);
	s->handler();
}
