"""Address spaces: VMAs over real x86-64 4-level page tables (Linux's mm_struct).

The page tables live in guest-physical frames and are what the CPU walks; the VMA list says
what *may* be mapped. Pages come in on demand (the fault handler) or eagerly (prefault at
exec, small anonymous mappings), and private pages are shared copy-on-write after fork, the
leaf page tables themselves too until one side changes them (mm/shared_tables.py).
The uaccess helpers (copy_in, copy_out, read_cstring) are the only way the kernel touches
user memory: they check every pointer, fault pages in like a real kernel's uaccess, and raise
KernelError(EFAULT) for anything the guest could not itself access.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Any

from twaron.arch.x86_64.constants import (
    MAP_SHARED,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    PTE_ADDR,
    PTE_CACHE,
    PTE_NX,
    PTE_P,
    PTE_U,
    PTE_W,
    SEGV_ACCERR,
    SEGV_MAPERR,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EFAULT, ENAMETOOLONG, ENOMEM
from twaron.errors import KernelError
from twaron.mm import shared_tables
from twaron.mm.fault_around import fault_around
from twaron.mm.page_cache import PageCache
from twaron.mm.physmem import ZERO_PAGE, PhysMem

UACCESS_READ = PTE_P | PTE_U  # what a kernel access on the guest's behalf needs in the PTE
UACCESS_WRITE = PTE_P | PTE_U | PTE_W

# Where things go without ASLR (Linux with randomize_va_space=0): stable addresses keep
# Unicorn's translated code valid from one exec of a binary to the next.
STACK_TOP = 0x7FFF_FFFF_F000
STACK_SIZE = 8 << 20
MMAP_TOP = 0x7FFF_F7FF_F000
MMAP_MIN = 0x1_0000  # vm.mmap_min_addr
ELF_ET_DYN_BASE = 0x5555_5555_4000
EAGER_ANON_LIMIT = 64 << 10  # anonymous mappings up to this size are populated at once

READ, WRITE, EXEC = 1, 2, 4  # fault access kinds
FAULT_SIGBUS = 0x100  # fault(): or'ed into the si_code when the signal is SIGBUS, not SIGSEGV
BUS_ADRERR = 2
PT_SPAN = 512 << PAGE_SHIFT  # what one page-table page maps: 2 MiB
ZEROS = array("Q", bytes(8 * 512))
EMPTY = memoryview(ZEROS)  # for comparing a run of entries against all-absent
FRAME_OF = PTE_ADDR  # mask; frame number = (pte & FRAME_OF) >> PAGE_SHIFT
PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC


_new_vma = object.__new__


class Vma:
    """One mapping [start, end) with one protection and one backing."""

    __slots__ = ("start", "end", "prot", "flags", "mapping", "pgoff", "file", "name", "copied")

    def __init__(
        self,
        start: int,
        end: int,
        prot: int,
        flags: int,
        mapping: PageCache | None = None,
        pgoff: int = 0,
        file: Any = None,
        name: str = "",
    ) -> None:
        self.start = start
        self.end = end
        self.prot = prot
        self.flags = flags
        self.mapping = mapping  # None: private anonymous memory
        if mapping is not None:
            mapping.mmapped = True  # its truncation looks for mappings (mm/rmap.py)
        self.pgoff = pgoff  # page index in mapping of `start`
        self.file = file  # what /proc/PID/maps names (a vfs Path), or None
        self.name = name  # "[heap]", "[stack]", ...
        # A file-backed VMA maps page-cache frames without references until a page is copied;
        # while none is, tearing it down needs no walk of its entries.
        self.copied = mapping is None

    def hold(self) -> Vma:
        """A mapped file stays alive while mapped (its page cache is what the pages are)."""
        if self.file is not None:
            self.file.inode.iget()
        return self

    def drop(self) -> None:
        if self.file is not None:
            self.file.inode.iput()

    def clone(self) -> Vma:
        """fork's copy, holding the file: the fields as they are, without __init__'s
        arguments (a fork copies every VMA of the process)."""
        copy = _new_vma(Vma)
        copy.start, copy.end, copy.prot, copy.flags = self.start, self.end, self.prot, self.flags
        copy.mapping, copy.pgoff, copy.file, copy.name = (self.mapping, self.pgoff, self.file,
                                                          self.name)  # fmt: skip
        copy.copied = self.copied
        return copy.hold()

    @property
    def shared(self) -> bool:
        return bool(self.flags & MAP_SHARED)

    def split_at(self, addr: int) -> Vma:
        """Cut at addr: self keeps [start, addr), the returned Vma has [addr, end)."""
        pgoff = self.pgoff + ((addr - self.start) >> PAGE_SHIFT)
        tail = Vma(addr, self.end, self.prot, self.flags, self.mapping, pgoff, self.file,
                   self.name)  # fmt: skip
        tail.copied = self.copied
        self.end = addr
        return tail

    def pte_flags(self) -> int:
        """Leaf flags for a page of this VMA (W is added only where the page may be written)."""
        if not self.prot & PROT_RWX:
            return PTE_P | PTE_NX  # PROT_NONE: present for the kernel, not for ring 3
        flags = PTE_P | PTE_U
        if not self.prot & PROT_EXEC:
            flags |= PTE_NX
        return flags

    def __repr__(self) -> str:
        return f"<Vma {self.start:#x}-{self.end:#x} prot={self.prot} {self.name}>"


class AddressSpace:
    # A fault also maps the ready pages of its 64 KiB window (mm/fault_around.py): cached
    # file pages, and (anon_batch) zeroed anonymous ones.
    do_fault_around = True
    anon_batch = True

    def __init__(self, mem: PhysMem) -> None:
        self.mem = mem
        self.q = mem.q
        self.pml4 = mem.alloc()
        mem.address_spaces.add(self)
        self.cr3 = self.pml4 << PAGE_SHIFT
        for i, entry in getattr(mem, "kernel_pml4", {}).items():  # platform's kernel half
            self.q[(self.pml4 << 9) + i] = entry
        self.pt_pages: list[int] = []  # every page-table page below the PML4, for teardown
        # va >> 21 -> index in mem.q of the page-table page mapping that 2 MiB: a software TLB
        # for _pte_slot, of the tables this address space owns. Page-table pages are only
        # ever freed by destroy(), and shared_tables updates it when a table is shared,
        # copied or let go, so it never goes stale while the address space lives.
        self.leaf_tables: dict[int, int] = {}
        # va >> 21 -> index in mem.q of the PMD entry, for the leaf tables shared with other
        # address spaces since a fork (read-only PMD entries; see mm/shared_tables.py)
        self.shared_pmds: dict[int, int] = {}
        self.vmas: list[Vma] = []
        self.starts: list[int] = []
        self.brk_start = self.brk = 0
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.start_stack = 0
        self.tlb_dirty = False
        self.users = 1  # tasks sharing this address space (CLONE_VM)
        self.dumpable = 1  # prctl(PR_GET_DUMPABLE): SUID_DUMP_USER until ids change
        self.total_pages = 0  # mapped virtual size in pages, for RLIMIT_AS / meminfo
        self.exe_inode: Any = None  # the executable it runs (see set_exe)

    # ---- VMA list --------------------------------------------------------------------

    def find_vma(self, addr: int) -> Vma | None:
        i = bisect_right(self.starts, addr) - 1
        if i >= 0:
            vma = self.vmas[i]
            if addr < vma.end:
                return vma
        return None

    def _insert(self, vma: Vma) -> None:
        vma.hold()
        i = bisect_right(self.starts, vma.start)
        self.vmas.insert(i, vma)
        self.starts.insert(i, vma.start)

    def _reindex(self) -> None:
        self.starts = [v.start for v in self.vmas]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, end - 1) - 1
        return i >= 0 and self.vmas[i].end > start

    def get_unmapped_area(self, length: int, hint: int = 0) -> int:
        """Top-down search below MMAP_TOP, as Linux's default mmap layout does."""
        if hint:
            hint = hint & PAGE_MASK
            end = hint + length
            if MMAP_MIN <= hint and end <= USER_TOP and not self.overlaps(hint, end):
                return hint
        top = MMAP_TOP
        for vma in reversed(self.vmas):
            if vma.start >= top:
                continue
            if vma.end <= top - length:
                return top - length
            top = min(top, vma.start)
        if top - length >= MMAP_MIN:
            return top - length
        raise KernelError(ENOMEM)

    def map(
        self,
        start: int,
        length: int,
        prot: int,
        flags: int,
        mapping: PageCache | None = None,
        pgoff: int = 0,
        file: Any = None,
        name: str = "",
        populate: bool = False,
    ) -> int:
        """Create a mapping at exactly [start, start+length), replacing what was there."""
        end = start + length
        if self.overlaps(start, end):
            self.unmap(start, end)
        vma = Vma(start, end, prot, flags, mapping, pgoff, file, name)
        self._insert(vma)
        self.total_pages += length >> PAGE_SHIFT
        if populate or (mapping is None and length <= EAGER_ANON_LIMIT and prot & PROT_RWX):
            self.prefault(vma, start, end)
        return start

    def unmap(self, start: int, end: int) -> None:
        """Remove every mapping in [start, end), splitting VMAs that straddle the edges."""
        if not self.overlaps(start, end):
            return
        self._split(start)
        self._split(end)
        keep = []
        for vma in self.vmas:
            if start <= vma.start and vma.end <= end:
                self._zap(vma.start, vma.end)
                self.total_pages -= (vma.end - vma.start) >> PAGE_SHIFT
                vma.drop()
            else:
                keep.append(vma)
        self.vmas = keep
        self._reindex()

    def _split(self, addr: int) -> None:
        vma = self.find_vma(addr)
        if vma is not None and vma.start < addr:
            self._insert(vma.split_at(addr))

    def protect(self, start: int, end: int, prot: int) -> None:
        """mprotect: the caller has checked that [start, end) is fully mapped."""
        self._split(start)
        self._split(end)
        if self.shared_pmds:
            shared_tables.own_range(self, start, end)
        q = self.q
        for vma in self.vmas:
            if vma.end <= start or vma.start >= end:
                continue
            old, vma.prot = vma.prot, prot
            flags = vma.pte_flags()
            if prot & PROT_EXEC and vma.mapping is not None:
                vma.mapping.code = True
            for slot, _va in self._leaves(vma.start, vma.end):
                pte = q[slot]
                keep_w = pte & PTE_W if prot & PROT_WRITE else 0
                q[slot] = (pte & (PTE_ADDR | PTE_CACHE)) | flags | keep_w
                if prot & PROT_EXEC and not pte & PTE_CACHE:
                    self.mem.was_code[(pte & PTE_ADDR) >> PAGE_SHIFT] = 1
            if old & ~prot:
                self.tlb_dirty = True
        self._merge()

    def _merge(self) -> None:
        """Join neighbours that differ in nothing (keeps /proc/PID/maps like Linux's)."""
        out: list[Vma] = []
        for vma in self.vmas:
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.end == vma.start
                and prev.prot == vma.prot
                and prev.flags == vma.flags
                and prev.mapping is vma.mapping
                and prev.file is vma.file
                and prev.name == vma.name
                and (vma.file is None or not vma.file.inode.unmergeable)
                and (vma.mapping is None
                     or prev.pgoff + ((prev.end - prev.start) >> PAGE_SHIFT) == vma.pgoff)
            ):  # fmt: skip
                prev.end = vma.end
                vma.drop()
            else:
                out.append(vma)
        if len(out) != len(self.vmas):
            self.vmas = out
            self._reindex()

    # ---- page tables -----------------------------------------------------------------

    def _pte_slot(self, va: int, create: bool) -> int:
        """Index in mem.q of the leaf entry for va (-1 if absent and not created)."""
        t = self.leaf_tables.get(va >> 21)
        if t is not None:
            return t + ((va >> PAGE_SHIFT) & 511)
        if self.shared_pmds:
            pmd = self.shared_pmds.get(va >> 21)
            if pmd is not None:  # create: the caller writes the entry, so unshare first
                return shared_tables.pte_slot(self, va, pmd, create)
        q = self.q
        table = self.pml4
        for shift in (39, 30, 21):
            slot = (table << 9) + ((va >> shift) & 511)
            e = q[slot]
            if not e & PTE_P:
                if not create:
                    return -1
                table = self.mem.alloc()
                self.pt_pages.append(table)
                q[slot] = (table << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U
            else:
                table = (e & PTE_ADDR) >> PAGE_SHIFT
        self.leaf_tables[va >> 21] = table << 9
        return (table << 9) + ((va >> PAGE_SHIFT) & 511)

    def _leaf_tables(self, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """(t, base, i0, i1) for every present page-table page covering [start, end): its
        entries t+i0 .. t+i1-1 in mem.q map the pages at base + (i << 12). Upper levels that
        are absent are skipped whole, so a huge sparse range costs nothing."""
        q = self.q
        out: list[tuple[int, int, int, int]] = []

        def walk(table: int, shift: int, base: int) -> None:
            lo = max(start, base)
            hi = min(end, base + (512 << shift))
            t = table << 9
            first, last = (lo - base) >> shift, ((hi - 1 - base) >> shift) + 1
            if shift == PAGE_SHIFT:
                out.append((t, base, first, last))
                return
            for i in range(first, last):
                e = q[t + i]
                if e & PTE_P:
                    walk((e & PTE_ADDR) >> PAGE_SHIFT, shift - 9, base + (i << shift))

        if start < end:
            walk(self.pml4, 39, 0)
        return out

    def _owned_leaf_tables(self, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """_leaf_tables' (t, base, i0, i1) for every leaf table this address space owns
        covering [start, end), in address order, from the `leaf_tables` cache (which holds
        every table it owns, shared_tables.py) rather than a walk from the PML4: destroy()
        runs this for each writable VMA of every process that exits or execs."""
        leaf = self.leaf_tables
        lo, hi = start >> 21, (end - 1) >> 21
        if hi - lo >= len(leaf):  # a huge range (a reservation): look at the tables there are
            keys: Any = sorted(k for k in leaf if lo <= k <= hi)
        else:
            keys = range(lo, hi + 1)
        out = []
        for key in keys:
            t = leaf.get(key)
            if t is not None:
                base = key << 21
                i0 = (max(start, base) - base) >> PAGE_SHIFT
                i1 = (min(end, base + PT_SPAN) - base + PAGE_SIZE - 1) >> PAGE_SHIFT
                out.append((t, base, i0, i1))
        return out

    def _leaves(self, start: int, end: int) -> list[tuple[int, int]]:
        """(slot, va) of every present leaf in [start, end)."""
        q = self.q
        # without shared tables every table is in leaf_tables (no walk from the PML4)
        tables = self._leaf_tables if self.shared_pmds else self._owned_leaf_tables
        return [
            (t + i, base + (i << PAGE_SHIFT))
            for t, base, i0, i1 in tables(start, end)
            for i in range(i0, i1)
            if q[t + i] & PTE_P
        ]

    def _zap(self, start: int, end: int) -> None:
        """Unmap [start, end): referenced frames are put; page-cache entries just vanish."""
        if self.shared_pmds:
            shared_tables.own_range(self, start, end, zap=True)
        q, put_range = self.q, self.mem.put_range
        for t, _base, i0, i1 in self._leaf_tables(start, end):
            put_range(t + i0, t + i1)
            q[t + i0 : t + i1] = ZEROS[: i1 - i0]
        self.tlb_dirty = True

    def discard(self, start: int, end: int) -> None:
        """MADV_DONTNEED: drop the pages; the next touch refills from zero or the file."""
        self._zap(start, end)

    def take_ptes(self, start: int, end: int) -> list[tuple[int, int]]:
        """Detach the page-table entries of [start, end) with their frames (for mremap)."""
        if self.shared_pmds:
            shared_tables.own_range(self, start, end)
        q = self.q
        out = []
        for slot, va in self._leaves(start, end):
            out.append((va, q[slot]))
            q[slot] = 0
        self.tlb_dirty = True
        return out

    def put_ptes(self, delta: int, entries: list[tuple[int, int]]) -> None:
        for va, pte in entries:
            self.q[self._pte_slot(va + delta, True)] = pte

    def populate(self, vma: Vma, start: int, end: int) -> None:
        """Map every page of [start, end) now (prefault), without copying shared pages.

        File pages go in a page-table page at a time from the page cache (the seed's
        "prefault cached pages"); anonymous pages are allocated zeroed."""
        q = self.q
        start &= PAGE_MASK
        if vma.file is not None:  # never past the end of the file: those pages are SIGBUS
            pages = (vma.file.inode.size + PAGE_SIZE - 1) >> PAGE_SHIFT
            end = min(end, max(start, vma.start + ((pages - vma.pgoff) << PAGE_SHIFT)))
        if vma.mapping is not None and not (vma.prot & PROT_WRITE and not vma.shared):
            self._populate_cached(vma, start, end)
            return
        if vma.mapping is None:
            self._populate_anon(vma, start, end)
            return
        for va in range(start, end, PAGE_SIZE):
            slot = self._pte_slot(va, True)
            if not q[slot] & PTE_P:
                self._fill(vma, va, slot, False)

    def prefault(self, vma: Vma, start: int, end: int) -> None:
        """populate() as an optimisation (brk, small anonymous mmaps, exec): short of guest
        memory it maps what it can and leaves the rest to fault in, as Linux maps such pages
        on first touch; the call that asked for it succeeds, as on Linux."""
        try:
            self.populate(vma, start, end)
        except KernelError as e:
            if e.errno != ENOMEM:
                raise

    def _populate_cached(self, vma: Vma, start: int, end: int) -> None:
        q = self.q
        mapping = vma.mapping
        assert mapping is not None
        flags = vma.pte_flags() | PTE_CACHE
        if vma.prot & PROT_WRITE:
            flags |= PTE_W  # MAP_SHARED: writes go to the file's own pages
        if vma.prot & PROT_EXEC:
            mapping.code = True
        va = start
        while va < end:
            chunk_end = min(end, (va | (PT_SPAN - 1)) + 1)
            t = self._pte_slot(va, True) - ((va >> PAGE_SHIFT) & 511)
            i0 = (va >> PAGE_SHIFT) & 511
            i1 = i0 + ((chunk_end - va) >> PAGE_SHIFT)
            index = vma.pgoff + ((va - vma.start) >> PAGE_SHIFT)
            block = mapping.pte_block(index, i1 - i0, flags)
            if q[t + i0 : t + i1] == EMPTY[: i1 - i0]:
                q[t + i0 : t + i1] = block
            else:  # some pages are there already (a private copy, say): keep them
                cur = q[t + i0 : t + i1].tolist()
                q[t + i0 : t + i1] = array("Q", [e or n for e, n in zip(cur, block, strict=True)])
            va = chunk_end

    def _populate_anon(self, vma: Vma, start: int, end: int) -> None:
        """populate() of anonymous memory: what _fill does for each absent page (a zeroed
        frame), a page-table page at a time (exec's stack and .bss, every process)."""
        q, mem = self.q, self.mem
        alloc, was_code = mem.alloc, mem.was_code
        flags = vma.pte_flags() | (PTE_W if vma.prot & PROT_WRITE else 0)
        code = vma.prot & PROT_EXEC
        va = start
        while va < end:
            chunk_end = min(end, (va | (PT_SPAN - 1)) + 1)
            i0 = (va >> PAGE_SHIFT) & 511
            t = self._pte_slot(va, True) - i0
            for i in range(t + i0, t + i0 + ((chunk_end - va) >> PAGE_SHIFT)):
                if not q[i] & PTE_P:
                    pfn = alloc()
                    if code:
                        was_code[pfn] = 1
                    q[i] = (pfn << PAGE_SHIFT) | flags
            va = chunk_end

    def populate_private(self, vma: Vma) -> None:
        """Every page of a private file mapping made this process's own copy now, as
        private_page() does page by page (exec's writable segments: .data, .got)."""
        q, mem = self.q, self.mem
        mapping = vma.mapping
        if mapping is None or vma.shared:
            for va in range(vma.start, vma.end, PAGE_SIZE):
                self.private_page(va)
            return
        flags = vma.pte_flags() | (PTE_W if vma.prot & PROT_WRITE else 0)
        code = vma.prot & PROT_EXEC
        if code:
            mapping.code = True
        index = vma.pgoff
        for va in range(vma.start, vma.end, PAGE_SIZE):
            slot = self._pte_slot(va, True)
            if q[slot] & PTE_P:  # already there (the loader's .bss zeroing): as it is
                self.private_page(va)
            else:
                new = mem.alloc(zero=False)
                mem.copy_frame(new, mapping.find_or_create(index))
                if code:
                    mem.was_code[new] = 1
                q[slot] = (new << PAGE_SHIFT) | flags
            index += 1
        vma.copied = True
        self.tlb_dirty = True

    def _fill(self, vma: Vma, va: int, slot: int, write: bool) -> None:
        """Bring in the page at va for a fault (or a prefault, write=False)."""
        mem = self.mem
        flags = vma.pte_flags()
        writable = vma.prot & PROT_WRITE
        mapping = vma.mapping
        if mapping is None:
            pfn = mem.alloc()
            if writable:
                flags |= PTE_W
        else:
            cached = mapping.find_or_create(vma.pgoff + ((va - vma.start) >> PAGE_SHIFT))
            if vma.prot & PROT_EXEC:
                mapping.code = True
            if vma.shared or not (write and writable):
                # The page cache's own frame, mapped without a reference of its own: shared
                # mappings write to it, private ones copy it on the first write.
                if vma.shared and writable:
                    flags |= PTE_W
                self.q[slot] = (cached << PAGE_SHIFT) | flags | PTE_CACHE
                return
            pfn = mem.alloc(zero=False)
            mem.copy_frame(pfn, cached)
            vma.copied = True
            flags |= PTE_W
        if vma.prot & PROT_EXEC:
            mem.was_code[pfn] = 1
        self.q[slot] = (pfn << PAGE_SHIFT) | flags

    def private_page(self, va: int) -> int:
        """The frame at va as this process's own copy, whatever the VMA's protection
        (for the kernel's writes into a mapping, such as the ELF loader's .bss zeroing)."""
        vma = self.find_vma(va)
        if vma is None:
            raise KernelError(EFAULT)
        slot = self._pte_slot(va, True)
        pte = self.q[slot]
        if not pte & PTE_P:
            self._fill(vma, va, slot, False)
            pte = self.q[slot]
        pfn = (pte & PTE_ADDR) >> PAGE_SHIFT
        if pte & PTE_CACHE or self.mem.refcount[pfn] > 1:
            vma.copied = True
            new = self.mem.alloc(zero=False)
            self.mem.copy_frame(new, pfn)
            if not pte & PTE_CACHE:
                self.mem.put(pfn)
            keep = pte & ~(PTE_ADDR | PTE_CACHE)
            self.q[slot] = keep | (new << PAGE_SHIFT) | (PTE_W if vma.prot & PROT_WRITE else 0)
            self.tlb_dirty = True
            pfn = new
        return pfn

    def fault(self, addr: int, access: int = 0) -> int:
        """Resolve a fault at addr; 0 if resolved, else the si_code to deliver with SIGSEGV
        (or with SIGBUS when FAULT_SIGBUS is set).

        access is READ, WRITE or EXEC when known, 0 when the platform cannot tell (Unicorn
        reports no error code): then a missing page is brought in for reading and a
        write-protected page of a writable VMA is taken as a write (copy-on-write).
        """
        vma = self.find_vma(addr)
        if vma is None:
            return SEGV_MAPERR
        prot = vma.prot
        if (
            not prot & PROT_RWX
            or (access == WRITE and not prot & PROT_WRITE)
            or (access == EXEC and not prot & PROT_EXEC)
        ):
            return SEGV_ACCERR
        va = addr & PAGE_MASK
        unshared = bool(self.shared_pmds) and (va >> 21) in self.shared_pmds
        slot = self._pte_slot(va, True)  # a shared table is unshared here
        pte = self.q[slot]
        if not pte & PTE_P:
            if vma.file is not None and (
                vma.pgoff + ((va - vma.start) >> PAGE_SHIFT) << PAGE_SHIFT
            ) >= vma.file.inode.size:
                return FAULT_SIGBUS | BUS_ADRERR  # a whole page past the end of the file
            self._fill(vma, va, slot, access == WRITE)
            if self.do_fault_around:
                fault_around(self, vma, va, slot)
            return 0
        if not pte & PTE_W and prot & PROT_WRITE and access != EXEC:
            self._cow(vma, slot, pte)
            return 0
        # after an unshare the access may be allowed now: let the CPU try it again
        return 0 if unshared else SEGV_ACCERR

    def _cow(self, vma: Vma, slot: int, pte: int) -> None:
        mem = self.mem
        pfn = (pte & PTE_ADDR) >> PAGE_SHIFT
        if vma.shared or (not pte & PTE_CACHE and mem.refcount[pfn] == 1):
            self.q[slot] = pte | PTE_W
            return
        new = mem.alloc(zero=False)
        mem.copy_frame(new, pfn)
        vma.copied = True
        if not pte & PTE_CACHE:
            mem.put(pfn)
        if vma.prot & PROT_EXEC:
            mem.was_code[new] = 1
        self.q[slot] = (pte & ~(PTE_ADDR | PTE_CACHE)) | (new << PAGE_SHIFT) | PTE_W
        self.tlb_dirty = True  # the CPU may still hold the old frame for reads

    def set_exe(self, inode: Any) -> None:
        """This address space runs inode's program: while it lives, opening the file for
        writing or truncating it is ETXTBSY (Linux's exe_file and deny_write_access; mapped
        pages of a truncated file would go, mm/rmap.py)."""
        if inode is not None:
            self.exe_inode = inode
            inode.denywrite += 1

    # ---- fork / teardown -------------------------------------------------------------

    def fork(self, hot: tuple[int, ...] = ()) -> AddressSpace:
        """A copy-on-write copy that shares the leaf page tables (on-demand fork, see
        mm/shared_tables.py): no entry is copied until one side changes a table.

        Pages at the `hot` addresses (the stack top, the thread pointer) are written by both
        sides at once; their tables and the pages are copied now, which costs a memcpy
        instead of four faults."""
        child = AddressSpace(self.mem)
        child.vmas = [vma.clone() for vma in self.vmas]
        child._reindex()
        try:
            shared_tables.share_tables(self, child, {addr >> 21 for addr in hot})
            for addr in hot:
                child._copy_hot_page(self, addr & PAGE_MASK)
        except KernelError:
            child.destroy()
            raise
        child.tlb_dirty = False  # it never ran: no CPU holds a translation of it (no KVM zap)
        child.brk_start, child.brk = self.brk_start, self.brk
        child.arg_start, child.arg_end = self.arg_start, self.arg_end
        child.env_start, child.env_end = self.env_start, self.env_end
        child.start_stack = self.start_stack
        child.total_pages = self.total_pages
        child.dumpable = self.dumpable
        return child

    def _copy_hot_page(self, parent: AddressSpace, va: int) -> None:
        """Right after fork: give this child its own copy of the page at va and let the
        parent write its page again, if it is an ordinary private writable page."""
        vma = self.find_vma(va)
        if vma is None or vma.shared or not vma.prot & PROT_WRITE:
            return
        for mm in (self, parent):  # both write the page: each gets its table now
            if (va >> 21) in mm.shared_pmds:
                shared_tables.unshare(mm, va >> 21)
        slot, pslot = self._pte_slot(va, False), parent._pte_slot(va, False)
        if slot < 0 or pslot < 0:
            return
        q, mem = self.q, self.mem
        pte = q[slot]
        pfn = (pte & PTE_ADDR) >> PAGE_SHIFT
        if not pte & PTE_P or pte & PTE_CACHE or mem.refcount[pfn] != 2:
            return
        new = mem.alloc(zero=False)
        mem.copy_frame(new, pfn)
        mem.put(pfn)
        q[slot] = (pte & ~PTE_ADDR) | (new << PAGE_SHIFT) | PTE_W
        q[pslot] = q[pslot] | PTE_W
        vma.copied = True

    def destroy(self) -> None:
        """Release every page and page-table frame (the last user has gone)."""
        if self.shared_pmds:
            shared_tables.release(self)  # tables other processes still use are theirs
        mem = self.mem
        put_range, table_span = mem.put_range, mem.table_span
        # Only entries of private writable or copied mappings hold references (page-cache
        # entries hold none): each owned table's used part, where such mappings cover it.
        refs = [(v.start, v.end) for v in self.vmas if v.copied or v.prot & PROT_WRITE]
        for key, t in self.leaf_tables.items():  # every table it owns (release() ran)
            base = key * PT_SPAN
            top = base + PT_SPAN
            span = None
            for start, end in refs:
                if end <= base or start >= top:
                    continue
                lo, hi = span or (span := table_span(t))
                i0 = max(lo, (max(start, base) - base) >> PAGE_SHIFT)
                i1 = min(hi, (min(end, top) - base + PAGE_SIZE - 1) >> PAGE_SHIFT)
                if i0 < i1:
                    put_range(t + i0, t + i1)
        for vma in self.vmas:
            vma.drop()
        self.vmas, self.starts = [], []
        shared_tables.free_tables(self)  # alloc() zeroes frames, so no clearing
        mem.put(self.pml4)
        self.mem.address_spaces.discard(self)
        if self.exe_inode is not None:
            self.exe_inode.denywrite -= 1
            self.exe_inode = None
        self.pt_pages = []
        self.leaf_tables = {}
        self.tlb_dirty = True

    # ---- uaccess -----------------------------------------------------------------------

    def _user_phys(self, va: int, write: bool) -> int:
        """Guest-physical address of va for a kernel access on the guest's behalf."""
        # Every syscall that takes a pointer comes here: the common case (a present page in
        # a table this address space owns, so its PTE_W is the process's) without a call.
        t = self.leaf_tables.get(va >> 21)
        if t is not None and 0 <= va < USER_TOP:
            pte = self.q[t + ((va >> PAGE_SHIFT) & 511)]
            need = UACCESS_WRITE if write else UACCESS_READ
            if pte & need == need:
                return (pte & PTE_ADDR) | (va & (PAGE_SIZE - 1))
        return self._user_phys_slow(va, write)

    def _user_phys_slow(self, va: int, write: bool) -> int:
        if va >= USER_TOP or va < 0:
            raise KernelError(EFAULT)
        q = self.q
        for _ in range(2):
            slot = self._pte_slot(va, False)
            if slot >= 0:
                pte = q[slot]
                if pte & PTE_P and pte & PTE_U and (not write or pte & PTE_W) and not (
                    write and self.shared_pmds and (va >> 21) in self.shared_pmds
                ):  # a shared table's PTE_W is not the process's: fault() unshares it
                    return (pte & PTE_ADDR) | (va & (PAGE_SIZE - 1))
            if not write and (slot < 0 or not q[slot]) and self._untouched_anon(va):
                return (self.mem.zero_frame() << PAGE_SHIFT) | (va & (PAGE_SIZE - 1))
            if self.fault(va, WRITE if write else READ):
                raise KernelError(EFAULT)
        raise KernelError(EFAULT)

    def _untouched_anon(self, va: int) -> bool:
        """va (whose page-table entry is empty) is readable private anonymous memory: it
        reads as zeros, and reading it needs no frame."""
        vma = self.find_vma(va)
        return vma is not None and vma.mapping is None and bool(vma.prot & PROT_READ)

    def copy_in(self, addr: int, n: int) -> bytes:
        if n <= 0:
            return b""
        if addr + n > USER_TOP:
            raise KernelError(EFAULT)
        buf = self.mem.buf
        first = PAGE_SIZE - (addr & (PAGE_SIZE - 1))
        if n <= first:
            pa = self._user_phys(addr, False)
            return buf[pa : pa + n]
        out = bytearray()
        while n > 0:
            chunk = min(n, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            pa = self._user_phys(addr, False)
            out += buf[pa : pa + chunk]
            addr += chunk
            n -= chunk
        return bytes(out)

    def copy_out(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        if n == 0:
            return
        if addr + n > USER_TOP:
            raise KernelError(EFAULT)
        mv, pos = self.mem.mv, 0
        if n <= PAGE_SIZE - (addr & (PAGE_SIZE - 1)):  # one page: most calls (a struct, an int)
            pa = self._user_phys(addr, True)
            mv[pa : pa + n] = data
            return
        src = memoryview(data)
        while pos < n:
            chunk = min(n - pos, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            pa = self._user_phys(addr, True)
            mv[pa : pa + chunk] = src[pos : pos + chunk]
            addr += chunk
            pos += chunk

    def copy_out_pages(self, addr: int, cache: PageCache, offset: int, n: int) -> int:
        """Copy n bytes of a file's page cache (a page it does not hold reads as zeros) from
        `offset` straight into the caller's memory at addr, frame to frame, as read(2) does.
        Returns the bytes copied: short when the buffer runs into memory it cannot write
        (Linux's short read), EFAULT when not even the first byte could be (_user_phys
        refuses memory past USER_TOP too)."""
        mv, pages = self.mem.mv, cache.pages
        done = 0
        while done < n:
            src_in, dst_in = offset & (PAGE_SIZE - 1), addr & (PAGE_SIZE - 1)
            chunk = min(n - done, PAGE_SIZE - src_in, PAGE_SIZE - dst_in)
            try:
                pa = self._user_phys(addr, True)
            except KernelError:
                if done:
                    return done
                raise
            pfn = pages.get(offset >> PAGE_SHIFT)
            if pfn:
                src = (pfn << PAGE_SHIFT) + src_in
                mv[pa : pa + chunk] = mv[src : src + chunk]
            else:
                mv[pa : pa + chunk] = ZERO_PAGE[:chunk]
            addr += chunk
            offset += chunk
            done += chunk
        return done

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); ENAMETOOLONG if none within limit.
        Most strings (paths, argv) end in their first page: one find and one slice."""
        buf = self.mem.buf
        parts: list[bytes] = []
        left = limit
        while left > 0:
            chunk = min(PAGE_SIZE - (addr & (PAGE_SIZE - 1)), left)
            pa = self._user_phys(addr, False)
            end = buf.find(b"\0", pa, pa + chunk)
            if end >= 0:
                if not parts:
                    return buf[pa:end]
                parts.append(buf[pa:end])
                return b"".join(parts)
            parts.append(buf[pa : pa + chunk])
            addr += chunk
            left -= chunk
        raise KernelError(ENAMETOOLONG)

    def read_u64(self, addr: int) -> int:
        """The little-endian 64-bit word at addr (Linux's get_user on a u64): an aligned
        word, inside one page, is read in place without a bytes object."""
        if not addr & 7 and addr < USER_TOP:
            return self.q[self._user_phys(addr, False) >> 3]
        return int.from_bytes(self.copy_in(addr, 8), "little")

    def write_u64(self, addr: int, value: int) -> None:
        """Store a 64-bit word at addr (Linux's put_user on a u64)."""
        value &= 0xFFFF_FFFF_FFFF_FFFF
        if not addr & 7 and addr < USER_TOP:
            self.q[self._user_phys(addr, True) >> 3] = value
            return
        self.copy_out(addr, value.to_bytes(8, "little"))
