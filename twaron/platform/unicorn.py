"""The Unicorn platform: guest code emulated by QEMU's TCG through Unicorn 2.

How the traps of shared/notes/measured-facts.md are met:
- Ring 3 is entered once, at boot, by executing an `iretq` stub in ring 0; the resulting CPU
  context is the template every task's context is copied from, so no later reg_write ever
  has to lower the privilege level (it would not).
- The `syscall` instruction does not transition under Unicorn; an instruction hook sees the
  ring-3 state and the kernel answers there: a C hook (uc_shim.c) that reads the arguments
  from QEMU's live CPU state and calls the kernel's entry through Python's C API.
- Faults do not go through an IDT: the interrupt hook gets the vector, and QEMU's "exception
  in flight" field stays set, which would turn the next fault into a double and then a triple
  fault. After each fault the field is reset in a context copy (offset found by probing).
- One Unicorn instance and one RAM region for all processes: translated code is keyed by
  physical page and virtual PC, so text shared from the page cache stays translated.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_EDGE_GENERATED,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_MODE_64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    Uc,
)
from unicorn import x86_const as X
from unicorn.unicorn_const import (
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_ERR_FETCH_UNMAPPED,
    UC_ERR_INSN_INVALID,
    UC_ERR_READ_UNMAPPED,
    UC_ERR_WRITE_UNMAPPED,
)
from unicorn.unicorn_py3.unicorn import UcContext, uclib

from twaron.arch.x86_64.constants import (
    CR0_ET,
    CR0_MP,
    CR0_NE,
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR4_OSFXSR,
    CR4_OSXMMEXCPT,
    CR4_PAE,
    EFER_LMA,
    EFER_LME,
    EFER_NXE,
    EFER_SCE,
    MSR_EFER,
    PAGE_SHIFT,
    PTE_P,
    PTE_U,
    PTE_W,
    X86_TRAP_DB,
    X86_TRAP_DF,
    X86_TRAP_GP,
    X86_TRAP_PF,
    X86_TRAP_SS,
    X86_TRAP_UD,
)
from twaron.build import load_helper
from twaron.clock import host_tsc
from twaron.platform import cpuid
from twaron.platform.base import Event, SyscallEntry, Thread, UserRegs
from twaron.platform.uc_determinism import DeterministicCpu

if TYPE_CHECKING:
    from twaron.mm.physmem import PhysMem

U64 = 0xFFFF_FFFF_FFFF_FFFF
NEVER = 0xFFFF_FFFF_FFFF_F000  # `until` address no guest ever reaches
TIME_SLICE = 0.02  # seconds a task runs before it yields to others that want the CPU
# Slices a task may run without making a syscall before it is stopped from the timer thread
# (preemption normally waits for the next syscall, a safe point; this is for guests that
# never make one). The stop is exact once only_block_start_exits() holds.
FORCED_STOP_SLICES = 10
LOOKS_PER_SLICE = 4  # the tiered platform's stop_wanted is asked every TIME_SLICE / 4
TIME_SLICE_NS = int(TIME_SLICE * 1e9)
# The translation cache's host buffer. Generated code calls QEMU's helpers (memory access,
# exit checks) with a direct call only when they are within 2 GiB of it; farther away each
# call is an indirect one. Unicorn 2.1.4's default of 1 GiB was mapped below the guest RAM
# of the next kernel in the same process, more than 2 GiB from libunicorn: that kernel's
# guest code ran ~40% slower than the first's (a compute loop: 26 ms, then 36-38 ms). The
# buffer is 256 MiB (later Unicorn releases' default; when it fills, QEMU drops every
# translation and starts again), and goes where CodeSlots keeps room for it.
TCG_BUFFER_SIZE = 256 << 20
CONTEXT_POOL = 16  # saved-context objects of exited tasks kept for the next fork
CODE_SLOTS = 6  # engines whose buffers are kept within reach at once
# What the timer's wait reports (uc_shim.c's twaron_tick_wait): the platform is closed; the
# run in progress has lasted a slice; it made no syscall during a whole look (bits).
TICK_CLOSED, TICK_SLICE, TICK_QUIET = -1, 1, 2
WINDOW_EVERY = 15  # a mask of the syscall count: on_window is looked at every 16th syscall
# The words the syscall hook, the timer and Python share (uc_shim.c's struct shim, in order).
SHIM_WORDS = (
    "uc", "reg_read", "emu_stop", "exception", "live", "rflags_id", "window_mask",
    "entry", "task", "on_window", "narrowed", "failed",
    "rflags", "rip", "runs", "syscalls", "in_syscall", "closed", "stop", "need_resched",
    "budget", "budget_hit", "window_end", "wake_fd",
    "seen", "seen_calls", "changed_ns", "steps",
)  # fmt: skip
W = {name: i for i, name in enumerate(SHIM_WORDS)}
W_RFLAGS, W_RIP, W_RUNS, W_SYSCALLS, W_IN_SYSCALL, W_STOP, W_NEED_RESCHED, W_BUDGET, \
    W_BUDGET_HIT, W_WINDOW_END = (W[n] for n in (
        "rflags", "rip", "runs", "syscalls", "in_syscall", "stop", "need_resched", "budget",
        "budget_hit", "window_end"))  # fmt: skip
# The start of Unicorn 2's check_exit_request_x86_64, which emits a call to the exit check
# after every guest load and store: `mov rsi, [rdi + uc]; cmp byte [rsi + no_exit_request],
# 0` (the flag Unicorn keeps for ARM's IT blocks; x86 never sets it).
_EXIT_CHECK_PROLOGUE = (b"\x48\x8b\xb7", b"\x80\xbe")

REG_IDS = {
    "rax": X.UC_X86_REG_RAX, "rbx": X.UC_X86_REG_RBX, "rcx": X.UC_X86_REG_RCX,
    "rdx": X.UC_X86_REG_RDX, "rsi": X.UC_X86_REG_RSI, "rdi": X.UC_X86_REG_RDI,
    "rbp": X.UC_X86_REG_RBP, "rsp": X.UC_X86_REG_RSP, "r8": X.UC_X86_REG_R8,
    "r9": X.UC_X86_REG_R9, "r10": X.UC_X86_REG_R10, "r11": X.UC_X86_REG_R11,
    "r12": X.UC_X86_REG_R12, "r13": X.UC_X86_REG_R13, "r14": X.UC_X86_REG_R14,
    "r15": X.UC_X86_REG_R15, "rip": X.UC_X86_REG_RIP, "rflags": X.UC_X86_REG_RFLAGS,
    "fs_base": X.UC_X86_REG_FS_BASE, "gs_base": X.UC_X86_REG_GS_BASE,
}  # fmt: skip
ALL_REGS = tuple(REG_IDS)
# The live CPU state's first words (QEMU's CPUX86State: regs[CPU_NB_REGS], then eip).
LIVE_ORDER = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
              "r12", "r13", "r14", "r15", "rip")  # fmt: skip
LIVE_WORDS = len(LIVE_ORDER)
LIVE_GPR = {name: i for i, name in enumerate(LIVE_ORDER[:16])}  # not RIP: see _live_regs
L_RAX, L_RCX, L_RDX, L_RBX, L_RSI, L_RDI, L_R8, L_R9, L_R10, L_R11, L_RIP = (
    LIVE_ORDER.index(n)
    for n in ("rax", "rcx", "rdx", "rbx", "rsi", "rdi", "r8", "r9", "r10", "r11", "rip"))

# Boot layout, virtual addresses of the ring-0 set-up page tables (identity of nothing the
# guest ever uses: user address spaces have their own tables).
STUB_VA = 0x1000_0000  # iretq
GDT_VA = 0x1000_1000
KSTACK_VA = 0x1000_2000
TEMPLATE_RIP = 0x2000_0000  # user page where the template context stops

# GDT: null, kernel code, kernel data, user data, user code (the order SYSRET expects).
GDT = (0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF, 0x00CFF3000000FFFF, 0x00AFFB000000FFFF)
USER_CS, USER_SS = 0x23, 0x1B


class CodeSlots:
    """Address space kept for Unicorn's translation buffers within reach of libunicorn.

    Unicorn maps its buffer with mmap(NULL), which takes the highest hole that fits. In a
    long-lived process (a test worker that ran hundreds of kernels) the 2 GiB below the
    library fill with guest RAM, Python's arenas and other engines' buffers, and a new
    buffer landed 2.3 GiB away. So CODE_SLOTS slots a little larger than a buffer are
    reserved (PROT_NONE: address space, no memory) when this module loads, right below the
    library. A slot is unmapped just before an engine maps its buffer, which then takes that
    hole (or a higher one, nearer still). What the buffer leaves of the slot is reserved
    again at once (else a later mapping settles there and outlives the engine), and the
    whole slot once the engine is collected."""

    PROT_NONE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE = 0, 0x02, 0x20, 0x4000
    MAP_FIXED_NOREPLACE = 0x100000
    REACH = 2 << 30
    PAD = 2 << 20  # what is left of a slot is kept in pieces of this size

    def __init__(self, near: int, size: int, count: int) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._mmap, self._munmap = libc.mmap, libc.munmap
        self._mmap.restype = ctypes.c_void_p
        self._mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                               ctypes.c_int, ctypes.c_long]  # fmt: skip
        self._munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.size = size
        self.free: list[int] = []
        self.pads: dict[int, list[int]] = {}  # slot in use -> the pieces of it kept
        for _ in range(count):  # each in the highest hole left; those out of reach let go
            slot = self._reserve(None, size)
            if slot is None:
                break
            # the helpers lie anywhere in the library's text (tens of MiB): a margin for them
            if max(abs(near - slot), abs(near - slot - size)) < self.REACH - (128 << 20):
                self.free.append(slot)
            else:
                self._munmap(slot, size)
        self.free.sort()  # the highest is taken first

    def _reserve(self, addr: int | None, size: int) -> int | None:
        flags = self.MAP_PRIVATE | self.MAP_ANONYMOUS | self.MAP_NORESERVE
        if addr is not None:
            flags |= self.MAP_FIXED_NOREPLACE
        got = self._mmap(addr, size, self.PROT_NONE, flags, -1, 0)
        if got in (None, ctypes.c_void_p(-1).value):
            return None
        if addr is not None and got != addr:  # a kernel without MAP_FIXED_NOREPLACE (< 4.17)
            self._munmap(got, size)  # took it as a hint and mapped elsewhere
            return None
        return got

    def take(self) -> int | None:
        """Just before an engine maps its buffer: a slot made free for it (None: none)."""
        if not self.free:
            return None
        slot = self.free.pop()
        self._munmap(slot, self.size)
        return slot

    def settle(self, uc: Uc, slot: int) -> None:
        """The engine has mapped its buffer: keep what it left of the slot, and give the
        slot back when the engine is collected. The binding's own finalizer (uc_close)
        would run after every later-registered one, so this one takes its place."""
        end = slot + self.size
        pads = [a for a in range(slot, end, self.PAD)
                if self._reserve(a, min(self.PAD, end - a)) is not None]
        if len(pads) * self.PAD >= self.size:  # the buffer went to a higher hole
            self._give_back(slot, pads)
            return
        own = getattr(uc, "_Uc__finalizer", None)  # Uc's uc_close at collection
        if own is not None and own.detach() is not None:
            self.pads[slot] = pads
            weakref.finalize(uc, self._close, uc._uch, slot)

    def _close(self, uch: Any, slot: int) -> None:
        Uc.release_handle(uch)  # the buffer is unmapped
        self._give_back(slot, self.pads.pop(slot, []))

    def _give_back(self, slot: int, pads: list[int]) -> None:
        end = slot + self.size
        for a in pads:
            self._munmap(a, min(self.PAD, end - a))
        if self._reserve(slot, self.size) is not None:
            self.free.append(slot)
            self.free.sort()


# A slot has room for the buffer, Linux's 2 MiB alignment of a large anonymous mapping
# (since 6.7 it looks for a hole of the length plus 2 MiB) and what the engine maps
# before its buffer.
_code_slots = CodeSlots(ctypes.cast(uclib.uc_open, ctypes.c_void_p).value or 0,
                        TCG_BUFFER_SIZE + (8 << 20), CODE_SLOTS)  # fmt: skip


class _RegBatch:
    """Preallocated ctypes arrays for uc_reg_read_batch / uc_reg_write_batch."""

    def __init__(self, names: tuple[str, ...], ids: dict[str, int] = REG_IDS) -> None:
        n = len(names)
        self.n = n
        self.ids = (ctypes.c_int * n)(*(ids[x] for x in names))
        self.vals = (ctypes.c_uint64 * n)()
        # the same memory as plain integers: tolist()/slice assignment cost a tenth of
        # indexing the ctypes array element by element (this is on every syscall's path)
        self.words = memoryview(self.vals).cast("B").cast("Q")
        self.ptrs = (ctypes.c_void_p * n)(
            *(ctypes.addressof(self.vals) + 8 * i for i in range(n))
        )


def only_block_start_exits(lib: ctypes.CDLL, uch: int) -> bool:
    """Make a stop from outside (uc_emu_stop, cpu_exit) take effect only where a translated
    block starts, where nothing of the block has run yet. Unicorn also checks for it after
    every load and store, and leaves from there to the start of that instruction: a store
    already done is done again (an `add [mem], 1` counted twice, a `lock cmpxchg` that took
    a lock finding it taken, so the process waits on its own futex for ever). Setting
    uc->no_exit_request stops those checks from being generated; its offset is read from the
    code that tests it. False (stops stay inexact) if that code is not as expected."""
    try:
        fn = ctypes.cast(lib.check_exit_request_x86_64, ctypes.c_void_p).value
    except AttributeError:
        return False
    code = ctypes.string_at(fn, 14)
    load, cmp = _EXIT_CHECK_PROLOGUE
    if not (code.startswith(load) and code[7:9] == cmp and code[13] == 0):
        return False
    ctypes.c_uint8.from_address(uch + int.from_bytes(code[9:13], "little")).value = 1
    return True


def _flag(index: int, doc: str) -> Any:
    """A platform attribute kept as one of the shim's words, read as a bool."""

    def get(self: UnicornPlatform) -> bool:
        return self._w[index] != 0

    def put(self: UnicornPlatform, value: bool) -> None:
        self._w[index] = 1 if value else 0

    return property(get, put, doc=doc)


def _word(index: int, doc: str) -> Any:
    """A platform attribute kept as one of the shim's words (an unsigned 64-bit count)."""

    def get(self: UnicornPlatform) -> int:
        return self._w[index]

    def put(self: UnicornPlatform, value: int) -> None:
        self._w[index] = value

    return property(get, put, doc=doc)


class UnicornPlatform:
    name = "unicorn"

    def __init__(self, mem: PhysMem, syscall_entry: SyscallEntry,
                 deterministic: bool = False) -> None:  # fmt: skip
        self.mem = mem
        # The syscall hook's state (platform/uc_shim.c), whether or not the C hook is there:
        # the properties below read and write its words.
        self._shim = SyscallShim.load(ctypes.CDLL(uclib._name))
        self._w = self._shim.words
        self._entry: Callable[..., int | None] | None = None
        self._on_window: Callable[[int], None] | None = None
        self._shim.set_object("entry", None)  # never a null pointer: a call of None fails
        self.syscall_entry = syscall_entry
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tcg_buffer_size(TCG_BUFFER_SIZE)  # before the engine's first real call
        slot = _code_slots.take()
        uc.mem_map_ptr(0, mem.size, UC_PROT_ALL, mem.host_addr)  # maps the buffer
        if slot is not None:
            _code_slots.settle(uc, slot)
        self.uch = uc._uch
        self.uclib_name = uclib._name
        lib = ctypes.CDLL(uclib._name)
        # before the first translation: the flag is read when a block is translated
        self.exact_stops = only_block_start_exits(lib, ctypes.cast(self.uch, ctypes.c_void_p).value)
        self._emu_stop_addr = ctypes.cast(lib.uc_emu_stop, ctypes.c_void_p).value
        self._emu_start = lib.uc_emu_start
        self._emu_start.argtypes = [
            ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_size_t
        ]
        self._emu_stop = lib.uc_emu_stop
        self._vmem_read = lib.uc_vmem_read
        self._vmem_read.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int,
                                    ctypes.c_void_p, ctypes.c_size_t]  # fmt: skip
        self._code_buf = ctypes.create_string_buffer(16)
        self._read_batch = lib.uc_reg_read_batch
        self._write_batch = lib.uc_reg_write_batch
        self._ctx_save = lib.uc_context_save
        self._ctx_restore = lib.uc_context_restore
        self._uc_ctl = lib.uc_ctl
        self._ctl_tlb_flush = (UC_CTL_IO_WRITE << 30) | UC_CTL_TLB_FLUSH  # no arguments
        self._sc_in = _RegBatch(("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9", "rip", "rflags"))
        self._sc_out = _RegBatch(("rax", "rcx", "r11"))
        self._fork_regs = _RegBatch(("rip", "rcx", "r11", "rax"))
        self._ctx_write_batch = lib.uc_context_reg_write_batch
        self._ctx_read_batch = lib.uc_context_reg_read_batch
        self._all = _RegBatch(ALL_REGS)
        self._one = {name: _RegBatch((name,)) for name in ALL_REGS}  # one register each
        self.current: Thread | None = None
        self.set_current(None)
        self.cr3 = -1
        self.event: tuple[Event, int] | None = None
        self.pending: dict[str, int] | None = None
        self.oops: BaseException | None = None
        self._fault_state: object = None  # CPU state at a fault raised from a hook
        self._scratch = uc.context_save()
        self._ctx_pool: list[Any] = []  # CONTEXT_POOL: contexts let go by exited tasks
        self._keep = []  # ctypes callbacks must outlive the hooks
        self.translations = 0  # blocks translated, once count_translations() is on
        # called with an address space whose mappings narrowed in a syscall, before its TLB
        # flush (the tiered CPU tells KVM's shadow pages)
        self.on_narrow: Callable[[Any], None] | None = None
        self._install_hooks()
        pristine = self._ctx_bytes(uc.context_save())  # before any exception ever happened
        self._template = self._enter_ring3()
        self._exc_offset = self._probe_exception_field(pristine)
        self._set_exception_field(self._template)
        env = self._find_live_env()
        self._exc_live = ctypes.c_int32.from_address(env + self._exc_offset) if env else None
        if env:
            self._shim.set_exception_field(env + self._exc_offset)
        self._env = env
        self._live = self._live_regs(env)
        self._live_args = self._live[:L_R10 + 1] if self._live is not None else None
        if self._live is None:  # the C hook reads the live registers: without them, Python's
            self._shim.lib = None
        self._rip_flags = _RegBatch(("rip", "rflags"))
        # CR3 through the batch call: the Python binding's reg_write costs microseconds more,
        # on every address-space switch
        self._cr3 = _RegBatch(("cr3",), {"cr3": X.UC_X86_REG_CR3})
        # Set by the kernel: whether another task, a timer or the host is waiting for the CPU.
        self.others_want_cpu: Callable[[], bool] = lambda: True
        # Set by the tiered platform (read by the timer thread when the stops are exact):
        # whether the running stretch of user code, which has made no syscall since the time
        # given (perf_counter_ns), should end now.
        self.stop_wanted: Callable[[int], bool] | None = None
        self._closed = False
        self._wake = threading.Event()  # set by close(): the timer's wait ends at once
        # --deterministic: a code budget instead of the timer thread, virtual RDTSC, a fixed
        # CPUID (platform/uc_determinism.py). The budgets of the next run (set_budget) and
        # whether the last run ended because one ran out.
        self.det: DeterministicCpu | None = None
        self._code_budget = 0
        self.step_insns = 0
        if deterministic:
            self.det = DeterministicCpu(self, env)
        else:
            self._ticker = threading.Thread(target=self._tick, daemon=True, name="twaron-timer")
            self._ticker.start()
        self._install_syscall_hook()
        mem.flush_code = self.flush_code

    # ---- the state shared with the syscall hook (SHIM_WORDS) ------------------------------

    in_syscall = _flag(W_IN_SYSCALL, "the kernel's entry is running (inside the hook)")
    stop_requested = _flag(W_STOP, "the run stops after the syscall in progress")
    need_resched = _flag(W_NEED_RESCHED, "the slice is over: the run stops at its next syscall")
    budget_hit = _flag(W_BUDGET_HIT, "--deterministic: the last run's budget ran out")
    syscalls = _word(W_SYSCALLS, "syscalls made (the tiered CPU's coarse evidence)")
    syscall_rip = _word(W_RIP, "RIP of the syscall in progress")
    syscall_rflags = _word(W_RFLAGS, "RFLAGS at the syscall in progress")
    syscall_budget = _word(W_BUDGET, "--deterministic: syscalls the next run may make (0: any)")
    window_end = _word(W_WINDOW_END, "when on_window is next due (perf_counter_ns)")

    @property
    def syscall_entry(self) -> Callable[..., int | None] | None:
        return self._entry

    @syscall_entry.setter
    def syscall_entry(self, entry: Callable[..., int | None]) -> None:
        if entry is not self._entry:  # the tiered CPU sets it every run
            self._entry = entry
            self._shim.set_object("entry", entry)

    def set_current(self, task: Thread | None) -> None:
        """The task on the CPU (a plain attribute for reading: it is read all the time)."""
        self.current = task
        self._shim.set_object("task", task)

    @property
    def on_window(self) -> Callable[[int], None] | None:
        """The tiered CPU's look at a run's exits, at the first syscall past window_end (the
        clock is read every WINDOW_EVERY + 1 syscalls)."""
        return self._on_window

    @on_window.setter
    def on_window(self, fn: Callable[[int], None] | None) -> None:
        if fn is not self._on_window:
            self._on_window = fn
            self._shim.set_object("on_window", fn, none_is_null=True)

    # ---- set-up -------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        hook = ctypes.c_size_t()
        cb_int = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)(
            self._on_interrupt
        )
        # Port I/O from ring 3 must fault (#GP, SIGSEGV on Linux); Unicorn would perform it.
        cb_in = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                                 ctypes.c_int, ctypes.c_void_p)(self._on_port_io)  # fmt: skip
        cb_out = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                  ctypes.c_uint32, ctypes.c_void_p)(self._on_port_io)  # fmt: skip
        self._keep += [cb_int, cb_in, cb_out]
        ptr = ctypes.cast
        for cb, insn in ((cb_in, X.UC_X86_INS_IN), (cb_out, X.UC_X86_INS_OUT)):
            self._hook_insn(insn, ptr(cb, ctypes.c_void_p).value, None)
        add = ctypes.CDLL(uclib._name).uc_hook_add
        add.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_int,
                        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
        if add(self.uch, ctypes.byref(hook), UC_HOOK_INTR, ptr(cb_int, ctypes.c_void_p),
               None, 1, 0):  # fmt: skip
            raise RuntimeError("uc_hook_add(intr) failed")

    def _install_syscall_hook(self) -> None:
        """The syscall hook, once the live CPU state is known (no guest code makes a syscall
        before): in C where the shim is there (twaron_syscall_hook), else in Python."""
        shim = self._shim
        if shim.lib is not None:
            shim.wire(self.uch, self._env, self._narrowed_in_syscall, self._hook_failed)
            self._hook_insn(X.UC_X86_INS_SYSCALL, shim.hook, shim.addr)
            return
        on_syscall = self._make_syscall_hook()
        cb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(
            lambda _uch, _ud: on_syscall())
        self._keep.append(cb)
        self._hook_insn(X.UC_X86_INS_SYSCALL, ctypes.cast(cb, ctypes.c_void_p).value, None)

    def _hook_failed(self, exc: BaseException) -> None:
        """The kernel's entry raised (a platform bug): surface it from run()."""
        self.oops = exc
        self.stop_requested = True

    def _hook_insn(self, insn: int, fn: int | None, data: int | None) -> None:
        """An instruction hook (UC_HOOK_INSN) on every address: fn(uc, ..., data)."""
        add = ctypes.CDLL(uclib._name).uc_hook_add
        add.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_int,
                        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64,
                        ctypes.c_int]  # fmt: skip
        hook = ctypes.c_size_t()
        if add(self.uch, ctypes.byref(hook), UC_HOOK_INSN, fn, data, 1, 0, insn):
            raise RuntimeError(f"uc_hook_add(instruction {insn}) failed")

    def answer_cpuid(self, table: cpuid.Table, top: int) -> None:
        """From now on the guest's CPUID answers from table (platform/cpuid.py; read now,
        later changes to it are not seen): in C where the shim and the live registers are
        there, else in Python."""
        if self._shim.lib is not None:
            fn, data = self._shim.cpuid_hook(table, top, self._env)
        else:
            def on_cpuid(_uch: int, _ud: int) -> int:
                try:
                    a, b, c, d = cpuid.lookup(table, top, *self.cpuid_args())
                    self.set_cpuid_result(a, b, c, d)
                except BaseException as exc:  # noqa: BLE001 - surfaced from run() as an oops
                    self.fail(exc)
                return 1  # done: Unicorn's own CPUID is skipped

            cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(on_cpuid)
            self._keep.append(cb)
            fn, data = ctypes.cast(cb, ctypes.c_void_p).value, None
        self._hook_insn(X.UC_X86_INS_CPUID, fn, data)

    def count_translations(self) -> None:
        """Count the blocks QEMU translates in `translations`: Unicorn calls its
        edge-generated hook only when tb_find had to translate (checked: a warm loop's count
        does not grow with its iterations), so a stretch of guest code whose count moved
        paid for translation, a one-time cost its next runs do not have."""

        def on_translated(_uch: int, _cur: int, _prev: int, _ud: int) -> None:
            self.translations += 1

        cb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_void_p)(on_translated)  # fmt: skip
        self._keep.append(cb)
        add = ctypes.CDLL(uclib._name).uc_hook_add
        add.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_int,
                        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
        hook = ctypes.c_size_t()
        if add(self.uch, ctypes.byref(hook), UC_HOOK_EDGE_GENERATED,
               ctypes.cast(cb, ctypes.c_void_p), None, 1, 0):  # fmt: skip
            raise RuntimeError("uc_hook_add(edge generated) failed")

    def _boot_tables(self) -> tuple[int, list[int]]:
        """Page tables mapping the stub, GDT, a kernel stack and one user page."""
        mem, q = self.mem, self.mem.q
        frames: list[int] = []

        def frame() -> int:
            pfn = mem.alloc()
            frames.append(pfn)
            return pfn

        pml4 = frame()

        def map_page(va: int, pfn: int, flags: int) -> None:
            table = pml4
            for shift in (39, 30, 21):
                slot = (table << 9) + ((va >> shift) & 511)
                if not q[slot] & PTE_P:
                    q[slot] = (frame() << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U
                table = (q[slot] & 0x000F_FFFF_FFFF_F000) >> PAGE_SHIFT
            q[(table << 9) + ((va >> 12) & 511)] = (pfn << PAGE_SHIFT) | flags

        stub, gdt, kstack, user = frame(), frame(), frame(), frame()
        mem.write(stub, 0, bytes.fromhex("48cf"))  # iretq
        for i, desc in enumerate(GDT):
            q[(gdt << 9) + i] = desc
        mem.write(user, 0, bytes.fromhex("90" * 16))
        map_page(STUB_VA, stub, PTE_P)
        map_page(GDT_VA, gdt, PTE_P | PTE_W)
        map_page(KSTACK_VA, kstack, PTE_P | PTE_W)
        map_page(TEMPLATE_RIP, user, PTE_P | PTE_U)
        frame_of_kstack = kstack
        self._kstack_frame = frame_of_kstack
        self._user_frame = user  # the one user page: boot-time probes run code there
        return pml4, frames

    def _enter_ring3(self) -> ctypes.c_void_p:
        """Run the iretq stub once; the ring-3 context it leaves is every task's template."""
        uc, q = self.uc, self.mem.q
        pml4, frames = self._boot_tables()
        uc.reg_write(X.UC_X86_REG_CR3, pml4 << PAGE_SHIFT)
        uc.reg_write(X.UC_X86_REG_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)
        uc.msr_write(MSR_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
        uc.reg_write(X.UC_X86_REG_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
        uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_VA, 8 * len(GDT) - 1, 0))
        uc.reg_write(X.UC_X86_REG_CS, 0x08)
        uc.reg_write(X.UC_X86_REG_SS, 0x10)
        frame = (TEMPLATE_RIP, USER_CS, 0x202, TEMPLATE_RIP + 0x800, USER_SS)
        base = (self._kstack_frame << 9) + 512 - len(frame)
        for i, v in enumerate(frame):
            q[base + i] = v
        uc.reg_write(X.UC_X86_REG_RSP, KSTACK_VA + 4096 - 8 * len(frame))
        uc.emu_start(STUB_VA, TEMPLATE_RIP)
        if uc.reg_read(X.UC_X86_REG_CS) != USER_CS:
            raise RuntimeError("Unicorn did not enter ring 3")
        self._boot_pml4 = pml4
        self._boot_frames = frames
        # Linux's initial FPU state (fninit + the default MXCSR); Unicorn leaves the x87
        # control word at 0, single precision, and long double arithmetic would round.
        uc.reg_write(X.UC_X86_REG_FPCW, 0x037F)
        uc.reg_write(X.UC_X86_REG_MXCSR, 0x1F80)
        # and every x87 register empty (Unicorn starts with all tagged valid, which only a
        # CPU that checks tags notices: KVM's, when the tiered platform moves the task)
        uc.reg_write(X.UC_X86_REG_FPTAG, 0xFFFF)
        template = uc.context_save()
        return template

    def _probe_exception_field(self, clean: bytes) -> int:
        """Find QEMU's `old_exception` in the saved context by provoking two page faults.

        It reads -1 in a context that never saw an exception and the vector of the fault in
        flight after a fault; the int32 that does exactly that is the field.
        """
        seen: list[bytes] = []
        for _ in range(2):
            self._ctx_restore(self.uch, self._template.context)
            self.uc.reg_write(X.UC_X86_REG_CR3, self._boot_pml4 << PAGE_SHIFT)
            self.uc.reg_write(X.UC_X86_REG_RAX, 0x3000_0000)  # unmapped
            # mov (%rax), %rax at TEMPLATE_RIP+0x10
            self.mem.write(self._user_frame, 0x10, bytes.fromhex("488b00"))
            self.event = None
            self._emu_start(self.uch, TEMPLATE_RIP + 0x10, NEVER, 0, 0)
            self._ctx_save(self.uch, self._scratch.context)
            seen.append(self._ctx_bytes(self._scratch))
        candidates = []
        for off in range(0, len(clean) - 3, 4):
            a = int.from_bytes(clean[off : off + 4], "little", signed=True)
            b = int.from_bytes(seen[1][off : off + 4], "little", signed=True)
            if a == -1 and b in (X86_TRAP_PF, X86_TRAP_DF):
                candidates.append(off)
        if len(candidates) != 1:
            raise RuntimeError(f"cannot locate QEMU's exception-in-flight field: {candidates}")
        self.event = None
        return candidates[0]

    def guest_tsc_offset(self) -> int | None:
        """What the guest's RDTSC reads minus the host's TSC: 0, as QEMU reads the host's
        counter (checked once: the guest's value must fall between two host reads), or None
        when it does not (the vDSO then makes syscalls). A deterministic CPU's RDTSC is the
        virtual clock's own counter: 0, and the host's counter is never read."""
        if self.det is not None:
            return 0
        tsc = host_tsc()
        if tsc is None:
            return None
        uc = self.uc
        saved = uc.context_save()
        self._ctx_restore(self.uch, self._template.context)
        uc.reg_write(X.UC_X86_REG_CR3, self._boot_pml4 << PAGE_SHIFT)
        self.mem.write(self._user_frame, 0x20, bytes.fromhex("0f31"))  # rdtsc
        try:
            for _ in range(3):
                self._clear_exception_in_flight()
                self.event = None
                before = tsc.read()
                self._emu_start(self.uch, TEMPLATE_RIP + 0x20, TEMPLATE_RIP + 0x22, 0, 0)
                after = tsc.read()
                guest = (uc.reg_read(X.UC_X86_REG_RDX) << 32) | (
                    uc.reg_read(X.UC_X86_REG_RAX) & 0xFFFF_FFFF)
                if self.event is not None or not before <= guest <= after:
                    return None
        finally:
            self.event = None
            self._ctx_restore(self.uch, saved.context)
            self.cr3 = -1
        return 0

    def _ctx_data(self, ctx: object) -> int:
        p = ctypes.cast(ctx.context, ctypes.c_void_p).value  # type: ignore[attr-defined]
        inner = ctypes.c_size_t.from_address(p).value
        return p + ctx.size - inner  # type: ignore[attr-defined]

    def _ctx_bytes(self, ctx: object) -> bytes:
        p = ctypes.cast(ctx.context, ctypes.c_void_p).value  # type: ignore[attr-defined]
        inner = ctypes.c_size_t.from_address(p).value
        return ctypes.string_at(self._ctx_data(ctx), inner)

    def _find_live_env(self) -> int | None:
        """The address of the live CPU state (QEMU's CPUX86State), where the exception-in-
        flight field is reset cheaply (and --deterministic switches RDRAND off).

        Unicorn exports no pointer to it: mark eight registers with a pattern, find that
        pattern in our own memory (outside guest RAM and saved contexts), and confirm by
        changing a register and seeing the memory change.
        """
        uc = self.uc
        saved = [uc.reg_read(REG_IDS[f"r{i}"]) for i in range(8, 16)]
        marks = [0x5457_4152_4F4E_0000 | (i << 8) | 0xA5 for i in range(8)]
        for i, m in enumerate(marks):
            uc.reg_write(REG_IDS[f"r{i + 8}"], m)
        pattern = b"".join(m.to_bytes(8, "little") for m in marks)
        self._ctx_save(self.uch, self._scratch.context)
        blob = self._ctx_bytes(self._scratch)
        regs_off = blob.find(pattern)
        found = None
        if regs_off >= 0:
            for addr in _scan_from(ctypes.cast(self.uch, ctypes.c_void_p).value, pattern):
                env = addr - regs_off
                uc.reg_write(X.UC_X86_REG_R8, marks[0] ^ 0xFF)
                ok = ctypes.c_uint64.from_address(addr).value == marks[0] ^ 0xFF
                uc.reg_write(X.UC_X86_REG_R8, marks[0])
                if ok:
                    found = env
                    break
        for i, v in enumerate(saved):
            uc.reg_write(REG_IDS[f"r{i + 8}"], v)
        return found

    def _live_regs(self, env: int | None) -> memoryview | None:
        """The live CPU state's general registers and RIP as 64-bit words (QEMU's
        CPUX86State begins regs[16] in the order rax rcx rdx rbx rsp rbp rsi rdi r8..r15,
        then eip), or None. The syscall hook reads its arguments and writes its result
        there: two ctypes calls fewer on every syscall. Checked by writing each general
        register through Unicorn and reading it back here."""
        if env is None:
            return None
        live = memoryview((ctypes.c_uint64 * LIVE_WORDS).from_address(env)).cast("B").cast("Q")
        uc = self.uc
        # RIP is only compared: a RIP written through Unicorn leaves flags set (quit_request,
        # skip_sync_pc_on_exit) that would change how the next run stops.
        gprs = LIVE_ORDER[:L_RIP]
        saved = [uc.reg_read(REG_IDS[name]) for name in gprs]
        ok = live[L_RIP] == uc.reg_read(X.UC_X86_REG_RIP) != 0
        for i, name in enumerate(gprs):
            mark = 0x5457_4152_4F4E_0000 | i
            uc.reg_write(REG_IDS[name], mark)
            ok = ok and live[i] == mark
        for name, v in zip(gprs, saved, strict=True):
            uc.reg_write(REG_IDS[name], v)
        return live if ok else None

    def _set_exception_field(self, ctx: object) -> None:
        ctypes.c_int32.from_address(self._ctx_data(ctx) + self._exc_offset).value = -1

    def _clear_exception_in_flight(self) -> None:
        if self._exc_live is not None:
            self._exc_live.value = -1
            return
        self._ctx_save(self.uch, self._scratch.context)
        self._set_exception_field(self._scratch)
        self._ctx_restore(self.uch, self._scratch.context)

    # ---- per-task CPU state -----------------------------------------------------------

    def new_cpu(self) -> object:
        return self._copy_context(self._template)

    def _context(self) -> Any:
        """A context object holding the live CPU state: one an exited task let go of where
        there is one (a new one costs Unicorn's allocation now and the binding's __del__
        later: ~3 us of a fork and exit)."""
        pool = self._ctx_pool
        if pool:
            ctx = pool.pop()
            self._ctx_save(self.uch, ctx.context)
            return ctx
        return self.uc.context_save()

    def recycle(self, ctx: Any) -> None:
        """A task's context after free_cpu: nothing refers to it any more."""
        if len(self._ctx_pool) < CONTEXT_POOL:
            self._ctx_pool.append(ctx)

    def _copy_context(self, src: object) -> object:
        """A new context object holding what src holds (contexts are plain data)."""
        ctx = self._context()
        ptr = ctypes.c_void_p
        ctypes.memmove(ctypes.cast(ctx.context, ptr).value,
                       ctypes.cast(src.context, ptr).value, ctx.size)  # type: ignore[attr-defined]
        return ctx

    def fork_cpu(self, parent: Thread) -> object:
        """The child's registers: the parent's, returning 0 from the syscall it is in."""
        if parent is self.current:
            ctx = self._context()
            if self.pending:
                for name, value in self.pending.items():
                    self._write_one(name, value, ctx.context)
            if self.in_syscall:
                ret = self.syscall_rip + 2
                b = self._fork_regs
                b.vals[0], b.vals[1], b.vals[2], b.vals[3] = ret, ret, self.syscall_rflags, 0
                self._ctx_write_batch(ctx.context, b.ids, b.ptrs, b.n)
            return ctx
        return self._copy_context(parent.cpu)

    def free_cpu(self, cpu: object) -> None:
        if self.current is not None and self.current.cpu is cpu:
            self.set_current(None)
        if isinstance(cpu, UcContext):  # (the tiered platform recycles its Unicorn half)
            self.recycle(cpu)

    def _switch_to(self, task: Thread) -> None:
        cur = self.current
        if cur is not None and cur.cpu is not None and not cur.exited:
            self._ctx_save(self.uch, cur.cpu.context)
        self._ctx_restore(self.uch, task.cpu.context)
        self.set_current(task)
        # A restored context does not flush the TLB: reload CR3 below, unless the task is a
        # thread of the same address space as the last one (its context holds the same CR3,
        # and the TLB holds that address space's translations; tlb_dirty covers changes).
        if cur is None or cur.mm is not task.mm or self._read_cr3() != self.cr3:
            self.cr3 = -1

    def _read_cr3(self) -> int:
        b = self._cr3
        self._read_batch(self.uch, b.ids, b.ptrs, 1)
        return b.words[0]

    def _write_cr3(self, value: int) -> None:
        """Load an address space (QEMU flushes its TLB and its jump cache)."""
        b = self._cr3
        b.words[0] = value
        self._write_batch(self.uch, b.ids, b.ptrs, 1)

    def _is_live(self, task: Thread) -> bool:
        return task is self.current

    def get_reg(self, task: Thread, name: str) -> int:
        if self.pending and task is self.current and name in self.pending:
            return self.pending[name]
        if task is self.current:
            i = LIVE_GPR.get(name) if self._live is not None else None
            if i is not None:  # a general register: straight from the live CPU state
                return self._live[i]  # type: ignore[index]
            return self._read_one(name)
        return self._read_one(name, task.cpu.context)

    def set_reg(self, task: Thread, name: str, value: int) -> None:
        value &= U64
        if task is self.current:
            # Inside the syscall hook Unicorn adds the instruction length to a written RIP;
            # so RIP (alone) is applied after the hook, when the CPU has stopped.
            if self.in_syscall and name == "rip":
                if self.pending is None:
                    self.pending = {}
                self.pending[name] = value
                self.stop_requested = True
                return
            self._write_one(name, value)
        else:
            self._write_one(name, value, task.cpu.context)

    def get_regs(self, task: Thread) -> UserRegs:
        b = self._all
        if task is self.current:
            self._read_batch(self.uch, b.ids, b.ptrs, b.n)
        else:
            self._ctx_read_batch(task.cpu.context, b.ids, b.ptrs, b.n)
        values = b.words.tolist()
        if self.pending and task is self.current:
            for name, v in self.pending.items():
                values[ALL_REGS.index(name)] = v
        return UserRegs(**dict(zip(ALL_REGS, values, strict=True)))

    def set_regs(self, task: Thread, regs: UserRegs) -> None:
        """All registers in one batch; inside a syscall RIP waits until the CPU stops."""
        b = self._all
        for i, name in enumerate(ALL_REGS):
            b.vals[i] = getattr(regs, name) & U64
        if task is not self.current:
            self._ctx_write_batch(task.cpu.context, b.ids, b.ptrs, b.n)
            return
        self._write_batch(self.uch, b.ids, b.ptrs, b.n)
        if self.in_syscall:
            self.set_reg(task, "rip", regs.rip)

    def finish_syscall(self, task: Thread, value: int) -> None:
        """rax = value, rcx = RIP, r11 = RFLAGS: two batch calls (every syscall that slept
        ends here; five calls through the Python binding cost ~10 us)."""
        if task is self.current and (self.in_syscall or self.pending):
            self.set_reg(task, "rax", value)
            self.set_reg(task, "rcx", self.get_reg(task, "rip"))
            self.set_reg(task, "r11", self.get_reg(task, "rflags"))
            return
        b, o = self._rip_flags, self._sc_out
        if task is self.current:
            self._read_batch(self.uch, b.ids, b.ptrs, 2)
        else:
            self._ctx_read_batch(task.cpu.context, b.ids, b.ptrs, 2)
        w = o.words
        w[0] = value & U64
        w[1], w[2] = b.words.tolist()
        if task is self.current:
            self._write_batch(self.uch, o.ids, o.ptrs, 3)
        else:
            self._ctx_write_batch(task.cpu.context, o.ids, o.ptrs, 3)

    def request_stop(self) -> None:
        self.stop_requested = True

    # ---- --deterministic ------------------------------------------------------------------

    def set_budget(self, code_bytes: int, syscalls: int = 0, steps: int = 0) -> None:
        """The next run() ends (Event.PREEMPT, budget_hit) once the task has executed
        code_bytes bytes of code or made `syscalls` calls (0: no limit on calls). The code
        budget runs out at the start of a translated block; `steps` more instructions are
        then run one at a time, so that a preemption can fall inside a block."""
        self._code_budget = code_bytes
        self.syscall_budget = syscalls
        self.step_insns = steps

    def _step_into_block(self, steps: int) -> tuple[Event, int] | None:
        """Run up to `steps` instructions one by one with the trap flag (QEMU translates
        blocks of one instruction then, cached apart from the others), stopping before an
        instruction that would see or change the flag or leave user mode. None: stepped;
        else the event that ended it (a fault, an exception)."""
        det = self.det
        assert det is not None
        det.budget.limit = 1 << 63  # the block hook must not stop the steps
        event = None
        for _ in range(steps):
            rip = self.uc.reg_read(X.UC_X86_REG_RIP)
            if not _steppable(self._code_at(rip)):
                break
            flags = self.uc.reg_read(X.UC_X86_REG_RFLAGS)
            self.uc.reg_write(X.UC_X86_REG_RFLAGS, flags | RFLAGS_TF)
            self._clear_exception_in_flight()
            self.event = None
            err = self._emu_start(self.uch, rip, NEVER, 0, 0)
            self.uc.reg_write(X.UC_X86_REG_RFLAGS, self.uc.reg_read(X.UC_X86_REG_RFLAGS)
                              & ~RFLAGS_TF)  # fmt: skip
            self._clear_exception_in_flight()
            if self.oops is not None:
                exc, self.oops = self.oops, None
                raise exc
            if err:
                event = self._emulation_error(err)
                break
            if self.event != (Event.EXCEPTION, X86_TRAP_DB):
                event = self.event
                break
        self.event = None
        det.budget.limit = det.budget.executed  # still exhausted: the turn is over
        return event

    def _code_at(self, addr: int) -> bytes:
        """Up to 16 bytes of code at a virtual address (b"" if it is not mapped)."""
        buf = self._code_buf
        for n in (16, 1):
            if not self._vmem_read(self.uch, addr, UC_PROT_EXEC, buf, n):
                return buf.raw[:n]
        return b""

    def executed(self) -> int:
        """Bytes of guest code executed since boot (the virtual clock's source)."""
        return self.det.executed() if self.det is not None else 0

    def boot_cpuid(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
        """CPUID as Unicorn's CPU model answers it, run from the boot page tables."""
        uc = self.uc
        self._ctx_restore(self.uch, self._template.context)
        uc.reg_write(X.UC_X86_REG_CR3, self._boot_pml4 << PAGE_SHIFT)
        self.mem.write(self._user_frame, 0x20, bytes.fromhex("0fa2"))  # cpuid
        uc.reg_write(X.UC_X86_REG_RAX, leaf)
        uc.reg_write(X.UC_X86_REG_RCX, subleaf)
        self._emu_start(self.uch, TEMPLATE_RIP + 0x20, TEMPLATE_RIP + 0x22, 0, 0)
        self.event = None
        self.cr3 = -1
        return tuple(uc.reg_read(r) for r in (X.UC_X86_REG_RAX, X.UC_X86_REG_RBX,
                                              X.UC_X86_REG_RCX, X.UC_X86_REG_RDX))  # type: ignore[return-value]

    def read_reg(self, name: str) -> int:
        """A register of the running guest, from inside a hook."""
        return self.uc.reg_read(REG_IDS[name])

    def write_regs(self, values: dict[str, int]) -> None:
        """Registers of the running guest, from inside an instruction hook."""
        for name, value in values.items():
            self.uc.reg_write(REG_IDS[name], value & U64)

    def cpuid_args(self) -> tuple[int, int]:
        """EAX and ECX (leaf, subleaf) of the running guest, from inside a CPUID hook:
        straight from the live CPU state when it was found (a glibc or BusyBox start-up
        runs ~20 CPUIDs, and the Python binding's register calls cost a few us each)."""
        live = self._live
        if live is not None:
            return live[L_RAX] & 0xFFFF_FFFF, live[L_RCX] & 0xFFFF_FFFF
        uc = self.uc
        return (uc.reg_read(X.UC_X86_REG_RAX) & 0xFFFF_FFFF,
                uc.reg_read(X.UC_X86_REG_RCX) & 0xFFFF_FFFF)  # fmt: skip

    def set_cpuid_result(self, a: int, b: int, c: int, d: int) -> None:
        """CPUID's answer into EAX, EBX, ECX, EDX (zero-extended, as in 64-bit mode), from
        inside a CPUID hook."""
        live = self._live
        if live is not None:
            live[L_RAX], live[L_RBX], live[L_RCX], live[L_RDX] = a, b, c, d
            return
        self.write_regs({"rax": a, "rbx": b, "rcx": c, "rdx": d})

    def fail(self, exc: BaseException) -> None:
        """A hook failed (a kernel bug): stop, and raise exc from run()."""
        self.oops = exc
        self.stop_requested = True
        self._emu_stop(self.uch)

    def flush_tlb(self) -> None:
        self._flush_tlb()

    def _flush_tlb(self) -> None:
        self._uc_ctl(self.uch, self._ctl_tlb_flush)

    def flush_code(self) -> None:
        self.uc.ctl_flush_tb()

    # ---- running ------------------------------------------------------------------------

    def run(self, task: Thread) -> tuple[Event, int]:
        if task is not self.current:
            self._switch_to(task)
        mm = task.mm
        if mm.cr3 != self.cr3:
            self._write_cr3(mm.cr3)
            self.cr3 = mm.cr3
            mm.tlb_dirty = False
        elif mm.tlb_dirty:
            self._flush_tlb()
            mm.tlb_dirty = False
        if self.pending:
            self._apply_pending()
        self._clear_exception_in_flight()
        live = self._live
        if live is not None:  # RIP as the CPU holds it (a ctypes call less on every run)
            rip = live[L_RIP]
        else:
            rip = self._read_one("rip")
        self.event = None
        w = self._w
        w[W_STOP] = 0
        det = self.det
        if det is not None:
            det.arm(self._code_budget)
            w[W_BUDGET_HIT] = 0
        w[W_RUNS] += 1  # odd while the run lasts: the timer watches it
        err = self._emu_start(self.uch, rip, NEVER, 0, 0)
        w[W_RUNS] += 1
        if self.oops is not None:
            exc, self.oops = self.oops, None
            self._fault_state = None
            raise exc
        if self.pending:
            self._apply_pending()
        event = self.event
        if det is not None and det.exhausted():
            self.budget_hit = True
            if event is None and not err and not self.stop_requested and self.step_insns:
                event = self._step_into_block(self.step_insns)
        if event is None:
            if err:
                return self._emulation_error(err)
            if self.need_resched:
                self.need_resched = False
                return Event.PREEMPT, 0
            return (Event.SYSCALL_STOP, 0) if self.stop_requested else (Event.PREEMPT, 0)
        self.need_resched = False
        if event[0] in (Event.PAGE_FAULT, Event.EXCEPTION):
            if self._fault_state is not None:  # the moment of a fault raised from a hook
                state, self._fault_state = self._fault_state, None
                self.uc.context_restore(state)
            self._clear_exception_in_flight()
        return event

    def _emulation_error(self, err: int) -> tuple[Event, int]:
        """Unicorn gives up on some instructions instead of raising the CPU exception."""
        if err == UC_ERR_INSN_INVALID:
            return Event.EXCEPTION, X86_TRAP_UD
        if err in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED):
            return Event.EXCEPTION, X86_TRAP_GP  # beyond guest RAM: SIGSEGV
        return Event.HALT, err

    def _apply_pending(self) -> None:
        pending, self.pending = self.pending, None
        for name, value in pending.items():  # type: ignore[union-attr]
            self._write_one(name, value)

    def _read_one(self, name: str, ctx: Any = None) -> int:
        """One register of the live CPU (or of a saved context) through the batch call: the
        binding's reg_read and reg_write cost 1.5 us, this 0.3."""
        b = self._one[name]
        if ctx is None:
            self._read_batch(self.uch, b.ids, b.ptrs, 1)
        else:
            self._ctx_read_batch(ctx, b.ids, b.ptrs, 1)
        return b.words[0]

    def _write_one(self, name: str, value: int, ctx: Any = None) -> None:
        b = self._one[name]
        b.words[0] = value
        if ctx is None:
            self._write_batch(self.uch, b.ids, b.ptrs, 1)
        else:
            self._ctx_write_batch(ctx, b.ids, b.ptrs, 1)

    def _make_syscall_hook(self) -> Callable[[], None]:
        """The syscall hook in Python, where the C one (uc_shim.c, twaron_syscall_hook) could
        not be built or the live CPU state was not found: the same steps, on the same words.
        What never changes is bound here as closure variables."""
        live, live_args, exc_live, w = self._live, self._live_args, self._exc_live, self._w
        uch, read_batch, write_batch = self.uch, self._read_batch, self._write_batch
        sc_flags, sc_in, sc_out = self._one["rflags"], self._sc_in, self._sc_out
        emu_stop, clock = self._emu_stop, time.perf_counter_ns

        def on_syscall() -> None:
            # Unicorn raises a page fault of its own around `syscall` that never reaches a
            # hook; two of those in a row would make the next real fault a triple fault.
            if exc_live is None:
                self._clear_exception_in_flight()
            else:
                exc_live.value = -1
            if live is not None:  # the arguments straight from the CPU state; RFLAGS is
                read_batch(uch, sc_flags.ids, sc_flags.ptrs, 1)  # computed from QEMU's lazy
                rflags = sc_flags.words[0]  # condition codes, so Unicorn reads it
                nr, _, a2, _, _, _, a1, a0, a4, a5, a3 = live_args.tolist()
                rip = live[L_RIP]
            else:
                read_batch(uch, sc_in.ids, sc_in.ptrs, 9)
                nr, a0, a1, a2, a3, a4, a5, rip, rflags = sc_in.words.tolist()
            w[W_RIP], w[W_RFLAGS] = rip, rflags
            n = w[W_SYSCALLS] = w[W_SYSCALLS] + 1
            w[W_IN_SYSCALL] = 1
            task = self.current
            try:
                ret = self._entry(task, nr, a0, a1, a2, a3, a4, a5)
                if ret is not None:
                    if live is not None:  # what SYSCALL and SYSRET leave: rcx = RIP, r11 =
                        live[L_RAX] = ret & U64  # RFLAGS
                        live[L_RCX] = rip + 2
                        live[L_R11] = rflags
                    else:
                        o = sc_out.words
                        o[0], o[1], o[2] = ret & U64, rip + 2, rflags
                        write_batch(uch, sc_out.ids, sc_out.ptrs, 3)
                mm = task.mm  # type: ignore[union-attr]
                if mm is not None and mm.tlb_dirty:
                    self._narrowed_in_syscall(task, mm)
            except BaseException as exc:  # a platform bug: surface it from run()
                self._hook_failed(exc)
            finally:
                w[W_IN_SYSCALL] = 0
            if not n & WINDOW_EVERY and self._on_window is not None and not w[W_STOP]:
                now = clock()
                if now >= w[W_WINDOW_END]:
                    self._on_window(now)
            if w[W_BUDGET]:  # --deterministic: the scheduler's preemption after k calls
                w[W_BUDGET] -= 1
                if not w[W_BUDGET]:
                    w[W_NEED_RESCHED] = w[W_BUDGET_HIT] = 1
            if w[W_NEED_RESCHED]:  # the slice is over: yield at this safe point
                w[W_STOP] = 1
            if w[W_STOP]:
                emu_stop(uch)

        return on_syscall

    def _narrowed_in_syscall(self, task: Thread, mm: Any) -> None:
        """A syscall narrowed mm's mappings: the TLB forgets them before user code runs."""
        if self.on_narrow is not None:
            self.on_narrow(mm)
        if mm.cr3 != self.cr3:
            return
        if task.exited:  # it never returns: the next run reloads CR3 (and flushes)
            self.cr3 = -1  # even if a new address space reuses the PML4's frame
        else:
            self._flush_tlb()
            mm.tlb_dirty = False

    def _on_interrupt(self, _uch: int, vector: int, _ud: int) -> None:
        if vector in (X86_TRAP_PF, X86_TRAP_DF):
            self.event = (Event.PAGE_FAULT, self.uc.reg_read(X.UC_X86_REG_CR2))
        else:
            if vector == X86_TRAP_GP and (self.uc.reg_read(X.UC_X86_REG_RSP) >> 47) not in (
                    0, 0x1FFFF):  # fmt: skip
                vector = X86_TRAP_SS  # QEMU says #GP where the CPU says #SS (a wild stack)
            self.event = (Event.EXCEPTION, vector)
        self._emu_stop(self.uch)

    def _on_port_io(self, *_: object) -> int:
        """IN or OUT from ring 3: #GP at the instruction. The stop takes effect where the
        next block starts, so the CPU state of this moment (Unicorn has synchronised it to
        the instruction) is put back when run() returns; the stores of the instructions up
        to the block's end stay done."""
        if self.event is None:
            self.event = (Event.EXCEPTION, X86_TRAP_GP)
            self._fault_state = self.uc.context_save()
        self._emu_stop(self.uch)
        return 0

    def _tick(self) -> None:
        """The timer interrupt: a guest that has held the CPU for a whole slice while others
        want it is asked to yield at its next syscall, and stopped outright if it makes none
        for FORCED_STOP_SLICES slices. A run the tiered platform wants back (stop_wanted:
        a long stretch without exits, cheaper on KVM) is stopped at once; it is asked
        LOOKS_PER_SLICE times a slice while the run makes no syscall.

        The thread waits in C where the shim is (twaron_tick_wait), without the GIL: a
        Python thread that woke every few milliseconds took the GIL from the syscall path
        each time, and on this kind of host the hand-back cost the guest ~3% of a
        syscall-dense run (shell_noop on auto)."""
        wait = self._shim.tick_wait if self._shim.lib is not None else self._tick_wait_py
        slices, last = 0, -1
        while True:
            wanted = self.stop_wanted
            looks = LOOKS_PER_SLICE if wanted is not None else 1
            why, since, run = wait(TIME_SLICE_NS // looks, looks, wanted is not None)
            if why == TICK_CLOSED:
                return
            try:  # both read the kernel's state while the main thread may be changing it
                quiet = why & TICK_QUIET and not self.in_syscall
                if quiet and wanted is not None and wanted(since):
                    self._emu_stop(self.uch)
                    continue
                if not why & TICK_SLICE:
                    continue
                want = self.others_want_cpu()
            except Exception:  # noqa: BLE001 - a dead timer thread would never preempt again
                want = True  # a needless yield costs nothing
            if run != last or not want:
                slices, last = 0, run
                if not want:
                    continue
            slices += 1
            self.need_resched = True
            if slices >= FORCED_STOP_SLICES:
                self._emu_stop(self.uch)
                slices = 0

    def _tick_wait_py(self, step_ns: int, slice_steps: int, quiet: bool) -> tuple[int, int, int]:
        """twaron_tick_wait (uc_shim.c) in Python, where there is no shim: (what happened,
        since when the run has made no syscall, the run)."""
        w = self._w
        seen, calls, changed, steps = W["seen"], W["seen_calls"], W["changed_ns"], W["steps"]
        while not self._closed:
            self._wake.wait(step_ns / 1e9)  # the step, or less once the platform closes
            if self._closed:
                break
            r, n, now = w[W_RUNS], w[W_SYSCALLS], time.perf_counter_ns()
            if not r & 1 or r != w[seen]:  # no run, or a new one since the last step
                w[seen], w[calls], w[changed], w[steps] = r, n, now, 0
                continue
            why = 0
            if n != w[calls]:
                w[calls], w[changed] = n, now
            elif quiet and not w[W_IN_SYSCALL]:
                why |= TICK_QUIET
            w[steps] += 1
            if w[steps] >= slice_steps:
                w[steps] = 0
                why |= TICK_SLICE
            if why:
                return why, w[changed], r
        return TICK_CLOSED, 0, 0

    def close(self) -> None:
        """The run is over: the timer thread ends (and lets go of the platform) before this
        returns, so that the kernel can be freed at once."""
        self._closed = True
        self._shim.close()
        self._wake.set()
        ticker = getattr(self, "_ticker", None)
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(timeout=1.0)


class SyscallShim:
    """The words the syscall hook, the timer thread and the platform share (SHIM_WORDS:
    uc_shim.c's struct shim), and platform/uc_shim.c's functions where it could be built
    (`lib`; None without a C compiler or Python's headers, or with TWARON_C_HELPERS=0, or
    where the live CPU state was not found: the hook and the timer's wait are then
    Python's, on the same words)."""

    def __init__(self, lib: ctypes.CDLL | None, uclib_: ctypes.CDLL) -> None:
        self.lib = lib
        self.buf = (ctypes.c_uint64 * len(SHIM_WORDS))()
        self.addr = ctypes.addressof(self.buf)
        self.words = memoryview(self.buf).cast("B").cast("Q")
        self.words[W["window_mask"]] = WINDOW_EVERY
        self.refs: dict[str, object] = {}  # the objects whose addresses are in the words
        self.tables: list[ctypes.Array[ctypes.c_char]] = []
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self.words[W["wake_fd"]] = self._wake_r
        self._uclib = uclib_
        if lib is not None:
            self.hook = ctypes.cast(lib.twaron_syscall_hook, ctypes.c_void_p).value
            wait = lib.twaron_tick_wait
            wait.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64)]
            wait.restype = ctypes.c_int
            self._wait = wait
            self._since, self._run = ctypes.c_uint64(), ctypes.c_uint64()

    @classmethod
    def load(cls, uclib_: ctypes.CDLL) -> SyscallShim:
        lib = load_helper(Path(__file__).with_name("uc_shim.c"), "uc_shim", python=True)
        return cls(lib, uclib_)

    def wire(self, uch: int, live: int, narrowed: Callable[..., None],
             failed: Callable[[BaseException], None]) -> None:  # fmt: skip
        """What the C hook needs: the engine, Unicorn's functions, the live registers, and
        the platform's callbacks (the entry, the task and on_window come through
        set_object)."""
        fn = ctypes.c_void_p
        w = self.words
        w[W["uc"]] = ctypes.cast(uch, fn).value or 0
        w[W["reg_read"]] = ctypes.cast(self._uclib.uc_reg_read, fn).value or 0
        w[W["emu_stop"]] = ctypes.cast(self._uclib.uc_emu_stop, fn).value or 0
        w[W["live"]] = live
        w[W["rflags_id"]] = X.UC_X86_REG_RFLAGS
        self.set_object("narrowed", narrowed)
        self.set_object("failed", failed)

    def set_object(self, name: str, obj: object, none_is_null: bool = False) -> None:
        """A Python object for the C hook: kept referenced here, its address in the words
        (CPython's id())."""
        self.refs[name] = obj
        self.words[W[name]] = 0 if obj is None and none_is_null else id(obj)

    def tick_wait(self, step_ns: int, slice_steps: int, quiet: bool) -> tuple[int, int, int]:
        """The timer thread's wait, in C without the GIL (twaron_tick_wait): (what
        happened, since when the run has made no syscall, the run)."""
        since, run = self._since, self._run
        why = self._wait(self.addr, step_ns, slice_steps, quiet, ctypes.byref(since),
                         ctypes.byref(run))  # fmt: skip
        return why, since.value, run.value

    def close(self) -> None:
        """End the timer's wait now (its thread then returns)."""
        self.words[W["closed"]] = 1
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
            os.close(self._wake_w)
            self._wake_w = -1

    def __del__(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)

    def set_exception_field(self, address: int) -> None:
        self.words[W["exception"]] = address

    def cpuid_hook(self, table: cpuid.Table, top: int, live: int) -> tuple[int, int]:
        """(function, data) of twaron_cpuid_hook answering from table; live: the address
        of QEMU's live registers."""
        assert self.lib is not None
        head = struct.pack("<QIIII", live, top, cpuid.SUBLEAF_MASK, len(table), 0)
        body = b"".join(struct.pack("<II4I", leaf, sub, *(w & 0xFFFF_FFFF for w in words))
                        for (leaf, sub), words in table.items())  # fmt: skip
        buf = ctypes.create_string_buffer(head + body)
        self.tables.append(buf)  # it lives as long as the shim
        fn = ctypes.cast(self.lib.twaron_cpuid_hook, ctypes.c_void_p).value
        return fn, ctypes.addressof(buf)  # type: ignore[return-value]


RFLAGS_TF = 0x100
_PREFIXES = frozenset((0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3))
# pushf popf int3 int n into iret icebp hlt: they see or change the trap flag, or trap
_NO_STEP = frozenset((0x9C, 0x9D, 0xCC, 0xCD, 0xCE, 0xCF, 0xF1, 0xF4))
# after 0F: syscall, sysenter, sysexit, sysret, the 0F 01 group (and ud2)
_NO_STEP_0F = frozenset((0x05, 0x34, 0x35, 0x07, 0x01, 0x0B))


def _steppable(code: bytes) -> bool:
    """May the instruction at the start of code run under the trap flag without the guest
    noticing? (Not if it pushes or pops the flags, traps, or enters the kernel.)"""
    i = 0
    while i < len(code) and code[i] in _PREFIXES:
        i += 1
    if i < len(code) and 0x40 <= code[i] <= 0x4F:
        i += 1  # REX
    if i >= len(code):
        return False
    op = code[i]
    if op == 0x0F:
        return i + 1 < len(code) and code[i + 1] not in _NO_STEP_0F
    return op not in _NO_STEP


def _scan_from(root: int, pattern: bytes, span: int = 1 << 16) -> Iterator[int]:
    """Where pattern lies in memory one pointer away from root (the uc_struct): the CPU
    object it points to holds the live registers. Reads go through /proc/self/mem, so an
    address that is not mapped costs an error, never a crash."""
    with open("/proc/self/mem", "rb", buffering=0) as mem:

        def read(addr: int, n: int) -> bytes:
            try:
                mem.seek(addr)
                return mem.read(n)
            except (OSError, OverflowError, ValueError):
                return b""

        head = read(root, span)
        seen = set()
        for off in range(0, len(head) - 7, 8):
            ptr = int.from_bytes(head[off : off + 8], "little")
            if not 0x10000 <= ptr < 0x8000_0000_0000 or ptr in seen:
                continue
            seen.add(ptr)
            data = read(ptr, span)
            pos = data.find(pattern)
            while pos >= 0:
                yield ptr + pos
                pos = data.find(pattern, pos + 1)
