"""A corpus of malformed executables, built from a minimal valid static ELF by mutation."""

from __future__ import annotations

import struct

BASE = 0x400000
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
PT_LOAD, PT_INTERP, PF_R, PF_W, PF_X = 1, 3, 4, 2, 1
CODE = bytes.fromhex("b83c000000bf07000000") + b"\x0f\x05"  # exit(7)


def exit_code(n: int) -> bytes:
    return bytes.fromhex("b83c000000bf") + n.to_bytes(4, "little") + b"\x0f\x05"


def elf(*, ident_class: int = 2, machine: int = 62, etype: int = 2, entry: int | None = None,
        phoff: int = 64, phnum: int | None = None, phentsize: int = 56,
        phdrs: list[tuple] | None = None, truncate: int | None = None,
        code: bytes = CODE, base: int = BASE, interp: bytes | None = None) -> bytes:  # fmt: skip
    """A static ELF whose code (exit(7)) follows the header and program headers; with interp,
    a PT_INTERP naming it comes first and the path follows the code."""
    phdrs = phdrs if phdrs is not None else [None]
    if interp is not None:
        phdrs = ["interp", *phdrs]
    code_off = 64 + 56 * len(phdrs)
    rows = []
    for ph in phdrs:
        if ph is None:  # the default: one R+X segment mapping the whole file at base
            size = code_off + len(code)
            ph = (PT_LOAD, PF_R | PF_X, 0, base, base, size, size, 0x1000)
        elif ph == "interp":
            n = len(interp) + 1  # type: ignore[arg-type]
            ph = (PT_INTERP, PF_R, code_off + len(code), 0, 0, n, n, 1)
        rows.append(PHDR.pack(*ph))
    ident = b"\x7fELF" + bytes([ident_class, 1, 1, 0]) + bytes(8)
    hdr = EHDR.pack(ident, etype, machine, 1, base + code_off if entry is None else entry,
                    phoff, 0, 0, 64, phentsize, len(phdrs) if phnum is None else phnum, 64, 0, 0)
    data = hdr + b"".join(rows) + code + (b"" if interp is None else interp + b"\0")
    return data if truncate is None else data[:truncate]


def corpus() -> dict[str, tuple[bytes, int]]:
    """name -> (contents, mode)."""
    x = 0o755
    size = 64 + 56 + len(CODE)
    c = {
        "valid": (elf(), x),
        "empty": (b"", x),
        "magic_only": (b"\x7fELF", x),
        "truncated_ehdr": (elf(truncate=40), x),
        "truncated_phdrs": (elf(truncate=90), x),
        "phdrs_past_eof": (elf(phoff=1 << 20), x),
        "phoff_huge": (elf(phoff=(1 << 64) - 8), x),
        "no_phdrs": (elf(phnum=0), x),
        "too_many_phdrs": (elf(phnum=0xFFFF), x),
        "bad_phentsize": (elf(phentsize=32), x),
        "class32": (elf(ident_class=1), x),
        "class_bad": (elf(ident_class=7), x),
        "machine_i386": (elf(machine=3), x),
        "machine_aarch64": (elf(machine=183), x),
        "type_rel": (elf(etype=1), x),
        "type_core": (elf(etype=4), x),
        "entry_outside": (elf(entry=0x7000_0000), x),
        "entry_kernel": (elf(entry=0xFFFF_8000_0000_0000), x),
        "filesz_gt_memsz": (elf(phdrs=[(PT_LOAD, 5, 0, BASE, BASE, size, 16, 0x1000)]), x),
        "offset_past_eof": (elf(phdrs=[(PT_LOAD, 5, 1 << 30, BASE, BASE, 0x1000, 0x1000,
                                        0x1000)]), x),  # fmt: skip
        "huge_memsz": (elf(phdrs=[(PT_LOAD, 5, 0, BASE, BASE, size, 1 << 46, 0x1000)]), x),
        "kernel_vaddr": (elf(phdrs=[(PT_LOAD, 5, 0, 0xFFFF_8000_0000_0000,
                                     0xFFFF_8000_0000_0000, size, size, 0x1000)]), x),
        "vaddr_wraps": (elf(phdrs=[(PT_LOAD, 5, 0, (1 << 64) - 0x1000, 0, size, 0x3000,
                                    0x1000)]), x),  # fmt: skip
        "overlapping": (elf(phdrs=[None, (PT_LOAD, 6, 0, BASE, BASE, 0x200, 0x2000, 0x1000)]),
                        x),
        "not_executable": (elf(), 0o644),
        "script_empty": (b"#!", x),
        "script_no_interp": (b"#!\n", x),
        "script_spaces": (b"#!   \n", x),
        "script_missing": (b"#!/nonexistent/interp\n", x),
        "script_not_exec": (b"#!/etc/passwd\n", x),
        "script_loop": (b"#!/corpus/script_loop\n", x),
        "text": (b"hello world\n", x),
        "text_long": (b"not an ELF file, but long enough to hold an ELF header: " * 2, x),
        # PT_INTERP: interpreters are ET_DYN at 0 (like ld.so) and exit with their own code
        "ld_ok": (elf(etype=3, base=0, code=exit_code(8)), x),
        "ld_own_interp": (elf(etype=3, base=0, code=exit_code(9), interp=b"/no/such/ld.so"), x),
        "dyn_ok": (elf(interp=b"/corpus/ld_ok"), x),
        "dyn_pie": (elf(etype=3, base=0, interp=b"/corpus/ld_ok"), x),
        "dyn_interp_own_interp": (elf(interp=b"/corpus/ld_own_interp"), x),
        "dyn_interp_missing": (elf(interp=b"/no/such/ld.so"), x),
        "dyn_interp_relative": (elf(interp=b"ld_ok"), x),
        "dyn_interp_dir": (elf(interp=b"/corpus"), x),
        "dyn_interp_not_executable": (elf(interp=b"/corpus/not_executable"), x),
        "dyn_interp_short": (elf(interp=b"/corpus/text"), x),
        "dyn_interp_not_elf": (elf(interp=b"/corpus/text_long"), x),
        "dyn_interp_script": (elf(interp=b"/corpus/script_missing"), x),
        "dyn_interp_aarch64": (elf(interp=b"/corpus/machine_aarch64"), x),
        "dyn_interp_class32": (elf(interp=b"/corpus/class32"), x),
        "dyn_interp_type_rel": (elf(interp=b"/corpus/type_rel"), x),
        "dyn_interp_no_phdrs": (elf(interp=b"/corpus/no_phdrs"), x),
        "dyn_interp_bad_phentsize": (elf(interp=b"/corpus/bad_phentsize"), x),
        "dyn_interp_unterminated": (elf(interp=b"/corpus/ld_ok")[:-1] + b"x", x),
    }
    return c
