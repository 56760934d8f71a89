"""binfmt_elf: the load bias, an image's span, and the interpreter's checks (which errno, or
None for what Linux finds only after the point of no return)."""

from __future__ import annotations

import struct

import pytest

from twaron.arch.x86_64.errno import EIO, ELIBBAD, ENOEXEC
from twaron.errors import KernelError
from twaron.mm.address_space import ELF_ET_DYN_BASE
from twaron.process import binfmt_elf

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
PT_LOAD, PT_INTERP = 1, 3


def elf(etype=3, machine=62, phentsize=56, loads=((0, 0, 0x100, 0x100),), interp=None):
    """loads: (offset, vaddr, filesz, memsz) per PT_LOAD; interp: a PT_INTERP path."""
    rows = [(PT_LOAD, 5, off, va, va, fs, ms, 0x1000) for off, va, fs, ms in loads]
    tail = b""
    if interp is not None:
        tail = interp + b"\0"
        rows.insert(0, (PT_INTERP, 4, 64 + 56 * (len(rows) + 1), 0, 0, len(tail), len(tail), 1))
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    hdr = EHDR.pack(ident, etype, machine, 1, 0x40, 64, 0, 0, 64, phentsize, len(rows), 0, 0, 0)
    data = hdr + b"".join(PHDR.pack(*r) for r in rows) + tail
    return data + bytes(max(0, 0x2000 - len(data)))


def parse(data, **kw):
    return binfmt_elf.parse(data[:256], lambda off, n: data[off : off + n], len(data), **kw)


def parse_interp(data):
    return binfmt_elf.parse_interp(data[:256], lambda off, n: data[off : off + n], len(data))


def test_bias_and_span():
    pie = parse(elf(loads=((0, 0, 0x100, 0x100), (0x1000, 0x3000, 0x10, 0x2345))))
    assert binfmt_elf.exec_bias(pie) == ELF_ET_DYN_BASE
    assert binfmt_elf.span(pie) == 0x6000
    fixed = parse(elf(etype=2, loads=((0, 0x400000, 0x100, 0x100),)))
    assert binfmt_elf.exec_bias(fixed) == 0
    assert binfmt_elf.span(fixed) == 0x1000


def test_program_interp_is_read():
    assert parse(elf(interp=b"/lib64/ld.so")).interp == b"/lib64/ld.so"


@pytest.mark.parametrize(
    ("data", "errno"),
    [
        (b"", EIO),
        (b"#!/bin/sh\n", EIO),  # shorter than an ELF header
        (b"not an ELF file, " * 8, ELIBBAD),
        (elf(machine=183), ELIBBAD),
        (elf(phentsize=32), ELIBBAD),
        (elf(loads=()), ELIBBAD),  # no program headers at all
    ],
)
def test_interp_refused_before_the_point_of_no_return(data, errno):
    with pytest.raises(KernelError) as e:
        parse_interp(data)
    assert e.value.errno == errno


def test_interp_unusable_after_the_point_of_no_return():
    assert parse_interp(elf(etype=1)) is None  # ET_REL: Linux kills with SIGSEGV
    assert parse_interp(elf(loads=(), interp=b"/x")) is None  # no PT_LOAD: the same


def test_interp_own_pt_interp_is_ignored():
    data = elf(interp=b"/no/such/ld.so")
    assert parse_interp(data).interp is None
    bad = elf(interp=b"/x")
    bad = bad.replace(b"/x\0", b"/xx")  # unterminated: the program would get ENOEXEC
    with pytest.raises(KernelError) as e:
        parse(bad)
    assert e.value.errno == ENOEXEC
    assert parse_interp(bad) is not None
