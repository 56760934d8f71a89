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
from typing import Any

from twaron.arch.x86_64.constants import PAGE_SHIFT, PAGE_SIZE, PTE_ADDR, PTE_CACHE, PTE_P
from twaron.arch.x86_64.errno import ENOMEM
from twaron.errors import KernelError
from twaron.mm.shared_tables import TableShares

ZERO_PAGE = bytes(PAGE_SIZE)
SHRINK_BATCH = 256  # frames a shrinker is asked for at a time (1 MiB)
PTE_P_CACHE = PTE_P | PTE_CACHE


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

    def put_mapped(self, entries: list[int]) -> None:
        """put() the frame of every present page-table entry that holds a reference (not a
        page-cache entry): a teardown's loop, without a call per entry."""
        refcount, was_code = self.refcount, self.was_code
        for e in entries:
            if e & PTE_P_CACHE == PTE_P:
                pfn = (e & PTE_ADDR) >> PAGE_SHIFT
                n = refcount[pfn] - 1
                refcount[pfn] = n
                if n == 0:
                    (self.code_quarantine if was_code[pfn] else self.free_list).append(pfn)

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
