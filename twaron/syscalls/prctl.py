"""prctl(2): a process's or thread's attributes (Linux's kernel/sys.c and the capability
module's cap_task_prctl), option by option."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    CAP_LAST_CAP,
    NSIG,
    PR_CAPBSET_DROP,
    PR_CAPBSET_READ,
    PR_GET_CHILD_SUBREAPER,
    PR_GET_DUMPABLE,
    PR_GET_KEEPCAPS,
    PR_GET_NAME,
    PR_GET_NO_NEW_PRIVS,
    PR_GET_PDEATHSIG,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_KEEPCAPS,
    PR_SET_NAME,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    SECBIT_KEEP_CAPS,
    SECBIT_KEEP_CAPS_LOCKED,
    TASK_COMM_LEN,
)
from twaron.arch.x86_64.errno import EINVAL, EPERM
from twaron.errors import KernelError
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task

Args = tuple[int, int, int, int]  # arg2 .. arg5


def _put_int(task: Task, addr: int, value: int) -> int:
    task.mm.copy_out(addr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))
    return 0


def _set_name(task: Task, a: Args) -> int:
    name = task.mm.copy_in(a[0], TASK_COMM_LEN)
    task.comm = name.split(b"\0", 1)[0][: TASK_COMM_LEN - 1]
    return 0


def _get_name(task: Task, a: Args) -> int:
    task.mm.copy_out(a[0], task.comm.ljust(TASK_COMM_LEN, b"\0"))
    return 0


def _set_pdeathsig(task: Task, a: Args) -> int:
    """The signal this thread's process gets when the thread that created it exits."""
    if a[0] > NSIG:
        raise KernelError(EINVAL)
    task.pdeathsig = a[0]
    return 0


def _get_pdeathsig(task: Task, a: Args) -> int:
    return _put_int(task, a[0], task.pdeathsig)


def _get_dumpable(task: Task, a: Args) -> int:
    return task.mm.dumpable


def _set_dumpable(task: Task, a: Args) -> int:
    if a[0] not in (0, 1):  # SUID_DUMP_DISABLE, SUID_DUMP_USER; 2 is for the sysctl only
        raise KernelError(EINVAL)
    task.mm.dumpable = a[0]
    return 0


def _get_keepcaps(task: Task, a: Args) -> int:
    return int(bool(task.cred.securebits & SECBIT_KEEP_CAPS))


def _set_keepcaps(task: Task, a: Args) -> int:
    cred = task.cred
    if a[0] > 1:
        raise KernelError(EINVAL)
    if cred.securebits & SECBIT_KEEP_CAPS_LOCKED:
        raise KernelError(EPERM)
    cred.securebits = (cred.securebits & ~SECBIT_KEEP_CAPS) | (SECBIT_KEEP_CAPS * a[0])
    return 0


def _capbset_read(task: Task, a: Args) -> int:
    if a[0] > CAP_LAST_CAP:
        raise KernelError(EINVAL)
    return (task.cred.cap_bset >> a[0]) & 1


def _capbset_drop(task: Task, a: Args) -> int:
    """Needs CAP_SETPCAP: root's, in twaron's model of capabilities."""
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    if a[0] > CAP_LAST_CAP:
        raise KernelError(EINVAL)
    task.cred.cap_bset &= ~(1 << a[0])
    return 0


def _set_no_new_privs(task: Task, a: Args) -> int:
    if a != (1, 0, 0, 0):
        raise KernelError(EINVAL)
    task.no_new_privs = True
    return 0


def _get_no_new_privs(task: Task, a: Args) -> int:
    if any(a):
        raise KernelError(EINVAL)
    return int(task.no_new_privs)


def _set_child_subreaper(task: Task, a: Args) -> int:
    """Orphaned descendants come to this process instead of init (process/exit.py)."""
    task.group.is_child_subreaper = bool(a[0])
    return 0


def _get_child_subreaper(task: Task, a: Args) -> int:
    return _put_int(task, a[0], int(task.group.is_child_subreaper))


OPTIONS: dict[int, Callable[[Task, Args], int]] = {
    PR_SET_PDEATHSIG: _set_pdeathsig,
    PR_GET_PDEATHSIG: _get_pdeathsig,
    PR_GET_DUMPABLE: _get_dumpable,
    PR_SET_DUMPABLE: _set_dumpable,
    PR_GET_KEEPCAPS: _get_keepcaps,
    PR_SET_KEEPCAPS: _set_keepcaps,
    PR_SET_NAME: _set_name,
    PR_GET_NAME: _get_name,
    PR_CAPBSET_READ: _capbset_read,
    PR_CAPBSET_DROP: _capbset_drop,
    PR_SET_CHILD_SUBREAPER: _set_child_subreaper,
    PR_GET_CHILD_SUBREAPER: _get_child_subreaper,
    PR_SET_NO_NEW_PRIVS: _set_no_new_privs,
    PR_GET_NO_NEW_PRIVS: _get_no_new_privs,
}


@syscall("prctl")
def sys_prctl(task: Task, option: int, arg2: int, arg3: int, arg4: int, arg5: int,
              *_: int) -> int:  # fmt: skip
    handler = OPTIONS.get(s32(option))
    if handler is None:
        raise KernelError(EINVAL)
    return handler(task, (arg2, arg3, arg4, arg5))
