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

from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    FUTEX_OWNER_DIED,
    FUTEX_TID_MASK,
    FUTEX_WAITERS,
    ROBUST_LIST_LIMIT,
)
from twaron.arch.x86_64.errno import EAGAIN, ETIMEDOUT
from twaron.errors import Block, KernelError
from twaron.process.waitqueue import WaitQueue

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.mm.address_space import AddressSpace
    from twaron.process.task import Task

BITSET_MATCH_ANY = 0xFFFFFFFF
Key = tuple[Any, int]


class FutexQueue(WaitQueue):
    """Waiters of one futex word; `woken` remembers who was woken (with which bitset) so that
    the restarted FUTEX_WAIT returns 0 even if the word still holds the waited value."""

    __slots__ = ("woken", "bitsets")

    def __init__(self) -> None:
        super().__init__()
        self.woken: set[Any] = set()
        self.bitsets: dict[Any, int] = {}

    def wake_some(self, n: int, bitset: int) -> int:
        done = 0
        for task in list(self.waiters):
            if done >= n:
                break
            if not self.bitsets.get(task, BITSET_MATCH_ANY) & bitset:
                continue
            self.bitsets.pop(task, None)
            self.woken.add(task)
            task.wake()
            done += 1
        return done


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


def tidy(t: dict[Key, FutexQueue], k: Key) -> None:
    q = t.get(k)
    if q is not None and not q.waiters and not q.woken:
        del t[k]


def wait(task: Task, uaddr: int, val: int, deadline: float | None, bitset: int,
         private: bool) -> int:  # fmt: skip
    """FUTEX_WAIT: sleep while the word holds val (Block), 0 once woken, EAGAIN if the word
    differs, ETIMEDOUT after deadline (monotonic seconds). A signal wakes the sleeper; the
    restarted wait blocks again and the signal's delivery then decides EINTR or restart."""
    t = table(task.kernel)
    k = key(task.mm, uaddr, private)
    q = t.get(k)
    if q is not None and task in q.woken:  # restarted after a FUTEX_WAKE
        q.woken.discard(task)
        tidy(t, k)
        return 0
    if q is not None:
        q.bitsets.pop(task, None)
    restarting = task.restart_rip is not None
    if restarting and task.timed_out and deadline is not None:
        tidy(t, k)
        raise KernelError(ETIMEDOUT)
    if word(task.mm, uaddr) != val:
        tidy(t, k)
        raise KernelError(EAGAIN)
    if deadline is not None and task.kernel.clock.monotonic() >= deadline:
        tidy(t, k)
        raise KernelError(ETIMEDOUT)
    if q is None:
        q = t[k] = FutexQueue()
    q.bitsets[task] = bitset
    raise Block(q, deadline=deadline)


def wake(kernel: Kernel, mm: AddressSpace, uaddr: int, n: int, bitset: int,
         private: bool) -> int:  # fmt: skip
    if n <= 0:
        return 0
    t = table(kernel)
    q = t.get(key(mm, uaddr, private))
    if q is None:
        return 0
    return q.wake_some(n, bitset)


def requeue(kernel: Kernel, mm: AddressSpace, uaddr: int, uaddr2: int, limit: int,
            private: bool) -> int:  # fmt: skip
    """Move up to limit waiters of uaddr to uaddr2's queue; how many moved."""
    t = table(kernel)
    src_key = key(mm, uaddr, private)
    src = t.get(src_key)
    moved = 0
    if src is not None and limit > 0 and src.waiters:
        dst = t.setdefault(key(mm, uaddr2, private), FutexQueue())
        for w in list(src.waiters)[:limit]:
            src.waiters.discard(w)
            bits = src.bitsets.pop(w, BITSET_MATCH_ANY)
            dst.waiters.add(w)
            dst.bitsets[w] = bits
            w.sleeping_on = tuple(dst if x is src else x for x in w.sleeping_on)
            moved += 1
    tidy(t, src_key)
    return moved


def forget(kernel: Kernel, task: Task) -> None:
    """An exiting task leaves the `woken` sets it is still in."""
    t = kernel.futex_queues
    for k, q in list(t.items()):
        if task in q.woken or task in q.bitsets:
            q.woken.discard(task)
            q.bitsets.pop(task, None)
            tidy(t, k)


def exit_robust_list(kernel: Kernel, task: Task) -> None:
    """A thread ends (or execs): every robust futex it still holds (set_robust_list) gets
    FUTEX_OWNER_DIED and one waiter is woken, as Linux's exit_robust_list does; the next
    pthread_mutex_lock of a robust mutex then returns EOWNERDEAD."""
    head, _len = task.robust_list
    if not head:
        return
    mm = task.mm
    try:
        entry, offset, pending = (mm.read_u64(head), mm.read_u64(head + 8),
                                  mm.read_u64(head + 16))  # fmt: skip
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
