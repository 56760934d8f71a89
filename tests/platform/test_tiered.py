"""The tiered CPU (`--platform auto` on a PVM host, `tiered` wherever KVM runs): programs
that alternate compute bursts with exit-dense stretches get Linux's results while the kernel
moves them between Unicorn and KVM, and the per-task tier counters show that they moved.

Programs (tests/platform/c/tier_*.c) check themselves and print facts; each runs natively
too, to show the expected output is Linux's. Skipped (saying why) where /dev/kvm is absent
or cannot create a VM: then there is only Unicorn, and `auto` is Unicorn.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from twaron import api
from twaron.build import BuildError, build_static
from twaron.config import Config
from twaron.fs.console import Console
from twaron.platform.base import kvm_unavailable_reason

pytestmark = [pytest.mark.kvm]

WHY = kvm_unavailable_reason()
needs_kvm = pytest.mark.skipif(bool(WHY), reason=f"KVM unavailable: {WHY}")

HERE = Path(__file__).resolve().parent
C_DIR = HERE / "c"
REPO = HERE.parent.parent
CFLAGS = ["-static", "-O1", "-Wall", "-Wno-unused-function", "-Wno-unused-result"]


def build(name: str) -> str:
    try:
        return str(build_static(C_DIR / f"{name}.c", name, "platform", cflags=CFLAGS,
                                include=[C_DIR], inputs=[C_DIR / "tier.h"],
                                out_dir=REPO / ".build" / "platform"))  # fmt: skip
    except BuildError as e:
        pytest.skip(str(e))


# The programs' bursts were sized where a KVM exit cost ~40 us; where one costs more, the
# rule wants longer stretches before a move (UP_EXITS exits' worth), so the bursts grow too.
BASE_CHUNK, BASE_EXIT_NS = 100_000, 40_000


def chunk_env(kernel) -> dict[str, str]:
    exit_ns = getattr(kernel.platform, "exit_ns", BASE_EXIT_NS)
    return {"TIER_CHUNK": str(int(BASE_CHUNK * max(1.0, 1.5 * exit_ns / BASE_EXIT_NS)))}


def run_tiered(name: str, platform: str = "tiered"):
    """Boot a kernel on `platform`, run the program as pid 1; (status, output, kernel)."""
    out = bytearray()
    config = Config(argv=["/prog"], platform=platform, add_files=[(build(name), "/prog")],
                    timeout=300)  # fmt: skip
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    config.env = chunk_env(kernel)
    assert api.start(kernel, config) is None
    status = kernel.run()
    assert kernel.oopses == []
    return status, bytes(out), kernel


def native(name: str) -> bytes:
    return subprocess.run([build(name)], capture_output=True, timeout=120, check=True).stdout


def moves(kernel, tid: int = 1) -> tuple[int, int]:
    st = kernel.platform.stats[tid]
    return st.moves_up, st.moves_down


@needs_kvm
def test_auto_is_tiered_on_pvm():
    from twaron.platform.base import auto_choice
    from twaron.platform.kvm import entry_path

    assert auto_choice() == ("kvm" if entry_path() == "lstar" else "tiered")


@needs_kvm
def test_bursts_and_syscalls_move_and_agree():
    status, out, kernel = run_tiered("tier_burst", platform="auto"
                                     if _auto_is_tiered() else "tiered")  # fmt: skip
    assert (status, out) == (0, native("tier_burst"))
    assert out == b"bursts agree\n"
    up, down = moves(kernel)
    st = kernel.platform.stats[1]
    p = kernel.platform  # what the rule saw, should a loaded host keep it on KVM
    assert up >= 1 and down >= 1, (up, down, p.exit_ns, st.mean, st.samples, st.exits)
    assert st.run_ns[0] > 0 and st.run_ns[1] > 0  # time on each tier


@needs_kvm
def test_jit_code_rewritten_on_one_tier_runs_on_the_other():
    status, out, kernel = run_tiered("tier_jit")
    assert (status, out) == (0, native("tier_jit"))
    assert out == b"jit checks 2400, wrong 0\n"
    up, down = moves(kernel)
    assert up >= 1 and down >= 1, (up, down)
    # the page written on KVM was seen and Unicorn's translations dropped before it ran
    assert kernel.platform.code_flushes >= 1


@needs_kvm
def test_fpu_and_sse_state_survive_moves():
    status, out, kernel = run_tiered("tier_fpu")
    assert (status, out) == (0, native("tier_fpu"))
    assert b"CHANGED" not in out and b"DIFFER" not in out, out
    up, down = moves(kernel)
    assert up >= 1 and down >= 1, (up, down)


@needs_kvm
def test_signals_on_either_tier():
    status, out, kernel = run_tiered("tier_signals")
    assert (status, out) == (0, native("tier_signals"))
    assert out == b"usr1 12, handler value 4095.0, alarms yes, bursts agree\n"
    assert moves(kernel)[0] >= 1


@needs_kvm
def test_fork_exec_threads():
    status, out, kernel = run_tiered("tier_procs")
    assert (status, out) == (0, native("tier_procs"))
    assert out == b"threads 1 1, main 1, child exit 7\n"
    platform = kernel.platform
    assert platform.moves[1] >= 2 and platform.moves[0] >= 1, platform.moves
    assert sum(1 for st in platform.stats.values() if st.moves_up) >= 2  # several tasks moved


@needs_kvm
def test_one_cpuid_on_both_tiers():
    """Unicorn answers CPUID from the table KVM was given: Unicorn's model's leaves with
    only the feature bits KVM offers too (on PVM the hardware answers on KVM; a program
    reads CPUID emulated, at its start, and a #UD on Unicorn is retried on KVM)."""
    from twaron.platform.tiered import FEATURE_WORDS

    _, _, kernel = run_tiered("tier_burst")
    p = kernel.platform
    for key, words in FEATURE_WORDS.items():
        offer = p._kvm_offer.get(key)
        if offer is not None and key in p.cpuid_table:
            for r in words:
                assert p.cpuid_table[key][r] & ~offer[r] == 0, (key, r)
    assert p.cpuid(1, 0)[2] & (1 << 28) == 0  # no AVX: Unicorn cannot run it


@needs_kvm
def test_exit_dense_program_stays_emulated():
    """A shell pipeline (all exits) never goes to KVM; the result is Linux's."""
    import twaron

    r = twaron.run(["sh", "-c", "for i in 1 2 3 4 5; do echo $i; done | grep -c ."],
                   platform="tiered", timeout=120)  # fmt: skip
    assert (r.returncode, r.stdout, r.oopses) == (0, b"5\n", [])


@needs_kvm
def test_shell_loop_of_short_commands_stays_emulated():
    """A shell that forks and waits for 40 short programs makes only short stretches of
    user code once its code is translated; translating it (~10 us a block, the shell's
    first 5 ms) is not evidence of compute, so no task goes to KVM, where each fork would
    zap the shadow pages and each exit cost ~40 us (this loop took 1.7x as long on `auto`
    as on Unicorn before)."""
    out = bytearray()
    loop = "i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done; echo $i"
    config = Config(argv=["/bin/sh", "-c", loop], platform="tiered", timeout=300)
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    assert (kernel.run(), bytes(out), kernel.oopses) == (0, b"40\n", [])
    assert kernel.platform.uc.translations > 0
    # on a quiet host nothing moves at all; a loaded one may stretch a slice or two
    up, down = moves(kernel)
    assert up <= 1 and down == up, (up, down)


@needs_kvm
def test_shell_that_turns_to_forking_comes_back_to_unicorn():
    """A shell loop with no syscalls sends the shell to KVM; when it then forks short
    programs, each fork zaps its shadow pages and the refaults that follow are the cost of
    KVM, not compute: the shell comes back to Unicorn (it stayed on KVM for all its forks)."""
    out = bytearray()
    loop = ("i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; "
            "j=0; while [ $j -lt 40 ]; do /bin/true; j=$((j+1)); done; echo $i $j")
    config = Config(argv=["/bin/sh", "-c", loop], platform="tiered", timeout=300)
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    assert (kernel.run(), bytes(out), kernel.oopses) == (0, b"3000 40\n", [])
    up, down = moves(kernel)
    assert up >= 1 and down >= 1, (up, down)  # it went up, and came back (a loaded host may
    #                                           send it up again: CI saw (2, 1) once)


@needs_kvm
def test_syscall_free_loop_moves_to_kvm_in_the_middle():
    """A loop that makes no syscall for seconds is stopped on Unicorn (exactly: see
    only_block_start_exits) once it has run MIN_EVIDENCE_NS without an exit, and finishes on
    KVM instead of at Unicorn's speed (this awk took 3.4 s on `auto` before, 0.6 s after)."""
    out = bytearray()
    prog = "BEGIN { for (i = 0; i < 300000; i++) s += i % 7; print s }"
    config = Config(argv=["/usr/bin/awk", prog], platform="tiered", timeout=300)
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    assert (kernel.run(), bytes(out), kernel.oopses) == (0, b"899997\n", [])
    assert kernel.platform.uc.exact_stops
    st = kernel.platform.stats[1]
    assert st.moves_up >= 1 and st.run_ns[1] > st.run_ns[0], (st.moves_up, st.run_ns)


def test_translation_is_not_evidence_of_compute():
    """The rule's arithmetic (no KVM needed): a Unicorn stretch counts without ~8 us per
    block translated in it, and one that was mostly translation counts for nothing."""
    from types import SimpleNamespace

    from twaron.platform.tiered import TRANSLATION_NS, TieredPlatform, TierStats

    st = TierStats(1)
    st.resume_tb = 100
    fake = SimpleNamespace(uc=SimpleNamespace(translations=100))
    assert TieredPlatform._untranslated(fake, st, 50_000) == 50_000  # warm: as measured
    fake.uc.translations = 400  # a cold start: 300 blocks in 3 ms
    assert TieredPlatform._untranslated(fake, st, 3_000_000) == -1
    fake.uc.translations = 110  # a compute loop translated once, then run for 50 ms
    assert TieredPlatform._untranslated(fake, st, 50_000_000) == 50_000_000 - 10 * TRANSLATION_NS


def test_coarse_window_times_a_task_only_when_its_exits_are_sparse():
    """The rule's coarse evidence (no KVM needed): a window whose run time per exit, syscall
    handlers included, stays under coarse_ns leaves the task coarse (the kernel's entry,
    nothing timed); one at or over it turns on the timed entry, with the evidence restarted
    and the exits so far counted."""
    from types import SimpleNamespace

    from twaron.platform.tiered import COARSE_WINDOW_NS, UC, TieredPlatform, TierStats

    st = TierStats(1)
    st.mean, st.samples, st.since_ns = 5.0, 3, 7
    timed_entry = object()
    uc = SimpleNamespace(syscalls=0, current=SimpleNamespace(cpu=SimpleNamespace(stats=st)),
                         window_end=0, on_window="coarse", syscall_entry="plain",
                         translations=0)  # fmt: skip
    fake = SimpleNamespace(uc=uc, coarse_ns=100_000, _uc_timed=timed_entry)
    uc.syscalls = 1000  # 1 ms for 1,000 exits: 1 us an exit
    TieredPlatform._window(fake, 1_000_000)
    assert not st.timed and uc.syscall_entry == "plain" and uc.on_window == "coarse"
    assert (st.mark_ns, st.mark_sys, uc.window_end) == (1_000_000, 1000,
                                                         1_000_000 + COARSE_WINDOW_NS)
    uc.syscalls = 1010  # 2 ms for 10 exits: 200 us an exit, over coarse_ns
    TieredPlatform._window(fake, 3_000_000)
    assert st.timed and uc.syscall_entry is timed_entry and uc.on_window is None
    assert (st.mean, st.samples, st.since_ns) == (0.0, 0, 0)
    assert st.exits[UC] == 1010
    uc.current = None  # the task exited in the syscall: nothing to look at
    TieredPlatform._window(fake, 4_000_000)


def _auto_is_tiered() -> bool:
    from twaron.platform.base import auto_choice

    return auto_choice() == "tiered"


@needs_kvm
def test_instruction_unicorn_lacks_runs_on_kvm():
    """AVX (Unicorn's model has none; the host's CPUID, which PVM's KVM shows, has it):
    the #UD on Unicorn sends the task to KVM for good, and a real ud2 is still SIGILL."""
    if b"avx" not in Path("/proc/cpuinfo").read_bytes():
        pytest.skip("the host CPU has no AVX")
    status, out, kernel = run_tiered("tier_avx")
    assert (status, out) == (0, native("tier_avx"))
    assert out == b"avx sum 11 88\nud2: SIGILL\n"
    st = kernel.platform.stats[1]
    assert st.sticky and st.moves_up == 1 and st.moves_down == 0


@needs_kvm
@pytest.mark.parametrize("shim", ["1", "0"])
def test_cpuid_answers_from_the_table(shim, monkeypatch):
    """The guest's CPUID on Unicorn is the table's answer, leaf by leaf (subleaves, leaves
    above the highest, upper register halves zeroed), whether the C hook gives it
    (platform/uc_shim.c) or, without the shim, Python's."""
    monkeypatch.setenv("TWARON_C_HELPERS", shim)
    status, out, kernel = run_tiered("cpuid_dump")
    p = kernel.platform
    assert status == 0 and (p.uc._shim.lib is not None) == (shim == "1")
    lines = out.decode().splitlines()
    assert len(lines) == 21
    for line in lines:
        key, *words = line.split()
        leaf_hex, sub = key.split(".")
        leaf = int(leaf_hex, 16)
        assert [int(w, 16) for w in words] == list(p.cpuid(leaf, int(sub))), line
