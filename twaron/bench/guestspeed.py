"""`twaron bench --guest-speed`: instructions retired per microsecond of warm guest code.

The same machine code (guestspeed.c's kernels, one static binary) is timed three ways:
- bare: a plain Unicorn engine, no paging, no hooks, the binary's segments mapped at their
  link addresses and guest_kernel(which, rounds) called directly: what QEMU's TCG does with
  this code when nothing else is in the way;
- twaron: the binary run as a static guest program inside twaron on Unicorn (it times the
  kernel itself with clock_gettime around the call);
- native: the binary run on the host.
Each side warms up first (one round: code translated), then times `rounds` rounds. The
instructions of one round are counted once in Unicorn with a code hook (the kernels execute
the same instructions every round), so every side's figure is instructions / microsecond.
"""

from __future__ import annotations

import statistics
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from twaron.build import STATIC_CFLAGS, build_static

SOURCE = Path(__file__).resolve().parent / "guestspeed.c"
KERNELS = ("sha256", "interp", "qsort")
ROUNDS = {"sha256": 40, "interp": 400, "qsort": 40}
GUEST_PATH = "/guestspeed"
STACK_TOP = 0x7FFF_0000_0000
STACK_SIZE = 1 << 20
RETURN_ADDR = 0x7FFE_0000_0000  # a page of its own: reaching it ends the call
TLS_ADDR = 0x7FFD_0000_0000  # %fs: musl's own code reads its stack canary at %fs:0x28


def build() -> Path:
    return build_static(SOURCE, "guestspeed", "bench",
                        cflags=[*STATIC_CFLAGS, "-fno-stack-protector"])  # fmt: skip


def _symbol(elf: bytes, name: str) -> int:
    """The value of a symbol in a 64-bit ELF's .symtab."""
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            st_name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", elf, off)
            start = strtab[4] + st_name
            if elf[start : elf.index(b"\0", start)] == name.encode():
                return value
    raise LookupError(f"no symbol {name}")


class BareUnicorn:
    """The binary's PT_LOAD segments in a plain Unicorn engine (flat, unpaged memory)."""

    def __init__(self, binary: Path) -> None:
        from unicorn import UC_ARCH_X86, UC_MODE_64, Uc

        elf = binary.read_bytes()
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self._buffers: list[object] = []
        (phoff,) = struct.unpack_from("<Q", elf, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
        for i in range(phnum):
            p_type, _, off, vaddr, _, filesz, memsz, _ = struct.unpack_from(
                "<IIQQQQQQ", elf, phoff + i * phentsize)  # fmt: skip
            if p_type != 1:  # PT_LOAD
                continue
            start, end = vaddr & ~0xFFF, (vaddr + memsz + 0xFFF) & ~0xFFF
            self._map(start, end - start)
            uc.mem_write(vaddr, elf[off : off + filesz])
        self._map(STACK_TOP - STACK_SIZE, STACK_SIZE)
        self._map(RETURN_ADDR, 0x1000)
        uc.mem_write(RETURN_ADDR, b"\x90" * 16)
        self._map(TLS_ADDR, 0x1000)
        from unicorn import x86_const as X

        uc.reg_write(X.UC_X86_REG_FS_BASE, TLS_ADDR)
        self.entry = _symbol(elf, "guest_kernel")

    def _map(self, addr: int, size: int) -> None:
        """Host memory mapped in (as twaron maps its RAM): Unicorn's own mem_map leaves
        its pages looking as if they held code, so that every store takes QEMU's slow
        self-modifying-code check (measured: a third of sha256's time)."""
        import ctypes
        import mmap

        from unicorn import UC_PROT_ALL

        buf = mmap.mmap(-1, size)
        self._buffers.append(buf)
        self.uc.mem_map_ptr(addr, size, UC_PROT_ALL,
                            ctypes.addressof(ctypes.c_char.from_buffer(buf)))  # fmt: skip

    def call(self, which: int, rounds: int) -> int:
        """guest_kernel(which, rounds); the host nanoseconds it took."""
        from unicorn import x86_const as X

        uc = self.uc
        rsp = STACK_TOP - 4096
        uc.mem_write(rsp, RETURN_ADDR.to_bytes(8, "little"))
        uc.reg_write(X.UC_X86_REG_RSP, rsp)
        uc.reg_write(X.UC_X86_REG_RDI, which)
        uc.reg_write(X.UC_X86_REG_RSI, rounds)
        t0 = time.perf_counter_ns()
        uc.emu_start(self.entry, RETURN_ADDR)
        return time.perf_counter_ns() - t0

    def count(self, which: int, rounds: int) -> int:
        """Instructions guest_kernel(which, rounds) executes (a code hook: slow)."""
        from unicorn import UC_HOOK_CODE

        n = [0]

        def hook(*_: object) -> None:
            n[0] += 1

        h = self.uc.hook_add(UC_HOOK_CODE, hook)
        try:
            self.call(which, rounds)
        finally:
            self.uc.hook_del(h)
        return n[0]


def parse(out: str) -> int:
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "GUESTSPEED":
            return int(parts[3])
    raise RuntimeError(f"no GUESTSPEED line in {out!r}")


def native_ns(binary: Path, kernel: str, rounds: int) -> int:
    r = subprocess.run([str(binary), kernel, str(rounds)], capture_output=True, text=True,
                       timeout=300, check=True)  # fmt: skip
    return parse(r.stdout)


def twaron_ns(binary: Path, kernel: str, rounds: int, platform: str) -> int:
    import twaron

    r = twaron.run([GUEST_PATH, kernel, str(rounds)], files={GUEST_PATH: str(binary)},
                   platform=platform, timeout=600)  # fmt: skip
    if r.returncode != 0 or r.oopses:
        raise RuntimeError(f"guestspeed in twaron: exit {r.returncode}, {r.stderr[-300:]!r}")
    return parse(r.stdout.decode() if isinstance(r.stdout, bytes) else r.stdout)


@dataclass
class Row:
    kernel: str
    insns_per_round: int
    bare: float  # instructions per microsecond
    twaron: float
    native: float


def measure(kernels: tuple[str, ...] = KERNELS, repeat: int = 3, platform: str = "unicorn",
            scale: float = 1.0) -> list[Row]:  # fmt: skip
    """Each kernel's instructions/us on the three sides, the median of `repeat` runs."""
    binary = build()
    # Counting on an engine of its own: blocks translated under a code hook keep calling
    # it after hook_del, and would slow the timed engine down.
    counter = BareUnicorn(binary)
    bare = BareUnicorn(binary)
    rows = []
    for kernel in kernels:
        which = KERNELS.index(kernel)
        rounds = max(1, int(ROUNDS[kernel] * scale))
        per_round = counter.count(which, 2) - counter.count(which, 1)
        bare.call(which, 1)  # warm
        insns = per_round * rounds

        def rate(ns_list: list[int], insns: int = insns) -> float:
            return insns / (statistics.median(ns_list) / 1000)

        b = rate([bare.call(which, rounds) for _ in range(repeat)])
        t = rate([twaron_ns(binary, kernel, rounds, platform) for _ in range(repeat)])
        n = rate([native_ns(binary, kernel, rounds) for _ in range(repeat)])
        rows.append(Row(kernel, per_round, b, t, n))
    return rows


def render(rows: list[Row]) -> str:
    lines = ["| kernel | insns/round | bare Unicorn | twaron Unicorn | native | twaron/bare |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r.kernel} | {r.insns_per_round} | {r.bare:.0f} | {r.twaron:.0f} | "
                     f"{r.native:.0f} | {r.twaron / r.bare:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main(kernels: list[str] | None = None, platform: str = "unicorn", repeat: int = 3,
         scale: float = 1.0) -> int:  # fmt: skip
    """`twaron bench --guest-speed [KERNEL...]`: the table (ValueError: unknown kernel)."""
    unknown = sorted(set(kernels or ()) - set(KERNELS))
    if unknown:
        raise ValueError(f"unknown kernel {', '.join(unknown)} (kernels: {', '.join(KERNELS)})")
    if platform == "auto":
        platform = "unicorn"
    print(
        f"instructions retired per microsecond, warm code (median of {repeat} runs; "
        f"twaron on {platform})"
    )
    print(render(measure(tuple(kernels or KERNELS), repeat, platform, scale)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
