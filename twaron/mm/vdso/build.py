"""Build the vDSO image: assemble vdso.S and wrap it in an ELF shared object, in Python.

    python -m twaron.mm.vdso.build          # rewrite image.py
    python -m twaron.mm.vdso.build --check  # exit 1 if image.py is stale

Needs GNU as and nm (binutils); only the code goes through them. The ELF around it (headers,
.hash, .dynsym, .dynstr, symbol versions, .dynamic, section headers) is laid out here, so the
image depends on the assembler's output alone, not on a linker's version. What the libcs look
for, and so what is here:

- musl (src/internal/vdso.c): PT_LOAD and PT_DYNAMIC; DT_STRTAB, DT_SYMTAB, DT_HASH (its
  nchain is the symbol count: DT_GNU_HASH alone would not do), DT_VERSYM + DT_VERDEF; a
  defined FUNC symbol `__vdso_clock_gettime` (and `__vdso_getcpu`) of version LINUX_2.6.
- glibc (elf/setup-vdso.h, dl_vdso_vsym): the same tables through its own link map, DT_HASH
  or DT_GNU_HASH, the version's ELF hash in vd_hash; `__vdso_clock_gettime`,
  `__vdso_gettimeofday`, `__vdso_time`, `__vdso_getcpu`, `__vdso_clock_getres`, LINUX_2.6.
- Linux's own vDSO also exports the names without the prefix, as weak aliases: so does this.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 0x1000
TEXT_OFFSET = 0x800  # must match vdso.S
SONAME = b"linux-vdso.so.1"
VERSION = b"LINUX_2.6"
FUNCTIONS = ("clock_gettime", "gettimeofday", "time", "clock_getres", "getcpu")

# ELF constants
ET_DYN, EM_X86_64 = 3, 62
PT_LOAD, PT_DYNAMIC = 1, 2
PF_X, PF_R = 1, 4
SHT_PROGBITS, SHT_STRTAB, SHT_HASH, SHT_DYNAMIC, SHT_DYNSYM = 1, 3, 5, 6, 11
SHT_GNU_VERDEF, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFF
SHF_ALLOC, SHF_EXECINSTR = 2, 4
STB_GLOBAL, STB_WEAK, STT_FUNC = 1, 2, 2
DT_NULL, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME = 0, 4, 5, 6, 10, 11, 14
DT_VERSYM, DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD
VER_FLG_BASE = 1


def elf_hash(name: bytes) -> int:
    """The System V ABI's symbol hash (DT_HASH and vd_hash)."""
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFF_FFFF
        g = h & 0xF000_0000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFF_FFFF
    return h


def assemble() -> tuple[bytes, dict[str, int]]:
    """vdso.S's .text and its global symbols' offsets in it."""
    with tempfile.TemporaryDirectory() as tmp:
        obj, binf = Path(tmp, "vdso.o"), Path(tmp, "vdso.bin")
        subprocess.run(["as", "--64", "-o", str(obj), str(HERE / "vdso.S")], check=True)
        relocs = subprocess.run(["readelf", "-r", str(obj)], check=True, capture_output=True,
                                text=True).stdout  # fmt: skip
        if "R_X86_64" in relocs:
            raise RuntimeError(f"vdso.S must assemble without relocations:\n{relocs}")
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(binf)],
                       check=True)  # fmt: skip
        names = subprocess.run(["nm", "--defined-only", "-g", str(obj)], check=True,
                               capture_output=True, text=True).stdout  # fmt: skip
        symbols = {}
        for line in names.splitlines():
            value, _kind, name = line.split()
            symbols[name] = int(value, 16)
        return binf.read_bytes(), symbols


class _Strings:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.offsets: dict[bytes, int] = {}

    def add(self, s: bytes) -> int:
        if s not in self.offsets:
            self.offsets[s] = len(self.data)
            self.data += s + b"\0"
        return self.offsets[s]


def _align(n: int, a: int) -> int:
    return (n + a - 1) & -a


def link(text: bytes, symbols: dict[str, int]) -> bytes:
    """The ELF image: one page, loaded at whatever address the kernel picks (vaddr 0)."""
    dynstr = _Strings()
    soname = dynstr.add(SONAME)
    version = dynstr.add(VERSION)
    # the dynamic symbols: null, then __vdso_NAME (global) and NAME (weak) for each function
    syms = [(0, 0, 0, 0)]  # (name, info, value, size)
    sizes = _sizes(symbols, len(text))
    for fn in FUNCTIONS:
        value = TEXT_OFFSET + symbols["__vdso_" + fn]
        for name, bind in ((b"__vdso_" + fn.encode(), STB_GLOBAL), (fn.encode(), STB_WEAK)):
            syms.append((dynstr.add(name), (bind << 4) | STT_FUNC, value, sizes[fn]))
    nsyms = len(syms)

    # .hash: nbucket, nchain, buckets, chains
    nbucket = 3
    buckets, chains = [0] * nbucket, [0] * nsyms
    for i in range(1, nsyms):
        name = bytes(dynstr.data[syms[i][0]:].split(b"\0", 1)[0])
        b = elf_hash(name) % nbucket
        chains[i], buckets[b] = buckets[b], i
    hash_sec = struct.pack(f"<{2 + nbucket + nsyms}I", nbucket, nsyms, *buckets, *chains)
    versym = struct.pack(f"<{nsyms}H", 0, *([2] * (nsyms - 1)))
    verdef = (struct.pack("<HHHHIII", 1, VER_FLG_BASE, 1, 1, elf_hash(SONAME), 20, 28)
              + struct.pack("<II", soname, 0)
              + struct.pack("<HHHHIII", 1, 0, 2, 1, elf_hash(VERSION), 20, 0)
              + struct.pack("<II", version, 0))  # fmt: skip

    # layout: headers, then the tables, then .text at TEXT_OFFSET, then the section headers
    phnum = 2
    pos = 64 + 56 * phnum
    layout: dict[str, tuple[int, int]] = {}

    def place(name: str, size: int, align: int) -> int:
        nonlocal pos
        pos = _align(pos, align)
        layout[name] = (pos, size)
        pos += size
        return layout[name][0]

    hash_at = place(".hash", len(hash_sec), 8)
    dynsym_at = place(".dynsym", 24 * nsyms, 8)
    dynstr_at = place(".dynstr", len(dynstr.data), 1)
    versym_at = place(".gnu.version", len(versym), 2)
    verdef_at = place(".gnu.version_d", len(verdef), 8)
    dynamic = [(DT_SONAME, soname), (DT_HASH, hash_at), (DT_STRTAB, dynstr_at),
               (DT_SYMTAB, dynsym_at), (DT_STRSZ, len(dynstr.data)), (DT_SYMENT, 24),
               (DT_VERSYM, versym_at), (DT_VERDEF, verdef_at), (DT_VERDEFNUM, 2),
               (DT_NULL, 0)]  # fmt: skip
    dynamic_sec = b"".join(struct.pack("<qQ", tag, val) for tag, val in dynamic)
    dynamic_at = place(".dynamic", len(dynamic_sec), 8)
    if pos > TEXT_OFFSET:
        raise RuntimeError(f"the ELF tables ({pos} bytes) overlap .text at {TEXT_OFFSET:#x}")
    pos = TEXT_OFFSET
    place(".text", len(text), 16)
    shstr = _Strings()
    sections = [".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic",
                ".text"]  # fmt: skip
    for s in sections + [".shstrtab"]:
        shstr.add(s.encode())
    shstrtab_at = place(".shstrtab", len(shstr.data), 1)
    shoff = _align(pos, 8)
    index = {name: i + 1 for i, name in enumerate(sections + [".shstrtab"])}
    shnum = len(index) + 1
    end = shoff + 64 * shnum
    if end > PAGE_SIZE:
        raise RuntimeError(f"the vDSO image ({end} bytes) does not fit in a page")

    image = bytearray(end)
    ident = b"\x7fELF" + bytes((2, 1, 1, 0)) + bytes(8)
    image[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", ET_DYN, EM_X86_64, 1,
                                      TEXT_OFFSET + symbols["__vdso_text"], 64, shoff, 0, 64,
                                      56, phnum, 64, shnum, index[".shstrtab"])  # fmt: skip
    image[64:120] = struct.pack("<IIQQQQQQ", PT_LOAD, PF_R | PF_X, 0, 0, 0, PAGE_SIZE,
                                PAGE_SIZE, PAGE_SIZE)  # fmt: skip
    image[120:176] = struct.pack("<IIQQQQQQ", PT_DYNAMIC, PF_R, dynamic_at, dynamic_at,
                                 dynamic_at, len(dynamic_sec), len(dynamic_sec), 8)  # fmt: skip
    text_index = index[".text"]
    dynsym = b"".join(struct.pack("<IBBHQQ", name, info, 0, text_index if value else 0, value,
                                  size) for name, info, value, size in syms)  # fmt: skip
    for at, data in ((hash_at, hash_sec), (dynsym_at, dynsym), (dynstr_at, dynstr.data),
                     (versym_at, versym), (verdef_at, verdef), (dynamic_at, dynamic_sec),
                     (TEXT_OFFSET, text), (shstrtab_at, shstr.data)):  # fmt: skip
        image[at : at + len(data)] = data
    # section headers: name type flags addr offset size link info align entsize
    dynsym_i, dynstr_i = index[".dynsym"], index[".dynstr"]
    kinds = {
        ".hash": (SHT_HASH, SHF_ALLOC, dynsym_i, 0, 8, 4),
        ".dynsym": (SHT_DYNSYM, SHF_ALLOC, dynstr_i, 1, 8, 24),
        ".dynstr": (SHT_STRTAB, SHF_ALLOC, 0, 0, 1, 0),
        ".gnu.version": (SHT_GNU_VERSYM, SHF_ALLOC, dynsym_i, 0, 2, 2),
        ".gnu.version_d": (SHT_GNU_VERDEF, SHF_ALLOC, dynstr_i, 2, 8, 0),
        ".dynamic": (SHT_DYNAMIC, SHF_ALLOC, dynstr_i, 0, 8, 16),
        ".text": (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0, 0, 16, 0),
        ".shstrtab": (SHT_STRTAB, 0, 0, 0, 1, 0),
    }
    for name, i in index.items():
        kind, flags, link_, info, align, entsize = kinds[name]
        at, size = layout[name]
        addr = at if flags & SHF_ALLOC else 0
        image[shoff + 64 * i : shoff + 64 * (i + 1)] = struct.pack(
            "<IIQQQQIIQQ", shstr.offsets[name.encode()], kind, flags, addr, at, size, link_,
            info, align, entsize)  # fmt: skip
    return bytes(image)


def _sizes(symbols: dict[str, int], end: int) -> dict[str, int]:
    """Each function's size: up to the next global symbol, the last one to `end`."""
    order = sorted((at, name) for name, at in symbols.items() if name != "__vdso_text")
    ends = [at for at, _ in order[1:]] + [end]
    return {name.removeprefix("__vdso_"): nxt - at
            for (at, name), nxt in zip(order, ends, strict=True)}  # fmt: skip


def build() -> bytes:
    return link(*assemble())


def render(image: bytes) -> str:
    hexed = image.hex()
    lines = [f'    "{hexed[i : i + 96]}"' for i in range(0, len(hexed), 96)]
    return (
        '"""The vDSO image (generated by `python -m twaron.mm.vdso.build` from vdso.S: do not\n'
        'edit; `--check` verifies it)."""\n\n'
        "IMAGE = bytes.fromhex(\n" + "\n".join(lines) + "\n)\n"
    )


def main(argv: list[str]) -> int:
    text = render(build())
    target = HERE / "image.py"
    if "--check" in argv:
        if not target.exists() or target.read_text() != text:
            print("stale vDSO image in mm/vdso/image.py: run python -m twaron.mm.vdso.build")
            return 1
        print("mm/vdso/image.py matches vdso.S")
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
