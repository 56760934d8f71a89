"""Futex wait queues: where threads sleep on a 32-bit word until another wakes them.

A futex is keyed the way Linux's get_futex_key keys it: a private futex (FUTEX_PRIVATE_FLAG)
and a shared one in private memory by (address space, address); a shared futex in MAP_SHARED
memory (anonymous or a file's) by the guest-physical address of the word, so that processes
mapping the same page meet on the same queue. Linux keeps private and shared keys of the same
private page apart; nothing correct depends on that, and the kernel's own wake at thread exit
(CLONE_CHILD_CLEARTID) is a shared wake that glibc and musl wait for with private or shared
waits alike, so both meet here.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    FUTEX_OWNER_DIED,
    FUTEX_TID_MASK,
    FUTEX_WAITERS,
    ROBUST_LIST_LIMIT,
)
from twaron.arch.x86_64.errno import EAGAIN, ETIMEDOUT
from twaron.errors import KernelError
from twaron.wait import WaitQueue, current

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.mm.address_space import AddressSpace
    from twaron.process.task import Task

BITSET_MATCH_ANY = 0xFFFFFFFF
Key = tuple[Any, int]


class FutexQueue(WaitQueue):
    """The waiters of one futex word, in arrival order; each entry's mask is its bitset."""

    __slots__ = ("key",)

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key


def table(kernel: Kernel) -> dict[Key, FutexQueue]:
    return kernel.futex_queues


def key(mm: AddressSpace, uaddr: int, private: bool) -> Key:
    if not private:
        vma = mm.find_vma(uaddr)
        if vma is not None and vma.shared:
            return ("phys", mm._user_phys(uaddr, False))
    return (mm, uaddr)


def word(mm: AddressSpace, uaddr: int) -> int:
    return int.from_bytes(mm.copy_in(uaddr, 4), "little")


def _queue(t: dict[Key, FutexQueue], k: Key) -> FutexQueue:
    q = t.get(k)
    if q is None:
        q = t[k] = FutexQueue(k)
    return q


def _tidy(t: dict[Key, FutexQueue], q: WaitQueue) -> None:
    if not q and t.get(q.key) is q:  # type: ignore[attr-defined]
        del t[q.key]  # type: ignore[attr-defined]


def wait(task: Task, uaddr: int, val: int, deadline: float | None, bitset: int,
         private: bool) -> int:  # fmt: skip
    """FUTEX_WAIT: sleep while nobody wakes this word: 0 once woken, EAGAIN if the word does
    not hold val, ETIMEDOUT after deadline (kernel monotonic seconds); a signal ends the wait
    with ERESTARTSYS (the caller decides between that and a restart_syscall)."""
    if word(task.mm, uaddr) != val:
        raise KernelError(EAGAIN)
    if deadline is not None and task.kernel.clock.monotonic() >= deadline:
        raise KernelError(ETIMEDOUT)
    ctx = current()
    t = table(task.kernel)
    woken: list[bool] = []

    def on_wake(_mask: int) -> None:
        woken.append(True)
        task.wake()

    entry = _queue(t, key(task.mm, uaddr, private)).add(bitset, on_wake)
    try:
        while not woken:
            if not ctx.block(deadline, True) and not woken:
                raise KernelError(ETIMEDOUT)
    finally:
        entry.remove()
        _tidy(t, entry.queue)
    return 0


def wake(kernel: Kernel, mm: AddressSpace, uaddr: int, n: int, bitset: int,
         private: bool) -> int:  # fmt: skip
    """FUTEX_WAKE: wake up to n waiters of the word whose bitset meets `bitset`."""
    if n <= 0:
        return 0
    t = table(kernel)
    q = t.get(key(mm, uaddr, private))
    if q is None:
        return 0
    done = q.wake_n(n, bitset)
    _tidy(t, q)
    return done


def requeue(kernel: Kernel, mm: AddressSpace, uaddr: int, uaddr2: int, limit: int,
            private: bool) -> int:  # fmt: skip
    """Move up to limit waiters of uaddr to uaddr2's queue; how many moved."""
    t = table(kernel)
    src = t.get(key(mm, uaddr, private))
    if src is None or limit <= 0:
        return 0
    moved = src.move_to(_queue(t, key(mm, uaddr2, private)), limit)
    _tidy(t, src)
    return moved


def exit_robust_list(kernel: Kernel, task: Task) -> None:
    """A thread ends (or execs): every robust futex it still holds (set_robust_list) gets
    FUTEX_OWNER_DIED and one waiter is woken, as Linux's exit_robust_list does; the next
    pthread_mutex_lock of a robust mutex then returns EOWNERDEAD."""
    head, _len = task.robust_list
    if not head:
        return
    mm = task.mm
    try:
        entry, offset, pending = struct.unpack("<3Q", mm.copy_in(head, 24))
    except KernelError:
        return
    if offset & (1 << 63):
        offset -= 1 << 64
    seen = 0
    while entry != head and seen < ROBUST_LIST_LIMIT:
        try:
            nxt = mm.read_u64(entry & ~1)
        except KernelError:
            return
        if entry != pending:
            _owner_died(kernel, task, (entry & ~1) + offset)
        entry = nxt
        seen += 1
    if pending:
        _owner_died(kernel, task, (pending & ~1) + offset)


def _owner_died(kernel: Kernel, task: Task, uaddr: int) -> None:
    """handle_futex_death: the word names this thread as its owner: mark it, wake one."""
    mm = task.mm
    uaddr &= (1 << 64) - 1
    if uaddr & 3:
        return
    try:
        val = word(mm, uaddr)
        if val & FUTEX_TID_MASK != task.tid:
            return
        mm.copy_out(uaddr, ((val & FUTEX_WAITERS) | FUTEX_OWNER_DIED).to_bytes(4, "little"))
    except KernelError:
        return
    if val & FUTEX_WAITERS:
        wake(kernel, mm, uaddr, 1, BITSET_MATCH_ANY, False)
