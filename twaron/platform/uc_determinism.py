"""The Unicorn platform's deterministic mode (`twaron run --deterministic`): what makes guest
execution a function of the program, its inputs and the seed alone.

- **Preemption by a code budget, never a host timer.** A run of guest code ends when it has
  executed a given number of bytes of code. Unicorn can count instructions itself
  (uc_emu_start's `count`), but it does so with a code hook on every instruction, which
  disables much of TCG's work: measured here, `dd | sha256sum` of 8 MiB went from 1.0-2.6 s to
  24-28 s. A block hook costs one call per translated block instead (~7% on the same run),
  but Python must not be that call: the hook is eight x86-64 instructions of our own (below,
  assembled from `BLOCK_HOOK_ASM`), loaded into an executable page, that add the block's size
  in bytes to a counter and call uc_emu_stop once the counter reaches the limit. The stop is
  requested before the block's first instruction runs, so nothing is executed twice; the block
  is counted again when it runs. The count is the one virtual time advances with
  (clock.CODE_BYTES_PER_NS), and Python reads it live during a syscall.
- **RDTSC and RDTSCP** give virtual time (instruction hooks, installed only in this mode).
- **CPUID** answers from a table made at boot from Unicorn's own CPU model, with RDRAND and
  RDSEED advertised. The CPU model's RDRAND feature is switched off in the live CPU state
  (QEMU's TCG would fetch host entropy for both instructions), so RDRAND and RDSEED raise #UD
  and the kernel emulates them with seeded values (process/determinism.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
from collections.abc import Callable
from typing import TYPE_CHECKING

from unicorn import UC_HOOK_BLOCK, UC_HOOK_INSN
from unicorn import x86_const as X

if TYPE_CHECKING:
    from twaron.platform.unicorn import UnicornPlatform

# void count_block(uc_engine *uc, uint64_t address, uint32_t size, CodeBudget *budget)
# (System V: rdi = uc, rsi = address, edx = size, rcx = budget)
BLOCK_HOOK_ASM = """
    .intel_syntax noprefix
    mov eax, edx                 # the block's size in bytes
    add [rcx], rax               # budget->executed += size
    mov rax, [rcx]
    cmp rax, [rcx + 8]           # budget->executed >= budget->limit ?
    jae 1f
    ret
1:  jmp qword ptr [rcx + 16]     # tail call budget->stop(uc): uc_emu_stop
"""
BLOCK_HOOK = bytes.fromhex("89d0480101488b01483b41087301c3ff6110")

CPUID_RDRAND = 1 << 30  # leaf 1, ECX
CPUID_RDSEED = 1 << 18  # leaf 7 subleaf 0, EBX
# Leaves whose answer depends on the subleaf in ECX, and how many subleaves the table keeps.
SUBLEAF_LEAVES = {4: 8, 7: 4, 0xB: 4, 0xD: 16, 0xF: 4, 0x10: 4, 0x12: 4, 0x14: 4, 0x17: 4,
                  0x18: 4, 0x1F: 4}  # fmt: skip


class CodeBudget(ctypes.Structure):
    """Shared with the block hook: code bytes executed since boot, the limit at which the
    running slice stops, and uc_emu_stop."""

    _fields_ = [("executed", ctypes.c_uint64), ("limit", ctypes.c_uint64),
                ("stop", ctypes.c_void_p)]  # fmt: skip


def _executable_copy(code: bytes) -> tuple[mmap.mmap, int]:
    """code in a page of its own, read+execute only; (the mapping to keep, its address)."""
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    page.write(code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(addr, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise OSError(ctypes.get_errno(), "mprotect of the block-counting hook failed")
    return page, addr


class DeterministicCpu:
    """Installs and drives the deterministic mode of one UnicornPlatform."""

    def __init__(self, platform: UnicornPlatform, env: int | None) -> None:
        self.platform = platform
        self.budget = CodeBudget(0, 1 << 63, platform._emu_stop_addr)
        self._page, self._hook_addr = _executable_copy(BLOCK_HOOK)
        self.tsc: Callable[[], int] = lambda: 0  # set by the kernel: the virtual clock's TSC
        self._rdrand_off(env)
        self.cpuid_table = self._cpuid_table()
        self._hooks: list[object] = []
        self._install()

    # ---- the code budget ------------------------------------------------------------------

    def executed(self) -> int:
        return self.budget.executed

    def arm(self, code_bytes: int) -> None:
        """The next run stops once it has executed code_bytes more bytes of code."""
        self.budget.limit = self.budget.executed + max(1, code_bytes)

    def exhausted(self) -> bool:
        return self.budget.executed >= self.budget.limit

    # ---- set-up ----------------------------------------------------------------------------

    def _rdrand_off(self, env: int | None) -> None:
        """Clear CPUID_EXT_RDRAND in the CPU model's feature words (QEMU's env->features,
        FEAT_1_EDX then FEAT_1_ECX as two uint64s): TCG then translates RDRAND and RDSEED to
        #UD. Found by the CPUID leaf 1 values the model answers, and checked by asking again."""
        _, _, ecx, edx = self.run_cpuid(1, 0)
        if not ecx & CPUID_RDRAND:
            return
        pattern = edx.to_bytes(8, "little") + ecx.to_bytes(8, "little")
        where = ctypes.string_at(env, 1 << 16).find(pattern) if env is not None else -1
        if where < 0 or where % 8:
            raise RuntimeError("--deterministic: cannot find the CPU's RDRAND feature bit in "
                               "Unicorn's CPU state (an unexpected Unicorn version?)")
        word = ctypes.c_uint64.from_address(env + where + 8)  # type: ignore[operator]
        word.value &= ~CPUID_RDRAND
        if self.run_cpuid(1, 0)[2] & CPUID_RDRAND:
            raise RuntimeError("--deterministic: RDRAND could not be switched off")

    def run_cpuid(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
        """CPUID as Unicorn's CPU model answers it (at boot, before the hook exists)."""
        return self.platform.boot_cpuid(leaf, subleaf)

    def _cpuid_table(self) -> dict[tuple[int, int], tuple[int, int, int, int]]:
        table: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        top = self.run_cpuid(0, 0)[0]
        ext = self.run_cpuid(0x8000_0000, 0)[0]
        leaves = [*range(0, min(top, 0x20) + 1), *range(0x8000_0000, min(ext, 0x8000_0020) + 1)]
        for leaf in leaves:
            for sub in range(SUBLEAF_LEAVES.get(leaf, 1)):
                table[(leaf, sub)] = self.run_cpuid(leaf, sub)
        a, b, c, d = table[(1, 0)]
        table[(1, 0)] = (a, b, c | CPUID_RDRAND, d)
        if (7, 0) in table:
            a, b, c, d = table[(7, 0)]
            table[(7, 0)] = (a, b | CPUID_RDSEED, c, d)
        self.top_leaf = top
        return table

    def cpuid_digest(self) -> str:
        """What the guest's CPUID answers, in one hash (a record names the CPU it ran on)."""
        text = repr(sorted(self.cpuid_table.items())).encode()
        return hashlib.sha256(text).hexdigest()

    def cpuid(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
        table = self.cpuid_table
        sub = subleaf if leaf in SUBLEAF_LEAVES else 0
        found = table.get((leaf, sub))
        if found is not None:
            return found
        if leaf < 0x8000_0000 and leaf > self.top_leaf:
            return table.get((self.top_leaf, 0), (0, 0, 0, 0))  # Intel: the highest leaf's
        return (0, 0, 0, 0)

    def _install(self) -> None:
        p = self.platform
        add = ctypes.CDLL(p.uclib_name).uc_hook_add
        hook = ctypes.c_size_t()
        add.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_int,
                        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64,
                        ctypes.c_uint64]  # fmt: skip
        if add(p.uch, ctypes.byref(hook), UC_HOOK_BLOCK, self._hook_addr,
               ctypes.addressof(self.budget), 1, 0):  # fmt: skip
            raise RuntimeError("uc_hook_add(block budget) failed")
        cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        add.argtypes = add.argtypes + [ctypes.c_int]
        hooks = ((X.UC_X86_INS_RDTSC, self._on_rdtsc), (X.UC_X86_INS_RDTSCP, self._on_rdtscp),
                 (X.UC_X86_INS_CPUID, self._on_cpuid))  # fmt: skip
        for insn, fn in hooks:
            cb = cb_type(fn)
            self._hooks.append(cb)
            if add(p.uch, ctypes.byref(hook), UC_HOOK_INSN, ctypes.cast(cb, ctypes.c_void_p),
                   None, 1, 0, insn):  # fmt: skip
                raise RuntimeError(f"uc_hook_add(instruction {insn}) failed")

    # ---- the instruction hooks (return 1: the instruction is done, skip Unicorn's) ----------

    def _on_rdtsc(self, _uch: int, _ud: int) -> int:
        try:
            tsc = self.tsc()
            self.platform.write_regs({"rax": tsc & 0xFFFF_FFFF, "rdx": tsc >> 32})
        except BaseException as exc:  # noqa: BLE001 - surfaced from run() as an oops
            self.platform.fail(exc)
        return 1

    def _on_rdtscp(self, _uch: int, _ud: int) -> int:
        try:
            tsc = self.tsc()
            self.platform.write_regs({"rax": tsc & 0xFFFF_FFFF, "rdx": tsc >> 32, "rcx": 0})
        except BaseException as exc:  # noqa: BLE001
            self.platform.fail(exc)
        return 1

    def _on_cpuid(self, _uch: int, _ud: int) -> int:
        try:
            p = self.platform
            leaf, sub = p.read_reg("rax") & 0xFFFF_FFFF, p.read_reg("rcx") & 0xFFFF_FFFF
            a, b, c, d = self.cpuid(leaf, sub)
            p.write_regs({"rax": a, "rbx": b, "rcx": c, "rdx": d})
        except BaseException as exc:  # noqa: BLE001
            self.platform.fail(exc)
        return 1
