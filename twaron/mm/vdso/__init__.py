"""The vDSO (Linux's arch/x86/entry/vdso): clock_gettime & co. without leaving the guest.

Every exec maps two pages at a free area, as Linux does: `[vvar]`, the data page, read-only,
then `[vdso]`, a small ELF shared object (vdso.S, wrapped by build.py; the bytes are in
image.py) whose address goes to the program in AT_SYSINFO_EHDR. musl and glibc find
`__vdso_clock_gettime` & co. there (LINUX_2.6) and call them instead of the syscalls.

The data page holds the parameters of the kernel's clock (twaron/clock.py): the current
segment of CLOCK_MONOTONIC as a function of the TSC, the realtime and TAI offsets, the
coarse clocks' tick and settimeofday's timezone. The clock calls `update` whenever they
change (a new segment, clock_settime, adjtimex), always while no guest code runs, so the
vDSO computes with exactly the parameters the kernel computes with, and both answers agree.
When the guest's RDTSC does not read the host's counter (a platform that cannot tell) or the
host has no usable TSC, the page says so (mode 0) and the vDSO makes the syscalls.

Both pages belong to the kernel (one frame each, shared by every process, like page-cache
pages); a process that writes them after mprotect gets a private copy, as on Linux.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import MAP_PRIVATE, PAGE_SIZE, PROT_EXEC, PROT_READ
from twaron.clock import MASK64, NSEC, TICK_NS, Clock
from twaron.mm.page_cache import PageCache
from twaron.mm.vdso.image import IMAGE

if TYPE_CHECKING:
    from twaron.mm.address_space import AddressSpace
    from twaron.mm.physmem import PhysMem

# seq, mode, tsc_base, ns_base, mult, real_off, tai_off, tick, tz_minuteswest, tz_dsttime:
# the offsets vdso.S reads (VV_*)
VVAR = struct.Struct("<IIQQQqqQii")
MODE_SYSCALL, MODE_TSC = 0, 1
VVAR_NAME, VDSO_NAME = "[vvar]", "[vdso]"


class Vdso:
    def __init__(self, mem: PhysMem, clock: Clock, tsc_offset: int | None) -> None:
        """tsc_offset: the guest's RDTSC minus the host's (None: not the host's counter)."""
        self.mem = mem
        self.clock = clock
        self.tsc_offset = tsc_offset
        self.image = PageCache(mem)
        self.image.write(0, IMAGE)
        self.data = PageCache(mem)
        self.data_pfn = self.data.find_or_create(0)
        self.seq = 0
        clock.listeners.append(self.update)
        self.update()

    @property
    def fast(self) -> bool:
        """Whether the vDSO answers in user mode (else it makes the syscalls)."""
        return self.tsc_offset is not None and self.clock.tsc is not None

    def update(self) -> None:
        """Write the clock's parameters into the data page (seqlock-style)."""
        c = self.clock
        tsc_base, ns_base, mult = c.segment
        if self.fast:
            mode, tsc_base = MODE_TSC, (tsc_base + (self.tsc_offset or 0)) & MASK64
        else:
            mode = MODE_SYSCALL
        self.seq += 1
        self.mem.write(self.data_pfn, 0, struct.pack("<I", self.seq & 0xFFFF_FFFF))
        fields = VVAR.pack(self.seq & 0xFFFF_FFFF, mode, tsc_base, ns_base, mult,
                           c.realtime_offset, c.tai_offset * NSEC, TICK_NS, *c.tz)  # fmt: skip
        self.mem.write(self.data_pfn, 0, fields)
        self.seq += 1
        self.mem.write(self.data_pfn, 0, struct.pack("<I", self.seq & 0xFFFF_FFFF))

    def map(self, mm: AddressSpace) -> int:
        """Map [vvar] and [vdso] into mm at a free area (top-down, below what exec mapped
        there already, as Linux's get_unmapped_area does); the vDSO's address."""
        base = mm.get_unmapped_area(2 * PAGE_SIZE)
        mm.map(base, PAGE_SIZE, PROT_READ, MAP_PRIVATE, mapping=self.data, name=VVAR_NAME)
        mm.map(base + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE,
               mapping=self.image, name=VDSO_NAME)  # fmt: skip
        return base + PAGE_SIZE
