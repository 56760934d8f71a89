"""On-demand fork: leaf page tables shared between address spaces after fork.

As in "On-Demand-Fork" (Zhao, Gong, Fonseca, EuroSys 2021), fork copies no page-table
entries: the child's page directory points at the parent's last-level tables (PTE tables,
2 MiB of address space each), and both processes' PMD entries for them lose PTE_W. A clear
RW bit in a PMD entry write-protects the whole 2 MiB in hardware (and in QEMU's MMU), so the
entries below need no change and the data pages' reference counts are not touched.

Rules that keep it correct:
- A shared table is never written. Whoever is about to change an entry of one (a write
  fault, a fill, mprotect, munmap, madvise, mremap, the kernel's own writes through copy_out)
  first unshares it (`unshare`): with other sharers left it copies the table, the way the
  old fork did - private entries lose PTE_W in the original and the copy (copy-on-write of
  the pages), and the copy takes a reference on every frame it maps - and points its own PMD
  entry at the copy; the last sharer simply takes the table back (PTE_W in its PMD entry).
- References to data frames belong to the table that maps them, not to an address space:
  a table's entries are put only when its last sharer tears it down (destroy skips tables
  it leaves to others), and page-cache entries (PTE_CACHE) carry no reference anywhere.
- The share count is the table frame's reference count in PhysMem; TableShares.sharers is
  the reverse map (table -> address spaces), so that when the next-to-last sharer leaves,
  the remaining one gets its PTE_W back at once, without a fault.
- An address space's shared tables are the keys (va >> 21) of its `shared_pmds` (-> the
  index of the PMD entry in mem.q). They are never in its `leaf_tables` cache, so the cache's
  fast path in _pte_slot only ever hands out tables the address space owns.
- CPU caches: making PMD entries read-only (fork) or pointing one at a new table (a copy, a
  drop) is a change of mappings, so the address space gets tlb_dirty (Unicorn reloads its
  TLB, KVM on shadow paging zaps its shadow pages). Taking a table back only widens access,
  which both CPUs find by walking the tables again on the next write fault. A table that was
  once shared may have been shadowed by KVM through an address space that no longer maps it
  and has not run since; when such a table is freed, `TableShares.freed` counts it so the
  KVM platform zaps before running anything (a frame that was a shadowed table must not be
  reused as data while KVM still write-protects it).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    PAGE_SHIFT,
    PROT_WRITE,
    PTE_ADDR,
    PTE_P,
    PTE_U,
    PTE_W,
)

if TYPE_CHECKING:
    from twaron.mm.address_space import AddressSpace

PMD_SHIFT = 21  # one leaf table maps 2 MiB
PMD_FLAGS = PTE_P | PTE_W | PTE_U  # an owned table's PMD entry (as _pte_slot makes it)


class TableShares:
    """Per kernel (one per PhysMem): which address spaces share each leaf table."""

    __slots__ = ("sharers", "once", "freed")

    def __init__(self) -> None:
        # table frame -> the address spaces whose PMD entries point at it read-only
        self.sharers: dict[int, list[AddressSpace]] = {}
        self.once: set[int] = set()  # table frames that were shared at some time
        self.freed = 0  # how many of those have been freed (the KVM platform watches it)


# ---- fork ----------------------------------------------------------------------------------


def share_tables(parent: AddressSpace, child: AddressSpace,
                 copy: frozenset[int] | set[int] = frozenset()) -> None:  # fmt: skip
    """Point child's page directory at every leaf table of parent's, read-only in both;
    child's VMAs are already a copy of parent's. The tables at the keys in `copy` (both
    sides are about to write there: fork's hot pages) that parent owns are copied for
    the child at once instead, which costs less than sharing and unsharing them."""
    q, mem = parent.q, parent.mem
    shares = mem.table_shares
    sharers, get = shares.sharers, mem.get
    # parent's tables: those it owns (all in its leaf_tables) and those it shares already;
    # the page directories found once per GiB
    found: dict[int, int] = {}
    pmds = {key: _find_pmd(parent, key, found) for key in parent.leaf_tables}
    pmds.update(parent.shared_pmds)
    made: dict[int, int] = {}
    try:
        for key, slot in pmds.items():
            e = q[slot]
            table = (e & PTE_ADDR) >> PAGE_SHIFT
            pd = made.get(key >> 9)
            if pd is None:  # may raise ENOMEM: nothing shared yet
                pd = made[key >> 9] = _pmd_slot(child, key << PMD_SHIFT) - (key & 511)
            cslot = pd + (key & 511)
            if e & PTE_W and key in copy:  # parent keeps its table, the child a copy
                new = mem.alloc(zero=False)
                _copy_table(parent, key, table, new)
                q[cslot] = (new << PAGE_SHIFT) | PMD_FLAGS
                child.pt_pages.append(new)
                child.leaf_tables[key] = new << 9
                continue
            if e & PTE_W:
                e &= ~PTE_W
                q[slot] = e
                parent.shared_pmds[key] = slot
                del parent.leaf_tables[key]
                sharers[table] = [parent]
                shares.once.add(table)
            elif table not in sharers:  # read-only, its other sharers gone: still parent's
                sharers[table] = [parent]
            sharers[table].append(child)
            get(table)
            q[cslot] = e
            child.shared_pmds[key] = cslot
            child.pt_pages.append(table)
    finally:
        parent.tlb_dirty = True


def _find_pmd(mm: AddressSpace, key: int, found: dict[int, int]) -> int:
    """Index in mem.q of the PMD entry of a present leaf table (key = va >> 21); found
    caches the page directories (key >> 9 -> the index of its first entry)."""
    pd = found.get(key >> 9)
    if pd is None:
        q = mm.q
        table = mm.pml4
        for shift in (18, 9):  # the PML4 and PDPT indexes, in units of 2 MiB
            table = (q[(table << 9) + ((key >> shift) & 511)] & PTE_ADDR) >> PAGE_SHIFT
        pd = found[key >> 9] = table << 9
    return pd + (key & 511)


def _pmd_slot(mm: AddressSpace, va: int) -> int:
    """Index in mem.q of the PMD entry for va, making the upper tables as needed."""
    q = mm.q
    table = mm.pml4
    for shift in (39, 30):
        slot = (table << 9) + ((va >> shift) & 511)
        e = q[slot]
        if e & PTE_P:
            table = (e & PTE_ADDR) >> PAGE_SHIFT
        else:
            table = mm.mem.alloc()
            mm.pt_pages.append(table)
            q[slot] = (table << PAGE_SHIFT) | PMD_FLAGS
    return (table << 9) + ((va >> PMD_SHIFT) & 511)


# ---- before a change ------------------------------------------------------------------------


def pte_slot(mm: AddressSpace, va: int, pmd: int, create: bool) -> int:
    """_pte_slot for an address in a shared table: the entry's index for reading, or (create:
    the caller will write it) the index in the address space's own table."""
    if create:
        unshare(mm, va >> PMD_SHIFT)
        return mm.leaf_tables[va >> PMD_SHIFT] + ((va >> PAGE_SHIFT) & 511)
    return ((mm.q[pmd] & PTE_ADDR) >> PAGE_SHIFT << 9) + ((va >> PAGE_SHIFT) & 511)


def own_range(mm: AddressSpace, start: int, end: int, zap: bool = False) -> None:
    """Unshare every shared table covering [start, end) before its entries change. zap: the
    entries are about to be removed, so a table the range covers whole is simply let go
    (the other sharers keep it and its pages) instead of copied."""
    lo, hi = start >> PMD_SHIFT, (end - 1) >> PMD_SHIFT
    for key in [k for k in mm.shared_pmds if lo <= k <= hi]:
        if zap and start <= key << PMD_SHIFT and (key + 1) << PMD_SHIFT <= end:
            _drop(mm, key)
        else:
            unshare(mm, key)


def unshare(mm: AddressSpace, key: int) -> None:
    """Make the shared table at key mm's own: a copy, or the table itself for its last
    sharer."""
    q, mem = mm.q, mm.mem
    pmd = mm.shared_pmds[key]
    e = q[pmd]
    table = (e & PTE_ADDR) >> PAGE_SHIFT
    if mem.refcount[table] > 1:
        new = mem.alloc(zero=False)  # first: ENOMEM leaves everything as it was
        del mm.shared_pmds[key]
        _copy_table(mm, key, table, new)
        pt_pages = mm.pt_pages
        pt_pages[pt_pages.index(table)] = new
        q[pmd] = (new << PAGE_SHIFT) | PMD_FLAGS
        _leave(mm, key, table)
        table = new
        mm.tlb_dirty = True  # the 2 MiB now go through another table
    else:  # only reached if the reverse map missed a take-back; harmless
        del mm.shared_pmds[key]
        q[pmd] = e | PTE_W
        mem.table_shares.sharers.pop(table, None)
    mm.leaf_tables[key] = table << 9


def _copy_table(mm: AddressSpace, key: int, table: int, new: int) -> None:
    """Fill the frame new with table's entries: private pages become copy-on-write in both (the
    original's entries lose PTE_W too: every sharer sees it read-only until it copies), and
    the copy takes its own reference on every frame it maps."""
    q, mem = mm.q, mm.mem
    base = key << PMD_SHIFT
    top = base + (1 << PMD_SHIFT)
    t = table << 9
    lo, hi = mem.table_span(t)
    vmas = mm.vmas
    i = max(0, bisect_right(mm.starts, base) - 1)
    while lo < hi and i < len(vmas) and vmas[i].start < top:
        vma = vmas[i]
        i += 1
        if vma.end <= base or (not vma.copied and not vma.prot & PROT_WRITE):
            continue  # page-cache entries only: copied as they are, no references
        i0 = max(lo, (max(vma.start, base) - base) >> PAGE_SHIFT)
        i1 = min(hi, (min(vma.end, top) - base) >> PAGE_SHIFT)
        if i0 < i1:
            mem.get_range(t + i0, t + i1, not vma.shared)
    n = new << 9
    q[n : n + 512] = q[t : t + 512]


def _drop(mm: AddressSpace, key: int) -> None:
    """mm stops mapping the shared table at key (its entries are being zapped whole)."""
    pmd = mm.shared_pmds.pop(key)
    q = mm.q
    table = (q[pmd] & PTE_ADDR) >> PAGE_SHIFT
    if mm.mem.refcount[table] == 1:  # the last sharer: zap the entries as usual
        q[pmd] |= PTE_W
        mm.mem.table_shares.sharers.pop(table, None)
        mm.leaf_tables[key] = table << 9
        return
    q[pmd] = 0
    mm.pt_pages.remove(table)
    _leave(mm, key, table)
    mm.tlb_dirty = True


def _leave(mm: AddressSpace, key: int, table: int) -> None:
    """mm no longer maps table: drop its share, and give the last sharer the table back."""
    mem = mm.mem
    sharers = mem.table_shares.sharers
    left = sharers[table]
    left.remove(mm)
    mem.put(table)  # never the last reference: another sharer holds one
    if len(left) == 1:
        del sharers[table]
        _take_back(left[0], key, table)


def _take_back(mm: AddressSpace, key: int, table: int) -> None:
    """The last sharer owns table again: writable PMD entry, cached in leaf_tables. Widening
    only: no TLB flush or shadow zap is needed (a write fault walks the tables again)."""
    pmd = mm.shared_pmds.pop(key)
    mm.q[pmd] |= PTE_W
    mm.leaf_tables[key] = table << 9


# ---- teardown -------------------------------------------------------------------------------


def release(mm: AddressSpace) -> None:
    """destroy(): let go of every table mm still shares, before its own entries are put.
    Their PMD entries are cleared, so the walk over mm's tables no longer reaches them."""
    q, refcount = mm.q, mm.mem.refcount
    gone = set()
    for key, pmd in list(mm.shared_pmds.items()):
        table = (q[pmd] & PTE_ADDR) >> PAGE_SHIFT
        if refcount[table] > 1:
            del mm.shared_pmds[key]
            q[pmd] = 0
            gone.add(table)
            _leave(mm, key, table)
        else:  # the last sharer after all: it owns the table, and destroy puts its pages
            unshare(mm, key)
    if gone:
        mm.pt_pages = [p for p in mm.pt_pages if p not in gone]


def free_tables(mm: AddressSpace) -> None:
    """destroy(): put every page-table frame mm holds; count freed once-shared tables."""
    mem = mm.mem
    put, refcount = mem.put, mem.refcount
    shares = mem.table_shares
    once = shares.once
    for table in mm.pt_pages:
        put(table)
        if once and not refcount[table] and table in once:
            once.discard(table)
            shares.freed += 1
