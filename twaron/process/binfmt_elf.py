"""ELF64 executables: parse and check the headers, map the segments (Linux's binfmt_elf).

Everything that can make the file unusable is checked in parse() (before execve's point of no
return), so a malformed or foreign file gives ENOEXEC and the calling process lives on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from twaron.arch.x86_64.constants import (
    ELFDATA2LSB,
    ELFMAG,
    EM_X86_64,
    ET_DYN,
    ET_EXEC,
    EV_CURRENT,
    MAP_PRIVATE,
    PAGE_MASK,
    PAGE_SIZE,
    PF_R,
    PF_W,
    PF_X,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    PT_GNU_STACK,
    PT_INTERP,
    PT_LOAD,
    PT_PHDR,
    USER_TOP,
)
from twaron.arch.x86_64.errno import EIO, ELIBBAD, ENOEXEC, ENOMEM
from twaron.errors import KernelError
from twaron.mm.address_space import ELF_ET_DYN_BASE, AddressSpace
from twaron.mm.page_cache import PageCache

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
MAX_PHDRS_SIZE = 65536


@dataclass(slots=True)
class ProgramHeader:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def prot(self) -> int:
        return (
            (PROT_READ if self.flags & PF_R else 0)
            | (PROT_WRITE if self.flags & PF_W else 0)
            | (PROT_EXEC if self.flags & PF_X else 0)
        )


@dataclass(slots=True)
class ElfImage:
    type: int
    entry: int
    phoff: int
    phnum: int
    phentsize: int
    phdrs: list[ProgramHeader]
    loads: list[ProgramHeader]
    interp: bytes | None = None
    exec_stack: bool = False


@dataclass(slots=True)
class LoadedImage:
    bias: int
    entry: int
    phdr_addr: int
    phnum: int
    phentsize: int
    brk: int


def parse(head: bytes, read: object, size: int, interpreter: bool = False) -> ElfImage:
    """Check an ELF header and its program headers; head is the file's first bytes.

    read(offset, n) reads more of the file. Raises KernelError(ENOEXEC) for anything Linux
    would refuse before committing to the exec. An interpreter's own PT_INTERP is ignored.
    """
    if len(head) < EHDR.size or head[:4] != ELFMAG:
        raise KernelError(ENOEXEC)
    ident, etype, machine, version, entry, phoff, _shoff, _flags, ehsize, phentsize, phnum = (
        EHDR.unpack_from(head)[:11]
    )
    if (  # Linux's binfmt_elf does not look at EI_CLASS (the header is read as 64-bit)
        ident[5] != ELFDATA2LSB
        or version != EV_CURRENT
        or machine != EM_X86_64
        or etype not in (ET_EXEC, ET_DYN)
        or ehsize < EHDR.size
        or phentsize != PHDR.size
        or not 1 <= phnum <= MAX_PHDRS_SIZE // PHDR.size
        or phoff + phnum * PHDR.size > size
    ):
        raise KernelError(ENOEXEC)
    raw = read(phoff, phnum * PHDR.size)  # type: ignore[operator]
    if len(raw) != phnum * PHDR.size:
        raise KernelError(ENOEXEC)
    phdrs = []
    for i in range(phnum):
        fields = PHDR.unpack_from(raw, i * PHDR.size)
        ptype, pflags, off, vaddr, _paddr, filesz, memsz, align = fields
        phdrs.append(ProgramHeader(ptype, pflags, off, vaddr, filesz, memsz, align))
    loads = [ph for ph in phdrs if ph.type == PT_LOAD]
    image = ElfImage(etype, entry, phoff, phnum, phentsize, phdrs, loads)
    if not loads:
        raise KernelError(ENOEXEC)
    for ph in phdrs:
        if ph.type == PT_INTERP and not interpreter:
            if ph.filesz < 2 or ph.filesz > 4096 or ph.offset + ph.filesz > size:
                raise KernelError(ENOEXEC)
            path = read(ph.offset, ph.filesz)  # type: ignore[operator]
            if path[-1:] != b"\0":
                raise KernelError(ENOEXEC)
            image.interp = path[:-1]
        elif ph.type == PT_GNU_STACK:
            image.exec_stack = bool(ph.flags & PF_X)
    return image


def loads_fit(image: ElfImage, mem_size: int) -> bool:
    """Whether the PT_LOAD segments can be mapped: Linux finds out only while mapping them,
    past its point of no return, and the exec dies of SIGSEGV. A segment past the end of the
    file maps (touching it is SIGBUS); a bss bigger than memory is refused as Linux's
    overcommit accounting refuses it."""
    end = 0
    for ph in sorted(image.loads, key=lambda p: p.vaddr):
        if (
            ph.filesz > ph.memsz
            or (ph.vaddr - ph.offset) % PAGE_SIZE
            or ph.vaddr + ph.memsz >= USER_TOP
            or ph.memsz - ph.filesz > mem_size
            or (ph.vaddr & PAGE_MASK) < end  # overlaps the segment before
        ):
            return False
        end = (ph.vaddr + ph.memsz + PAGE_SIZE - 1) & PAGE_MASK
    return True


def parse_interp(head: bytes, read: object, size: int) -> ElfImage | None:
    """The interpreter named by PT_INTERP, checked as Linux's load_elf_binary does before the
    point of no return: EIO for a file shorter than an ELF header, ELIBBAD for one that is not
    ELF, not x86-64 or whose program headers cannot be read. None when the rest is unusable
    (Linux's load_elf_interp finds that after the point of no return: the exec dies of SIGSEGV).
    """
    if len(head) < EHDR.size:
        raise KernelError(EIO)
    ident, _t, machine, _v, _e, phoff, _s, _f, _eh, phentsize, phnum = EHDR.unpack_from(head)[:11]
    if (
        ident[:4] != ELFMAG
        or machine != EM_X86_64
        or phentsize != PHDR.size
        or not 1 <= phnum <= MAX_PHDRS_SIZE // PHDR.size
        or phoff + phnum * PHDR.size > size
    ):
        raise KernelError(ELIBBAD)
    try:
        return parse(head, read, size, interpreter=True)
    except KernelError:
        return None


def exec_bias(image: ElfImage) -> int:
    """Where the program goes: ET_EXEC at its own addresses, ET_DYN at ELF_ET_DYN_BASE."""
    return ELF_ET_DYN_BASE - (image.loads[0].vaddr & PAGE_MASK) if image.type == ET_DYN else 0


def span(image: ElfImage) -> int:
    """Bytes from the first PT_LOAD's page to the end of the last (Linux's total_mapping_size)."""
    end = max(ph.vaddr + ph.memsz for ph in image.loads)
    return ((end + PAGE_SIZE - 1) & PAGE_MASK) - (image.loads[0].vaddr & PAGE_MASK)


def load(mm: AddressSpace, image: ElfImage, mapping: PageCache, file: object,
         bias: int) -> LoadedImage:  # fmt: skip
    """Map the PT_LOAD segments at vaddr + bias (after the point of no return)."""
    loads = image.loads
    brk = 0
    for ph in loads:
        start = (bias + ph.vaddr) & PAGE_MASK
        file_end = bias + ph.vaddr + ph.filesz
        mem_end = bias + ph.vaddr + ph.memsz
        file_map_end = (file_end + PAGE_SIZE - 1) & PAGE_MASK
        if start < 0x1000 or mem_end > USER_TOP:
            raise KernelError(ENOMEM)
        prot = ph.prot
        if ph.filesz:
            mm.map(start, file_map_end - start, prot, MAP_PRIVATE, mapping,
                   (ph.offset & PAGE_MASK) >> 12, file)  # fmt: skip
        if ph.memsz > ph.filesz:
            if ph.filesz and file_end & (PAGE_SIZE - 1):
                # The page holding the end of the file data continues as .bss: Linux's
                # padzero() clears its tail in a private copy.
                pfn = mm.private_page(file_end & PAGE_MASK)
                off = file_end & (PAGE_SIZE - 1)
                mm.mem.write(pfn, off, bytes(PAGE_SIZE - off))
            bss_start = file_map_end if ph.filesz else start
            bss_end = (mem_end + PAGE_SIZE - 1) & PAGE_MASK
            if bss_end > bss_start:
                mm.map(bss_start, bss_end - bss_start, prot, MAP_PRIVATE)
        brk = max(brk, (mem_end + PAGE_SIZE - 1) & PAGE_MASK)
    phdr_addr = _phdr_address(image, loads, bias)
    return LoadedImage(bias, bias + image.entry, phdr_addr, image.phnum, image.phentsize, brk)


def _phdr_address(image: ElfImage, loads: list[ProgramHeader], bias: int) -> int:
    """AT_PHDR: where the program headers are in memory (PT_PHDR, else inside a segment)."""
    for ph in image.phdrs:
        if ph.type == PT_PHDR:
            return bias + ph.vaddr
    for ph in loads:
        if ph.offset <= image.phoff < ph.offset + ph.filesz:
            return bias + ph.vaddr + (image.phoff - ph.offset)
    return 0
