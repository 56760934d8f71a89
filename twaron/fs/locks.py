"""File locks: POSIX record locks, open file description (OFD) locks and flock (Linux's
fs/locks.c).

Every inode that was ever locked has a `LockContext` (Linux's file_lock_context): its POSIX
and OFD record locks in one list (`posix`, the locks of one owner together and sorted by
start, as posix_lock_inode keeps them), its flock locks (`flock`), and a wait queue that a
sleeping F_SETLKW or flock is woken on whenever a lock of the inode goes away or shrinks.

Owners, as Linux has them:
- a POSIX lock (F_SETLK) belongs to the process's fd table (`current->files`): any close of
  any fd of the file by that process drops them all (`remove_posix`, from the fd table), a
  fork child has none;
- an OFD lock (F_OFD_SETLK) and a flock lock belong to the open file description: they go
  when its last reference does (`remove_file`, from File.release).

A sleeper re-tries the whole request each time it is woken (Linux wakes the waiters of a
lock and they retry too). F_SETLKW's deadlock detection (posix_locks_deadlock) follows "the
owner of the lock I wait for is itself waiting for a lock whose owner ..." through the
kernel's table of blocked POSIX requests (`LockManager.blocked`).
"""

from __future__ import annotations

import itertools
from typing import Any

from twaron.arch.x86_64.constants import (
    F_RDLCK,
    F_UNLCK,
    F_WRLCK,
    MAX_DEADLK_ITERATIONS,
    OFFSET_MAX,
)
from twaron.arch.x86_64.errno import EAGAIN, EDEADLK, EINVAL, EOVERFLOW
from twaron.errors import KernelError
from twaron.wait import ALL_EVENTS, WaitQueue, wait_event

FL_POSIX = 1
FL_FLOCK = 2
FL_OFDLCK = 0x400


class FileLock:
    """One lock, or one request for a lock (Linux's struct file_lock)."""

    __slots__ = ("type", "start", "end", "owner", "pid", "file", "flags", "seq")

    def __init__(self, type_: int, start: int, end: int, owner: Any, pid: int, file: Any,
                 flags: int) -> None:  # fmt: skip
        self.type = type_
        self.start = start
        self.end = end  # inclusive; OFFSET_MAX: to the end of the file, whatever its size
        self.owner = owner  # the fd table (POSIX) or the File (OFD, flock)
        self.pid = pid  # the tgid of the process that set it (F_GETLK's l_pid)
        self.file = file
        self.flags = flags
        self.seq = 0  # when it joined the kernel's list of locks (/proc/locks order)

    @property
    def ofd(self) -> bool:
        return bool(self.flags & FL_OFDLCK)

    def copy(self) -> FileLock:
        return FileLock(self.type, self.start, self.end, self.owner, self.pid, self.file,
                        self.flags)  # fmt: skip

    def overlaps(self, other: FileLock) -> bool:
        return self.start <= other.end and other.start <= self.end

    def __repr__(self) -> str:
        return f"<FileLock {self.type} {self.start}-{self.end} pid={self.pid}>"


def _conflict(a: FileLock, b: FileLock) -> bool:
    """locks_conflict: a write lock conflicts with anything."""
    return a.type == F_WRLCK or b.type == F_WRLCK


def posix_conflict(caller: FileLock, held: FileLock) -> bool:
    """posix_locks_conflict: another owner's overlapping lock, one of them a write lock."""
    return caller.owner is not held.owner and caller.overlaps(held) and _conflict(caller, held)


def flock_conflict(caller: FileLock, held: FileLock) -> bool:
    """flock_locks_conflict: another open file description's lock, one of them exclusive."""
    return caller.file is not held.file and _conflict(caller, held)


class LockContext:
    """The locks of one inode (Linux's file_lock_context)."""

    __slots__ = ("manager", "inode", "posix", "flock", "wait")

    def __init__(self, manager: LockManager, inode: Any) -> None:
        self.manager = manager
        self.inode = inode
        self.posix: list[FileLock] = []
        self.flock: list[FileLock] = []
        self.wait = WaitQueue()

    def first_posix_conflict(self, request: FileLock) -> FileLock | None:
        for held in self.posix:
            if posix_conflict(request, held):
                return held
        return None

    def first_flock_conflict(self, request: FileLock) -> FileLock | None:
        for held in self.flock:
            if flock_conflict(request, held):
                return held
        return None

    def blocker(self, request: FileLock) -> FileLock | None:
        """The lock a sleeping request waits for now."""
        if request.flags & FL_FLOCK:
            return self.first_flock_conflict(request)
        return self.first_posix_conflict(request)

    def changed(self) -> None:
        """A lock went away or shrank: sleepers try again; an empty context leaves the
        kernel's list."""
        self.wait.notify(ALL_EVENTS)
        if not self.posix and not self.flock:
            self.manager.contexts.pop(self, None)

    def _insert(self, index: int, lock: FileLock, lst: list[FileLock]) -> None:
        lock.seq = next(self.manager.seq)
        lst.insert(index, lock)
        self.manager.contexts[self] = None


class LockManager:
    """The kernel's view of all locks: the contexts holding some (/proc/locks), the sleeping
    requests by owner (deadlock detection, /proc/locks) and the order locks were made in."""

    def __init__(self) -> None:
        self.contexts: dict[LockContext, None] = {}
        self.blocked: dict[Any, list[tuple[LockContext, FileLock]]] = {}
        self.seq = itertools.count(1)

    def context(self, inode: Any) -> LockContext:
        ctx = inode.flctx
        if ctx is None:
            ctx = inode.flctx = LockContext(self, inode)
        return ctx

    # --- deadlock detection (posix_locks_deadlock) ---
    def waiting_for(self, owner: Any) -> FileLock | None:
        """The POSIX lock that blocks a request of `owner`, if it sleeps on one (Linux's
        what_owner_is_waiting_for: only waiters blocked by a classic POSIX lock count)."""
        for ctx, request in self.blocked.get(owner, ()):
            held = ctx.blocker(request)
            if held is not None and held.flags & FL_POSIX and not held.ofd:
                return held
        return None

    def deadlock(self, request: FileLock, held: FileLock) -> bool:
        if request.ofd:  # an OFD lock has no process to follow
            return False
        block: FileLock | None = held
        for _ in range(MAX_DEADLK_ITERATIONS + 1):
            block = self.waiting_for(block.owner)  # type: ignore[union-attr]
            if block is None:
                return False
            if block.owner is request.owner:
                return True
        return False

    def block(self, ctx: LockContext, request: FileLock) -> None:
        self.blocked.setdefault(request.owner, []).append((ctx, request))

    def unblock(self, ctx: LockContext, request: FileLock) -> None:
        waits = self.blocked.get(request.owner)
        if waits is not None:
            waits.remove((ctx, request))
            if not waits:
                del self.blocked[request.owner]

    def waiters(self) -> list[tuple[LockContext, FileLock]]:
        return [w for waits in self.blocked.values() for w in waits]


# ---- POSIX and OFD record locks ----------------------------------------------------------


def posix_test(inode: Any, request: FileLock) -> FileLock | None:
    """F_GETLK: the first lock that would block request, or None. An F_UNLCK request (only
    F_OFD_GETLK takes one, since Linux 6.6) finds the first lock of its own owner in the
    range instead."""
    ctx = inode.flctx
    if ctx is None:
        return None
    if request.type == F_UNLCK:
        for held in ctx.posix:
            if held.owner is request.owner and held.overlaps(request):
                return held
        return None
    return ctx.first_posix_conflict(request)


def posix_lock(manager: LockManager, inode: Any, request: FileLock, wait: bool) -> None:
    """F_SETLK / F_SETLKW (and the OFD forms): set, change or remove a lock. EAGAIN when
    another owner's lock is in the way and not wait; EDEADLK when waiting would deadlock;
    else sleeps until it can (ERESTARTSYS on a signal)."""
    if request.type == F_UNLCK and inode.flctx is None:
        return
    ctx = manager.context(inode)
    while True:
        held = ctx.first_posix_conflict(request) if request.type != F_UNLCK else None
        if held is None:
            _posix_apply(ctx, request)
            return
        if not wait:
            raise KernelError(EAGAIN)
        if manager.deadlock(request, held):
            raise KernelError(EDEADLK)
        manager.block(ctx, request)
        try:
            wait_event(((ctx.wait, ALL_EVENTS),),
                       lambda: ctx.first_posix_conflict(request) is None)  # fmt: skip
        finally:
            manager.unblock(ctx, request)


def _posix_apply(ctx: LockContext, request: FileLock) -> None:
    """posix_lock_inode once no lock is in the way: merge with the owner's locks of the same
    type that touch or overlap it, cut those of another type it covers, split one it falls
    inside of. The owner's locks stay together and sorted by start."""
    locks = ctx.posix
    owner = request.owner
    i = 0
    while i < len(locks) and locks[i].owner is not owner:
        i += 1
    added = False
    left: FileLock | None = None
    right: FileLock | None = None
    shrank = False
    while i < len(locks) and locks[i].owner is owner:
        fl = locks[i]
        if request.type == fl.type:
            # Adjacent or overlapping locks of one type become one ("start - 1", not
            # "end + 1": end may be OFFSET_MAX).
            if fl.end < request.start - 1:
                i += 1
                continue
            if fl.start - 1 > request.end:
                break
            fl.start = min(fl.start, request.start)
            request.start = fl.start
            fl.end = max(fl.end, request.end)
            request.end = fl.end
            if added:
                del locks[i]
                shrank = True
                continue
            request = fl
            added = True
        else:
            if fl.end < request.start:
                i += 1
                continue
            if fl.start > request.end:
                break
            if request.type == F_UNLCK:
                added = True
            if fl.start < request.start:
                left = fl
            if fl.end > request.end:
                right = fl
                break
            if fl.start >= request.start:
                # The request covers this lock whole: it goes (several may).
                shrank = True
                if added:
                    del locks[i]
                    continue
                new = request.copy()
                ctx._insert(i, new, locks)
                del locks[i + 1]
                request = new
                added = True
        i += 1
    if not added:
        if request.type == F_UNLCK:
            return
        new = request.copy()
        ctx._insert(i, new, locks)
        request = new
        i += 1
    if right is not None:
        if left is right:  # the request falls inside one lock: it is cut in two
            left = right.copy()
            at = request if any(fl is request for fl in locks) else right
            ctx._insert(next(j for j, fl in enumerate(locks) if fl is at), left, locks)
        right.start = request.end + 1
        shrank = True
    if left is not None:
        left.end = request.start - 1
        shrank = True
    if shrank or request.type != F_WRLCK:
        ctx.changed()  # an unlock, a downgrade or a cut: sleepers may now get theirs


def remove_posix(file: Any, owner: Any) -> None:
    """close(2) of any fd of the file: the process's POSIX locks on it go (locks_remove_posix)."""
    ctx = file.inode.flctx
    if ctx is None:
        return
    keep = [fl for fl in ctx.posix if fl.owner is not owner]
    if len(keep) != len(ctx.posix):
        ctx.posix = keep
        ctx.changed()


def remove_file(file: Any) -> None:
    """The open file description goes: its OFD and flock locks with it (locks_remove_file)."""
    ctx = file.inode.flctx
    if ctx is None:
        return
    posix = [fl for fl in ctx.posix if fl.owner is not file]
    flock = [fl for fl in ctx.flock if fl.file is not file]
    if len(posix) != len(ctx.posix) or len(flock) != len(ctx.flock):
        ctx.posix, ctx.flock = posix, flock
        ctx.changed()


def flock_to_range(whence_base: int, l_start: int, l_len: int) -> tuple[int, int]:
    """flock64_to_posix_lock's arithmetic: (start, end) of struct flock's range whose
    l_whence has already given `whence_base`; EINVAL/EOVERFLOW as Linux."""
    if l_start > OFFSET_MAX - whence_base:
        raise KernelError(EOVERFLOW)
    start = whence_base + l_start
    if start < 0:
        raise KernelError(EINVAL)
    if l_len > 0:
        if l_len - 1 > OFFSET_MAX - start:
            raise KernelError(EOVERFLOW)
        return start, start + l_len - 1
    if l_len < 0:
        if start + l_len < 0:
            raise KernelError(EINVAL)
        return start + l_len, start - 1
    return start, OFFSET_MAX


# ---- flock ---------------------------------------------------------------------------------


def flock_lock(manager: LockManager, file: Any, type_: int, pid: int, wait: bool) -> None:
    """flock(2) (flock_lock_inode): one lock per open file description. A conversion first
    drops the old lock (Linux: not atomic, a waiter may get in between); a request another
    description's lock blocks is EAGAIN (EWOULDBLOCK) or sleeps."""
    inode = file.inode
    if type_ == F_UNLCK and inode.flctx is None:
        return
    ctx = manager.context(inode)
    for i, fl in enumerate(ctx.flock):
        if fl.file is file:
            if fl.type == type_:
                return
            del ctx.flock[i]
            ctx.changed()
            break
    if type_ == F_UNLCK:
        return
    request = FileLock(type_, 0, OFFSET_MAX, file, pid, file, FL_FLOCK)

    if ctx.first_flock_conflict(request) is not None:
        if not wait:
            raise KernelError(EAGAIN)
        manager.block(ctx, request)
        try:
            wait_event(((ctx.wait, ALL_EVENTS),),
                       lambda: ctx.first_flock_conflict(request) is None)  # fmt: skip
        finally:
            manager.unblock(ctx, request)
    ctx._insert(len(ctx.flock), request, ctx.flock)


# ---- /proc/locks ---------------------------------------------------------------------------


def proc_locks(manager: LockManager) -> bytes:
    """/proc/locks as Linux's locks_show prints it: every lock, newest first (Linux adds to
    the head of its one-CPU list), each followed by the requests sleeping on it (" ->")."""
    held = sorted(((fl, ctx) for ctx in manager.contexts for fl in [*ctx.posix, *ctx.flock]),
                  key=lambda x: -x[0].seq)  # fmt: skip
    blocked: dict[int, list[FileLock]] = {}
    for ctx, request in manager.waiters():
        fl = ctx.blocker(request)
        if fl is not None:
            blocked.setdefault(id(fl), []).append(request)
    out = []
    for n, (fl, ctx) in enumerate(held, 1):
        out.append(_lock_line(n, fl, ctx.inode, ""))
        for w in blocked.get(id(fl), ()):
            out.append(_lock_line(n, w, ctx.inode, "-> "))
    return "".join(out).encode()


def _lock_line(n: int, fl: FileLock, inode: Any, pfx: str) -> str:
    if fl.flags & FL_FLOCK:
        kind = "FLOCK  ADVISORY  "
    else:
        kind = ("OFDLCK" if fl.ofd else "POSIX ") + " ADVISORY  "
    rw = {F_WRLCK: "WRITE", F_RDLCK: "READ "}.get(fl.type, "UNLCK")
    pid = -1 if fl.ofd else fl.pid
    dev = inode.sb.dev
    major, minor = (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & ~0xFF)
    if fl.flags & FL_FLOCK:
        span = "0 EOF"
    else:
        span = f"{fl.start} EOF" if fl.end == OFFSET_MAX else f"{fl.start} {fl.end}"
    return f"{n}: {pfx}{kind}{rw} {pid} {major:02x}:{minor:02x}:{inode.ino} {span}\n"
