"""The page cache: a file's contents as frames of guest memory (Linux's address_space).

For tmpfs the cache *is* the file (as in Linux's shmem): read() and write() copy to and from
these frames, and mmap() maps the very same frames, so a binary's pages are read once and
shared by every process that maps it. A page that was never written reads as zeros.
"""

from __future__ import annotations

from array import array
from typing import Any

from twaron.arch.x86_64.constants import PAGE_SHIFT, PAGE_SIZE
from twaron.arch.x86_64.errno import ENOSPC
from twaron.errors import KernelError
from twaron.mm.physmem import PhysMem
from twaron.mm.rmap import unmap_mapping_range


class PageQuota:
    """A file system's size limit in pages (tmpfs's size=, Linux's shmem max_blocks): every
    page a file holds is charged to it, and a page past the limit is ENOSPC."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, pages: int = 1) -> None:
        if self.used + pages > self.limit:
            raise KernelError(ENOSPC)
        self.used += pages

    def uncharge(self, pages: int) -> None:
        self.used -= pages


class PageCache:
    """Frames of one file, by page index; the cache holds one reference on each frame."""

    __slots__ = ("mem", "pages", "code", "orphans", "pte_blocks", "quota", "mmapped")

    def __init__(self, mem: PhysMem, quota: PageQuota | None = None) -> None:
        self.mem = mem
        self.quota = quota  # the file system's size limit (None: only memory limits it)
        self.pages: dict[int, int] = {}
        self.code = False  # some page was mapped executable: freed frames need a TB flush
        # Pages cut off by truncate stay allocated until the file itself goes: processes may
        # still map them (page tables hold page-cache frames without a reference).
        self.orphans: list[int] = []
        # Ready-made runs of page-table entries for prefaulting this file's pages, keyed by
        # (first page, count, flags): every exec of a binary maps the same frames.
        self.pte_blocks: dict[tuple[int, int, int], array] = {}
        self.mmapped = False  # some VMA mapped it once: truncate must look for mappings

    def find_or_create(self, index: int) -> int:
        """The frame for page `index`, allocating a zero-filled one if there is none yet."""
        pfn = self.pages.get(index)
        if pfn is None:
            quota = self.quota
            if quota is not None:
                quota.charge()  # ENOSPC past the file system's size
                try:
                    pfn = self.mem.alloc()
                except KernelError:
                    quota.uncharge(1)
                    raise
                self.pages[index] = pfn
            else:
                pfn = self.pages[index] = self.mem.alloc()
            if self.pte_blocks:
                self.pte_blocks.clear()
        return pfn

    def pte_block(self, index: int, count: int, flags: int) -> array:
        """Leaf entries mapping pages index .. index+count-1 (created if missing)."""
        key = (index, count, flags)
        block = self.pte_blocks.get(key)
        if block is None:
            pfns = [self.find_or_create(i) for i in range(index, index + count)]
            block = self.pte_blocks[key] = array("Q", [(p << PAGE_SHIFT) | flags for p in pfns])
        return block

    def read(self, offset: int, n: int) -> bytes:
        """Up to n bytes at offset; the caller has already clipped n to the file size."""
        in_page = offset & (PAGE_SIZE - 1)
        if in_page + n <= PAGE_SIZE:  # within one page (most reads): one copy
            pfn = self.pages.get(offset >> PAGE_SHIFT)
            return self.mem.read(pfn, in_page, n) if pfn else bytes(n)
        out = bytearray()
        mem, pages = self.mem, self.pages
        while n > 0:
            index, in_page = offset >> PAGE_SHIFT, offset & (PAGE_SIZE - 1)
            chunk = min(n, PAGE_SIZE - in_page)
            pfn = pages.get(index)
            out += mem.read(pfn, in_page, chunk) if pfn else bytes(chunk)
            offset += chunk
            n -= chunk
        return bytes(out)

    def read_to(self, mm: Any, addr: int, offset: int, n: int) -> int:
        """read() of n bytes at offset (clipped to the file size) into mm's memory at addr:
        the bytes copied (see AddressSpace.copy_out_pages)."""
        return mm.copy_out_pages(addr, self, offset, n)

    def write(self, offset: int, data: bytes | memoryview) -> int:
        """The bytes written: all of them, or those that fit before the file system filled
        up (KernelError(ENOSPC) if none did), as Linux's generic_perform_write."""
        mv = memoryview(data)
        pos = 0
        while pos < len(mv):
            index, in_page = offset >> PAGE_SHIFT, offset & (PAGE_SIZE - 1)
            chunk = min(len(mv) - pos, PAGE_SIZE - in_page)
            try:
                pfn = self.find_or_create(index)
            except KernelError:
                if pos:
                    return pos
                raise
            if self.code:
                self.mem.code_rewritten(pfn)
            self.mem.write(pfn, in_page, mv[pos : pos + chunk])
            offset += chunk
            pos += chunk
        return pos

    def reserve(self, offset: int, length: int) -> None:
        """fallocate: every page of [offset, offset+length) allocated, or ENOSPC and none
        of them (Linux's shmem_fallocate undoes a partial allocation)."""
        first, end = offset >> PAGE_SHIFT, (offset + length + PAGE_SIZE - 1) >> PAGE_SHIFT
        quota = self.quota
        if quota is not None:
            missing = end - first - sum(1 for i in self.pages if first <= i < end)
            if quota.used + missing > quota.limit:
                raise KernelError(ENOSPC)
        added = []
        try:
            for index in range(first, end):
                if index not in self.pages:
                    self.find_or_create(index)
                    added.append(index)
        except KernelError:
            for index in added:
                self._drop(index)
            raise

    def _drop(self, index: int) -> None:
        pfn = self.pages.pop(index)
        self.mem.put(pfn)
        if self.quota is not None:
            self.quota.uncharge(1)
        self.pte_blocks.clear()

    def zero(self, start: int, end: int) -> None:
        """Zero the bytes [start, end) of the pages that exist (a hole reads as zeros)."""
        mem, pages = self.mem, self.pages
        while start < end:
            index, in_page = start >> PAGE_SHIFT, start & (PAGE_SIZE - 1)
            chunk = min(end - start, PAGE_SIZE - in_page)
            pfn = pages.get(index)
            if pfn:
                if self.code:
                    mem.code_rewritten(pfn)
                mem.write(pfn, in_page, bytes(chunk))
            start += chunk

    def punch(self, start: int, end: int) -> None:
        """FALLOC_FL_PUNCH_HOLE of [start, end): whole pages leave the file (freed with it,
        as truncate's: a process may still map them; they are zeroed first so that it reads
        the hole), the partial pages at the edges are zeroed."""
        first = (start + PAGE_SIZE - 1) >> PAGE_SHIFT
        last = end >> PAGE_SHIFT  # first page index not wholly inside
        if last > first:  # mapped pages of the hole refault (private copies stay)
            unmap_mapping_range(self, first, last, even_cows=False)
        self.zero(start, min(end, first << PAGE_SHIFT))
        if last >= first:
            self.zero(max(start, last << PAGE_SHIFT), end)
            gone = [i for i in self.pages if first <= i < last]
            for index in gone:
                pfn = self.pages.pop(index)
                self.mem.write(pfn, 0, bytes(PAGE_SIZE))
                self.orphans.append(pfn)
            if self.quota is not None:  # the space is free again
                self.quota.uncharge(len(gone))
            if gone:
                self.pte_blocks.clear()

    def truncate(self, size: int) -> None:
        """Drop pages wholly past size and zero the tail of the last partial page."""
        first_gone = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
        unmap_mapping_range(self, first_gone, None, even_cows=True)  # past EOF: SIGBUS
        gone = [i for i in self.pages if i >= first_gone]
        for index in gone:
            self.orphans.append(self.pages.pop(index))
        if self.quota is not None:  # the space is free again, as Linux's shmem_truncate
            self.quota.uncharge(len(gone))
        self.pte_blocks.clear()
        tail = size & (PAGE_SIZE - 1)
        pfn = self.pages.get(size >> PAGE_SHIFT)
        if tail and pfn:
            self.mem.write(pfn, tail, bytes(PAGE_SIZE - tail))

    def release(self) -> None:
        """The file is gone (last link and last open reference): give the frames back."""
        mem = self.mem
        if self.quota is not None:
            self.quota.uncharge(len(self.pages))
        for pfn in [*self.pages.values(), *self.orphans]:
            if self.code:
                mem.was_code[pfn] = 1
            mem.put(pfn)
        self.pages.clear()
        self.orphans.clear()
        self.pte_blocks.clear()
