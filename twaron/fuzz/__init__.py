"""`twaron fuzz`: boot a guest whose processes issue random system calls, count what the
kernel answered, and report every oops with the seed and call that reproduce it.

The guest program is fuzzer.c (built with musl-gcc -static at run time, cached by content
hash in .build/fuzz/). It runs as pid 1, a supervisor that keeps PROCS fuzzing children
alive (fork again when one dies, SIGKILL when one stops making progress); each child draws
its calls from its own seeded generator. The host side counts the children's calls here, in
a Kernel subclass that wraps the syscall boundary, and ends the run after CALLS of them, so
the figures do not depend on a guest that may have broken its own bookkeeping.

Reproducing: a child's call sequence depends only on its seed. `--child-seed X --procs 1
--calls I` runs that one child and stops after its I-th call (the one that oopsed).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from twaron.arch.x86_64.errno import ERRNO_NAMES
from twaron.arch.x86_64.unistd import SYSCALL_NAMES, SYSCALL_NUMBERS
from twaron.build import BuildError as BuildError  # re-exported for the CLI
from twaron.build import build_dir, build_static
from twaron.config import Config
from twaron.fuzz import table
from twaron.kernel import Kernel
from twaron.syscalls.entry import SyscallEntry

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "fuzzer.c"  # its table of calls: table.py, from the registry
CFLAGS = ["-static", "-O2", "-fno-stack-protector", "-Wall", "-Wextra",
          "-Wno-unused-parameter"]  # fmt: skip
ANNOUNCE_NR = 0x7F5A  # the fuzzer child's "my seed is" call, answered here
ANNOUNCE_MAGIC = 0x66757A7A
GUEST_PATH = "/fuzzer"
EXECVE = (SYSCALL_NUMBERS["execve"], SYSCALL_NUMBERS["execveat"])
DEFAULT_LIFETIME = 2000


def build() -> Path:
    """The fuzzer binary, built now unless a build of these sources exists. Its table of
    calls is generated from the syscall registry into the build directory, where fuzzer.c's
    #include finds it; as an input, its text is part of the build's cache key."""
    inc = table.write(build_dir("fuzz") / "include")
    return build_static(SOURCE, "fuzzer", "fuzz", cflags=CFLAGS, include=[inc.parent],
                        inputs=[inc])  # fmt: skip


@dataclass
class FuzzOops:
    child_seed: int
    slot: int
    index: int  # the child's counted call that oopsed (1-based)
    call: str
    report: str


@dataclass
class FuzzResult:
    seed: int
    procs: int
    platform: str
    calls: int = 0
    seconds: float = 0.0
    children: int = 0
    results: Counter[str] = field(default_factory=Counter)  # "OK" or the errno name
    syscalls: Counter[int] = field(default_factory=Counter)
    blocked: Counter[int] = field(default_factory=Counter)  # calls that slept (or no rax)
    oopses: list[FuzzOops] = field(default_factory=list)
    other_oopses: list[str] = field(default_factory=list)  # outside a fuzzing child

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


class FuzzEntry(SyscallEntry):
    """The syscall entry of a fuzzing kernel: counts the fuzzing children's calls and stops
    the run after `limit` of them."""

    def __init__(self, kernel: FuzzKernel) -> None:
        super().__init__(kernel)
        self.fuzz = kernel.fuzz
        self.fuzz_limit = kernel.fuzz_limit
        self.fuzz_children: dict[int, list[int]] = {}  # pid -> [seed, slot, calls]
        self.fuzz_oops_ids: set[int] = set()

    def syscall(self, task, nr, a0, a1, a2, a3, a4, a5):  # type: ignore[override]
        pid = task.group.pid
        child = self.fuzz_children.get(pid)
        if child is None:
            if nr == ANNOUNCE_NR and a0 == ANNOUNCE_MAGIC:
                self.fuzz_children[pid] = [a1, a2, 0]
                self.fuzz.children += 1
                return 0
            return super().syscall(task, nr, a0, a1, a2, a3, a4, a5)
        oopses = self.kernel.oopses
        before = len(oopses)
        ret = super().syscall(task, nr, a0, a1, a2, a3, a4, a5)
        oopsed = len(oopses) != before
        fz = self.fuzz
        child[2] += 1
        fz.calls += 1
        fz.syscalls[nr] += 1
        if oopsed:
            fz.results["oops"] += 1
            self.fuzz_oops_ids.add(id(oopses[-1]))
            args = ", ".join(f"{a:#x}" for a in (a0, a1, a2, a3, a4, a5))
            name = SYSCALL_NAMES.get(nr, str(nr))
            fz.oopses.append(FuzzOops(child[0], child[1], child[2], f"{name}({args})",
                                      oopses[-1].report()))  # fmt: skip
        elif ret is None:
            fz.blocked[nr] += 1  # it sleeps (or set its registers itself: exit, sigreturn)
        elif -4096 < ret < 0:
            fz.results[ERRNO_NAMES.get(-ret, str(-ret))] += 1
        else:
            fz.results["OK"] += 1
            if nr in EXECVE:  # the child is some other program now
                self.fuzz_children.pop(pid, None)
        if fz.calls >= self.fuzz_limit:
            self.kernel.shutdown(0)
            self.platform.request_stop()
        return ret


class FuzzKernel(Kernel):
    """A kernel whose syscall entry counts the fuzzing children's calls."""

    syscall_entry_class = FuzzEntry

    def __init__(self, config: Config, console: object, limit: int, result: FuzzResult):
        self.fuzz_limit = limit
        self.fuzz = result
        super().__init__(config, console)


def run(*, seed: int = 0, calls: int = 5000, procs: int = 4, platform: str = "auto",
        memory: int = 256 << 20, lifetime: int = DEFAULT_LIFETIME,
        child_seed: int | None = None, timeout: float | None = None,
        progress: bool = False) -> FuzzResult:  # fmt: skip
    """Fuzz until `calls` calls were made (or timeout seconds passed)."""
    from twaron.fs.console import Console

    binary = build()
    argv = [GUEST_PATH, str(seed), str(procs), str(lifetime)]
    if child_seed is not None:
        argv.append(str(child_seed))
    config = Config(argv=argv, platform=platform, memory=memory, seed=seed, timeout=timeout,
                    add_files=[(str(binary), GUEST_PATH)])  # fmt: skip
    out = bytearray()
    console = Console(lambda n: b"", out.extend, out.extend)
    result = FuzzResult(seed, procs, platform)
    kernel = FuzzKernel(config, console, calls, result)
    result.platform = type(kernel.platform).__name__.lower().replace("platform", "") or platform
    from twaron import api

    t0 = time.monotonic()
    status = api.start(kernel, config)
    if status is None:
        if progress:
            _run_with_progress(kernel, result, t0)
        else:
            kernel.run()
    result.seconds = time.monotonic() - t0
    result.other_oopses = [o.report() for o in kernel.oopses
                           if id(o) not in kernel.syscalls.fuzz_oops_ids]  # fmt: skip
    return result


def _run_with_progress(kernel: FuzzKernel, result: FuzzResult, t0: float) -> None:
    """kernel.run() with a progress line every 10 seconds (on stderr)."""
    import threading

    done = threading.Event()

    def ticker() -> None:
        while not done.wait(10):
            dt = time.monotonic() - t0
            print(f"twaron fuzz: {result.calls} calls in {dt:.0f} s "
                  f"({result.calls / dt:.0f}/s), {len(result.oopses)} oopses",
                  file=sys.stderr, flush=True)  # fmt: skip

    t = threading.Thread(target=ticker, daemon=True)
    t.start()
    try:
        kernel.run()
    finally:
        done.set()


def report(r: FuzzResult, *, calls: int, lifetime: int = DEFAULT_LIFETIME) -> str:
    """The human report; its last line is `calls: N, oopses: M`."""
    lines = [f"twaron fuzz: seed {r.seed}, {r.procs} processes, platform {r.platform}",
             f"{r.calls} calls in {r.seconds:.1f} s ({r.rate:.0f} calls/s), "
             f"{len(r.syscalls)} distinct syscall numbers, {r.children} fuzzing children"]
    lines.append("results:")
    total = sum(r.results.values()) or 1
    for name, n in r.results.most_common():
        lines.append(f"  {name:<16} {n:>9}  {100 * n / total:5.1f}%")
    if r.blocked:
        lines.append("slept in: " + ", ".join(f"{SYSCALL_NAMES.get(nr, nr)} {n}"
                                              for nr, n in r.blocked.most_common(8)))
    for o in r.oopses:
        lines.append(f"oops: {o.call}, child seed {o.child_seed:#x} (slot {o.slot}), "
                     f"its call #{o.index}")
        lines.append(f"  reproduce: twaron fuzz --platform {r.platform} --seed {r.seed} "
                     f"--procs 1 --lifetime {lifetime} --child-seed {o.child_seed:#x} "
                     f"--calls {o.index}")
        lines.extend("  " + line for line in o.report.splitlines())
    for rep in r.other_oopses:
        lines.append("oops outside a fuzzing child:")
        lines.extend("  " + line for line in rep.splitlines())
    lines.append(f"calls: {r.calls}, oopses: {len(r.oopses) + len(r.other_oopses)}")
    return "\n".join(lines)


def main(args) -> int:  # noqa: ANN001 - argparse namespace from cli.py
    result = run(seed=args.seed, calls=args.calls, procs=args.procs, platform=args.platform,
                 memory=args.memory, lifetime=args.lifetime, child_seed=args.child_seed,
                 timeout=args.timeout, progress=args.progress)  # fmt: skip
    print(report(result, calls=args.calls, lifetime=args.lifetime), flush=True)
    return 1 if result.oopses or result.other_oopses else 0
