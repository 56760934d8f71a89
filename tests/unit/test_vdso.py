"""The clock (twaron/clock.py) and the vDSO image (twaron/mm/vdso): the image is what its
source assembles to, and its code, called on the host with a data page written by the kernel's
Vdso, computes exactly what the kernel's Clock does (no timing is asserted: every check is an
ordering of readings taken one after the other)."""

from __future__ import annotations

import ctypes
import mmap
import shutil
import struct

import pytest

from twaron.clock import NSEC, TICK_NS, Clock, host_tsc
from twaron.mm.physmem import PhysMem
from twaron.mm.vdso import MODE_SYSCALL, MODE_TSC, VVAR, Vdso, build
from twaron.mm.vdso.image import IMAGE

PAGE = 4096
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE = 0, 1, 5, 6
CLOCK_BOOTTIME, CLOCK_TAI = 7, 11


def test_image_matches_its_source():
    if not all(shutil.which(t) for t in ("as", "objcopy", "nm", "readelf")):
        pytest.skip("binutils (as, objcopy, nm, readelf) not installed")
    assert build.main(["--check"]) == 0


def _symbols() -> dict[str, int]:
    """The image's dynamic symbols, read from its own tables."""
    e_shoff = struct.unpack_from("<Q", IMAGE, 0x28)[0]
    e_shnum, e_shstrndx = struct.unpack_from("<HH", IMAGE, 0x3C)
    sections = [struct.unpack_from("<IIQQQQIIQQ", IMAGE, e_shoff + 64 * i) for i in range(e_shnum)]
    dynsym = next(s for s in sections if s[1] == 11)
    strtab = sections[dynsym[6]]
    out = {}
    for i in range(dynsym[5] // 24):
        name, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", IMAGE,
                                                                       dynsym[4] + 24 * i)
        if name:
            end = IMAGE.index(b"\0", strtab[4] + name)
            out[IMAGE[strtab[4] + name : end].decode()] = value
    assert e_shstrndx < e_shnum
    return out


def test_image_exports_the_libc_names():
    syms = _symbols()
    for fn in ("clock_gettime", "gettimeofday", "time", "clock_getres", "getcpu"):
        assert syms["__vdso_" + fn] == syms[fn]


class HostVdso:
    """The image and a data page mapped in this process, callable through ctypes."""

    def __init__(self, clock: Clock, offset: int | None = 0) -> None:
        self.clock = clock
        self.offset = offset
        self.map = mmap.mmap(-1, 2 * PAGE,
                             prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)  # fmt: skip
        self.map[PAGE : PAGE + len(IMAGE)] = IMAGE
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.map)) + PAGE
        syms = _symbols()
        two = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_long, ctypes.c_void_p)
        self.clock_gettime = two(base + syms["__vdso_clock_gettime"])
        self.clock_getres = two(base + syms["__vdso_clock_getres"])
        self.gettimeofday = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
            base + syms["__vdso_gettimeofday"])
        self.time = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p)(base + syms["__vdso_time"])
        mem = PhysMem(1 << 20)
        self.vdso = Vdso(mem, clock, offset)
        clock.listeners.append(self.copy)
        self.mem = mem
        self.copy()

    def copy(self) -> None:
        """The kernel's data page (what Vdso.update wrote) into our [vvar]."""
        self.map[0:PAGE] = self.mem.read(self.vdso.data_pfn, 0, PAGE)

    def gettime(self, clk: int) -> int:
        ts = (ctypes.c_long * 2)()
        assert self.clock_gettime(clk, ctypes.addressof(ts)) == 0
        return ts[0] * NSEC + ts[1]


needs_tsc = pytest.mark.skipif(host_tsc() is None, reason="the host has no usable TSC")


@needs_tsc
def test_vdso_agrees_with_the_kernel_clock():
    c = Clock()
    v = HostVdso(c)
    readers = {CLOCK_MONOTONIC: c.monotonic_ns, CLOCK_BOOTTIME: c.monotonic_ns,
               CLOCK_REALTIME: c.realtime_ns, CLOCK_TAI: c.tai_ns,
               CLOCK_MONOTONIC_COARSE: c.coarse_monotonic_ns}  # fmt: skip
    for clk, read in readers.items():
        for _ in range(200):
            before = read()
            got = v.gettime(clk)
            assert before <= got <= read()
    coarse = v.gettime(CLOCK_REALTIME_COARSE)
    assert coarse <= c.realtime_ns() and (coarse - c.realtime_offset) % TICK_NS == 0


@needs_tsc
def test_clock_settime_and_tai_reach_the_vdso():
    c = Clock()
    v = HostVdso(c)
    c.set_realtime(c.realtime_ns() + 1000 * NSEC)
    c.set_tai_offset(37)
    real, tai = v.gettime(CLOCK_REALTIME), v.gettime(CLOCK_TAI)
    assert 37 * NSEC <= tai - real < 38 * NSEC
    assert abs(real - c.realtime_ns()) < NSEC
    c.set_timezone(-60, 1)
    tz = (ctypes.c_int * 2)()
    assert v.gettimeofday(None, ctypes.addressof(tz)) == 0 and list(tz) == [-60, 1]
    assert v.time(None) in (c.realtime_ns() // NSEC, c.realtime_ns() // NSEC - 1)


@needs_tsc
def test_new_segments_never_go_back():
    """maintain() starts a new segment where the old one is: no reading ever goes back,
    through the kernel's clock or the vDSO."""
    c = Clock()
    v = HostVdso(c)
    last = 0
    for _ in range(50):
        c.next_rebase = 0  # due now
        c.maintain()
        for now in (c.monotonic_ns(), v.gettime(CLOCK_MONOTONIC), c.monotonic_ns()):
            assert now >= last
            last = now


def test_resolutions_and_syscall_mode():
    """Without a TSC the data page says so and the vDSO makes the syscalls (here: the
    host's, which answer the same questions)."""
    c = Clock(use_tsc=False)
    v = HostVdso(c, offset=None)
    fields = VVAR.unpack_from(v.map, 0)
    assert fields[1] == MODE_SYSCALL and fields[0] % 2 == 0
    assert v.gettime(CLOCK_MONOTONIC) > 0
    ts = (ctypes.c_long * 2)()
    assert v.clock_getres(CLOCK_MONOTONIC_COARSE, ctypes.addressof(ts)) == 0
    assert list(ts) == [0, TICK_NS]
    assert v.clock_getres(CLOCK_MONOTONIC, ctypes.addressof(ts)) == 0 and list(ts) == [0, 1]
    assert v.clock_gettime(12345, ctypes.addressof(ts)) == -22  # EINVAL, from the syscall


@needs_tsc
def test_vdso_data_page_mode():
    v = HostVdso(Clock())
    seq, mode, tsc_base, ns_base, mult, *_ = VVAR.unpack_from(v.map, 0)
    assert mode == MODE_TSC and seq % 2 == 0 and mult > 0
    assert (tsc_base, ns_base, mult) == v.clock.segment
