"""System V shared memory (Linux's ipc/shm.c).

A segment is a file of the namespace's shm superblock: its bytes are a PageCache of guest
frames, and shmat maps that page cache MAP_SHARED like a shared file mapping, so processes
really share the memory. Attachments are counted through the VMAs themselves: the segment's
inode is held by every VMA that maps it (Vma.hold / drop, on map, split, fork, unmap, exec
and exit), which is Linux's shm_open / shm_close; shm_nattch is that count.

IPC_RMID of an attached segment only marks it (SHM_DEST) and makes it private (its key is
gone at once, its id still attaches); it goes with the last detach.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    MAP_SHARED,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    RLIM_INFINITY,
    RLIMIT_MEMLOCK,
    S_IFREG,
    SHM_DEST,
    SHM_EXEC,
    SHM_HUGETLB,
    SHM_LOCK,
    SHM_LOCKED,
    SHM_RDONLY,
    SHM_REMAP,
    SHM_RND,
    SHMLBA,
    SHMMIN,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EINVAL, ENOMEM, ENOSPC, ENOSYS, EPERM
from twaron.errors import KernelError
from twaron.fs.vfs import Inode, Path, anon_path
from twaron.ipc.util import (
    S_IRUGO,
    S_IWUGO,
    S_IXUGO,
    KernPerm,
    check_perms,
    ipcget,
    may_change,
    set_owner_mode,
    stat_lookup,
)
from twaron.mm.address_space import MMAP_MIN

if TYPE_CHECKING:
    from twaron.ipc import IpcNamespace
    from twaron.mm.address_space import AddressSpace

# struct shmid64_ds: perm, segsz, atime, dtime, ctime, cpid, lpid, nattch, 2 unused
SHMID64_DS = struct.Struct("<48sQqqqiiQQQ")
SHMINFO64 = struct.Struct("<9Q")  # shmmax, shmmin, shmmni, shmseg, shmall, 4 unused
SHM_INFO = struct.Struct("<i4xQQQQQ")  # used_ids, shm_tot, shm_rss, shm_swp, 2 swap counts
assert SHMID64_DS.size == 112 and SHMINFO64.size == 72 and SHM_INFO.size == 48
PROC_HEADER = (b"       key      shmid perms                  size  cpid  lpid nattch   uid   gid"
               b"  cuid  cgid      atime      dtime      ctime                   rss"
               b"                  swap\n")  # fmt: skip


class ShmInode(Inode):
    """A segment's file. Every VMA that maps it holds it (iget / iput): those are Linux's
    shm_open and shm_close, which count the attachments."""

    __slots__ = ("seg",)
    unmergeable = True  # VMAs with a close operation are never merged (nattch counts VMAs)

    def iget(self) -> None:
        super().iget()
        self.seg.opened()

    def iput(self) -> None:
        self.seg.closed()
        super().iput()


class Segment:
    """One shared memory segment (Linux's shmid_kernel)."""

    def __init__(self, ns: IpcNamespace, key: int, flg: int, size: int) -> None:
        self.ns = ns
        self.perm = KernPerm(key, flg)
        self.segsz = size
        self.atim = self.dtim = 0
        self.ctim = ns.now()
        self.cprid = ns.current_pid()
        self.lprid = 0
        self.nattch = 0
        self.inode = ShmInode(ns.shm_sb, S_IFREG | (flg & 0o777))
        self.inode.seg = self
        self.inode.size = size
        self.path: Path | None = None

    @property
    def pages(self) -> int:
        return (self.segsz + PAGE_SIZE - 1) >> PAGE_SHIFT

    def name(self) -> bytes:
        return b"/SYSV%08x" % (self.perm.key & 0xFFFF_FFFF)

    # --- shm_open / shm_close ---
    def opened(self) -> None:
        self.atim = self.ns.now()
        self.lprid = self.ns.current_pid()
        self.nattch += 1

    def closed(self) -> None:
        self.lprid = self.ns.current_pid()
        self.dtim = self.ns.now()
        self.nattch -= 1
        self.maybe_destroy()

    def maybe_destroy(self) -> None:
        """shm_may_destroy: a removed segment goes with its last attachment."""
        if self.nattch == 0 and self.perm.mode & SHM_DEST:
            destroy(self)

    def rss(self) -> int:
        mapping = self.inode.mapping
        return len(mapping.pages) if mapping is not None else 0

    def pack(self) -> bytes:
        return SHMID64_DS.pack(self.perm.pack(), self.segsz, self.atim, self.dtim, self.ctim,
                               self.cprid, self.lprid, self.nattch, 0, 0)  # fmt: skip


def destroy(seg: Segment) -> None:
    """shm_destroy: the id goes (if it had not) and, once unmapped, the memory."""
    ns = seg.ns
    if not seg.perm.deleted:
        ns.shm_ids.remove(seg)
        ns.shm_tot -= seg.pages
    inode = seg.inode
    inode.nlink = 0
    inode.maybe_free()


# ---- shmget --------------------------------------------------------------------------------


def shmget(ns: IpcNamespace, cred: Any, key: int, size: int, flg: int) -> int:
    def new() -> int:
        return _newseg(ns, cred, key, size, flg)

    def more_checks(seg: Segment) -> None:
        if seg.segsz < size:
            raise KernelError(EINVAL)

    return ipcget(ns.shm_ids, key, flg, cred, new, more_checks)


def _newseg(ns: IpcNamespace, cred: Any, key: int, size: int, flg: int) -> int:
    if size < SHMMIN or size > ns.shm_ctlmax:
        raise KernelError(EINVAL)
    pages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    if ns.shm_tot + pages > ns.shm_ctlall:
        raise KernelError(ENOSPC)
    if flg & SHM_HUGETLB:
        raise KernelError(ENOSYS)  # as a Linux build without CONFIG_HUGETLBFS
    seg = Segment(ns, key, flg, size)
    ident = ns.shm_ids.add(seg, cred)
    seg.inode.ino = ident  # Linux numbers a segment's inode with its id (/proc/PID/maps)
    seg.path = anon_path(ns.shm_sb, seg.inode, seg.name())
    seg.path.dentry.deleted = True  # /proc/PID/maps: "/SYSV0000abcd (deleted)"
    ns.shm_tot += pages
    return ident


# ---- shmat / shmdt -------------------------------------------------------------------------


def shmat(ns: IpcNamespace, task: Any, shmid: int, addr: int, flg: int,
          may_expand: Callable[[int, int, bool], bool]) -> int:  # fmt: skip
    """do_shmat: map the segment MAP_SHARED, at addr (rounded down with SHM_RND) or where
    mmap would put it; read-only with SHM_RDONLY. The new address."""
    if shmid < 0:
        raise KernelError(EINVAL)
    fixed = False
    if addr:
        if addr & (SHMLBA - 1):
            if not flg & SHM_RND:
                raise KernelError(EINVAL)
            addr &= ~(SHMLBA - 1)
            if not addr and flg & SHM_REMAP:
                raise KernelError(EINVAL)
        fixed = True
    elif flg & SHM_REMAP:
        raise KernelError(EINVAL)
    if flg & SHM_RDONLY:
        prot, acc = PROT_READ, S_IRUGO
    else:
        prot, acc = PROT_READ | PROT_WRITE, S_IRUGO | S_IWUGO
    if flg & SHM_EXEC:
        prot |= PROT_EXEC
        acc |= S_IXUGO
    seg: Segment = ns.shm_ids.check(shmid)
    check_perms(seg.perm, task.cred, acc)
    mm: AddressSpace = task.mm
    seg.nattch += 1  # held while mapping, as Linux does: a racing IPC_RMID cannot free it
    try:
        length = (seg.segsz + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        if fixed:
            if addr + seg.segsz >= 1 << 64 or not flg & SHM_REMAP and mm.overlaps(addr,
                                                                               addr + length):
                raise KernelError(EINVAL)
            if addr + length > USER_TOP:
                raise KernelError(ENOMEM)
            if addr < MMAP_MIN and task.cred.euid != 0:  # root has CAP_SYS_RAWIO
                raise KernelError(EPERM)
            start = addr
        else:
            start = mm.get_unmapped_area(length)
        if not may_expand(length, start, fixed):
            raise KernelError(ENOMEM)
        mm.map(start, length, prot, MAP_SHARED, seg.inode.mapping, 0, seg.path)
    finally:
        seg.nattch -= 1
        seg.maybe_destroy()
    return start


def is_shm(vma: Any) -> bool:
    return vma.file is not None and isinstance(vma.file.inode, ShmInode)


def shmdt(mm: AddressSpace, addr: int) -> None:
    """ksys_shmdt: unmap the attachment that starts at addr, with the fragments mprotect
    or munmap made of it (every VMA of the same segment whose offset matches addr, within
    the segment's size); EINVAL if no attachment starts there."""
    if addr & (PAGE_SIZE - 1):
        raise KernelError(EINVAL)
    vmas = [v for v in mm.vmas if v.end > addr]

    def starts_at_addr(v: Any) -> bool:
        return v.start >= addr and (v.start - addr) >> PAGE_SHIFT == v.pgoff

    found = None
    rest = []
    for i, v in enumerate(vmas):
        if is_shm(v) and starts_at_addr(v):
            found = v
            rest = vmas[i + 1 :]
            break
    if found is None:
        raise KernelError(EINVAL)
    size = (found.file.inode.size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    mm.unmap(found.start, found.end)
    for v in rest:
        if v.end - addr > size:
            break
        if is_shm(v) and starts_at_addr(v) and v.file is found.file:
            mm.unmap(v.start, v.end)


# ---- shmctl --------------------------------------------------------------------------------


def info(ns: IpcNamespace) -> tuple[bytes, int]:
    """IPC_INFO: struct shminfo64 and the highest index in use."""
    return SHMINFO64.pack(ns.shm_ctlmax, SHMMIN, ns.shm_ctlmni, ns.shm_ctlmni, ns.shm_ctlall,
                          0, 0, 0, 0), ns.shm_ids.max_index()  # fmt: skip


def shm_info(ns: IpcNamespace) -> tuple[bytes, int]:
    """SHM_INFO: struct shm_info (ids in use, pages allocated and resident)."""
    rss = sum(seg.rss() for seg in ns.shm_ids.objects.values())
    return SHM_INFO.pack(ns.shm_ids.in_use, ns.shm_tot, rss, 0, 0, 0), ns.shm_ids.max_index()


def stat(ns: IpcNamespace, cred: Any, shmid: int, by_index: bool, check: bool) -> tuple[bytes, int]:
    """IPC_STAT (by id), SHM_STAT (by index: returns the id), SHM_STAT_ANY (no read check)."""
    seg, ret = stat_lookup(ns.shm_ids, cred, shmid, by_index, check)
    return seg.pack(), ret


def set_perm(ns: IpcNamespace, cred: Any, shmid: int, raw: bytes) -> None:
    """IPC_SET: the owner and mode from the caller's shmid64_ds."""
    seg: Segment = ns.shm_ids.check(shmid)
    set_owner_mode(seg.perm, cred, raw)
    seg.ctim = ns.now()


def rmid(ns: IpcNamespace, cred: Any, shmid: int) -> None:
    """IPC_RMID: gone now if nothing is attached; else marked SHM_DEST, its key forgotten,
    and gone with the last detach (do_shm_rmid)."""
    seg: Segment = ns.shm_ids.check(shmid)
    may_change(seg.perm, cred)
    if seg.nattch:
        seg.perm.mode |= SHM_DEST
        ns.shm_ids.forget_key(seg)
    else:
        destroy(seg)


def lock(ns: IpcNamespace, task: Any, shmid: int, cmd: int) -> None:
    """SHM_LOCK / SHM_UNLOCK: only the SHM_LOCKED mode bit (twaron never swaps). Without
    root: the owner or creator only, and SHM_LOCK needs RLIMIT_MEMLOCK."""
    seg: Segment = ns.shm_ids.check(shmid)
    cred = task.cred
    if cred.euid != 0:
        if cred.euid not in (seg.perm.uid, seg.perm.cuid):
            raise KernelError(EPERM)
        limit = task.group.rlimits.get(RLIMIT_MEMLOCK, (8 << 20, 8 << 20))[0]
        if cmd == SHM_LOCK:
            if not limit:
                raise KernelError(EPERM)
            if limit != RLIM_INFINITY and seg.pages << PAGE_SHIFT > limit:
                raise KernelError(ENOMEM)
    if cmd == SHM_LOCK:
        seg.perm.mode |= SHM_LOCKED
    else:
        seg.perm.mode &= ~SHM_LOCKED


def proc_text(ns: IpcNamespace) -> bytes:
    """/proc/sysvipc/shm (sysvipc_shm_proc_show)."""
    lines = [PROC_HEADER]
    for seg in ns.shm_ids.sorted():
        p = seg.perm
        lines.append(b"%10d %10d  %4o %21u %5u %5u  %5u %5u %5u %5u %5u %10u %10u %10u %21u %21u\n"
                     % (p.key, p.id, p.mode, seg.segsz, seg.cprid, seg.lprid, seg.nattch, p.uid,
                        p.gid, p.cuid, p.cgid, seg.atim, seg.dtim, seg.ctim,
                        seg.rss() * PAGE_SIZE, 0))  # fmt: skip
    return b"".join(lines)
