"""The KVM platform: guest user code runs natively through /dev/kvm, driven from Python.

One VM, one vCPU, one memory slot: guest RAM is the kernel's PhysMem buffer at guest-physical
0, and the vCPU walks the very page tables the kernel's AddressSpace builds. The platform adds
a few kernel-half pages to every address space (PML4 entry 511, through the
`mem.kernel_pml4` hook in AddressSpace): GDT, IDT, TSS (with an I/O bitmap), a kernel stack,
a supervisor stub page and a user stub page. The stubs' source and build step are in
kvm_stubs/.

How the guest comes back to Python (every path ends in KVM_EXIT_IO; the port says why):
- System calls: the entry path is chosen by a probe at start-up. Where SYSCALL enters ring 0
  (hardware VMX/SVM) LSTAR points at a ring-0 stub (`out $0x11`). On PVM hosts (nested,
  no VMX: see shared/notes/measured-facts.md) SYSCALL stays at CPL 3, so LSTAR points at a
  ring-3 trampoline, `out $0x10; jmp *%rcx`, the port allowed by the TSS I/O bitmap.
- Exceptions and page faults go through the IDT to ring-0 stubs `out $0xC0+vector`; the
  interrupt frame is read from the kernel stack page in guest memory, CR2 from the sync sregs.
- After an exit in ring 0 the vCPU is left at an `iretq` stub with RSP at the frame, so the
  user's RIP/RFLAGS/RSP live in that frame until it resumes ("kframe" state); after an exit
  in ring 3 (trampoline syscall, preemption) they are the live registers.
- Registers move through the kvm_run page (KVM_CAP_SYNC_REGS: regs and sregs every exit),
  never KVM_GET_REGS/KVM_SET_REGS on the hot path. CR3, FS_BASE and GS_BASE are written in
  the sync sregs (the segment bases are the FS_BASE/GS_BASE MSRs) only when they change.
- Preemption: a timer thread sends a real-time signal to the thread in KVM_RUN after a time
  slice. The signal is blocked in that thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK),
  so one that arrives between two runs stays pending and ends the next run at once: no race.
- FPU/SSE state is saved and restored (KVM_GET_FPU/KVM_SET_FPU) only when the vCPU switches
  to another task. CR4.OSXSAVE stays clear, so programs see SSE but no AVX.
- Page-table changes that remove or narrow mappings must also reach KVM's own translation
  caches (shadow pages on PVM); see _flush_tlb.
"""

from __future__ import annotations

import errno
import os
import signal
import struct
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

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
    MSR_FS_BASE,
    MSR_GS_BASE,
    MSR_LSTAR,
    MSR_SFMASK,
    MSR_STAR,
    PAGE_SHIFT,
    PTE_NX,
    PTE_P,
    PTE_U,
    PTE_W,
    X86_TRAP_GP,
    X86_TRAP_PF,
)
from twaron.clock import host_tsc
from twaron.platform import kvm_stubs as stubs
from twaron.platform import kvm_sys as K
from twaron.platform.base import Event, PlatformUnavailable, SyscallEntry, Thread, UserRegs

if TYPE_CHECKING:
    from twaron.mm.physmem import PhysMem

U64 = 0xFFFF_FFFF_FFFF_FFFF
TIME_SLICE = 0.02  # seconds a compute-bound task runs before it is preempted
PREEMPT_SIGNAL = signal.SIGRTMAX - 3
RAW_RUN_TRIES = 100  # the set-up probe's KVM_RUN, interrupted by stray preemption signals
MSR_KERNEL_GS_BASE = 0xC000_0102
MSR_IA32_TSC = 0x10

# Kernel-half layout: PML4[511] -> PDPT[511] -> PD[511] -> one page table.
KBASE = 0xFFFF_FFFF_FFE0_0000
KPML4_INDEX = 511
GDT_VA = KBASE + 0x0000
IDT_VA = KBASE + 0x1000
TSS_VA = KBASE + 0x2000
KSTUB_VA = KBASE + 0x3000
USTUB_VA = KBASE + 0x4000
KSTACK_VA = KBASE + 0x6000  # two pages; 0x5000 stays unmapped as a guard
KSTACK_TOP = KBASE + 0x8000
FRAME_VA = KSTACK_TOP - 40  # the iretq frame: rip cs rflags rsp ss
IRETQ_VA = KSTUB_VA + stubs.IRETQ
LSTAR_VA = KSTUB_VA + stubs.LSTAR_ENTRY
TRAMPOLINE_VA = USTUB_VA + stubs.TRAMPOLINE

# GDT as Linux lays it out, so user CS/SS read 0x33/0x2b as they do natively.
KERNEL_CS, KERNEL_DS, USER32_CS, USER_DS, USER_CS, TSS_SEL = 0x10, 0x18, 0x23, 0x2B, 0x33, 0x40
GDT = {
    2: 0x00AF9B000000FFFF,  # kernel code, 64-bit
    3: 0x00CF93000000FFFF,  # kernel data
    4: 0x00CFFB000000FFFF,  # user code, 32-bit (SYSRET's base selector)
    5: 0x00CFF3000000FFFF,  # user data
    6: 0x00AFFB000000FFFF,  # user code, 64-bit
}
STAR = (USER32_CS << 48) | (KERNEL_CS << 32)
TSS_LIMIT = 0x6B  # 104-byte TSS + 4 bytes of I/O bitmap (ports 0-31)
RFLAGS_USER = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x200000
RFLAGS_FIXED = 0x202  # reserved bit 1 and IF: ring 3 always runs with interrupts on

# kvm_run indices (qwords)
Q_EXIT = K.RUN_EXIT_REASON // 8
Q_IO = K.RUN_IO // 8
Q_VALID = K.RUN_VALID_REGS // 8
Q_DIRTY = K.RUN_DIRTY_REGS // 8
R = K.RUN_REGS // 8  # struct kvm_regs
R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RSP, R_RBP = range(R, R + 8)
R_R8, R_R9, R_R10, R_R11 = range(R + 8, R + 12)
R_RIP, R_RFLAGS = R + 16, R + 17
S = K.RUN_SREGS  # byte offset of struct kvm_sregs
Q_CR2 = (S + K.SREG_CR2) // 8
Q_CR3 = (S + K.SREG_CR3) // 8
Q_FS_BASE = (S + 24 * K.SEG_FS) // 8
Q_GS_BASE = (S + 24 * K.SEG_GS) // 8
B_CS_SEL = S + 24 * K.SEG_CS + 12  # byte offset of cs.selector

ERROR_CODE_VECTORS = frozenset((8, 10, 11, 12, 13, 14, 17, 21, 29, 30))
NAMES = K.KREGS + ("fs_base", "gs_base")
REG_INDEX = dict(K.KREG_INDEX)
FRAME_SLOT = {"rip": 0, "rflags": 2, "rsp": 3}  # user registers held in the iretq frame

_probe_cache: dict[str, object] = {}


class KvmCpu:
    """A task's user registers while it is not on the vCPU (kvm_regs order) + FS/GS + FPU."""

    __slots__ = ("regs", "fs_base", "gs_base", "fpu")

    def __init__(self) -> None:
        self.regs = [0] * 18
        self.regs[17] = RFLAGS_FIXED
        self.fs_base = 0
        self.gs_base = 0
        self.fpu: bytearray | None = None  # None: the state of a fresh process

    def copy(self) -> KvmCpu:
        c = KvmCpu()
        c.regs = list(self.regs)
        c.fs_base, c.gs_base = self.fs_base, self.gs_base
        c.fpu = bytearray(self.fpu) if self.fpu is not None else None
        return c


class _Ticker:
    """The timer interrupt, kept apart from the platform so it does not keep it alive."""

    def __init__(self) -> None:
        self.slice = 0  # odd while a run() is in progress
        self.thread_id = 0
        self.closed = False

    def loop(self) -> None:
        seen = -1
        while not self.closed:
            time.sleep(TIME_SLICE)
            s = self.slice
            if s & 1 and s == seen and self.thread_id:
                try:
                    signal.pthread_kill(self.thread_id, PREEMPT_SIGNAL)
                except (OSError, ProcessLookupError):
                    pass
            seen = s


class KvmPlatform:
    name = "kvm"

    def __init__(self, mem: PhysMem, syscall_entry: SyscallEntry,
                 cpuid_fix: Callable[[int, int, list[int]], None] | None = None) -> None:
        """cpuid_fix(function, index, [eax, ebx, ecx, edx]) edits the CPUID KVM offers the
        guest (the tiered platform's: one CPUID for both CPUs); default: _cpuid_fix."""
        self.mem = mem
        self._cpuid_fix = cpuid_fix or _cpuid_fix
        self.syscall_entry = syscall_entry
        try:
            self.vm = K.Vm(mem.host_addr, mem.size)
        except OSError as e:
            raise PlatformUnavailable(f"KVM: {e}") from None
        self.q = mem.q
        self.rq = self.vm.run_q
        self.rmv = self.vm.run_mv
        self.vcpu = self.vm.vcpu
        self._run_ioctl = K._ioctl
        self.current: Thread | None = None
        self.kmode = False  # True: vCPU at the iretq stub, user rip/rflags/rsp in the frame
        self.cr3 = -1
        self.cur_mm: object = None
        self.shadowed: dict[int, object] = {}  # address spaces run since the last zap
        self.tables_freed = 0  # mem.table_shares.freed at the last zap
        self.shadow_paging = True  # decided by the probe
        self.fs_loaded = self.gs_loaded = 0
        self.in_syscall = False
        self.stop_requested = False
        self.tlb_flush_pending = False
        self.exits = 0
        self.zaps = 0
        self.last_halt = ""
        self._default_fpu = K.default_fpu()
        self._state_size = K.FPU_SIZE
        self._get_state, self._set_state = self.vm.get_fpu, self.vm.set_fpu
        self._ticker = _Ticker()
        self._closed = False
        try:
            self._build_kernel_pages()
            self._init_vcpu()
            self.entry = self._probe_entry()
        except PlatformUnavailable:
            self.close()
            raise
        except OSError as e:
            self.close()
            raise PlatformUnavailable(f"KVM set-up failed: {e}") from None
        mem.kernel_pml4 = {KPML4_INDEX: self._kpml4e}  # type: ignore[attr-defined]
        threading.Thread(target=self._ticker.loop, daemon=True, name="twaron-kvm-timer").start()
        self._finalizer = weakref.finalize(self, _close_vm, self.vm, self._ticker)

    # ---- set-up -------------------------------------------------------------------------

    def _build_kernel_pages(self) -> None:
        mem, q = self.mem, self.q
        pdpt, pd, pt = mem.alloc(), mem.alloc(), mem.alloc()
        gdt, idt, tss, kstub, ustub = (mem.alloc() for _ in range(5))
        kstack = (mem.alloc(), mem.alloc())
        self._kstack_pfns = kstack  # contiguous in VA, not necessarily in frames
        self.frame_q = (kstack[1] << 9) + 507  # FRAME_VA as an index into mem.q
        table = PTE_P | PTE_W | PTE_U  # leaves decide
        self._kpml4e = (pdpt << PAGE_SHIFT) | table
        q[(pdpt << 9) + 511] = (pd << PAGE_SHIFT) | table
        q[(pd << 9) + 511] = (pt << PAGE_SHIFT) | table

        def leaf(va: int, pfn: int, flags: int) -> None:
            q[(pt << 9) + ((va >> PAGE_SHIFT) & 511)] = (pfn << PAGE_SHIFT) | flags

        leaf(GDT_VA, gdt, PTE_P | PTE_W | PTE_NX)
        leaf(IDT_VA, idt, PTE_P | PTE_NX)
        leaf(TSS_VA, tss, PTE_P | PTE_W | PTE_NX)
        leaf(KSTUB_VA, kstub, PTE_P)
        leaf(USTUB_VA, ustub, PTE_P | PTE_U)
        leaf(KSTACK_VA, kstack[0], PTE_P | PTE_W | PTE_NX)
        leaf(KSTACK_VA + 0x1000, kstack[1], PTE_P | PTE_W | PTE_NX)
        for i, desc in GDT.items():
            q[(gdt << 9) + i] = desc
        lo = ((TSS_LIMIT & 0xFFFF) | ((TSS_VA & 0xFFFFFF) << 16) | (0x89 << 40)
              | (((TSS_LIMIT >> 16) & 0xF) << 48) | (((TSS_VA >> 24) & 0xFF) << 56))  # fmt: skip
        q[(gdt << 9) + TSS_SEL // 8] = lo
        q[(gdt << 9) + TSS_SEL // 8 + 1] = TSS_VA >> 32
        t = bytearray(TSS_LIMIT + 1)
        struct.pack_into("<Q", t, 4, KSTACK_TOP)  # RSP0
        struct.pack_into("<H", t, 0x66, 0x68)  # I/O map base
        t[0x68:0x6C] = b"\xff" * 4
        t[0x68 + stubs.PORT_TRAMPOLINE // 8] &= ~(1 << (stubs.PORT_TRAMPOLINE % 8)) & 0xFF
        mem.write(tss, 0, bytes(t))
        for v in range(32):
            target = KSTUB_VA + stubs.EXC_STUBS + 8 * v
            dpl = 3 if v in (3, 4) else 0  # int3 and into are allowed from ring 3, as on Linux
            attr = 0x8E | (dpl << 5)
            lo = ((target & 0xFFFF) | (KERNEL_CS << 16) | (attr << 40)
                  | (((target >> 16) & 0xFFFF) << 48))  # fmt: skip
            q[(idt << 9) + 2 * v] = lo
            q[(idt << 9) + 2 * v + 1] = target >> 32
        mem.write(kstub, 0, stubs.KSTUBS)
        mem.write(ustub, 0, stubs.USTUBS)
        # the probe's address space: nothing but the kernel half
        self._boot_pml4 = mem.alloc()
        q[(self._boot_pml4 << 9) + KPML4_INDEX] = self._kpml4e

    def _init_vcpu(self) -> None:
        vm = self.vm
        try:
            vm.set_supported_cpuid(self._cpuid_fix)
        except OSError:
            pass  # the guest then sees CPUID leaves of zeros; SSE2 still works
        sr = vm.get_sregs()
        seg = K.seg_pack
        user_data = seg(0, 0xFFFFFFFF, USER_DS, 3, 3, db=1, g=1)
        segs = [
            seg(0, 0xFFFFFFFF, USER_CS, 11, 3, l=1, g=1),  # cs
            user_data, user_data, user_data, user_data, user_data,  # ds es fs gs ss
            seg(TSS_VA, TSS_LIMIT, TSS_SEL, 11, 0, s=0),  # tr: busy 64-bit TSS
            seg(0, 0, 0, 2, 0, s=0, present=0),  # ldt: unusable
        ]
        sr[0:192] = b"".join(segs)
        struct.pack_into("<QH", sr, K.SREG_GDT, GDT_VA, 8 * 10 - 1)
        struct.pack_into("<QH", sr, K.SREG_IDT, IDT_VA, 16 * 32 - 1)
        cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG
        cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT
        struct.pack_into("<QQQQ", sr, K.SREG_CR0, cr0, 0, self._boot_pml4 << PAGE_SHIFT, cr4)
        struct.pack_into("<Q", sr, K.SREG_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
        sr[280:312] = bytes(32)  # no pending interrupt
        vm.set_sregs(sr)
        vm.set_msrs({
            MSR_STAR: STAR, MSR_LSTAR: LSTAR_VA, MSR_SFMASK: 0x47700,
            MSR_FS_BASE: 0, MSR_GS_BASE: 0, MSR_KERNEL_GS_BASE: 0,
        })  # fmt: skip
        regs = [0] * 18
        regs[16] = USTUB_VA + stubs.PROBE
        regs[17] = RFLAGS_FIXED
        vm.set_regs(regs)
        vm.set_fpu(self._default_fpu)
        if vm.has_xsave:  # the full register state (SSE and whatever else the CPU has)
            self._state_size = K.XSAVE_SIZE
            self._get_state, self._set_state = vm.get_xsave, vm.set_xsave
            self._default_fpu = bytearray(K.XSAVE_SIZE)
            vm.get_xsave(self._default_fpu)
        # Block the preemption signal in this thread except while KVM_RUN runs.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {PREEMPT_SIGNAL})
        vm.set_signal_mask(sum(1 << (int(s) - 1) for s in old if int(s) != PREEMPT_SIGNAL))
        self.rq[Q_VALID] = K.SYNC_REGS | K.SYNC_SREGS

    def _probe_entry(self) -> str:
        """Run one SYSCALL from ring 3 and see where it lands: "lstar" or "trampoline"."""
        reason, port = self._raw_run()
        rq = self.rq
        cpl = self.rmv[B_CS_SEL] & 3
        if reason == K.EXIT_IO and port == stubs.PORT_LSTAR and cpl == 0:
            entry = "lstar"
        elif (reason == K.EXIT_IO and port == stubs.PORT_EXC + X86_TRAP_PF
              and rq[Q_CR2] == LSTAR_VA):  # fmt: skip
            # SYSCALL went to LSTAR at CPL 3 and the supervisor page refused the fetch (PVM)
            entry = "trampoline"
            self.vm.set_msrs({MSR_LSTAR: TRAMPOLINE_VA, MSR_SFMASK: 0x40500})  # TF DF AC
        else:
            raise PlatformUnavailable(
                f"KVM: the SYSCALL probe ended in exit {reason} (port {port:#x}, cpl {cpl}, "
                f"rip {rq[R_RIP]:#x}, cr2 {rq[Q_CR2]:#x}); no known entry path"
            )
        self.cr3 = rq[Q_CR3]
        self._enter_kmode()
        return entry

    def _raw_run(self) -> tuple[int, int]:
        # A preemption signal may already be pending in this thread: an earlier platform's
        # timer can fire just as that platform's last run ends, and the signal, blocked
        # outside KVM_RUN, waits for the next KVM_RUN of any VM. Take it and run again.
        for _ in range(RAW_RUN_TRIES):
            if self._run_ioctl(self.vcpu, K.KVM_RUN, 0) >= 0:
                return self.rq[Q_EXIT] & 0xFFFF_FFFF, (self.rq[Q_IO] >> 16) & 0xFFFF
            e = K.ctypes.get_errno()
            if e not in (errno.EINTR, errno.EAGAIN):
                break
            signal.sigtimedwait({PREEMPT_SIGNAL}, 0)
        raise PlatformUnavailable(f"KVM_RUN failed: {os.strerror(e)}")

    def _kstack_q(self, va: int) -> int:
        """Index in mem.q of the kernel-stack word at va."""
        off = va - KSTACK_VA
        return (self._kstack_pfns[off >> PAGE_SHIFT] << 9) + ((off & 0xFFF) >> 3)

    def _enter_kmode(self) -> None:
        """After an exit in ring 0: resume at the iretq stub with RSP at the frame."""
        rq = self.rq
        rq[R_RIP] = IRETQ_VA
        rq[R_RSP] = FRAME_VA
        rq[Q_DIRTY] |= K.SYNC_REGS
        self.kmode = True

    def guest_tsc_offset(self) -> int | None:
        """What the guest's RDTSC reads minus the host's TSC: the vCPU's TSC offset (0 on
        PVM hosts; KVM_VCPU_TSC_OFFSET where the host tells), checked against the guest's
        TSC (MSR 0x10) read between two host reads; None if that does not hold (a scaled
        TSC: the vDSO then makes syscalls)."""
        tsc = host_tsc()
        if tsc is None:
            return None
        for offset in (0, self.vm.tsc_offset()):
            if offset is not None and all(self._tsc_within(tsc.read, offset) for _ in range(3)):
                return offset
        return None

    def _tsc_within(self, read: Callable[[], int], offset: int) -> bool:
        before = read()
        guest = self.vm.get_msrs([MSR_IA32_TSC])[0]
        after = read()
        return before <= (guest - offset) & U64 <= after

    # ---- per-task CPU state -----------------------------------------------------------

    def new_cpu(self) -> KvmCpu:
        return KvmCpu()

    def fork_cpu(self, parent: Thread) -> KvmCpu:
        """The child's registers: the parent's, returning 0 from the syscall it is in."""
        if parent is self.current:
            cpu = KvmCpu()
            cpu.regs = self._live_regs()
            cpu.fs_base, cpu.gs_base = parent.cpu.fs_base, parent.cpu.gs_base
            cpu.fpu = bytearray(self._state_size)
            self._get_state(cpu.fpu)
        else:
            cpu = parent.cpu.copy()
        if self.in_syscall and parent is self.current:
            cpu.regs[0] = 0
        return cpu

    def free_cpu(self, cpu: object) -> None:
        if self.current is not None and self.current.cpu is cpu:
            self.current = None

    def _live_regs(self) -> list[int]:
        """The current task's 18 user registers (kvm_regs order)."""
        rq = self.rq
        regs = list(rq[R : R + 18])
        if self.kmode:
            f = self.frame_q
            regs[16] = self.q[f]
            regs[17] = self.q[f + 2]
            regs[6] = self.q[f + 3]
        return regs

    def _load_regs(self, regs: list[int]) -> None:
        rq = self.rq
        rflags = (regs[17] & RFLAGS_USER) | RFLAGS_FIXED
        if self.kmode:
            rq[R : R + 6] = _array(regs[0:6])
            rq[R + 7 : R + 16] = _array(regs[7:16])
            f, q = self.frame_q, self.q
            q[f], q[f + 1], q[f + 2], q[f + 3], q[f + 4] = (
                regs[16], USER_CS, rflags, regs[6], USER_DS)
        else:
            rq[R : R + 17] = _array(regs[0:17])
            rq[R_RFLAGS] = rflags
        rq[Q_DIRTY] |= K.SYNC_REGS

    def _switch_to(self, task: Thread) -> None:
        cur = self.current
        if cur is not None and cur.cpu is not None and not cur.exited:
            cur.cpu.regs = self._live_regs()
            if cur.cpu.fpu is None:
                cur.cpu.fpu = bytearray(self._state_size)
            self._get_state(cur.cpu.fpu)
        cpu = task.cpu
        self._load_regs(cpu.regs)
        self._set_state(cpu.fpu if cpu.fpu is not None else self._default_fpu)
        self.current = task

    def get_reg(self, task: Thread, name: str) -> int:
        if task is not self.current:
            cpu = task.cpu
            if name == "fs_base":
                return cpu.fs_base
            if name == "gs_base":
                return cpu.gs_base
            return cpu.regs[REG_INDEX[name]]
        if name == "fs_base":
            return task.cpu.fs_base
        if name == "gs_base":
            return task.cpu.gs_base
        if self.kmode and name in FRAME_SLOT:
            return self.q[self.frame_q + FRAME_SLOT[name]]
        return self.rq[R + REG_INDEX[name]]

    def set_reg(self, task: Thread, name: str, value: int) -> None:
        value &= U64
        if name == "rflags":
            value = (value & RFLAGS_USER) | RFLAGS_FIXED
        if name == "fs_base":
            task.cpu.fs_base = value
            return
        if name == "gs_base":
            task.cpu.gs_base = value
            return
        if task is not self.current:
            task.cpu.regs[REG_INDEX[name]] = value
            return
        if self.kmode and name in FRAME_SLOT:
            self.q[self.frame_q + FRAME_SLOT[name]] = value
            return
        self.rq[R + REG_INDEX[name]] = value
        self.rq[Q_DIRTY] |= K.SYNC_REGS

    def get_regs(self, task: Thread) -> UserRegs:
        regs = self._live_regs() if task is self.current else task.cpu.regs
        return UserRegs(**dict(zip(K.KREGS, regs, strict=True)),
                        fs_base=task.cpu.fs_base, gs_base=task.cpu.gs_base)  # fmt: skip

    def set_regs(self, task: Thread, regs: UserRegs) -> None:
        values = [getattr(regs, n) & U64 for n in K.KREGS]
        task.cpu.fs_base = regs.fs_base & U64
        task.cpu.gs_base = regs.gs_base & U64
        if task is self.current:
            self._load_regs(values)
        else:
            values[17] = (values[17] & RFLAGS_USER) | RFLAGS_FIXED
            task.cpu.regs = values

    def finish_syscall(self, task: Thread, value: int) -> None:
        self.set_reg(task, "rax", value)  # SYSCALL itself left rcx and r11 as Linux has them

    def request_stop(self) -> None:
        self.stop_requested = True

    def flush_tlb(self) -> None:
        self.tlb_flush_pending = True

    def flush_code(self) -> None:
        pass  # the CPU keeps its instruction caches coherent with memory

    # ---- running ------------------------------------------------------------------------

    def _prepare(self, task: Thread) -> None:
        """Address space, TLB and segment bases for task, written into the sync sregs."""
        rq = self.rq
        mm = task.mm
        cpu = task.cpu
        dirty = 0
        if mm is not self.cur_mm or mm.cr3 != self.cr3:
            rq[Q_CR3] = mm.cr3
            self.cr3 = mm.cr3
            self.cur_mm = mm
            dirty = K.SYNC_SREGS
        if mm.tlb_dirty or self.tlb_flush_pending or self._shadow_stale():
            mm.tlb_dirty = False
            self.tlb_flush_pending = False
            dirty = self._flush_tlb()
        self.shadowed[id(mm)] = mm
        if cpu.fs_base != self.fs_loaded or cpu.gs_base != self.gs_loaded:
            rq[Q_FS_BASE] = self.fs_loaded = cpu.fs_base
            rq[Q_GS_BASE] = self.gs_loaded = cpu.gs_base
            dirty = K.SYNC_SREGS
        if dirty:
            rq[Q_DIRTY] |= dirty

    def _shadow_stale(self) -> bool:
        """Whether KVM may hold shadow pages of page tables that were freed: after a zap it
        holds none, so only address spaces run since then count; one of them destroyed means
        its table frames may come back as another's tables or as data (see _flush_tlb).
        Address spaces that merely narrowed mappings say so with their own tlb_dirty, which
        is checked before they run again. A leaf table shared after fork may have been
        shadowed through an address space that has left it and not run since: when such a
        table is freed (mm/shared_tables.py counts them), zap too."""
        if self.mem.table_shares.freed != self.tables_freed:
            return True
        for m in self.shadowed.values():
            if m.users <= 0:
                return True
        return False

    def _flush_tlb(self) -> int:
        """Make the vCPU forget translations of the current CR3 (some were narrowed).

        Rewriting CR3 flushes the guest TLB, but on a host without EPT (PVM) KVM also keeps
        shadow page tables that it keeps in step by write-protecting the guest's page tables
        against *guest* writes; the kernel writes them from the host, unseen. Stale shadow
        entries then map what was unmapped, and frames that were page tables stay
        write-protected after reuse as data (a store there is emulated, and KVM's emulator
        fails on AVX-512). So every flush zaps all shadow pages (Vm.zap_all).
        """
        if self.shadow_paging:
            self.vm.zap_all()
            self.zaps += 1
            self.shadowed.clear()
        self.tables_freed = self.mem.table_shares.freed
        return K.SYNC_SREGS  # rewriting CR3 through sync sregs reloads it

    def run(self, task: Thread) -> tuple[Event, int]:
        if task is not self.current:
            self._switch_to(task)
        ticker = self._ticker
        ticker.thread_id = threading.get_ident()
        ticker.slice += 1
        try:
            return self._run(task)
        finally:
            ticker.slice += 1

    def _run(self, task: Thread) -> tuple[Event, int]:
        rq, vcpu, run_ioctl = self.rq, self.vcpu, self._run_ioctl
        self.stop_requested = False
        while True:
            self._prepare(task)
            if not self.kmode and (rq[R_RIP] >> 47) not in (0, 0x1FFFF):
                return Event.EXCEPTION, X86_TRAP_GP  # ring 3 cannot run there (Linux: SIGSEGV)
            r = run_ioctl(vcpu, K.KVM_RUN, 0)
            self.exits += 1
            rq[Q_DIRTY] = 0
            if r < 0:
                err = K.ctypes.get_errno()
                if err not in (errno.EINTR, errno.EAGAIN):
                    return Event.HALT, err
                reason = K.EXIT_INTR
            else:
                reason = rq[Q_EXIT] & 0xFFFF_FFFF
            if reason == K.EXIT_IO:
                port = (rq[Q_IO] >> 16) & 0xFFFF
                if port == stubs.PORT_TRAMPOLINE:
                    if self.rmv[B_CS_SEL] & 3 == 0:
                        # SYSCALL did enter ring 0 after all (PVM does so, for one, after a
                        # user RSP that is not canonical): leave as from the LSTAR stub.
                        port = stubs.PORT_LSTAR
                    elif rq[R_RIP] != TRAMPOLINE_VA + 2:  # `out` run by the program itself
                        rq[R_RIP] -= 2
                        rq[Q_DIRTY] |= K.SYNC_REGS
                        self.kmode = False
                        return Event.EXCEPTION, X86_TRAP_GP
                    else:
                        self.kmode = False
                        ret_rip = rq[R_RCX]
                        rq[R_RIP] = ret_rip
                        rq[R_RFLAGS] = (rq[R_R11] & RFLAGS_USER) | RFLAGS_FIXED
                        if self._syscall(task, ret_rip):
                            return Event.SYSCALL_STOP, 0
                        continue
                if port == stubs.PORT_LSTAR:
                    f, q = self.frame_q, self.q
                    ret_rip = rq[R_RCX]
                    q[f], q[f + 1], q[f + 2], q[f + 3], q[f + 4] = (
                        ret_rip, USER_CS, (rq[R_R11] & RFLAGS_USER) | RFLAGS_FIXED,
                        rq[R_RSP], USER_DS)  # fmt: skip
                    self._enter_kmode()
                    if self._syscall(task, ret_rip):
                        return Event.SYSCALL_STOP, 0
                    continue
                vector = port - stubs.PORT_EXC
                if 0 <= vector < 32:
                    rsp = rq[R_RSP]
                    if rsp != FRAME_VA and rsp != FRAME_VA - 8:
                        # Not from ring 3: the CPU stayed on the kernel stack. The only
                        # expected case is the iretq back to the user faulting (a RIP that
                        # is not canonical, say): Linux answers that with SIGSEGV too.
                        nested_rip = rsp + (8 if vector in ERROR_CODE_VECTORS else 0)
                        if (KSTACK_VA <= rsp < FRAME_VA - 8
                                and self.q[self._kstack_q(nested_rip)] == IRETQ_VA
                                and self.q[self.frame_q + 1] == USER_CS):  # fmt: skip
                            self._enter_kmode()
                            return Event.EXCEPTION, X86_TRAP_GP
                        self.last_halt = self._describe_exit(reason)
                        return Event.HALT, 0x1000 + vector  # a fault in the stubs themselves
                    self._enter_kmode()
                    if vector == X86_TRAP_PF:
                        return Event.PAGE_FAULT, rq[Q_CR2]
                    return Event.EXCEPTION, vector
                self.last_halt = self._describe_exit(reason)
                return Event.HALT, 0x10000 + port
            if reason == K.EXIT_INTR:
                signal.sigtimedwait({PREEMPT_SIGNAL}, 0)
                if self.rmv[B_CS_SEL] & 3 == 3:
                    self.kmode = False
                    return Event.PREEMPT, 0
                if rq[R_RIP] == IRETQ_VA:  # not yet back in ring 3: the frame holds the user
                    self.kmode = True
                    return Event.PREEMPT, 0
                continue  # between an exception and its stub's exit: let it finish
            self.last_halt = self._describe_exit(reason)
            return Event.HALT, reason

    def _describe_exit(self, reason: int) -> str:
        """A line for the oops report when the vCPU stops for a reason of its own."""
        rq = self.rq
        text = f"KVM exit {reason}, rip {rq[R_RIP]:#x}, cpl {self.rmv[B_CS_SEL] & 3}"
        if reason == K.EXIT_INTERNAL_ERROR:
            sub, n = struct.unpack_from("<II", self.rmv, K.RUN_IO)
            data = struct.unpack_from(f"<{min(n, 16)}Q", self.rmv, K.RUN_IO + 8)
            text += f", suberror {sub}, data {[hex(d) for d in data]}"
        return text

    def _syscall(self, task: Thread, ret_rip: int) -> bool:
        """Answer the syscall the vCPU stopped in; True if run() must return."""
        rq = self.rq
        nr = rq[R_RAX]
        self.in_syscall = True
        try:
            ret = self.syscall_entry(task, nr, rq[R_RDI], rq[R_RSI], rq[R_RDX], rq[R_R10],
                                     rq[R_R8], rq[R_R9])  # fmt: skip
        finally:
            self.in_syscall = False
        if ret is not None and self.current is task:
            rq[R_RAX] = ret & U64
        rq[Q_DIRTY] |= K.SYNC_REGS
        return self.stop_requested or self.current is not task or task.exited

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()
        else:
            _close_vm(self.vm, self._ticker)


# CPUID bits hidden from the guest: vector extensions beyond SSE4.2 (their registers would
# need the OS to enable them in XCR0, and KVM's instruction emulator cannot decode EVEX) and
# transactional memory. glibc then picks its SSE2/SSE4 string functions, as under Unicorn.
_HIDE = {
    (1, 2): (1 << 12) | (1 << 27) | (1 << 28) | (1 << 29),  # ecx: FMA OSXSAVE AVX F16C
    (7, 1): (1 << 4) | (1 << 5) | (1 << 11) | (1 << 16) | (1 << 17) | (1 << 21)
    | (0xF << 26) | (1 << 30) | (1 << 31),  # ebx: HLE AVX2 RTM AVX512*
    (7, 2): (1 << 1) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
    | (1 << 14),  # ecx: AVX512_VBMI(2) GFNI VAES VPCLMULQDQ VNNI BITALG VPOPCNTDQ
    (7, 3): (1 << 2) | (1 << 3) | (1 << 8) | (1 << 11) | (1 << 22) | (1 << 23) | (1 << 24)
    | (1 << 25),  # edx: AVX512_4* VP2INTERSECT RTM_ALWAYS_ABORT AMX* AVX512_FP16
}


def _cpuid_fix(function: int, index: int, regs: list[int]) -> None:
    if function == 7 and index == 1:
        regs[0] &= ~((1 << 4) | (1 << 5))  # eax: AVX_VNNI AVX512_BF16
        return
    if function == 7 and index != 0:
        return
    for (fn, reg), mask in _HIDE.items():
        if fn == function:
            regs[reg] &= ~mask
    if function == 0xD:
        regs[:] = [0, 0, 0, 0] if index > 1 else [regs[0] & 3, regs[1], regs[2] & 3, 0]


def _close_vm(vm: K.Vm, ticker: _Ticker) -> None:
    ticker.closed = True
    vm.close()


def _array(values: list[int]) -> memoryview:
    import array

    return memoryview(array.array("Q", values))


def entry_path() -> str:
    """The syscall entry path this host gets, "lstar" or "trampoline" (probed once per
    process with a throwaway VM: about 5 ms)."""
    from twaron.mm.physmem import PhysMem

    if "entry" not in _probe_cache:
        p = KvmPlatform(PhysMem(1 << 20), lambda *a: None)
        _probe_cache["entry"] = p.entry
        p.close()
    return str(_probe_cache["entry"])
