"""The tiered CPU: a task runs emulated (Unicorn) while it makes many exits, and on KVM while
it runs long stretches of user code, moving between the two at an exit.

Why: on a PVM host every exit from guest ring 3 costs tens of microseconds on KVM and about
three under Unicorn, while Unicorn runs guest code several times slower (README, Platforms).
A syscall- or fault-dense stretch is cheaper emulated, a compute stretch on the hardware.

One kernel, one guest RAM, one set of page tables: both CPUs map the kernel's PhysMem buffer
(Unicorn with mem_map_ptr at physical 0, KVM as memory slot 0 at guest-physical 0) and walk
the same x86-64 tables, so nothing in memory moves. What moves is the CPU state and what each
CPU caches:

- Registers: the general registers, rip, rflags and the FS/GS bases through each platform's
  get_regs/set_regs; x87 and SSE (the FXSAVE image: control, status, tags, ST0-7, MXCSR,
  XMM0-15) converted between Unicorn's registers (physical x87 registers, a full tag word)
  and KVM's XSAVE or kvm_fpu image (stack order, the abridged tag). The parts of the KVM
  image past the legacy area (AVX's upper halves) are kept from the task's last stay on KVM:
  legacy SSE code, all Unicorn runs, leaves them alone, as the hardware would.
- Translated code: a page the guest wrote while on KVM may hold code Unicorn has translated
  (a JIT). KVM logs the guest's writes (KVM_MEM_LOG_DIRTY_PAGES); before Unicorn runs after
  KVM has run, if a page written was ever mapped executable (PhysMem.was_code) Unicorn
  drops its translations (see _sync_code).
- TLBs: the kernel marks an address space `tlb_dirty` when it narrows mappings and the
  platform that runs it next consumes the flag; with two CPUs the other one must hear of it.
  Narrowing consumed by Unicorn for an address space KVM has shadow pages of makes KVM zap
  before it next runs (as the KVM platform itself would have, at once); narrowing consumed by
  KVM for the address space loaded in Unicorn makes Unicorn reload CR3.
- CPUID: Unicorn answers from one table, its own CPU model's leaves with the feature bits
  KVM also offers; KVM is given the same table (KVM_SET_CPUID2). On a PVM host the guest's
  CPUID is not intercepted at all (it reads the host's), so a program must check CPUID
  emulated: every new program (execve) starts on Unicorn, and an instruction Unicorn cannot
  run (#UD) is run again on KVM, where the task then stays.

The rule (README, Platforms, has it with the measured thresholds): a stretch is the time
from resuming a task's user code to its next exit, the syscall handler's time not counted,
nor on Unicorn what translating new blocks took (a one-time cost: cold code is not compute).
Each task keeps an exponentially weighted mean of its stretches on the tier it is on,
restarted when it moves and at execve. What one KVM exit costs is measured when the
platform starts (`exit_ns`). On Unicorn, a mean of UP_EXITS exit costs or more, after
MIN_EVIDENCE_NS of user time there, moves the task to KVM; on KVM (where a stretch includes
the exit's own cost), a mean of DOWN_EXITS or less, after MIN_EXITS stretches, moves it back.
A stretch on Unicorn that has lasted MIN_EVIDENCE_NS without an exit is ended by Unicorn's
timer thread (an exact stop: platform/unicorn.py only_block_start_exits), so a syscall-free
loop is measured, and moved, while it runs.

Timing each stretch costs Python work on every syscall, so on Unicorn a task is first
*coarse*: only its syscalls are counted, and every COARSE_WINDOW_NS the run time per exit,
handlers included (an upper bound of the mean stretch), is looked at; at COARSE_FRACTION of
the threshold or more the task's stretches are timed from there (`timed`), and a timed task
whose mean stays low goes back to coarse.
"""

from __future__ import annotations

import ctypes
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from unicorn import x86_const as X

from twaron.arch.x86_64.constants import X86_TRAP_UD
from twaron.platform import cpuid
from twaron.platform.base import Event, SyscallEntry, Thread, UserRegs
from twaron.platform.kvm import KvmCpu, KvmPlatform
from twaron.platform.kvm import _cpuid_fix as _kvm_cpuid_fix
from twaron.platform.unicorn import UnicornPlatform

if TYPE_CHECKING:
    from twaron.mm.physmem import PhysMem

UC, KVM = 0, 1
TIER_NAMES = ("unicorn", "kvm")

# The rule's thresholds, in units of what one exit costs on KVM (measured when the platform
# starts: `exit_ns`); README, Platforms, has the figures they come from.
UP_EXITS = 2.0  # a mean user stretch on Unicorn of this many KVM exits: to KVM
DOWN_EXITS = 1.3  # a mean stretch on KVM (its exit included) of at most this many: back
KVM_CLAMP_EXITS = 4.0  # a stretch on KVM counts for at most this many (see _stretch)
UC_CLAMP_EXITS = 6.0  # a Unicorn stretch under MIN_EVIDENCE_NS counts in the mean for at
#                       most this many exits: one outlier (measured: 0.4-1.3 ms stretches
#                       of a warm shell loop whose others take 20-200 us) cannot send an
#                       exit-dense task up, while one syscall-free stretch of 5 ms does
FAULT_EXTRA_EXITS = 0.5  # what a fault's exit costs on KVM beyond a syscall's (the IDT path)
ZAP_EXITS = 4  # a zap of KVM's shadow pages counts as this many more bare exits
WEIGHT = 1 / 8  # a stretch's weight in the mean (exponentially weighted, newest first)
# On Unicorn, a narrowing of the task's mappings (a fork's write-protection, an munmap), which
# on KVM would zap its shadow pages, counts as ZAP_EXITS stretches of no user time
ZAP_DECAY = (1 - WEIGHT) ** ZAP_EXITS
MIN_EVIDENCE_NS = 5_000_000  # user time a task runs on Unicorn (since it came there, or
#                              since execve: the first code runs slowly, being translated)
MIN_EXITS = 8  # stretches a task runs on KVM before it may leave it
TRANSLATION_NS = 8_000  # what Unicorn takes to translate one block (measured ~9.7 us with
#                         the counting hook: exec_true 1,137 blocks, sed_pipeline 2,994); a
#                         stretch counts without it, as the same code runs warm next time
TRANSLATION_BOUND = 2  # a stretch under this many times its blocks' cost is no evidence
#                        (translation slows with the host's load more than the figure says)
DEFAULT_EXIT_NS = 40_000  # when the calibration cannot run (a VMX host's ring-0 entry)
CALIBRATION_EXITS = 9
STATS_KEPT = 4096  # tasks whose tier figures stay readable after they end (profile, tests)
# Coarse evidence (see _window): a task on Unicorn whose run time per exit, syscall handlers
# included, stays under COARSE_FRACTION of the rule's threshold cannot be measured as a
# compute task by the rule either, so its stretches are not timed one by one
COARSE_FRACTION = 0.5
COARSE_WINDOW_NS = 1_000_000  # run time a coarse window spans before it is judged
TIMED_SAMPLES = 64  # timed stretches, all short, after which a task goes back to coarse

# Feature words of the CPUID table that hold what both CPUs must be able to run: the bits
# kept are those Unicorn's model and KVM both offer.
FEATURE_WORDS = {(1, 0): (2, 3), (7, 0): (1, 2, 3), (0x8000_0001, 0): (2, 3)}

# Unicorn's x87/SSE registers, read and written in one batch (16 bytes a slot).
FX_REGS = (
    *(X.UC_X86_REG_FP0 + i for i in range(8)),
    X.UC_X86_REG_FPCW, X.UC_X86_REG_FPSW, X.UC_X86_REG_FPTAG, X.UC_X86_REG_MXCSR,
    *(getattr(X, f"UC_X86_REG_XMM{i}") for i in range(16)),
)  # fmt: skip
FX_FP, FX_CW, FX_SW, FX_TAG, FX_MXCSR, FX_XMM = 0, 8, 9, 10, 11, 12
XSTATE_BV = 512  # XSAVE header: which components the image holds
XFEATURE_X87_SSE = 0x3
# struct kvm_fpu offsets (when KVM has no XSAVE): fpr, fcw, fsw, ftwx, xmm, mxcsr
KFPU_FPR, KFPU_FCW, KFPU_FSW, KFPU_FTW, KFPU_XMM, KFPU_MXCSR = 0, 128, 130, 132, 152, 408


class TierStats:
    """One task's life on the two tiers: where it runs, the rule's weighted figures, and the
    counters tests and `twaron profile` read."""

    __slots__ = ("tid", "mean", "samples", "since_ns", "resume_ns", "resume_tb", "run_ns",
                 "user_ns", "exits", "translated", "moves_up", "moves_down", "sticky",
                 "new_image", "timed", "resume_sys", "mark_ns", "mark_sys")  # fmt: skip

    def __init__(self, tid: int = 0) -> None:
        self.tid = tid
        self.mean = 0.0  # stretch between exits on this tier, exponentially weighted mean
        self.samples = 0  # stretches seen on this tier since arrival
        self.since_ns = 0  # user time on this tier since arrival
        self.resume_ns = 0  # host clock when user code last resumed
        self.resume_tb = 0  # Unicorn's count of translated blocks then
        self.run_ns = [0, 0]  # time in each tier's run() (syscalls answered there included)
        self.user_ns = [0, 0]  # user code between exits (KVM: the exits' own cost included)
        self.exits = [0, 0]
        self.translated = 0  # blocks Unicorn translated while this task ran
        self.moves_up = 0  # Unicorn -> KVM
        self.moves_down = 0  # KVM -> Unicorn
        self.sticky = False  # an instruction only KVM runs: the task stays there
        self.new_image = False  # execve: start the program emulated
        # On Unicorn: every stretch timed, or (coarse) only the exits counted
        self.timed = False
        self.resume_sys = 0  # Unicorn's syscall count when user code last resumed
        self.mark_ns = 0  # a coarse run's window: since when, syscalls then
        self.mark_sys = 0

    def restart(self) -> None:
        """Arrival on a tier: the evidence starts over (the tiers' stretches differ)."""
        self.mean = 0.0
        self.samples = 0
        self.since_ns = 0
        self.timed = False


class TieredCpu(KvmCpu):
    """A task's register state on both CPUs: the KVM half is KvmCpu's own fields, the
    Unicorn half a saved Unicorn context (`context`, `reg_read`, `reg_write`, as the
    Unicorn platform uses them). `tier` says which half holds the task's real state."""

    __slots__ = ("uc", "context", "tier", "stats")

    def __init__(self, uc_ctx: Any, tier: int = UC, stats: TierStats | None = None) -> None:
        super().__init__()
        self.uc = uc_ctx
        self.context = uc_ctx.context  # the binding's property, read once (every switch uses it)
        self.tier = tier
        self.stats = stats or TierStats()

    def reg_read(self, reg: int) -> int:
        return self.uc.reg_read(reg)

    def reg_write(self, reg: int, value: int) -> None:
        self.uc.reg_write(reg, value)


class TieredPlatform:
    name = "tiered"
    det = None  # never deterministic (that is Unicorn alone)
    need_resched = False

    def __init__(self, mem: PhysMem, syscall_entry: SyscallEntry) -> None:
        self.mem = mem
        self.uc = UnicornPlatform(mem, syscall_entry)
        self.uc.count_translations()
        self.cpuid_table = self._unicorn_cpuid()
        self._kvm_offer: dict[tuple[int, int], list[int]] = {}
        try:
            self.kvm = KvmPlatform(mem, syscall_entry, cpuid_fix=self._kvm_cpuid)
        except BaseException:
            self.uc.close()
            raise
        self._intersect_cpuid()
        self.uc.answer_cpuid(self.cpuid_table, self.top_leaf)
        self.exit_ns = self._calibrate()
        self.up_ns = UP_EXITS * self.exit_ns
        self.down_ns = DOWN_EXITS * self.exit_ns
        self.kvm_clamp_ns = int(KVM_CLAMP_EXITS * self.exit_ns)
        self.uc_clamp_ns = int(UC_CLAMP_EXITS * self.exit_ns)
        self.fault_extra_ns = int(FAULT_EXTRA_EXITS * self.exit_ns)
        self._zaps = 0
        self.long_ns = int(self.up_ns)  # a Unicorn stretch checked against the CPU clock
        self._cp_wall = time.perf_counter_ns()  # the last check: host clock, thread CPU time
        self._cp_cpu = time.thread_time_ns()
        self.kvm.vm.enable_dirty_log(mem.size)
        self.platforms = (self.uc, self.kvm)
        self.active: Any = self.uc  # the platform that ran last (whose `current` counts)
        self.kvm_ran = False  # KVM ran since Unicorn last synchronised its translations
        self._entry = syscall_entry
        self._others: Callable[[], bool] = lambda: True
        self.coarse_ns = COARSE_FRACTION * self.up_ns
        if self.uc.exact_stops:  # else a stop from outside could repeat a store
            self.uc.stop_wanted = self._long_stretch
        self.uc.on_narrow = partial(self._narrowed, tier=UC)  # KVM hears of it
        self._on_window = self._window  # bound once: every coarse run hands it to Unicorn
        self.syscall_entry = syscall_entry
        # x87/SSE batch buffers for Unicorn
        n = len(FX_REGS)
        self._fx_ids = (ctypes.c_int * n)(*FX_REGS)
        self._fx_buf = ctypes.create_string_buffer(16 * n)
        base = ctypes.addressof(self._fx_buf)
        self._fx_ptrs = (ctypes.c_void_p * n)(*(base + 16 * i for i in range(n)))
        # figures: per task (the last STATS_KEPT tasks), and what moves cost
        # (OrderedDict: a plain dict's first key, after many deletions at the front, is found
        # by skipping over their dummies, a scan on every task's first run)
        self.stats: OrderedDict[int, TierStats] = OrderedDict()
        self.moves = [0, 0]  # moves to Unicorn, to KVM
        self.move_ns = [0, 0]
        self.code_syncs = 0  # dirty logs read
        self.code_pages_written = 0  # pages written on KVM that were code
        self.code_flushes = 0  # times Unicorn dropped its translations for them
        self.code_sync_ns = 0

    # ---- what the kernel sets on its platform ---------------------------------------------

    @property
    def syscall_entry(self) -> SyscallEntry:
        return self._entry

    @syscall_entry.setter
    def syscall_entry(self, entry: SyscallEntry) -> None:
        """The kernel's entry, given to each CPU wrapped with the rule's bookkeeping."""
        self._entry = entry
        self._uc_timed = self._wrap(entry, UC)
        self.uc.syscall_entry = entry
        self.kvm.syscall_entry = self._wrap(entry, KVM)

    @property
    def others_want_cpu(self) -> Callable[[], bool]:
        return self._others

    @others_want_cpu.setter
    def others_want_cpu(self, fn: Callable[[], bool]) -> None:
        self._others = fn
        self.uc.others_want_cpu = fn

    @property
    def current(self) -> Thread | None:
        return self.active.current

    def executed(self) -> int:
        return 0

    def guest_tsc_offset(self) -> int | None:
        """The vDSO reads the TSC itself only if both CPUs read the same counter."""
        a, b = self.uc.guest_tsc_offset(), self.kvm.guest_tsc_offset()
        return a if a == b else None

    # ---- per-task CPU state -------------------------------------------------------------

    def new_cpu(self) -> TieredCpu:
        return TieredCpu(self.uc.new_cpu())

    def fork_cpu(self, parent: Thread) -> TieredCpu:
        """The child: the parent's registers on the parent's tier (the other half blank).
        It starts with no evidence, so a child forked on KVM goes to Unicorn on its first
        run (fork is followed by exec or by exits far more often than by compute)."""
        if parent.cpu.tier == UC:
            return TieredCpu(self.uc.fork_cpu(parent))
        k = self.kvm.fork_cpu(parent)
        child = TieredCpu(self.uc.new_cpu(), KVM)
        child.regs, child.fs_base, child.gs_base, child.fpu = k.regs, k.fs_base, k.gs_base, k.fpu
        child.stats.new_image = True  # to Unicorn on its first run
        return child

    def free_cpu(self, cpu: object) -> None:
        self.uc.free_cpu(cpu)
        self.kvm.free_cpu(cpu)
        self.uc.recycle(cpu.uc)  # type: ignore[attr-defined]

    def get_reg(self, task: Thread, name: str) -> int:
        return self.platforms[task.cpu.tier].get_reg(task, name)

    def set_reg(self, task: Thread, name: str, value: int) -> None:
        self.platforms[task.cpu.tier].set_reg(task, name, value)

    def get_regs(self, task: Thread) -> UserRegs:
        return self.platforms[task.cpu.tier].get_regs(task)

    def set_regs(self, task: Thread, regs: UserRegs) -> None:
        self.platforms[task.cpu.tier].set_regs(task, regs)

    def finish_syscall(self, task: Thread, value: int) -> None:
        self.platforms[task.cpu.tier].finish_syscall(task, value)

    def request_stop(self) -> None:
        self.active.request_stop()

    def flush_tlb(self) -> None:
        self.uc.flush_tlb()
        self.kvm.flush_tlb()

    def flush_code(self) -> None:
        self.uc.flush_code()

    def new_image(self, task: Thread) -> None:
        """execve: the new program starts on Unicorn, where it sees the one CPUID."""
        st = task.cpu.stats
        st.sticky = False
        st.new_image = True
        st.restart()

    def tier_of(self, task: Thread) -> str:
        return TIER_NAMES[task.cpu.tier]

    def close(self) -> None:
        self.uc.close()
        self.kvm.close()

    # ---- running --------------------------------------------------------------------------

    def run(self, task: Thread) -> tuple[Event, int]:
        cpu = task.cpu
        st = cpu.stats
        if not st.tid:
            st.tid = getattr(task, "tid", 0)
            self._keep(st)
        want = self._wanted(cpu)
        if want != cpu.tier:
            self._move(task, want)
        uc = self.uc
        while True:
            tier = cpu.tier
            p = self.platforms[tier]
            # what the CPU about to run must learn of the other one's work
            if task.mm.tlb_dirty:
                self._narrowed(task.mm, tier)
            if tier == UC and self.kvm_ran:
                self._sync_code()
            self.active = p
            coarse = False
            t0 = time.perf_counter_ns()
            if tier == UC:
                coarse = not st.timed
                uc.syscall_entry = self._entry if coarse else self._uc_timed
                st.resume_sys = st.mark_sys = uc.syscalls
                if coarse:
                    uc.on_window = self._on_window
                    uc.window_end = t0 + COARSE_WINDOW_NS
                    st.mark_ns = t0
                else:
                    uc.on_window = None
            st.resume_ns = t0
            st.resume_tb = uc.translations
            event, info = p.run(task)
            t1 = time.perf_counter_ns()
            st.run_ns[tier] += t1 - t0
            if tier == KVM:
                self.kvm_ran = True
            exits = uc.syscalls - st.resume_sys if coarse and not st.timed else 0
            if exits:  # its stretches were not timed: only the exits count
                st.exits[UC] += exits + (event is Event.PAGE_FAULT or event is Event.EXCEPTION)
            elif event is Event.PAGE_FAULT or event is Event.EXCEPTION:
                ns = t1 - st.resume_ns
                if tier == KVM:  # the exit cost beyond a syscall's is not user code either
                    ns = max(0, ns - self.fault_extra_ns)
                else:
                    ns = self._untranslated(st, ns)
                if ns >= 0:
                    self._stretch(st, tier, ns, 1)
            elif event is Event.PREEMPT:
                ns = t1 - st.resume_ns
                if tier == UC:
                    ns = self._untranslated(st, ns)
                if ns >= 0:
                    self._stretch(st, tier, ns, 0)
            if (event is Event.EXCEPTION and info == X86_TRAP_UD and tier == UC
                    and not task.exited):  # fmt: skip
                # Unicorn's CPU model lacks the instruction (AVX, say, after a CPUID read
                # on PVM's KVM): the hardware answers instead, for good.
                st.sticky = True
                self._move(task, KVM)
                continue
            return event, info

    def _narrowed(self, mm: Any, tier: int) -> None:
        """`tier` is consuming mm's tlb_dirty: make the other CPU forget too."""
        if tier == UC:
            if id(mm) in self.kvm.shadowed:
                self.kvm.tlb_flush_pending = True
        elif mm.cr3 == self.uc.cr3:
            self.uc.cr3 = -1  # reloaded (a full TLB flush) before Unicorn runs again

    def _wrap(self, entry: SyscallEntry, tier: int) -> SyscallEntry:
        """The kernel's syscall entry as `tier` calls it: the stretch of user code that
        ended here counts for the rule (the handler's time does not), a narrowing of the
        address space is passed on, and a task the rule wants elsewhere is stopped."""
        if tier == UC:
            return self._wrap_unicorn(entry)
        clock = time.perf_counter_ns
        platform = self.platforms[tier]
        stretch = self._stretch
        narrowed = self._narrowed

        def tiered_entry(task: Any, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                         a5: int) -> int | None:  # fmt: skip
            st = task.cpu.stats
            move = stretch(st, tier, clock() - st.resume_ns, 1)
            ret = entry(task, nr, a0, a1, a2, a3, a4, a5)
            mm = task.mm
            if mm is not None and mm.tlb_dirty:
                narrowed(mm, tier)
            if move:
                platform.request_stop()
            st.resume_ns = clock()
            return ret

        return tiered_entry

    def _wrap_unicorn(self, entry: SyscallEntry) -> SyscallEntry:
        """_wrap for Unicorn, where a syscall costs a few microseconds: the common case
        (a short stretch) is _stretch written out, without a call."""
        clock = time.perf_counter_ns
        uc = self.uc
        stretch = self._stretch
        long_ns = self.long_ns
        up_ns = self.up_ns
        coarse_ns = self.coarse_ns
        untranslated = self._untranslated

        def tiered_entry(task: Any, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                         a5: int) -> int | None:  # fmt: skip
            st = task.cpu.stats
            ns = clock() - st.resume_ns
            if uc.translations != st.resume_tb:
                ns = untranslated(st, ns)
            if ns < 0:  # mostly translation: no evidence either way
                st.exits[0] += 1
                move = False
            elif ns > long_ns or not st.samples:
                move = stretch(st, UC, ns, 1)
            else:
                st.user_ns[0] += ns
                st.exits[0] += 1
                st.since_ns += ns
                st.samples += 1
                mean = st.mean = st.mean + (ns - st.mean) * WEIGHT
                move = mean >= up_ns and st.since_ns >= MIN_EVIDENCE_NS
            ret = entry(task, nr, a0, a1, a2, a3, a4, a5)
            mm = task.mm
            if mm is not None and mm.tlb_dirty:  # KVM hears of it from uc.on_narrow
                st.mean *= ZAP_DECAY
            if move:
                uc.request_stop()
            elif st.samples >= TIMED_SAMPLES and st.mean < coarse_ns:
                st.timed = False  # all short: coarse from the next run
            st.resume_tb = uc.translations
            st.resume_ns = clock()
            return ret

        return tiered_entry

    def _stretch(self, st: TierStats, tier: int, ns: int, exits: int) -> bool:
        """A stretch of user code on `tier` ended (with an exit, or a preemption); whether
        the rule now wants the task on the other tier.

        On a shared host the host's scheduler may stop twaron in the middle of a stretch,
        which then looks long. A long stretch on either tier is checked against this
        thread's CPU time, which counts the guest's time on KVM too (what the host did not
        give us since the last check is taken off: a bound, so a loaded host errs towards
        Unicorn); on Unicorn one under 5 ms counts in the mean for at most UC_CLAMP_EXITS
        exits; on KVM a stretch counts for at most KVM_CLAMP_EXITS exits (a compute
        stretch still counts as long), and a
        zap of the shadow pages during it (a fork, an munmap: every page refaults inside
        the hypervisor then) as ZAP_EXITS bare exits more."""
        zapped = tier == KVM and self.kvm.zaps != self._zaps
        if tier == UC:
            if ns > self.long_ns:
                ns = self._cpu_bound(ns)
        elif zapped:  # the refaults after a zap are the cost of being on KVM, not compute
            ns = min(ns, int(self.exit_ns))
        else:
            if ns > self.down_ns:  # the guest's time on KVM is this thread's CPU time too
                ns = self._cpu_bound(ns)
            if ns > self.kvm_clamp_ns:
                ns = self.kvm_clamp_ns
        st.user_ns[tier] += ns
        st.exits[tier] += exits
        st.since_ns += ns
        if tier == UC and self.uc_clamp_ns < ns < MIN_EVIDENCE_NS:
            ns = self.uc_clamp_ns
        if st.samples:
            st.mean += (ns - st.mean) * WEIGHT
        else:
            st.mean = float(ns)
        st.samples += 1
        if zapped:
            self._zaps = self.kvm.zaps
            for _ in range(ZAP_EXITS):
                st.mean += (self.exit_ns - st.mean) * WEIGHT
        return self._leave(st, tier)

    def _long_stretch(self, quiet_since: int) -> bool:
        """(Asked by Unicorn's timer thread, when the run has made no syscall since
        quiet_since.) Whether the task on Unicorn has run user code for MIN_EVIDENCE_NS
        without an exit: stopped, the stretch is measured and the task moves to KVM now if
        the rule says so, not at its next exit (a syscall-free loop would otherwise stay
        emulated to its end)."""
        task = self.uc.current
        if task is None or self.active is not self.uc:
            return False
        st = task.cpu.stats
        now = time.perf_counter_ns()
        n = self.uc.syscalls
        if st.timed or n == st.resume_sys:  # the stretch's start is known
            return now - st.resume_ns > MIN_EVIDENCE_NS
        # A coarse run that made syscalls: the stretch began before quiet_since (the timer's
        # look at which the syscall count last moved). Stopped, it is timed from then (a
        # lower bound).
        if st.resume_ns < quiet_since and now - quiet_since > MIN_EVIDENCE_NS:
            st.exits[UC] += n - st.resume_sys
            st.resume_ns, st.resume_sys = quiet_since, n
            st.resume_tb = self.uc.translations
            return True
        return False

    def _window(self, now: int) -> None:
        """(From Unicorn's syscall path, every COARSE_WINDOW_NS of a coarse run.) If the run
        time per exit since the last look, syscall handlers included, reaches coarse_ns,
        the task may be computing: from here its stretches are timed one by one."""
        uc = self.uc
        task = uc.current
        if task is None:  # it exited in this syscall
            return
        st = task.cpu.stats
        n = uc.syscalls
        if now - st.mark_ns < self.coarse_ns * (n - st.mark_sys):
            st.mark_ns, st.mark_sys = now, n
            uc.window_end = now + COARSE_WINDOW_NS
            return
        st.exits[UC] += n - st.resume_sys  # the wrapper counts them from here
        st.restart()
        st.timed = True
        uc.syscall_entry = self._uc_timed
        uc.on_window = None
        st.resume_tb = uc.translations
        st.resume_ns = time.perf_counter_ns()

    def _untranslated(self, st: TierStats, ns: int) -> int:
        """A Unicorn stretch without what translating its new blocks cost; -1 when that
        was most of it (the stretch is then no evidence)."""
        blocks = self.uc.translations - st.resume_tb
        st.translated += blocks
        cost = blocks * TRANSLATION_NS
        return ns - cost if ns > TRANSLATION_BOUND * cost else -1

    def _cpu_bound(self, ns: int) -> int:
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        lost = (wall - self._cp_wall) - (cpu - self._cp_cpu)
        self._cp_wall, self._cp_cpu = wall, cpu
        return ns - lost if lost < ns else 0

    def _leave(self, st: TierStats, tier: int) -> bool:
        """Whether the evidence gathered on `tier` says the other tier is cheaper."""
        if tier == UC:
            return st.since_ns >= MIN_EVIDENCE_NS and st.mean >= self.up_ns
        return st.samples >= MIN_EXITS and st.mean <= self.down_ns and not st.sticky

    def _wanted(self, cpu: TieredCpu) -> int:
        """The tier the rule wants the task on now."""
        st = cpu.stats
        if st.new_image:
            st.new_image = False
            return UC
        if st.sticky:
            return KVM
        return 1 - cpu.tier if self._leave(st, cpu.tier) else cpu.tier

    def _keep(self, st: TierStats) -> None:
        stats = self.stats
        stats[st.tid] = st
        if len(stats) > STATS_KEPT:
            stats.popitem(last=False)

    def _calibrate(self) -> float:
        """What one exit costs on KVM here: the median of a few SYSCALLs from ring 3 (the
        start-up probe's stub) through the trampoline and back, as the run loop makes them."""
        kvm = self.kvm
        if kvm.entry != "trampoline":
            return DEFAULT_EXIT_NS
        from twaron.platform import kvm as K  # noqa: PLC0415 - its layout constants
        from twaron.platform import kvm_stubs  # noqa: PLC0415

        rq, probe = kvm.rq, K.USTUB_VA + kvm_stubs.PROBE
        f, q = kvm.frame_q, kvm.q
        q[f], q[f + 1], q[f + 2], q[f + 3], q[f + 4] = (probe, K.USER_CS, K.RFLAGS_FIXED, 0,
                                                        K.USER_DS)  # fmt: skip
        samples = []
        clock = time.perf_counter_ns
        try:
            for _ in range(CALIBRATION_EXITS):
                rq[K.Q_DIRTY] |= K.K.SYNC_REGS
                t0 = clock()
                reason, port = kvm._raw_run()
                samples.append(clock() - t0)
                rq[K.Q_DIRTY] = 0
                if reason != K.K.EXIT_IO or port != kvm_stubs.PORT_TRAMPOLINE:
                    return DEFAULT_EXIT_NS
                rq[K.R_RIP] = probe  # the SYSCALL again, from ring 3
                rq[K.R_RFLAGS] = K.RFLAGS_FIXED
        finally:
            if kvm.rmv[K.B_CS_SEL] & 3 == 3:
                kvm.kmode = False  # in ring 3: the next task's registers are loaded whole
            else:
                kvm._enter_kmode()
        samples.sort()
        return float(samples[len(samples) // 2])

    # ---- moving a task --------------------------------------------------------------------

    def _move(self, task: Thread, to: int) -> None:
        t0 = time.perf_counter_ns()
        cpu = task.cpu
        if to == KVM:
            regs, fx = self._take_from_unicorn(task)
            self._give_to_kvm(task, regs, fx)
            cpu.stats.moves_up += 1
        else:
            regs, fx = self._take_from_kvm(task)
            self._give_to_unicorn(task, regs, fx)
            cpu.stats.moves_down += 1
        cpu.tier = to
        cpu.stats.restart()
        self.moves[to] += 1
        self.move_ns[to] += time.perf_counter_ns() - t0

    def _take_from_unicorn(self, task: Thread) -> tuple[UserRegs, bytearray]:
        uc = self.uc
        if uc.current is not task:
            uc._switch_to(task)
        if uc.pending:
            uc._apply_pending()
        regs = uc.get_regs(task)
        fx = self._unicorn_fx()
        uc.set_current(None)  # Unicorn forgets the task: its state now lives elsewhere
        uc.cr3 = -1
        return regs, fx

    def _give_to_unicorn(self, task: Thread, regs: UserRegs, fx: bytearray) -> None:
        uc = self.uc
        uc._switch_to(task)  # the task's old Unicorn context: segments, CR0/CR4, EFER
        uc.cr3 = -1
        uc.set_regs(task, regs)
        self._set_unicorn_fx(fx)

    def _take_from_kvm(self, task: Thread) -> tuple[UserRegs, bytearray]:
        kvm, cpu = self.kvm, task.cpu
        regs = kvm.get_regs(task)
        if kvm.current is task:
            if cpu.fpu is None or len(cpu.fpu) != kvm._state_size:
                cpu.fpu = bytearray(kvm._state_size)
            kvm._get_state(cpu.fpu)
            kvm.current = None  # KVM forgets the task (its registers are not saved again)
        image = cpu.fpu if cpu.fpu is not None else kvm._default_fpu
        return regs, self._fx_from_kvm(image)

    def _give_to_kvm(self, task: Thread, regs: UserRegs, fx: bytearray) -> None:
        kvm, cpu = self.kvm, task.cpu
        if kvm.current is task:
            kvm.current = None
        kvm.set_regs(task, regs)
        image = bytearray(cpu.fpu if cpu.fpu is not None else kvm._default_fpu)
        self._fx_into_kvm(image, fx)
        cpu.fpu = image

    # ---- x87/SSE: Unicorn's registers <-> the FXSAVE image <-> KVM's image -------------------

    def _unicorn_fx(self) -> bytearray:
        """The live Unicorn CPU's x87/SSE state as a 512-byte FXSAVE image."""
        uc = self.uc
        ctypes.memset(self._fx_buf, 0, len(self._fx_buf))
        n = len(FX_REGS)
        uc._read_batch(uc.uch, self._fx_ids, self._fx_ptrs, n)
        raw = self._fx_buf.raw
        word = lambda i, size: int.from_bytes(raw[16 * i : 16 * i + size], "little")  # noqa: E731
        fsw, tag = word(FX_SW, 2), word(FX_TAG, 2)
        top = (fsw >> 11) & 7
        fx = bytearray(512)
        fx[0:2] = raw[16 * FX_CW : 16 * FX_CW + 2]
        fx[2:4] = fsw.to_bytes(2, "little")
        fx[4] = sum(1 << j for j in range(8) if (tag >> (2 * j)) & 3 != 3)  # abridged, physical
        fx[24:28] = raw[16 * FX_MXCSR : 16 * FX_MXCSR + 4]
        fx[28:32] = (0xFFFF).to_bytes(4, "little")
        for i in range(8):  # FXSAVE holds ST(i) = physical register (TOP + i) mod 8
            j = (top + i) & 7
            fx[32 + 16 * i : 42 + 16 * i] = raw[16 * (FX_FP + j) : 16 * (FX_FP + j) + 10]
        fx[160:416] = raw[16 * FX_XMM : 16 * (FX_XMM + 16)]
        return fx

    def _set_unicorn_fx(self, fx: bytes | bytearray) -> None:
        uc = self.uc
        buf = bytearray(16 * len(FX_REGS))
        fsw = int.from_bytes(fx[2:4], "little")
        top = (fsw >> 11) & 7
        ftw = fx[4]
        tag = sum((0 if ftw >> j & 1 else 3) << (2 * j) for j in range(8))
        buf[16 * FX_CW : 16 * FX_CW + 2] = fx[0:2]
        buf[16 * FX_SW : 16 * FX_SW + 2] = fx[2:4]
        buf[16 * FX_TAG : 16 * FX_TAG + 2] = tag.to_bytes(2, "little")
        buf[16 * FX_MXCSR : 16 * FX_MXCSR + 4] = fx[24:28]
        for i in range(8):
            j = (top + i) & 7
            buf[16 * (FX_FP + j) : 16 * (FX_FP + j) + 10] = fx[32 + 16 * i : 42 + 16 * i]
        buf[16 * FX_XMM : 16 * (FX_XMM + 16)] = fx[160:416]
        ctypes.memmove(self._fx_buf, bytes(buf), len(buf))
        # FPCW, FPSW (TOP) and the tags before the registers they describe
        uc._write_batch(uc.uch, self._fx_ids, self._fx_ptrs, len(FX_REGS))

    def _fx_from_kvm(self, image: bytes | bytearray) -> bytearray:
        if len(image) >= 512 + 64:
            return bytearray(image[:512])  # XSAVE: the legacy area is the FXSAVE image
        fx = bytearray(512)  # struct kvm_fpu
        fx[0:2] = image[KFPU_FCW : KFPU_FCW + 2]
        fx[2:4] = image[KFPU_FSW : KFPU_FSW + 2]
        fx[4] = image[KFPU_FTW]
        fx[24:28] = image[KFPU_MXCSR : KFPU_MXCSR + 4]
        fx[32:160] = image[KFPU_FPR : KFPU_FPR + 128]
        fx[160:416] = image[KFPU_XMM : KFPU_XMM + 256]
        return fx

    def _fx_into_kvm(self, image: bytearray, fx: bytes | bytearray) -> None:
        if len(image) >= 512 + 64:  # XSAVE image: legacy area, and the header says so
            mxcsr_mask = image[28:32]
            image[0:512] = fx
            if any(mxcsr_mask):
                image[28:32] = mxcsr_mask
            bv = int.from_bytes(image[XSTATE_BV : XSTATE_BV + 8], "little") | XFEATURE_X87_SSE
            image[XSTATE_BV : XSTATE_BV + 8] = bv.to_bytes(8, "little")
            return
        image[KFPU_FCW : KFPU_FCW + 2] = fx[0:2]
        image[KFPU_FSW : KFPU_FSW + 2] = fx[2:4]
        image[KFPU_FTW] = fx[4]
        image[KFPU_MXCSR : KFPU_MXCSR + 4] = fx[24:28]
        image[KFPU_FPR : KFPU_FPR + 128] = fx[32:160]
        image[KFPU_XMM : KFPU_XMM + 256] = fx[160:416]

    # ---- translated code --------------------------------------------------------------------

    def _sync_code(self) -> None:
        """If the guest wrote, while on KVM, a page that was ever mapped executable (a JIT's
        page, PhysMem.was_code), Unicorn drops its translations before it runs again.

        All of them: Unicorn's per-range removal (uc_ctl_remove_cache) takes virtual
        addresses of the current address space, and uc_mem_write over the page does not
        invalidate translations of RAM mapped with mem_map_ptr (measured: the stale code
        ran). Pages that were code and are written on KVM are rare (a JIT's), so the full
        flush is too."""
        t0 = time.perf_counter_ns()
        self.kvm_ran = False
        was_code = self.mem.was_code
        pages = 0
        for bitmap in self.kvm.vm.take_dirty():
            if bitmap.count(0) == len(bitmap):  # (in C: the common case, nothing written)
                continue
            for start in range(0, len(bitmap), BLOCK):
                block = bitmap[start : start + BLOCK]
                if block == _ZERO_BLOCK:
                    continue
                for k, byte in enumerate(block):
                    base = (start + k) * 8
                    while byte:
                        low = byte & -byte
                        byte ^= low
                        pages += was_code[base + low.bit_length() - 1]
        if pages:
            self.uc.flush_code()
            self.code_flushes += 1
        self.code_syncs += 1
        self.code_pages_written += pages
        self.code_sync_ns += time.perf_counter_ns() - t0

    # ---- one CPUID ----------------------------------------------------------------------

    def _unicorn_cpuid(self) -> dict[tuple[int, int], list[int]]:
        table, self.top_leaf = cpuid.model_table(self.uc.boot_cpuid)
        return {key: list(words) for key, words in table.items()}

    def _kvm_cpuid(self, function: int, index: int, regs: list[int]) -> None:
        """KVM's CPUID entries become the table's (feature words: both CPUs' bits)."""
        self._kvm_offer[(function, index)] = list(regs)
        mine = self.cpuid_table.get((function, index))
        if mine is None:  # a leaf Unicorn's model lacks (XSAVE's, KVM's own): KVM's rule
            _kvm_cpuid_fix(function, index, regs)
            return
        out = list(mine)
        for r in FEATURE_WORDS.get((function, index), ()):
            out[r] &= regs[r]
        regs[:] = out

    def _intersect_cpuid(self) -> None:
        for key, words in FEATURE_WORDS.items():
            offer = self._kvm_offer.get(key)
            if key in self.cpuid_table and offer is not None:
                for r in words:
                    self.cpuid_table[key][r] &= offer[r]

    def cpuid(self, leaf: int, subleaf: int) -> cpuid.Words:
        return cpuid.lookup(self.cpuid_table, self.top_leaf, leaf, subleaf)


BLOCK = 256  # bytes of the dirty bitmap looked at together (2048 pages)
_ZERO_BLOCK = bytes(BLOCK)
