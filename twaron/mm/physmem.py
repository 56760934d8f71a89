"""Guest-physical memory: one host buffer owned by the kernel, handed out in 4 KiB frames.

Both platforms map this same buffer as the guest's RAM, so the page tables and every page the
kernel writes here are what the guest CPU sees: there is no second copy of a mapping.
"""

from __future__ import annotations

import ctypes
import mmap
import weakref
from array import array
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from twaron.arch.x86_64.constants import (
    PAGE_SHIFT,
    PAGE_SIZE,
    PTE_ADDR,
    PTE_CACHE,
    PTE_P,
    PTE_W,
)
from twaron.arch.x86_64.errno import ENOMEM
from twaron.build import load_helper, load_module
from twaron.errors import KernelError
from twaron.mm.shared_tables import TableShares

ZERO_PAGE = bytes(PAGE_SIZE)
SHRINK_BATCH = 256  # frames a shrinker is asked for at a time (1 MiB)
PTE_P_CACHE = PTE_P | PTE_CACHE
CLEAR_W = bytes(b & ~PTE_W for b in range(256))  # bytes.translate table for low bytes
TABLE_BYTES = 512 * 8
SPAN_BYTES = 32 * 8  # table_span's granularity in Python
ZERO_BLOCK = bytes(SPAN_BYTES)
COARSE_BYTES = 4 * SPAN_BYTES  # its first pass
ZERO_COARSE = bytes(COARSE_BYTES)


class PhysMem:
    """Frames with reference counts; frame 0 is never handed out (a null pfn means none)."""

    def __init__(self, size: int) -> None:
        size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        self.size = size
        self.nframes = size >> PAGE_SHIFT
        self.buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.mv = memoryview(self.buf)
        self.q = self.mv.cast("Q")  # page-table entries and other 64-bit words
        self.host_addr = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
        self.refcount = array("I", bytes(4 * self.nframes))
        # Frames that were mapped executable. Unicorn keeps translated blocks keyed by physical
        # page and does not see host writes, so a freed code frame waits in quarantine until
        # the free list runs dry; then one flush of all translations releases them together.
        self.was_code = bytearray(self.nframes)
        self.code_quarantine: list[int] = []
        self.flush_code: Callable[[], None] = lambda: None
        self.free_list = list(range(self.nframes - 1, 0, -1))
        # Called with a number of frames wanted when the free list runs dry (Linux's
        # shrinkers): each gives back clean cache pages it can drop (a host file's pages
        # that nothing maps) and returns how many it freed.
        self.shrinkers: list[Callable[[int], int]] = []
        # Every live address space over this memory (mm/rmap.py finds a file's mappings here).
        self.address_spaces: weakref.WeakSet[Any] = weakref.WeakSet()
        self.table_shares = TableShares()  # leaf page tables shared since fork (mm/shared_tables)
        self._zero_pfn = 0
        loops = PteLoops.load(self)  # the entry loops in C (mm/pte_loops.c) where it builds
        self._pte_loops = loops  # (its struct is what the C loops read)
        if loops is not None:
            self.get_range, self.put_range, self.table_span = loops.get, loops.put, loops.span

    def zero_frame(self) -> int:
        """A frame that stays zero and is never mapped (Linux's empty_zero_page): what the
        kernel reads on the guest's behalf from anonymous memory it never touched, so that a
        write(2) of a huge untouched buffer does not give every page a frame."""
        if not self._zero_pfn:
            self._zero_pfn = self.alloc()
        return self._zero_pfn

    @property
    def frames_free(self) -> int:
        return len(self.free_list) + len(self.code_quarantine)

    def alloc(self, zero: bool = True) -> int:
        """A fresh frame with refcount 1; KernelError(ENOMEM) when memory is exhausted."""
        if not self.free_list:
            self._release_quarantine()
            if not self.free_list:
                self._shrink()
        try:
            pfn = self.free_list.pop()
        except IndexError:
            raise KernelError(ENOMEM, "out of guest memory") from None
        self.refcount[pfn] = 1
        if zero:
            off = pfn << PAGE_SHIFT
            self.mv[off : off + PAGE_SIZE] = ZERO_PAGE
        return pfn

    def get(self, pfn: int) -> None:
        self.refcount[pfn] += 1

    def put(self, pfn: int) -> None:
        """Drop one reference; the frame returns to the free list with the last one."""
        n = self.refcount[pfn] - 1
        self.refcount[pfn] = n
        if n == 0:
            (self.code_quarantine if self.was_code[pfn] else self.free_list).append(pfn)

    # ---- the loops over a table's entries (fork, exit, exec, munmap) ----------------------
    # In C where mm/pte_loops.c builds (PteLoops: __init__ puts its methods in place of these).

    def get_range(self, i0: int, i1: int, clear_w: bool = False) -> None:
        """Take a reference on the frame of every entry of q[i0:i1] that holds one (present,
        not a page-cache entry); clear_w: the entries lose PTE_W first."""
        if clear_w:  # PTE_W is in each entry's low byte: clear it at C speed
            low = self.mv[i0 << 3 : i1 << 3 : 8]
            low[:] = low.tobytes().translate(CLEAR_W)
        refcount = self.refcount
        for e in self.q[i0:i1].tolist():
            if e & PTE_P_CACHE == PTE_P:
                refcount[(e & PTE_ADDR) >> PAGE_SHIFT] += 1

    def put_range(self, i0: int, i1: int) -> None:
        """put() the frame of every entry of q[i0:i1] that holds a reference (the entries
        stay): a teardown's loop, without a call per entry."""
        refcount, was_code = self.refcount, self.was_code
        for e in self.q[i0:i1].tolist():
            if e & PTE_P_CACHE == PTE_P:
                pfn = (e & PTE_ADDR) >> PAGE_SHIFT
                n = refcount[pfn] - 1
                refcount[pfn] = n
                if n == 0:
                    (self.code_quarantine if was_code[pfn] else self.free_list).append(pfn)

    def table_span(self, t: int) -> tuple[int, int]:
        """[lo, hi): a run of the entries of the table at q index t outside which all are
        zero (in Python, in blocks of 32). A stack's or a heap's table is mostly empty: this
        keeps the loops over a table's entries short. Bytes compare at C speed (a
        memoryview's == and bytes.strip with an argument do not), 1 KiB at a time first."""
        o = t << 3
        page = self.buf[o : o + TABLE_BYTES]
        lo = 0
        while lo < TABLE_BYTES and page[lo : lo + COARSE_BYTES] == ZERO_COARSE:
            lo += COARSE_BYTES
        if lo == TABLE_BYTES:
            return 0, 0
        while page[lo : lo + SPAN_BYTES] == ZERO_BLOCK:
            lo += SPAN_BYTES
        hi = TABLE_BYTES
        while page[hi - COARSE_BYTES : hi] == ZERO_COARSE:
            hi -= COARSE_BYTES
        while page[hi - SPAN_BYTES : hi] == ZERO_BLOCK:
            hi -= SPAN_BYTES
        return lo >> 3, hi >> 3

    def _shrink(self) -> None:
        for shrink in self.shrinkers:
            if shrink(SHRINK_BATCH):
                self._release_quarantine()
                if self.free_list:
                    return

    def _release_quarantine(self) -> None:
        if self.code_quarantine:
            self.flush_code()
            for pfn in self.code_quarantine:
                self.was_code[pfn] = 0
            self.free_list.extend(self.code_quarantine)
            self.code_quarantine.clear()

    def code_rewritten(self, pfn: int) -> None:
        """The host is changing a frame that may be translated code (a write to a binary)."""
        self.flush_code()

    def page(self, pfn: int) -> memoryview:
        off = pfn << PAGE_SHIFT
        return self.mv[off : off + PAGE_SIZE]

    def read(self, pfn: int, offset: int, n: int) -> bytes:
        off = (pfn << PAGE_SHIFT) + offset
        return self.buf[off : off + n]

    def write(self, pfn: int, offset: int, data: bytes | memoryview) -> None:
        off = (pfn << PAGE_SHIFT) + offset
        self.mv[off : off + len(data)] = data

    def copy_frame(self, dst: int, src: int) -> None:
        d, s = dst << PAGE_SHIFT, src << PAGE_SHIFT
        self.mv[d : d + PAGE_SIZE] = self.mv[s : s + PAGE_SIZE]


_FAST: list[ModuleType] = []


def _fast_loops() -> ModuleType | None:
    """mm/pte_loops.c as an extension module (build.load_module), loaded once a process."""
    if not _FAST:
        module = load_module(Path(__file__).with_name("pte_loops.c"), "pte_loops")
        if module is None:
            return None
        _FAST.append(module)
    return _FAST[0]


class PteLoops:
    """mm/pte_loops.c: PhysMem's get_range, put_range and table_span in C. None from load()
    where it cannot be built (no compiler) or with TWARON_C_HELPERS=0."""

    class _Mem(ctypes.Structure):
        _fields_ = [("q", ctypes.c_void_p), ("refcount", ctypes.c_void_p),
                    ("was_code", ctypes.c_void_p), ("ref_mask", ctypes.c_uint64),
                    ("ref_value", ctypes.c_uint64), ("addr_mask", ctypes.c_uint64),
                    ("clear_mask", ctypes.c_uint64), ("page_shift", ctypes.c_uint32),
                    ("pad", ctypes.c_uint32)]  # fmt: skip

    def __init__(self, lib: ctypes.CDLL, mem: PhysMem) -> None:
        n = mem.nframes
        # (from_buffer keeps the arrays from ever being resized under the C code)
        self._refcount = (ctypes.c_uint32 * n).from_buffer(mem.refcount)
        self._was_code = (ctypes.c_uint8 * n).from_buffer(mem.was_code)
        self.struct = self._Mem(mem.host_addr, ctypes.addressof(self._refcount),
                                ctypes.addressof(self._was_code), PTE_P_CACHE, PTE_P, PTE_ADDR,
                                PTE_W, PAGE_SHIFT, 0)  # fmt: skip
        self.m = ctypes.addressof(self.struct)
        u64, ptr = ctypes.c_uint64, ctypes.c_void_p
        self._get, self._put = lib.twaron_pte_get, lib.twaron_pte_put
        self._span = lib.twaron_pte_span
        self._get.argtypes, self._get.restype = [ptr, u64, u64, ctypes.c_int], None
        self._put.argtypes, self._put.restype = [ptr, u64, u64, ptr, ptr], u64
        self._span.argtypes, self._span.restype = [ptr, u64], u64
        self.freed, self.code = (ctypes.c_uint32 * 512)(), (ctypes.c_uint32 * 512)()
        self._freed, self._code = ctypes.addressof(self.freed), ctypes.addressof(self.code)
        # the lists themselves (not mem: no reference cycle through mem's bound methods)
        self.free_list, self.code_quarantine = mem.free_list, mem.code_quarantine
        fast = _fast_loops()
        if fast is not None:  # the same loops as builtins: no ctypes conversion per call
            self.get = partial(fast.get, self.m)  # type: ignore[method-assign]
            self.put = partial(fast.put, self.m, self.free_list,  # type: ignore[method-assign]
                               self.code_quarantine)  # fmt: skip
            self.span = partial(fast.span, self.m)  # type: ignore[method-assign]

    @classmethod
    def load(cls, mem: PhysMem) -> PteLoops | None:
        lib = load_helper(Path(__file__).with_name("pte_loops.c"), "pte_loops")
        return cls(lib, mem) if lib is not None else None

    def get(self, i0: int, i1: int, clear_w: bool = False) -> None:
        self._get(self.m, i0, i1, clear_w)

    def put(self, i0: int, i1: int) -> None:
        assert i1 - i0 <= 512  # one table at most: the output arrays' size
        r = self._put(self.m, i0, i1, self._freed, self._code)
        if r:
            nf, nc = r & 0xFFFF_FFFF, r >> 32
            if nf:
                self.free_list.extend(self.freed[:nf])
            if nc:
                self.code_quarantine.extend(self.code[:nc])

    def span(self, t: int) -> tuple[int, int]:
        r = self._span(self.m, t)
        return r & 0xFFFF_FFFF, r >> 32
