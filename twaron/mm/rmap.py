"""Taking a file's pages out of every address space that maps them (Linux's
unmap_mapping_range), for truncate and hole punching.

Mapped page-cache pages carry no reference of their own (mm/address_space.py), so when a
file loses pages, the entries that map them must go: the next access then refaults, and
sees the file as it is now (SIGBUS past its end, a new zeroed page in a hole), as on Linux.
With fault-around many more pages are mapped than were touched, so this matters.

There is no per-page reverse map: the page cache remembers only whether it was ever mapped
(`PageCache.mmapped`), and the physical memory knows its live address spaces, whose VMAs
say which of them map the file. Truncating a file nobody mapped costs one test.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import PAGE_SHIFT, PTE_ADDR, PTE_CACHE, PTE_P

if TYPE_CHECKING:
    from twaron.mm.address_space import AddressSpace
    from twaron.mm.page_cache import PageCache


def unmap_mapping_range(mapping: PageCache, first: int, last: int | None,
                        even_cows: bool) -> None:  # fmt: skip
    """Unmap the file's pages first .. last-1 (last None: to the end) wherever mapped;
    even_cows: private copies of them too (truncate: past EOF nothing stays mapped; a hole
    punch keeps them, as Linux's)."""
    if not mapping.mmapped:
        return
    for mm in list(mapping.mem.address_spaces):
        for vma in mm.vmas:
            if vma.mapping is not mapping:
                continue
            pages = (vma.end - vma.start) >> PAGE_SHIFT
            lo = max(first, vma.pgoff)
            hi = vma.pgoff + pages if last is None else min(last, vma.pgoff + pages)
            if lo < hi:
                start = vma.start + ((lo - vma.pgoff) << PAGE_SHIFT)
                _zap_file_pages(mm, start, start + ((hi - lo) << PAGE_SHIFT), even_cows)


def _zap_file_pages(mm: AddressSpace, start: int, end: int, even_cows: bool) -> None:
    """A leaf table shared since fork (mm/shared_tables.py) is zapped in place, for all its
    sharers at once: they map the same file pages there, and a private copy's reference
    belongs to the table, so it is put once, by whichever sharer comes first; the others
    find the entries gone but must still drop their cached translations."""
    q, put = mm.q, mm.mem.put
    sharers = mm.mem.table_shares.sharers
    for t, _base, i0, i1 in mm._leaf_tables(start, end):
        entries = q[t + i0 : t + i1].tolist()
        if not any(entries):
            if (t >> 9) in sharers:
                mm.tlb_dirty = True
            continue
        for i, e in enumerate(entries):
            if not e & PTE_P:
                continue
            if e & PTE_CACHE:
                entries[i] = 0
            elif even_cows:
                put((e & PTE_ADDR) >> PAGE_SHIFT)
                entries[i] = 0
        q[t + i0 : t + i1] = array("Q", entries)
        mm.tlb_dirty = True  # narrowed: the CPUs' cached translations must go
