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
- **RDTSC and RDTSCP** give virtual time through instruction hooks installed only in this
  mode, machine code as well (`TSC_HOOK_ASM`): the clock's rdtsc() - the code count over
  CODE_BYTES_PER_NS plus the time slept, at least one more than the last value read - is
  computed from the fields the clock keeps in a `TscState` (`VirtualClock.attach`), and
  written to rax/rdx with uc_reg_write. A Python hook made the vDSO's clock_gettime ~42x
  slower than a normal run's.
- **CPUID** answers from a table made at boot from Unicorn's own CPU model, with RDRAND and
  RDSEED advertised. The CPU model's RDRAND feature is switched off in the live CPU state
  (QEMU's TCG would fetch host entropy for both instructions), so RDRAND and RDSEED raise #UD
  and the kernel emulates them with seeded values (process/determinism.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
from typing import TYPE_CHECKING

from unicorn import UC_HOOK_BLOCK
from unicorn import x86_const as X

from twaron.platform import cpuid

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

# uint32_t hook(uc_engine *uc, TscState *state): 1 = the instruction is done. Two entry
# points: RDTSC's at 0, RDTSCP's (which also sets rcx, IA32_TSC_AUX, to 0) at RDTSCP_ENTRY.
TSC_HOOK_ASM = """
    .intel_syntax noprefix
rdtsc_hook:                      # (rdi = uc, rsi = state) -> 1: the instruction is done
    push rbx
    push r12
    sub rsp, 8
    mov rbx, rsi
    mov r12, rdi
    call 2f
    add rsp, 8
    pop r12
    pop rbx
    mov eax, 1
    ret
rdtscp_hook:                     # the same, and rcx = IA32_TSC_AUX = 0
    push rbx
    push r12
    sub rsp, 8
    mov rbx, rsi
    mov r12, rdi
    mov esi, 38                  # UC_X86_REG_RCX
    lea rdx, [rbx + 48]          # state->zero
    call qword ptr [rbx + 40]    # uc_reg_write
    call 2f
    add rsp, 8
    pop r12
    pop rbx
    mov eax, 1
    ret
2:  sub rsp, 8                   # rbx = state, r12 = uc
    mov rax, [rbx]
    mov rax, [rax]               # code bytes executed
    shr rax, 2                   # / CODE_BYTES_PER_NS
    add rax, [rbx + 8]           # + slept_ns
    mov rcx, [rbx + 16]
    add rcx, 1                   # at least last_tsc + 1
    cmp rax, rcx
    cmovb rax, rcx
    mov [rbx + 16], rax          # last_tsc
    mov ecx, eax
    mov [rbx + 24], rcx          # low half
    shr rax, 32
    mov [rbx + 32], rax          # high half
    mov rdi, r12
    mov esi, 35                  # UC_X86_REG_RAX
    lea rdx, [rbx + 24]
    call qword ptr [rbx + 40]
    mov rdi, r12
    mov esi, 40                  # UC_X86_REG_RDX
    lea rdx, [rbx + 32]
    call qword ptr [rbx + 40]
    add rsp, 8
    ret
"""
TSC_HOOK = bytes.fromhex(
    "5341544883ec084889f34989fce8380000004883c408415c5bb801000000c35341544883ec084889f34989fc"
    "be26000000488d5330ff5328e80d0000004883c408415c5bb801000000c34883ec08488b03488b0048c1e802"
    "48034308488b4b104883c1014839c8480f42c14889431089c148894b1848c1e820488943204c89e7be230000"
    "00488d5318ff53284c89e7be28000000488d5320ff53284883c408c3"
    "")
RDTSCP_ENTRY = 0x1F

CPUID_RDRAND = 1 << 30  # leaf 1, ECX
CPUID_RDSEED = 1 << 18  # leaf 7 subleaf 0, EBX


class CodeBudget(ctypes.Structure):
    """Shared with the block hook: code bytes executed since boot, the limit at which the
    running slice stops, and uc_emu_stop."""

    _fields_ = [("executed", ctypes.c_uint64), ("limit", ctypes.c_uint64),
                ("stop", ctypes.c_void_p)]  # fmt: skip


class TscState(ctypes.Structure):
    """Shared with the RDTSC hook: where the code count is, the clock's slept_ns and
    last_tsc (VirtualClock.state), the value's two halves, uc_reg_write, and a zero."""

    _fields_ = [("executed_at", ctypes.c_void_p), ("slept_ns", ctypes.c_uint64),
                ("last_tsc", ctypes.c_uint64), ("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64),
                ("reg_write", ctypes.c_void_p), ("zero", ctypes.c_uint64)]  # fmt: skip


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
        self._tsc_page, self._tsc_addr = _executable_copy(TSC_HOOK)
        reg_write = ctypes.cast(ctypes.CDLL(platform.uclib_name).uc_reg_write, ctypes.c_void_p)
        self.tsc_state = TscState(ctypes.addressof(self.budget), 0, 0, 0, 0, reg_write.value, 0)
        self._rdrand_off(env)
        self.cpuid_table = self._cpuid_table()
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

    def _cpuid_table(self) -> cpuid.Table:
        table, top = cpuid.model_table(self.run_cpuid)
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

    def cpuid(self, leaf: int, subleaf: int) -> cpuid.Words:
        return cpuid.lookup(self.cpuid_table, self.top_leaf, leaf, subleaf)

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
        state = ctypes.addressof(self.tsc_state)
        p._hook_insn(X.UC_X86_INS_RDTSC, self._tsc_addr, state)
        p._hook_insn(X.UC_X86_INS_RDTSCP, self._tsc_addr + RDTSCP_ENTRY, state)
        p.answer_cpuid(self.cpuid_table, self.top_leaf)
