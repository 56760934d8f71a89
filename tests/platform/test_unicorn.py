"""The Unicorn platform's stop from outside (the timer thread's forced preemption) is exact
with the pinned Unicorn: only_block_start_exits finds and sets the flag, and a loop of
read-modify-write instructions stopped thousands of times from another thread counts exactly
(Unicorn's own checks after loads and stores repeated a store about one stop in three)."""

from __future__ import annotations

import ctypes
import threading
import time

import pytest
from unicorn import UC_ARCH_X86, UC_MODE_64, Uc
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib

from twaron.mm.physmem import PhysMem
from twaron.platform.unicorn import UnicornPlatform, only_block_start_exits

# add qword [rbx], 1; add [rbx+8], rcx; inc rcx; jmp back to the first add
LOOP = bytes.fromhex("48830301" "48014b08" "48ffc1" "ebf3")
CODE, DATA = 0x1000, 0x10000


def test_the_platform_stops_exactly():
    platform = UnicornPlatform(PhysMem(1 << 24), None)
    try:
        assert platform.exact_stops
    finally:
        platform.close()


def test_stops_from_another_thread_repeat_no_store():
    lib = ctypes.CDLL(uclib._name)
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(CODE, 0x1000)
    uc.mem_write(CODE, LOOP)
    uc.mem_map(DATA, 0x1000)
    uc.reg_write(X.UC_X86_REG_RBX, DATA)
    assert only_block_start_exits(lib, ctypes.cast(uc._uch, ctypes.c_void_p).value)
    done = threading.Event()

    def stopper() -> None:
        while not done.is_set():
            time.sleep(0.0005)
            lib.uc_emu_stop(uc._uch)

    thread = threading.Thread(target=stopper)
    thread.start()
    rip, stops = CODE, 0
    try:
        while stops < 2000:
            uc.emu_start(rip, 0xFFFF_F000)
            rip = uc.reg_read(X.UC_X86_REG_RIP)
            stops += 1
    finally:
        done.set()
        thread.join()
    rcx = uc.reg_read(X.UC_X86_REG_RCX)
    counter = int.from_bytes(uc.mem_read(DATA, 8), "little")
    total = int.from_bytes(uc.mem_read(DATA + 8, 8), "little")
    assert rcx > 0 and counter == rcx and total == rcx * (rcx - 1) // 2, (rcx, counter, total)


def test_syscall_hook_is_in_c_where_a_compiler_and_pythons_headers_are(monkeypatch):
    """platform/uc_shim.c's hook reads the arguments, calls the kernel's entry through
    Python's C API and writes the result (no Python frame and no ctypes callback on the
    way); it is built with the host's cc against the running interpreter's headers."""
    import shutil
    import sysconfig
    from pathlib import Path

    from twaron.platform.unicorn import W

    monkeypatch.setenv("TWARON_C_HELPERS", "1")
    platform = UnicornPlatform(PhysMem(1 << 24), None)
    try:
        headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
        if (shutil.which("cc") or shutil.which("gcc")) and headers.exists():
            assert platform._shim.lib is not None
            assert platform._exc_live is None or platform._shim.words[W["exception"]]
    finally:
        platform.close()


@pytest.mark.allow_oops
@pytest.mark.parametrize("shim", ["1", "0"])
def test_a_failing_syscall_entry_is_an_oops_not_a_crash(monkeypatch, shim):
    """An exception out of the kernel's entry (a platform bug) stops the run and is raised
    from run(), from the C hook as from Python's; the task can run on after it."""
    monkeypatch.setenv("TWARON_C_HELPERS", shim)
    import twaron
    from twaron.platform.unicorn import UnicornPlatform as P

    calls = []
    real = P.syscall_entry.fset

    def failing(self, entry):
        def wrapped(task, nr, *args):
            if nr == 39 and not calls:  # the first getpid
                calls.append(nr)
                raise RuntimeError("entry failed")
            return entry(task, nr, *args)

        real(self, wrapped)

    monkeypatch.setattr(P, "syscall_entry", property(P.syscall_entry.fget, failing))
    got = twaron.run(["/bin/busybox", "sh", "-c", "echo $$"], platform="unicorn")
    assert calls == [39]
    assert got.oopses and "entry failed" in got.oopses[0], got


def test_syscall_registers_with_and_without_the_shim(build_c, monkeypatch):
    """What SYSCALL leaves in rax, rcx and r11 (RFLAGS, flags computed lazily included) is
    the same whether the C shim or Python reads RFLAGS (contract syscall_regs)."""
    import harness  # tests/contract (conftest.py puts it on the path)

    prog = next(p for p in harness.c_programs() if p.name == "syscall_regs")
    binary = build_c(prog)
    outputs = []
    for shim in ("1", "0"):
        monkeypatch.setenv("TWARON_C_HELPERS", shim)
        got = harness.run_twaron(["/prog"], files={harness.GUEST_PROG: binary},
                                 platform="unicorn")  # fmt: skip
        assert got.returncode == 0 and b": rax is the pid yes" in got.stdout, got
        assert b"no" not in got.stdout.replace(b"is the pid yes", b""), got.stdout
        outputs.append(got.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("shim", ["1", "0"])
def test_timer_preempts_a_loop_with_and_without_the_shim(build_c, monkeypatch, shim):
    """The timer thread waits in C where the shim is (twaron_tick_wait), in Python where it
    is not; either way a loop that makes no syscall is stopped once another process wants
    the CPU, exactly (contract preempt_exact: its parent only runs when the loop is)."""
    import harness  # tests/contract (conftest.py puts it on the path)

    monkeypatch.setenv("TWARON_C_HELPERS", shim)
    prog = next(p for p in harness.c_programs() if p.name == "preempt_exact")
    got = harness.run_twaron(["/prog"], files={harness.GUEST_PROG: build_c(prog)},
                             platform="unicorn")  # fmt: skip
    expected = harness.load_expected("c")["preempt_exact"]
    assert (got.returncode, got.stdout.decode()) == (expected["exit"], expected["stdout"])


def _code_buffers() -> set[int]:
    """Start addresses of the host mappings that are Unicorn translation buffers (rwx, the
    size the platform asks for)."""
    from twaron.platform.unicorn import TCG_BUFFER_SIZE

    out = set()
    with open("/proc/self/maps") as f:
        for line in f:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if perms.startswith("rwx") and hi - lo >= TCG_BUFFER_SIZE - (1 << 21):
                out.add(lo)
    return out


def test_translation_buffer_stays_within_reach_of_the_helpers():
    """Generated code calls QEMU's helpers directly only within 2 GiB of them: the
    translation buffer of every engine in a process (not just the first, whose guest code
    was ~40% faster with Unicorn's 1 GiB default) lies that close to libunicorn."""
    import gc

    from twaron.platform import unicorn as unicorn_platform

    lib = min(int(line.split("-")[0], 16) for line in open("/proc/self/maps")
              if "libunicorn" in line)  # fmt: skip
    gc.collect()  # the kernels of the tests before
    for _ in range(3):
        before = _code_buffers()
        platform = UnicornPlatform(PhysMem(512 << 20), None)
        new = _code_buffers() - before
        platform.close()
        del platform
        gc.collect()
        assert len(new) == 1, new
        (start,) = new
        slots = unicorn_platform._code_slots
        assert abs(lib - start) < (2 << 30) - (256 << 20), (
            hex(lib), hex(start), [hex(a) for a in slots.free], slots.pending)
