"""Fault-around (mm/fault_around.py): the page tables after one fault.

A fault maps the ready pages of its aligned 64 KiB window, never past its VMA (so never
over a PROT_NONE guard), never a page that starts past the end of the file (that access
stays SIGBUS), never over an entry that is there, and private file pages read-only."""

from __future__ import annotations

from twaron.arch.x86_64.constants import (
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    PTE_ADDR,
    PTE_CACHE,
    PTE_P,
    PTE_W,
)
from twaron.mm.address_space import BUS_ADRERR, FAULT_SIGBUS, AddressSpace
from twaron.mm.fault_around import FAULT_AROUND_BYTES
from twaron.mm.page_cache import PageCache
from twaron.mm.physmem import PhysMem

BASE = 0x4000_0000  # 2 MiB-aligned, so page i of a mapping at BASE is in window i // 16
WINDOW = FAULT_AROUND_BYTES >> PAGE_SHIFT


class FakeInode:
    """What mm asks of a mapped file's inode."""

    unmergeable = False

    def __init__(self, size: int) -> None:
        self.size = size

    def iget(self) -> None:
        pass

    def iput(self) -> None:
        pass


class FakeFile:
    def __init__(self, size: int) -> None:
        self.inode = FakeInode(size)


def setup(size: int, cached: range | None = None) -> tuple[AddressSpace, PageCache, FakeFile]:
    mem = PhysMem(64 << 20)
    mapping = PageCache(mem)
    for i in cached if cached is not None else range((size + PAGE_SIZE - 1) >> PAGE_SHIFT):
        mapping.write(i << PAGE_SHIFT, bytes([i + 1]) * 8)
    return AddressSpace(mem), mapping, FakeFile(size)


def pte(mm: AddressSpace, va: int) -> int:
    slot = mm._pte_slot(va, False)
    return mm.q[slot] if slot >= 0 else 0


def present(mm: AddressSpace, start: int, pages: int) -> list[int]:
    """Indexes of the present pages among [start, start + pages * 4 KiB)."""
    return [i for i in range(pages) if pte(mm, start + (i << PAGE_SHIFT)) & PTE_P]


def test_file_window_stops_at_eof_and_keeps_sigbus():
    size = 5 * PAGE_SIZE + PAGE_SIZE // 2  # 5.5 pages
    mm, mapping, f = setup(size)
    mm.map(BASE, 8 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 0, f)
    assert mm.fault(BASE + 2 * PAGE_SIZE) == 0
    assert present(mm, BASE, 8) == [0, 1, 2, 3, 4, 5]  # page 5 holds the file's end
    for i in range(6):
        e = pte(mm, BASE + (i << PAGE_SHIFT))
        assert e & PTE_CACHE and not e & PTE_W  # the cache's frame, read-only: CoW stays
        assert (e & PTE_ADDR) >> PAGE_SHIFT == mapping.pages[i]
    assert mm.fault(BASE + 6 * PAGE_SIZE) == FAULT_SIGBUS | BUS_ADRERR
    assert mm.fault(BASE + 7 * PAGE_SIZE + 100) == FAULT_SIGBUS | BUS_ADRERR
    assert present(mm, BASE, 8) == [0, 1, 2, 3, 4, 5]


def test_file_window_with_offset_stops_at_eof():
    mm, mapping, f = setup(20 * PAGE_SIZE + 1)  # 21 pages, the last one partial
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 10, f)  # pages 10..25
    assert mm.fault(BASE) == 0
    assert present(mm, BASE, 16) == list(range(11))  # file pages 10..20
    assert mm.fault(BASE + 11 * PAGE_SIZE) == FAULT_SIGBUS | BUS_ADRERR


def test_file_window_maps_only_cached_pages():
    mm, mapping, f = setup(16 * PAGE_SIZE, cached=range(0, 16, 2))  # odd pages: holes
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ, MAP_SHARED, mapping, 0, f)
    assert mm.fault(BASE) == 0
    assert present(mm, BASE, 16) == list(range(0, 16, 2))
    assert set(mapping.pages) == set(range(0, 16, 2))  # no page was made for a neighbour
    assert mm.fault(BASE + PAGE_SIZE) == 0  # the hole itself, when touched
    assert 1 in mapping.pages


def test_window_never_leaves_the_vma():
    mm, mapping, f = setup(64 * PAGE_SIZE)
    # three VMAs in one window: file pages 0-4, a PROT_NONE guard at 5-6, file pages 7-15
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 0, f)
    mm.protect(BASE + 5 * PAGE_SIZE, BASE + 7 * PAGE_SIZE, PROT_NONE)
    assert mm.fault(BASE + PAGE_SIZE) == 0
    assert present(mm, BASE, 16) == [0, 1, 2, 3, 4]
    assert mm.fault(BASE + 5 * PAGE_SIZE) != 0  # the guard: SIGSEGV, nothing mapped
    assert present(mm, BASE, 16) == [0, 1, 2, 3, 4]
    assert mm.fault(BASE + 12 * PAGE_SIZE) == 0
    assert present(mm, BASE, 16) == [0, 1, 2, 3, 4, *range(7, 16)]
    assert pte(mm, BASE + 5 * PAGE_SIZE) == pte(mm, BASE + 6 * PAGE_SIZE) == 0


def test_window_clipped_to_an_unaligned_vma():
    mm, mapping, f = setup(64 * PAGE_SIZE)
    start = BASE + 3 * PAGE_SIZE
    mm.map(start, 10 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 0, f)  # pages 3..12
    mm.map(BASE + 13 * PAGE_SIZE, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 40, f)
    assert mm.fault(start + 4 * PAGE_SIZE) == 0
    assert present(mm, BASE, 16) == list(range(3, 13))
    assert (pte(mm, start) & PTE_ADDR) >> PAGE_SHIFT == mapping.pages[0]


def test_existing_entries_are_kept():
    mm, mapping, f = setup(16 * PAGE_SIZE)
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, mapping, 0, f)
    mm.private_page(BASE + 9 * PAGE_SIZE)  # a private copy of page 9
    own = pte(mm, BASE + 9 * PAGE_SIZE)
    assert not own & PTE_CACHE
    assert mm.fault(BASE) == 0
    assert present(mm, BASE, 16) == list(range(16))
    assert pte(mm, BASE + 9 * PAGE_SIZE) == own
    assert not pte(mm, BASE + 3 * PAGE_SIZE) & PTE_W  # a read maps the cache's page
    assert mm.fault(BASE + 3 * PAGE_SIZE) == 0  # the write: a private copy (CoW)
    copy = pte(mm, BASE + 3 * PAGE_SIZE)
    assert copy & PTE_W and not copy & PTE_CACHE
    assert (copy & PTE_ADDR) >> PAGE_SHIFT != mapping.pages[3]


def test_shared_writable_neighbours_write_to_the_file():
    mm, mapping, f = setup(16 * PAGE_SIZE)
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mapping, 0, f)
    assert mm.fault(BASE + 15 * PAGE_SIZE) == 0
    for i in range(16):
        e = pte(mm, BASE + (i << PAGE_SHIFT))
        assert e & PTE_W and (e & PTE_ADDR) >> PAGE_SHIFT == mapping.pages[i]


def test_anonymous_batch_fills_the_window_with_zeroed_pages():
    mm, _, _ = setup(0)
    mem = mm.mem
    for pfn in range(1, 200):  # frames with old contents: the batch must zero them
        mem.mv[pfn << PAGE_SHIFT : (pfn + 1) << PAGE_SHIFT] = b"\xee" * PAGE_SIZE
    start = BASE - 4 * PAGE_SIZE  # 4 pages before a window boundary, 40 pages long
    mm.map(start, 40 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE)
    assert mm.fault(BASE + 17 * PAGE_SIZE) == 0
    assert present(mm, start, 40) == list(range(20, 36))  # the window BASE+16..BASE+31
    for i in range(20, 36):
        e = pte(mm, start + (i << PAGE_SHIFT))
        assert e & PTE_W and not e & PTE_CACHE
        assert bytes(mem.page((e & PTE_ADDR) >> PAGE_SHIFT)) == bytes(PAGE_SIZE)
    assert mm.fault(start) == 0  # the first window is clipped to the VMA's start
    assert present(mm, start, 40) == [0, 1, 2, 3, *range(20, 36)]


def test_anonymous_batch_off_maps_one_page():
    mm, _, _ = setup(0)
    mm.anon_batch = False
    mm.map(BASE, 32 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE)
    assert mm.fault(BASE + 5 * PAGE_SIZE) == 0
    assert present(mm, BASE, 32) == [5]


def test_fault_around_off_maps_one_page():
    mm, mapping, f = setup(16 * PAGE_SIZE)
    mm.do_fault_around = False
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping, 0, f)
    assert mm.fault(BASE + 5 * PAGE_SIZE) == 0
    assert present(mm, BASE, 16) == [5]


def test_teardown_puts_every_batched_page():
    mm, _, _ = setup(0)
    mem = mm.mem
    free = mem.frames_free
    mm.map(BASE, 64 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE)
    for i in range(0, 64, 16):
        mm.fault(BASE + (i << PAGE_SHIFT))
    assert len(present(mm, BASE, 64)) == 64
    mm.unmap(BASE, BASE + 64 * PAGE_SIZE)
    mm.destroy()
    assert mem.frames_free == free + 1  # the PML4 this test's address space took


def test_truncate_unmaps_the_pages_past_eof_everywhere():
    mm, mapping, f = setup(16 * PAGE_SIZE)
    other = AddressSpace(mm.mem)
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ, MAP_SHARED, mapping, 0, f)
    other.map(BASE, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, mapping, 0, f)
    mm.fault(BASE)
    other.fault(BASE)
    other.private_page(BASE + 12 * PAGE_SIZE)  # a private copy: truncate takes it too
    f.inode.size = 3 * PAGE_SIZE + 1
    mapping.truncate(f.inode.size)
    assert present(mm, BASE, 16) == [0, 1, 2, 3]
    assert present(other, BASE, 16) == [0, 1, 2, 3]
    assert mm.tlb_dirty and other.tlb_dirty
    assert other.fault(BASE + 12 * PAGE_SIZE) == FAULT_SIGBUS | BUS_ADRERR


def test_punched_hole_refaults_but_private_copies_stay():
    mm, mapping, f = setup(16 * PAGE_SIZE)
    mm.map(BASE, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, mapping, 0, f)
    mm.fault(BASE)
    copy = mm.private_page(BASE + 5 * PAGE_SIZE)
    mapping.punch(4 * PAGE_SIZE + 1, 8 * PAGE_SIZE)  # whole pages 5, 6, 7
    assert present(mm, BASE, 16) == [0, 1, 2, 3, 4, 5, *range(8, 16)]
    assert (pte(mm, BASE + 5 * PAGE_SIZE) & PTE_ADDR) >> PAGE_SHIFT == copy
    assert mm.fault(BASE + 6 * PAGE_SIZE) == 0
    assert (pte(mm, BASE + 6 * PAGE_SIZE) & PTE_ADDR) >> PAGE_SHIFT == mapping.pages[6]
