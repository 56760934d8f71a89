"""Fault-around: one page fault maps the neighbouring pages that are ready (Linux's
do_fault_around with fault_around_bytes = 64 KiB, and a batch of zeroed pages for
anonymous memory).

A fault costs ~10 us on Unicorn and ~51 us on KVM-PVM (every exit from guest ring 3), while
writing one more page-table entry costs well under a microsecond, so after the fault handler
has brought in the faulting page, the other pages of the aligned 64 KiB window around it
come in too:

- file-backed memory: the page-cache pages that are already there (Linux's
  filemap_map_pages maps only pages that are cached, and never starts I/O for one), mapped
  as a read fault maps them: the cache's own frame, read-only in a private mapping (a
  write still copies it), writable in a shared writable one;
- anonymous memory: zeroed pages for every entry of the window that is still empty (Linux
  maps only the faulting page here, or a whole 2 MiB with THP; what a program can observe
  of the difference is which frames are in use, and twaron's statm and VmRSS count the
  mapped size, not frames).

The window never leaves the faulting VMA (so never covers a PROT_NONE guard, which is a
VMA of its own), never maps a page wholly past the end of the file (the access must still
raise SIGBUS), and never replaces an entry that is there (a private copy, a page written
since). The 64 KiB window, aligned, always lies inside one page-table page.

Only entries go from absent to present here: on KVM's shadow paging (PVM) that needs no zap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_WRITE,
    PTE_CACHE,
    PTE_W,
)

if TYPE_CHECKING:
    from twaron.mm.address_space import AddressSpace, Vma

FAULT_AROUND_BYTES = 64 << 10  # Linux's default /sys/kernel/mm/.../fault_around_bytes
# Anonymous batches only while memory is plentiful: a neighbour is a guess, never worth a
# shrinker pass, a flush of the code quarantine or an OOM kill.
ANON_BATCH_MIN_FREE = 4096  # frames (16 MiB)


def window(vma: Vma, va: int) -> tuple[int, int]:
    """[lo, hi): the aligned fault-around window of va, clipped to the VMA and, for a file,
    to its last page (a page that starts at or past EOF is never mapped: SIGBUS)."""
    base = va & -FAULT_AROUND_BYTES
    lo, hi = max(vma.start, base), min(vma.end, base + FAULT_AROUND_BYTES)
    if vma.file is not None:
        pages = (vma.file.inode.size + PAGE_SIZE - 1) >> PAGE_SHIFT
        hi = min(hi, max(lo, vma.start + ((pages - vma.pgoff) << PAGE_SHIFT)))
    return lo, hi


def fault_around(mm: AddressSpace, vma: Vma, va: int, slot: int) -> int:
    """Map the ready neighbours of va (whose entry, at mem.q[slot], the fault just filled);
    returns how many pages were mapped."""
    lo, hi = window(vma, va)
    if hi - lo <= PAGE_SIZE:
        return 0
    t = slot - ((va >> PAGE_SHIFT) & 511)  # the page-table page (the window is inside it)
    i0 = (lo >> PAGE_SHIFT) & 511
    i1 = i0 + ((hi - lo) >> PAGE_SHIFT)
    if vma.mapping is None:
        if not mm.anon_batch:
            return 0
        return _anon_batch(mm, vma, t, i0, i1)
    return _map_cached(mm, vma, t, i0, i1, vma.pgoff + ((lo - vma.start) >> PAGE_SHIFT))


def _map_cached(mm: AddressSpace, vma: Vma, t: int, i0: int, i1: int, index: int) -> int:
    """The window's empty entries that the page cache has a page for: its own frames."""
    mapping = vma.mapping
    assert mapping is not None
    pages = mapping.pages
    flags = vma.pte_flags() | PTE_CACHE
    if vma.shared and vma.prot & PROT_WRITE:
        flags |= PTE_W  # as _fill: a shared mapping writes to the file's own pages
    q = mm.q
    done = 0
    for i, e in enumerate(q[t + i0 : t + i1].tolist(), index):
        if not e:
            pfn = pages.get(i)
            if pfn:
                q[t + i0 + i - index] = (pfn << PAGE_SHIFT) | flags
                done += 1
    return done


def _anon_batch(mm: AddressSpace, vma: Vma, t: int, i0: int, i1: int) -> int:
    """Zeroed private pages for the window's empty entries."""
    mem = mm.mem
    empty = [i for i, e in enumerate(mm.q[t + i0 : t + i1].tolist(), t + i0) if not e]
    if not empty or len(mem.free_list) < ANON_BATCH_MIN_FREE + len(empty):
        return 0
    flags = vma.pte_flags()
    if vma.prot & PROT_WRITE:
        flags |= PTE_W
    q, alloc = mm.q, mem.alloc
    code = vma.prot & PROT_EXEC
    for i in empty:
        pfn = alloc()
        if code:
            mem.was_code[pfn] = 1
        q[i] = (pfn << PAGE_SHIFT) | flags
    return len(empty)
