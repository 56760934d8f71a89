"""Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise, msync, mlock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    MADV_DONTNEED,
    MADV_FREE,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_TYPE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    O_ACCMODE,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_WRITE,
    RLIM_INFINITY,
    RLIMIT_AS,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EACCES, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, EPERM
from twaron.errors import KernelError
from twaron.fs import memfd, volume
from twaron.mm.address_space import MMAP_MIN, AddressSpace
from twaron.mm.page_cache import PageCache
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.fs.vfs import Path
    from twaron.process.task import Task

PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC
BRK_PREFAULT = 32 << 10


def page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK


def may_expand(task: Task, length: int, start: int = 0, fixed: bool = False) -> bool:
    """RLIMIT_AS (Linux's may_expand_vm): the mapped total may not pass the soft limit. A
    MAP_FIXED mapping counts only what it adds over what it replaces."""
    lim = task.group.rlimits.get(RLIMIT_AS)
    if lim is None or lim[0] == RLIM_INFINITY:
        return True
    mm = task.mm
    total = mm.total_pages << PAGE_SHIFT
    if total + length <= lim[0]:
        return True
    if fixed:
        end = start + length
        replaced = sum(max(0, min(end, v.end) - max(start, v.start)) for v in mm.vmas)
        return total + length - replaced <= lim[0]
    return False


@syscall("brk")
def sys_brk(task: Task, addr: int, *_: int) -> int:
    """Linux returns the new break, or the old one when it cannot move."""
    mm = task.mm
    if addr < mm.brk_start:
        return mm.brk
    old_end, new_end = page_align(mm.brk), page_align(addr)
    if new_end > old_end:
        if mm.overlaps(old_end, new_end) or new_end > USER_TOP:
            return mm.brk
        if not may_expand(task, new_end - old_end):
            return mm.brk
        heap = mm.find_vma(old_end - 1) if old_end > mm.brk_start else None
        if heap is not None and heap.name == "[heap]":
            heap.end = new_end
            mm.total_pages += (new_end - old_end) >> PAGE_SHIFT
        else:
            try:
                mm.map(old_end, new_end - old_end, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                       name="[heap]")  # fmt: skip
            except KernelError:
                return mm.brk
            heap = mm.find_vma(old_end)
        # malloc touches the start of what it just asked for: map that much now.
        mm.prefault(heap, old_end, min(new_end, old_end + BRK_PREFAULT))  # type: ignore[arg-type]
    elif new_end < old_end:
        mm.unmap(new_end, old_end)
    mm.brk = addr
    return addr


@syscall("mmap")
def sys_mmap(task: Task, addr: int, length: int, prot: int, flags: int, fd: int,
             offset: int) -> int:  # fmt: skip
    flags &= 0xFFFF_FFFF
    if length == 0 or offset & (PAGE_SIZE - 1):
        raise KernelError(EINVAL)
    length = page_align(length)
    if length == 0 or length > USER_TOP:
        raise KernelError(ENOMEM)
    if prot & ~(PROT_ALL | PROT_GROWSDOWN | PROT_GROWSUP):
        raise KernelError(EINVAL)
    kind = flags & MAP_TYPE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise KernelError(EINVAL)
    shared = kind != MAP_PRIVATE
    if flags & MAP_ANONYMOUS:
        return _mmap_anonymous(task, addr, length, prot, flags, shared)
    f = task.files.get(s32(fd))
    acc = f.flags & O_ACCMODE  # do_mmap checks the access mode before the file's mmap
    if acc == O_WRONLY or (shared and prot & PROT_WRITE and acc == O_RDONLY):
        raise KernelError(EACCES)
    if getattr(f, "mmap_anonymous", False):  # /dev/zero: anonymous memory (mmap_zero)
        return _mmap_anonymous(task, addr, length, prot, flags, shared)
    mapping = getattr(f.inode, "mapping", None) if getattr(f, "inode", None) else None
    if mapping is None:
        raise KernelError(ENODEV)
    memfd.mmap_check(f.inode, shared, prot)
    if shared and acc == O_RDWR:  # mprotect may make it writable later
        volume.note_shared_write(f.inode)  # a volume's file: written back at sync points
    return _map(task, addr, length, prot, flags, shared, mapping, offset >> PAGE_SHIFT, f.path)


def _mmap_anonymous(task: Task, addr: int, length: int, prot: int, flags: int,
                    shared: bool) -> int:  # fmt: skip
    """MAP_ANONYMOUS, or a mapping of /dev/zero: zeroed memory, shared with the children
    forked later when MAP_SHARED (shmem_zero_setup)."""
    mapping = PageCache(task.kernel.mem) if shared else None
    return _map(task, addr, length, prot, flags, shared, mapping, 0, None)


def _map(task: Task, addr: int, length: int, prot: int, flags: int, shared: bool,
         mapping: PageCache | None, pgoff: int, file: Path | None) -> int:  # fmt: skip
    mm = task.mm
    start = _place(mm, addr, length, flags)
    if not may_expand(task, length, start, bool(flags & MAP_FIXED)):
        raise KernelError(ENOMEM)
    mm.map(start, length, prot & PROT_ALL, MAP_SHARED if shared else MAP_PRIVATE, mapping,
           pgoff, file, populate=bool(flags & MAP_POPULATE))  # fmt: skip
    return start


def _place(mm: AddressSpace, addr: int, length: int, flags: int) -> int:
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1):
            raise KernelError(EINVAL)
        if addr + length > USER_TOP or addr < MMAP_MIN:
            raise KernelError(ENOMEM if addr + length > USER_TOP else EPERM)
        noreplace = flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED
        if noreplace and mm.overlaps(addr, addr + length):
            raise KernelError(EEXIST)
        return addr
    return mm.get_unmapped_area(length, addr)


def _check_range(addr: int, length: int) -> int:
    if addr & (PAGE_SIZE - 1):
        raise KernelError(EINVAL)
    end = addr + page_align(length)
    if end > USER_TOP or end < addr:
        raise KernelError(EINVAL)
    return end


@syscall("munmap")
def sys_munmap(task: Task, addr: int, length: int, *_: int) -> int:
    if length == 0:
        raise KernelError(EINVAL)
    end = _check_range(addr, length)
    task.mm.unmap(addr, end)
    return 0


@syscall("mprotect")
def sys_mprotect(task: Task, addr: int, length: int, prot: int, *_: int) -> int:
    end = _check_range(addr, length)
    if prot & ~(PROT_ALL | PROT_GROWSDOWN | PROT_GROWSUP):
        raise KernelError(EINVAL)
    mm = task.mm
    pos = addr
    while pos < end:  # the whole range must be mapped
        vma = mm.find_vma(pos)
        if vma is None:
            raise KernelError(ENOMEM)
        pos = vma.end
    if addr < end:
        mm.protect(addr, end, prot & PROT_ALL)
    return 0


@syscall("mremap")
def sys_mremap(task: Task, old: int, old_len: int, new_len: int, flags: int,
               new_addr: int, *_: int) -> int:  # fmt: skip
    mm = task.mm
    if old & (PAGE_SIZE - 1) or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | 4):
        raise KernelError(EINVAL)
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise KernelError(EINVAL)
    old_len, new_len = page_align(old_len), page_align(new_len)
    if new_len == 0:
        raise KernelError(EINVAL)
    vma = mm.find_vma(old)
    if vma is None or old + old_len > vma.end:
        raise KernelError(EFAULT)
    if flags & MREMAP_FIXED:
        return _move(mm, vma, old, old_len, new_len, new_addr)
    if new_len <= old_len:
        if new_len < old_len:
            mm.unmap(old + new_len, old + old_len)
        return old
    grow_end = old + new_len
    if not may_expand(task, new_len - old_len):
        raise KernelError(ENOMEM)
    if old + old_len == vma.end and not mm.overlaps(vma.end, grow_end) and grow_end <= USER_TOP:
        mm.total_pages += (grow_end - vma.end) >> PAGE_SHIFT
        vma.end = grow_end
        return old
    if not flags & MREMAP_MAYMOVE:
        raise KernelError(ENOMEM)
    return _move(mm, vma, old, old_len, new_len, mm.get_unmapped_area(new_len))


def _move(mm: AddressSpace, vma: object, old: int, old_len: int, new_len: int, dest: int) -> int:
    """Move pages to dest by carrying page-table entries over: no data is copied."""
    if dest & (PAGE_SIZE - 1) or dest + new_len > USER_TOP:
        raise KernelError(EINVAL)
    if dest < old + old_len and old < dest + new_len:
        raise KernelError(EINVAL)
    src = mm.find_vma(old)
    assert src is not None
    pgoff = src.pgoff + ((old - src.start) >> PAGE_SHIFT)
    mm.unmap(dest, dest + new_len)
    moved = mm.take_ptes(old, old + min(old_len, new_len))
    mm.unmap(old, old + old_len)
    mm.map(dest, new_len, src.prot, src.flags, src.mapping, pgoff, src.file, src.name)
    mm.put_ptes(dest - old, moved)
    return dest


MADV_VALID = {0, 1, 2, 3, 4, *range(8, 24), 25}


@syscall("madvise")
def sys_madvise(task: Task, addr: int, length: int, advice: int, *_: int) -> int:
    end = _check_range(addr, length)
    if s32(advice) not in MADV_VALID:
        raise KernelError(EINVAL)
    mm = task.mm
    hole = False
    pos = addr
    while pos < end:  # the advice applies to what is mapped; a hole is reported after
        vma = mm.find_vma(pos)
        if vma is None:
            hole = True
            nxt = [v.start for v in mm.vmas if v.start > pos]
            pos = min(nxt) if nxt else end
            continue
        if advice in (MADV_DONTNEED, MADV_FREE):
            mm.discard(pos, min(end, vma.end))
        pos = vma.end
    if hole:
        raise KernelError(ENOMEM)
    return 0


@syscall("msync")
def sys_msync(task: Task, addr: int, length: int, flags: int, *_: int) -> int:
    if addr & (PAGE_SIZE - 1) or flags & ~7 or (flags & 1 and flags & 4):
        raise KernelError(EINVAL)
    end = addr + page_align(length)
    for vma in task.mm.vmas:  # a volume's file: what its shared mappings changed goes back
        if vma.start < end and vma.end > addr and vma.file is not None:
            volume.msync(vma.file.inode)
    return 0


@syscall("mlock", "munlock", "mlockall", "munlockall", "mlock2")
def sys_mlock(task: Task, *_: int) -> int:
    return 0
