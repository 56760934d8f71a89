"""The KVM platform: set-up, the syscall entry probe, faults and exceptions as Linux answers
them, preemption, per-task register and FPU state, and the guest stubs' byte table.

Skipped (saying why) where /dev/kvm is missing or cannot create a VM.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time

import pytest

import twaron
from twaron.platform import available
from twaron.platform.base import kvm_unavailable_reason

pytestmark = [pytest.mark.kvm]

WHY = kvm_unavailable_reason()
needs_kvm = pytest.mark.skipif(bool(WHY), reason=f"KVM unavailable: {WHY}")

SIGILL, SIGTRAP, SIGFPE, SIGSEGV, SIGKILL = 4, 5, 8, 11, 9

# Small static programs (musl-gcc), each doing one thing the kernel must answer as Linux does.
PROGRAMS = {
    "hlt": 'int main(void){ __asm__ volatile("hlt"); puts("survived"); return 0; }',
    "cli": 'int main(void){ __asm__ volatile("cli"); puts("survived"); return 0; }',
    "wrmsr": 'int main(void){ __asm__ volatile("wrmsr" :: "c"(0xC0000082), "a"(0), "d"(0));'
             ' puts("survived"); return 0; }',
    "kernel_read": 'int main(void){ volatile long *p = (long *)0xFFFFFFFFFFE03000UL;'
                   ' printf("%ld\\n", *p); return 0; }',
    "kernel_write": 'int main(void){ volatile long *p = (long *)0xFFFFFFFFFFE02000UL;'
                    ' *p = 1; puts("survived"); return 0; }',
    "noncanonical": 'int main(void){ volatile long *p = (long *)0x8000000000000000UL;'
                    ' printf("%ld\\n", *p); return 0; }',
    "stub_out": 'int main(void){ __asm__ volatile("outb %%al, $0x10" ::: "memory");'
                ' puts("survived"); return 0; }',
    "int3": 'int main(void){ __asm__ volatile("int3"); puts("survived"); return 0; }',
    "ud2": 'int main(void){ __asm__ volatile("ud2"); puts("survived"); return 0; }',
    "divzero": 'int main(int c, char **v){ volatile int z = c - 1; printf("%d\\n", 7 / z);'
               ' return 0; }',
    "segv_handler": textwrap.dedent("""
        #include <signal.h>
        #include <stdlib.h>
        static void h(int s, siginfo_t *i, void *u) {
            printf("sig %d addr %lx\\n", s, (unsigned long)i->si_addr); exit(3); }
        int main(void) {
            struct sigaction sa = {0}; sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO;
            sigaction(SIGSEGV, &sa, 0);
            *(volatile int *)0x1000 = 1; return 0; }
    """),
    # A child that spins forever: the parent must still get the CPU back (preemption).
    "spin_child": textwrap.dedent("""
        #include <signal.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>
        int main(void) {
            pid_t p = fork();
            if (p == 0) { for (;;) __asm__ volatile(""); }
            struct timespec ts = {0, 50 * 1000 * 1000}; nanosleep(&ts, 0);
            kill(p, SIGKILL); int st; waitpid(p, &st, 0);
            printf("child killed by %d\\n", WTERMSIG(st)); return 0; }
    """),
    # A child with a non-canonical stack pointer that exits without touching it (PVM then
    # makes SYSCALL enter ring 0 for real); the parent must go on in ring 3 as before.
    "bad_rsp_child": textwrap.dedent("""
        #include <sys/wait.h>
        int main(void) {
            long r;
            __asm__ volatile("mov %%rsp, %%r12\\n\\tsyscall\\n\\t"
                "test %%rax, %%rax\\n\\tjnz 1f\\n\\t"
                "mov $60, %%eax\\n\\txor %%edi, %%edi\\n\\tsyscall\\n"
                "1:\\n\\tmov %%r12, %%rsp"
                : "=a"(r) : "0"(56L), "D"(17L), "S"(0x87fc774089e33336UL), "d"(0L)
                : "rcx", "r11", "r12", "memory");
            int st; wait(&st);
            volatile double x = 1.5; for (int i = 0; i < 1000; i++) x = x * 1.001;
            printf("child %d parent %.3f\\n", WEXITSTATUS(st), x);
            __asm__ volatile("cli");
            return 0; }
    """),
    # Two processes computing with SSE/x87 at once, preempted in the middle: each must keep
    # its own registers (the FPU state is switched with the task).
    "fpu_pair": textwrap.dedent("""
        #include <sys/wait.h>
        #include <unistd.h>
        static double work(double seed) {
            volatile double acc = seed; long double x = seed;
            for (long i = 1; i < 40000000; i++) { acc = acc * 1.0000001 + 1.0 / i; x += acc; }
            return acc + (double)(x / 1e12L); }
        int main(void) {
            int fd[2]; pipe(fd);
            pid_t p = fork();
            double r = work(p == 0 ? 2.0 : 1.0);
            if (p == 0) { write(fd[1], &r, sizeof r); return 0; }
            double c; read(fd[0], &c, sizeof c); wait(0);
            printf("%.6f %.6f\\n", r, c); return 0; }
    """),
}


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    cc = shutil.which("musl-gcc")
    if cc is None:
        pytest.skip("musl-gcc not found (apt-get install musl-tools)")
    out = tmp_path_factory.mktemp("kvmprogs")
    built = {}
    for name, body in PROGRAMS.items():
        src = out / f"{name}.c"
        src.write_text("#include <stdio.h>\n" + body)
        subprocess.run([cc, "-static", "-O1", "-o", str(out / name), str(src)], check=True)
        built[name] = str(out / name)
    return built


def run_prog(progs, name, platform="kvm", timeout=60):
    return twaron.run(["/prog"], files={"/prog": progs[name]}, platform=platform,
                      timeout=timeout)  # fmt: skip


def test_available_matches_probe():
    names = available()
    assert names[0] in ("unicorn", "kvm", "tiered")
    assert ("kvm" in names) == (not WHY)


@needs_kvm
def test_entry_path_probed():
    from twaron.platform.kvm import entry_path

    assert entry_path() in ("lstar", "trampoline")


@needs_kvm
def test_echo_hello():
    r = twaron.run(["echo", "hello"], platform="kvm", timeout=60)
    assert (r.returncode, r.stdout, r.oopses) == (0, b"hello\n", [])


@needs_kvm
def test_cli_platform_kvm():
    import sys

    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--platform", "kvm", "--",
                        "echo", "hello"], capture_output=True, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello\n"


@needs_kvm
def test_fork_pipes_and_exec():
    cmd = ("cd /tmp && echo data > a && cp a b && x=$(cat b); echo $x; "
           "for i in 1 2 3; do echo $i; done | grep 2; busybox true && echo ok")
    r = twaron.run(["sh", "-c", cmd], platform="kvm", timeout=60)
    assert (r.returncode, r.stdout) == (0, b"data\n2\nok\n")


@pytest.mark.parametrize(
    "name,sig",
    [("hlt", SIGSEGV), ("cli", SIGSEGV), ("wrmsr", SIGSEGV), ("kernel_read", SIGSEGV),
     ("kernel_write", SIGSEGV), ("noncanonical", SIGSEGV), ("stub_out", SIGSEGV),
     ("int3", SIGTRAP), ("ud2", SIGILL), ("divzero", SIGFPE)],
)  # fmt: skip
def test_fault_gets_linux_signal(progs, twaron_platform, name, sig):
    r = run_prog(progs, name, platform=twaron_platform)
    assert r.oopses == []
    assert b"survived" not in r.stdout
    assert r.returncode == -sig, (r.returncode, r.stdout, r.stderr)


def test_bad_stack_child_and_privilege_after(progs, twaron_platform):
    """A child with a non-canonical RSP exits; the parent still computes in ring 3 (cli is
    refused with SIGSEGV) and the kernel sees no halt."""
    r = run_prog(progs, "bad_rsp_child", platform=twaron_platform)
    assert r.oopses == []
    if twaron_platform == "unicorn" and r.stdout == b"child 0 parent 4.076\n":
        pytest.xfail("Unicorn's double arithmetic gives 4.0753860473632812 (native and KVM: "
                     "4.075385898353387): single-precision results")
    assert (r.returncode, r.stdout) == (-SIGSEGV, b"child 0 parent 4.075\n")


def test_page_fault_siginfo(progs, twaron_platform):
    r = run_prog(progs, "segv_handler", platform=twaron_platform)
    assert (r.returncode, r.stdout) == (3, b"sig 11 addr 1000\n")


@needs_kvm
def test_spinning_child_is_preempted(progs):
    t = time.monotonic()
    r = run_prog(progs, "spin_child", timeout=30)
    assert (r.returncode, r.stdout) == (0, b"child killed by 9\n")
    assert time.monotonic() - t < 20


@needs_kvm
def test_fpu_state_is_per_task(progs):
    kvm = run_prog(progs, "fpu_pair")
    native = subprocess.run([progs["fpu_pair"]], capture_output=True, timeout=60)
    assert kvm.returncode == 0
    assert kvm.stdout == native.stdout


@needs_kvm
def test_preemption_happens_and_resumes_exactly(progs):
    """The FPU pair runs long enough to be preempted many times; count it."""
    from twaron.platform import kvm

    seen = []
    orig = kvm.KvmPlatform._run

    def counting(self, task):
        ev = orig(self, task)
        seen.append(ev[0])
        return ev

    kvm.KvmPlatform._run = counting
    try:
        r = run_prog(progs, "fpu_pair")
    finally:
        kvm.KvmPlatform._run = orig
    from twaron.platform.base import Event

    assert r.returncode == 0
    assert seen.count(Event.PREEMPT) >= 2


def test_stub_byte_table_matches_assembly():
    if not (shutil.which("as") and shutil.which("objcopy")):
        pytest.skip("binutils (as, objcopy) not installed")
    from twaron.platform.kvm_stubs import build

    assert build.main(["--check"]) == 0


def test_kvm_failure_leaves_unicorn_working(monkeypatch):
    """A KVM that cannot be set up says why and never breaks the Unicorn platform."""
    from twaron.platform import PlatformUnavailable, base

    monkeypatch.setattr(base, "_kvm_reason", ["no /dev/kvm (simulated)"])
    assert available() == ["unicorn"]
    with pytest.raises(PlatformUnavailable, match="simulated"):
        twaron.run(["true"], platform="kvm")
    r = twaron.run(["echo", "still"], platform="auto", timeout=60)
    assert r.stdout == b"still\n"


@needs_kvm
def test_stray_preemption_signal_does_not_fail_the_next_vm():
    """An earlier platform's timer may fire as its last run ends: the signal stays pending
    (blocked outside KVM_RUN) and interrupts the next VM's set-up probe, which must retry."""
    import signal
    import threading

    from twaron.platform import kvm

    # blocked as a KVM platform leaves it in this thread for good (unblocked, a late signal
    # would kill the test process)
    signal.pthread_sigmask(signal.SIG_BLOCK, {kvm.PREEMPT_SIGNAL})
    signal.pthread_kill(threading.get_ident(), kvm.PREEMPT_SIGNAL)
    assert kvm.PREEMPT_SIGNAL in signal.sigpending()
    r = twaron.run(["sh", "-c", "echo ok"], platform="kvm")
    assert (r.returncode, r.stdout, r.oopses) == (0, b"ok\n", [])
    assert kvm.PREEMPT_SIGNAL not in signal.sigpending()
