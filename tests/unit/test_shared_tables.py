"""On-demand fork (twaron/mm/shared_tables.py): leaf page tables shared after fork.

The address spaces are driven as the CPU and the kernel drive them: `cpu_write` walks the
four levels as the MMU does (a write needs PTE_W at every level, so a read-only PMD entry
write-protects its 2 MiB) and calls fault() until the write goes through; the kernel's own
accesses go through copy_in/copy_out."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from twaron.arch.x86_64.constants import (
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SHIFT,
    PROT_READ,
    PROT_WRITE,
    PTE_ADDR,
    PTE_P,
    PTE_W,
)
from twaron.mm.address_space import WRITE, AddressSpace
from twaron.mm.page_cache import PageCache
from twaron.mm.physmem import PhysMem

RW = PROT_READ | PROT_WRITE
MB2 = 2 << 20
BASE = 0x4000_0000  # a 2 MiB-aligned address: table boundaries are easy to reason about


def walk(mm: AddressSpace, va: int) -> tuple[int, bool]:
    """(physical address, writable) of va as the MMU sees it; (-1, False) if not present."""
    q = mm.q
    table, writable = mm.pml4, True
    for shift in (39, 30, 21, 12):
        e = q[(table << 9) + ((va >> shift) & 511)]
        if not e & PTE_P:
            return -1, False
        writable = writable and bool(e & PTE_W)
        table = (e & PTE_ADDR) >> PAGE_SHIFT
    return (table << PAGE_SHIFT) | (va & 0xFFF), writable


def cpu_write(mm: AddressSpace, va: int, data: bytes) -> None:
    for _ in range(4):
        pa, writable = walk(mm, va)
        if pa >= 0 and writable:
            mm.mem.mv[pa : pa + len(data)] = data
            return
        assert mm.fault(va, WRITE) == 0
    raise AssertionError("the write never went through")


def cpu_read(mm: AddressSpace, va: int, n: int) -> bytes:
    pa, _ = walk(mm, va)
    if pa < 0:
        assert mm.fault(va, 0) == 0
        pa, _ = walk(mm, va)
    return bytes(mm.mem.mv[pa : pa + n])


def pmd(mm: AddressSpace, va: int) -> int:
    q = mm.q
    table = mm.pml4
    for shift in (39, 30):
        table = (q[(table << 9) + ((va >> shift) & 511)] & PTE_ADDR) >> PAGE_SHIFT
    return q[(table << 9) + ((va >> 21) & 511)]


def table_of(mm: AddressSpace, va: int) -> int:
    return (pmd(mm, va) & PTE_ADDR) >> PAGE_SHIFT


def frame_of(mm: AddressSpace, va: int) -> int:
    return walk(mm, va)[0] >> PAGE_SHIFT


@pytest.fixture(params=["c", "python"])
def mem(request, monkeypatch) -> PhysMem:
    """Guest memory whose table loops run in C (mm/pte_loops.c) or in Python."""
    monkeypatch.setenv("TWARON_C_HELPERS", "1" if request.param == "c" else "0")
    m = PhysMem(16 << 20)
    python_loops = getattr(m.get_range, "__self__", None) is m
    assert python_loops == (request.param == "python") or not shutil.which("cc")
    return m


def anon(mm: AddressSpace, start: int, length: int, flags: int = MAP_PRIVATE,
         mapping: PageCache | None = None) -> None:  # fmt: skip
    mm.map(start, length, RW, flags, mapping)


def test_fork_shares_the_tables_and_touches_no_page(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 16 << 12)
    for i in range(16):
        cpu_write(parent, BASE + (i << 12), b"P%d" % i)
    frames = [frame_of(parent, BASE + (i << 12)) for i in range(16)]
    refs = [mem.refcount[f] for f in frames]
    child = parent.fork()
    assert table_of(child, BASE) == table_of(parent, BASE)
    assert mem.refcount[table_of(parent, BASE)] == 2
    assert not pmd(parent, BASE) & PTE_W and not pmd(child, BASE) & PTE_W
    assert [mem.refcount[f] for f in frames] == refs  # no data page reference taken
    assert parent.tlb_dirty  # the running parent's PMD entries were narrowed
    assert cpu_read(child, BASE + (3 << 12), 2) == b"P3"


def test_each_side_sees_its_own_writes(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 8 << 12)
    cpu_write(parent, BASE, b"before")
    child = parent.fork()
    old_table = table_of(parent, BASE)
    cpu_write(child, BASE, b"child!")
    # the child copied the table; the parent, last sharer, owns it again without a fault
    assert table_of(child, BASE) != old_table
    assert table_of(parent, BASE) == old_table and pmd(parent, BASE) & PTE_W
    assert mem.refcount[old_table] == 1 and not parent.shared_pmds and not child.shared_pmds
    assert cpu_read(parent, BASE, 6) == b"before"
    cpu_write(parent, BASE, b"parent")
    assert cpu_read(child, BASE, 6) == b"child!"
    assert cpu_read(parent, BASE, 6) == b"parent"


def test_kernel_writes_unshare(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    parent.copy_out(BASE + 100, b"original")
    child = parent.fork()
    child.copy_out(BASE + 100, b"childs!!")  # copy_out must not write through the shared table
    assert parent.copy_in(BASE + 100, 8) == b"original"
    assert child.copy_in(BASE + 100, 8) == b"childs!!"
    assert child.tlb_dirty


def test_three_way_sharing(mem):
    a = AddressSpace(mem)
    anon(a, BASE, 4 << 12)
    cpu_write(a, BASE, b"A")
    b = a.fork()
    c = b.fork()  # grandchild: one table, three sharers
    t = table_of(a, BASE)
    assert table_of(b, BASE) == table_of(c, BASE) == t and mem.refcount[t] == 3
    cpu_write(b, BASE, b"B")
    assert mem.refcount[t] == 2 and a.shared_pmds and c.shared_pmds
    assert cpu_read(a, BASE, 1) == b"A" and cpu_read(c, BASE, 1) == b"A"
    cpu_write(c, BASE, b"C")
    assert mem.refcount[t] == 1 and not a.shared_pmds and pmd(a, BASE) & PTE_W
    cpu_write(a, BASE, b"a")
    assert [cpu_read(m, BASE, 1) for m in (a, b, c)] == [b"a", b"B", b"C"]


def test_teardown_leaves_the_other_sharers_pages(mem):
    free0 = mem.frames_free
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    anon(parent, BASE + MB2, 4 << 12)
    cpu_write(parent, BASE, b"one")
    cpu_write(parent, BASE + MB2, b"two")
    child = parent.fork()
    grandchild = child.fork()
    child.destroy()  # exit or exec of a sharer: nothing of the parent's is freed
    assert cpu_read(parent, BASE, 3) == b"one"
    assert cpu_read(grandchild, BASE + MB2, 3) == b"two"
    grandchild.destroy()
    assert not parent.shared_pmds and pmd(parent, BASE) & PTE_W  # taken back, no fault
    cpu_write(parent, BASE, b"ONE")
    assert cpu_read(parent, BASE, 3) == b"ONE"
    parent.destroy()
    assert mem.frames_free == free0  # every page and table came back exactly once


def test_teardown_after_copies_frees_everything(mem):
    free0 = mem.frames_free
    parent = AddressSpace(mem)
    anon(parent, BASE, 64 << 12)
    for i in range(64):
        cpu_write(parent, BASE + (i << 12), b"x")
    child = parent.fork()
    grandchild = child.fork()
    cpu_write(child, BASE, b"c")
    cpu_write(parent, BASE + 4096, b"p")
    for mm in (parent, grandchild, child):
        mm.destroy()
    assert mem.frames_free == free0
    assert mem.table_shares.sharers == {}


def test_munmap_in_the_child(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, MB2)  # exactly one table's range
    anon(parent, BASE + MB2, 8 << 12)
    cpu_write(parent, BASE, b"whole")
    cpu_write(parent, BASE + MB2, b"part")
    child = parent.fork()
    t_whole = table_of(parent, BASE)
    child.unmap(BASE, BASE + MB2)  # a whole shared table: let go, not copied
    assert walk(child, BASE)[0] == -1
    assert mem.refcount[t_whole] == 1 and pmd(parent, BASE) & PTE_W
    child.unmap(BASE + MB2, BASE + MB2 + 4096)  # part of one: copied, then zapped
    assert walk(child, BASE + MB2)[0] == -1
    assert cpu_read(parent, BASE, 5) == b"whole"
    assert cpu_read(parent, BASE + MB2, 4) == b"part"
    assert child.find_vma(BASE) is None and parent.find_vma(BASE) is not None


def test_mprotect_in_the_child(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"data")
    child = parent.fork()
    child.protect(BASE, BASE + 4096, PROT_READ)
    assert child.fault(BASE, WRITE) != 0  # SEGV_ACCERR: read-only now
    assert cpu_read(child, BASE, 4) == b"data"
    cpu_write(parent, BASE, b"PARE")  # the parent's page is still writable
    assert cpu_read(child, BASE, 4) == b"data"


def test_madvise_dontneed_in_the_child(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"keep")
    child = parent.fork()
    child.discard(BASE, BASE + (4 << 12))
    assert cpu_read(child, BASE, 4) == bytes(4)
    assert cpu_read(parent, BASE, 4) == b"keep"


def test_mremap_move_in_the_child(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"move")
    child = parent.fork()
    moved = child.take_ptes(BASE, BASE + (4 << 12))
    child.unmap(BASE, BASE + (4 << 12))
    child.map(BASE + 3 * MB2, 4 << 12, RW, MAP_PRIVATE)
    child.put_ptes(3 * MB2, moved)
    assert cpu_read(child, BASE + 3 * MB2, 4) == b"move"
    cpu_write(child, BASE + 3 * MB2, b"MOVE")
    assert cpu_read(parent, BASE, 4) == b"move"


def test_new_mapping_in_a_shared_range(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"old")
    child = parent.fork()
    # a small anonymous mapping is populated at once: into the child's own table
    child.map(BASE + (64 << 12), 4 << 12, RW, MAP_PRIVATE)
    assert walk(parent, BASE + (64 << 12))[0] == -1
    cpu_write(child, BASE + (64 << 12), b"new")
    assert parent.find_vma(BASE + (64 << 12)) is None


def test_shared_memory_stays_shared(mem):
    parent = AddressSpace(mem)
    cache = PageCache(mem)
    anon(parent, BASE, 4 << 12, MAP_SHARED, cache)
    anon(parent, BASE + (16 << 12), 4 << 12)  # private, in the same table
    cpu_write(parent, BASE, b"s0")
    child = parent.fork()
    cpu_write(child, BASE, b"s1")
    assert cpu_read(parent, BASE, 2) == b"s1"
    cpu_write(parent, BASE + 4096, b"s2")
    assert cpu_read(child, BASE + 4096, 2) == b"s2"
    cpu_write(child, BASE + (16 << 12), b"p")
    assert cpu_read(parent, BASE + (16 << 12), 1) == bytes(1)


def test_private_file_mapping(mem):
    """Page-cache entries carry no reference: copying a table takes none for them, and a
    private write copies the page."""
    cache = PageCache(mem)
    cache.write(0, b"file contents")
    file = SimpleNamespace(
        inode=SimpleNamespace(size=1 << 20, unmergeable=False, iget=lambda: None, iput=lambda: None)
    )
    parent = AddressSpace(mem)
    parent.map(BASE, 8 << 12, RW, MAP_PRIVATE, cache, 0, file, populate=True)
    cache_frame = cache.pages[0]
    refs = mem.refcount[cache_frame]
    child = parent.fork()
    cpu_write(child, BASE + 5, b"CHILD")
    assert mem.refcount[cache_frame] == refs
    assert cpu_read(parent, BASE, 13) == b"file contents"
    assert cpu_read(child, BASE, 13) == b"file CHILDnts"
    assert cache.read(0, 13) == b"file contents"
    child.destroy()
    parent.destroy()
    assert mem.refcount[cache_frame] == refs


def test_hot_pages_are_copied_at_fork(mem):
    parent = AddressSpace(mem)
    anon(parent, BASE, 8 << 12)
    anon(parent, BASE + MB2, 8 << 12)
    cpu_write(parent, BASE, b"stack")
    cpu_write(parent, BASE + MB2, b"other")
    child = parent.fork(hot=(BASE + 10,))
    # the hot page's table belongs to each side already, both pages writable, different
    assert walk(parent, BASE)[1] and walk(child, BASE)[1]
    assert frame_of(parent, BASE) != frame_of(child, BASE)
    assert (BASE >> 21) not in child.shared_pmds and (BASE + MB2) >> 21 in child.shared_pmds


def test_threads_share_the_address_space(mem):
    """CLONE_VM shares the AddressSpace itself: a fork from one thread narrows it for all."""
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"t")
    parent.users = 2
    parent.tlb_dirty = False
    child = parent.fork()
    assert parent.tlb_dirty and not walk(parent, BASE)[1]
    cpu_write(parent, BASE, b"T")
    assert cpu_read(child, BASE, 1) == b"t"


def test_fork_failure_shares_nothing(mem, monkeypatch):
    from twaron.errors import KernelError
    from twaron.mm import shared_tables

    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    anon(parent, 0x7F00_0000_0000, 4 << 12)  # another PML4 slot: the child needs tables
    cpu_write(parent, BASE, b"x")
    free0 = mem.frames_free
    calls = []
    real = shared_tables._pmd_slot

    def failing(mm, va):
        calls.append(va)
        if len(calls) == 2:
            raise KernelError(12)
        return real(mm, va)

    monkeypatch.setattr(shared_tables, "_pmd_slot", failing)
    with pytest.raises(KernelError):
        parent.fork()
    assert not parent.shared_pmds and mem.table_shares.sharers == {}
    assert mem.frames_free == free0
    cpu_write(parent, BASE, b"y")


def test_no_memory_for_a_copy_changes_nothing(mem, monkeypatch):
    from twaron.errors import KernelError

    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"x")
    child = parent.fork()
    refs = mem.refcount[frame_of(parent, BASE)]
    real = mem.alloc

    def no_memory(zero=True):
        raise KernelError(12)

    monkeypatch.setattr(mem, "alloc", no_memory)
    with pytest.raises(KernelError):
        child.fault(BASE, WRITE)
    assert (BASE >> 21) in child.shared_pmds and mem.refcount[frame_of(parent, BASE)] == refs
    monkeypatch.setattr(mem, "alloc", real)
    cpu_write(child, BASE, b"y")
    assert cpu_read(parent, BASE, 1) == b"x" and cpu_read(child, BASE, 1) == b"y"


def test_table_span(mem):
    t = mem.alloc() << 9
    assert mem.table_span(t) == (0, 0)
    mem.q[t + 40] = mem.q[t + 300] = 1
    lo, hi = mem.table_span(t)
    assert lo <= 40 and 300 < hi and mem.q[t : t + lo].tolist() == [0] * lo
    assert not any(mem.q[t + hi : t + 512].tolist())


def test_table_loops_in_c_and_python_agree(monkeypatch):
    """get_range, put_range and table_span give the same tables, reference counts and free
    lists in C (mm/pte_loops.c) and in Python, on a table of every kind of entry."""
    import random

    from twaron.arch.x86_64.constants import PTE_CACHE, PTE_W

    if not shutil.which("cc"):
        pytest.skip("no C compiler: only the Python loops exist")
    results = []
    for helpers in ("1", "0"):
        monkeypatch.setenv("TWARON_C_HELPERS", helpers)
        m = PhysMem(4 << 20)
        rng = random.Random(7)
        frames = [m.alloc() for _ in range(64)]
        for pfn in frames[::3]:
            m.was_code[pfn] = 1
        t = m.alloc() << 9
        for i in range(20, 400):
            pfn = rng.choice(frames)
            kind = rng.randrange(4)  # empty, referencing, page cache, not present
            flags = (0, PTE_P | PTE_W, PTE_P | PTE_W | PTE_CACHE, PTE_W)[kind]
            m.q[t + i] = (pfn << 12) | flags if flags else 0
        span = m.table_span(t)
        m.get_range(t + 10, t + 300, clear_w=True)
        m.get_range(t + 250, t + 450)
        m.put_range(t + span[0], t + span[1])  # every frame keeps a reference
        t2 = m.alloc() << 9  # a table whose frames go with its teardown
        for i, pfn in enumerate(frames):
            m.q[t2 + 100 + i] = (pfn << 12) | PTE_P
        m.put_range(t2, t2 + 512)
        results.append((span[0] // 32, -(-span[1] // 32), m.q[t : t + 512].tolist(),
                        m.refcount.tolist(), m.free_list[-80:], m.code_quarantine))  # fmt: skip
    assert results[0] == results[1]


def test_freeing_a_once_shared_table_is_counted(mem):
    """The KVM platform zaps its shadow pages when such a table is freed: it may still hold
    shadow pages of it made through an address space that has left it."""
    parent = AddressSpace(mem)
    anon(parent, BASE, 4 << 12)
    cpu_write(parent, BASE, b"x")
    child = parent.fork()
    cpu_write(child, BASE, b"y")  # the child leaves the table for a copy of its own
    assert mem.table_shares.freed == 0
    child.destroy()
    assert mem.table_shares.freed == 0  # its copy was never shared
    parent.destroy()
    assert mem.table_shares.freed == 1 and not mem.table_shares.once
