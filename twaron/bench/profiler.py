"""`twaron profile`: fork+exec+wait a program N times with the kernel's phase timers on.

The guest parent is the benchmark program's profile mode (`bench profile N WARMUP PROG...`):
it runs WARMUP untimed iterations (the emulator translates code on first use), prints
BENCH_PROFILE_START, runs N timed iterations and prints its own measurement. The console
sees those two lines: the first resets the profiler, the second freezes a snapshot of it, so
the report covers exactly the timed iterations.

Phases come from twaron.profile timers: exec.* in process/execve.py (exec.total around the
whole of sys_execve), fork.* in process/fork.py, and from the kernel while profiling: every
syscall by name (sys.NAME) and by kind (fork, execve, wait, exit, syscall), the guest's own
time (time in Platform.run less the syscalls answered inside it) and page faults.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twaron.profile import PhaseStats, Profiler, format_ns
from twaron.timeline import Timeline

START_MARK = b"BENCH_PROFILE_START\n"
GUEST_BENCH = "/bench"
# The seed post's phases, in the order of the code path (plus open + parse, which the seed
# counts outside its table).
EXEC_PHASES = (  # load (it can fail, leaving the caller as it was), then commit
    "exec.open + parse",
    "exec.new address space",
    "exec.load ELF segments",
    "exec.AT_RANDOM",
    "exec.prefault cached pages",
    "exec.stack alloc + init",
    "exec.close_cloexec + cmdline",
    "exec.de_thread + mm switch",
)
# Phases only some execs have: a dynamic program's interpreter (ld.so).
ALL_EXEC_PHASES = EXEC_PHASES[:3] + ("exec.load interpreter",) + EXEC_PHASES[3:]


@dataclass
class ProfileReport:
    argv: list[str]
    execs: int
    platform: str
    stats: dict[str, PhaseStats]
    window_ns: int  # host time from the reset to the snapshot
    measured_ns: int  # the guest parent's own measurement of its N iterations
    returncode: int
    output: str = ""
    errors: str = ""
    oopses: list[str] = field(default_factory=list)
    # The tiered CPU (auto on a PVM host): each task's time on each tier, whole run
    # (platform/tiered.py TierStats: tid, run_ns, user_ns, exits, moves_up, moves_down).
    tiers: list[dict[str, Any]] = field(default_factory=list)

    # ---- derived figures ----

    def total(self, name: str) -> int:
        st = self.stats.get(name)
        return st.total_ns if st else 0

    def count(self, name: str) -> int:
        st = self.stats.get(name)
        return st.count if st else 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.oopses and self.measured_ns > 0

    @property
    def exec_total_ns(self) -> int:
        return self.total("exec.total")

    @property
    def exec_phase_sum_ns(self) -> int:
        return sum(self.total(p) for p in ALL_EXEC_PHASES)

    @property
    def accounting_error(self) -> float:
        """|sum of the exec phases - exec.total| / exec.total."""
        t = self.exec_total_ns
        return abs(self.exec_phase_sum_ns - t) / t if t else 1.0

    def exec_rows(self) -> list[tuple[str, float, float]]:
        """(phase, average ns per exec, % of exec.total): the seed's table."""
        n, t = self.execs, self.exec_total_ns or 1
        rows = [(p.removeprefix("exec."), self.total(p) / n, 100.0 * self.total(p) / t)
                for p in ALL_EXEC_PHASES if p in self.stats]  # fmt: skip
        phase_sum = self.exec_phase_sum_ns
        rows.append(("sum of phases", phase_sum / n, 100.0 * phase_sum / t))
        rows.append(("exec.total (measured)", self.exec_total_ns / n, 100.0))
        return rows

    def iteration_rows(self) -> list[tuple[str, float, float, float]]:
        """(phase, calls per iteration, average ns per iteration, % of the iteration).

        The top-level rows partition the profiled window: fork, execve, guest code, other
        syscalls, page faults, exit, wait, and what is left (run loop, scheduler, context
        switches). Indented rows are parts of the row above them.
        """
        n = self.execs
        window = self.window_ns or 1
        fork, execve, wait, exit_ = (self.total(k) for k in ("fork", "execve", "wait", "exit"))
        guest, sysc, fault = self.total("guest"), self.total("syscall"), self.total("fault")
        other = self.window_ns - (fork + execve + wait + exit_ + guest + sysc + fault)

        def row(name: str, calls: int, ns: int) -> tuple[str, float, float, float]:
            return (name, calls / n, ns / n, 100.0 * ns / window)

        rows = [
            row("fork (clone syscall)", self.count("fork"), fork),
            row("  do_fork", self.count("fork.do_fork"), self.total("fork.do_fork")),
            row("    mm.fork (page tables, CoW)", self.count("fork.mm.fork"),
                self.total("fork.mm.fork")),
            row("execve syscall", self.count("execve"), execve),
            row("  exec.total (sys_execve)", self.count("exec.total"), self.exec_total_ns),
            row("  argv/envp copy-in + entry", self.count("execve"),
                execve - self.exec_total_ns),
            row("guest code (incl. platform exits)", self.count("platform.run"), guest),
            row("syscalls (other than fork/exec/exit/wait)", self.count("syscall"), sysc),
            row("page faults", self.count("fault"), fault),
            row("exit (exit_group)", self.count("exit"), exit_),
            row("wait (wait4)", self.count("wait"), wait),
            row("run loop, scheduler, switches", 0, other),
            row("profiled window (host clock)", 0, self.window_ns),
            row("measured in the guest", 0, self.measured_ns),
        ]  # fmt: skip
        return rows

    def syscall_rows(self) -> list[tuple[str, int, float]]:
        """(syscall, calls per iteration, total ns per iteration), most expensive first."""
        n = self.execs
        rows = [(name[4:], st.count, st.total_ns / n) for name, st in self.stats.items()
                if name.startswith("sys.")]  # fmt: skip
        rows.sort(key=lambda r: -r[2])
        return [(name, count, ns) for name, count, ns in rows]

    def to_dict(self) -> dict[str, Any]:
        n = self.execs
        return {
            "tiers": self.tiers,
            "program": self.argv,
            "execs": n,
            "platform": self.platform,
            "ok": self.ok,
            "measured_iteration_ns": self.measured_ns / n,
            "window_ns": self.window_ns,
            "exec_total_avg_ns": self.exec_total_ns / n,
            "exec_phase_sum_avg_ns": self.exec_phase_sum_ns / n,
            "accounting_error": self.accounting_error,
            "exec_phases": [{"phase": p, "avg_ns": a, "pct_of_exec": pct}
                            for p, a, pct in self.exec_rows()],  # fmt: skip
            "iteration": [{"phase": p.strip(), "calls_per_iteration": c, "avg_ns": a,
                           "pct_of_iteration": pct} for p, c, a, pct in self.iteration_rows()],
            "syscalls": {name: {"calls_per_iteration": c / n, "avg_ns_per_iteration": ns}
                         for name, c, ns in self.syscall_rows()},  # fmt: skip
            "phases": {
                name: {"count": st.count, "total_ns": st.total_ns, "avg_ns": st.avg_ns,
                       "min_ns": st.min_ns, "max_ns": st.max_ns}
                for name, st in self.stats.items()
            },  # fmt: skip
        }


class _Watcher:
    """The guest's stdout: resets the profiler at the start mark, snapshots it at the result."""

    def __init__(self, prof: Profiler) -> None:
        self.prof = prof
        self.buf = bytearray()
        self.started = False
        self.snapshot: dict[str, PhaseStats] | None = None
        self.t_end = 0

    def write(self, data: bytes) -> None:
        self.buf += data
        if not self.started and START_MARK in self.buf:
            self.started = True
            self.prof.reset()
        elif self.started and self.snapshot is None and b"\nBENCH profile " in self.buf:
            self.t_end = self.prof.now()
            self.snapshot = copy.deepcopy(self.prof.stats)


def run_profile(argv: Sequence[str], *, execs: int = 50, warmup: int = 3,
                platform: str = "auto", events: bool = False, timeout: float | None = None,
                add_files: Sequence[tuple[str, str]] = ()
                ) -> tuple[ProfileReport, Profiler]:  # fmt: skip
    """Boot a kernel with profiling on and run `bench profile execs warmup argv...` as pid 1;
    add_files are (host, guest) pairs copied into the guest (a dynamic program's libraries)."""
    from twaron import api
    from twaron.bench.build import build
    from twaron.bench.runner import resolve_platform
    from twaron.config import Config
    from twaron.fs.console import Console

    binary = build()
    config = Config(
        argv=[GUEST_BENCH, "profile", str(execs), str(warmup), *argv],
        platform=platform, add_files=[(str(binary), GUEST_BENCH), *add_files], timeout=timeout,
    )  # fmt: skip
    # --trace-out: the timeline of `twaron run --timeline` (tracks per task, syscalls with
    # their arguments, wake-ups, the CPU track), over the timed execs only
    prof = Timeline() if events else Profiler()
    watcher = _Watcher(prof)
    err = bytearray()
    from twaron.kernel import status_to_exit_code

    kernel = api.boot(config, Console(lambda n: b"", watcher.write, err.extend), profiler=prof)
    rc = api.start(kernel, config)
    if rc is None:
        rc = status_to_exit_code(kernel.run())
    out = watcher.buf.decode("utf-8", "replace")
    measured = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[:2] == ["BENCH", "profile"]:
            measured = int(parts[3])
    stats = watcher.snapshot if watcher.snapshot is not None else prof.stats
    window = (watcher.t_end or prof.now()) - prof.origin_ns
    report = ProfileReport(
        list(argv), execs, resolve_platform(platform), stats, window, measured, rc, out,
        err.decode("utf-8", "replace"), [o.report() for o in kernel.oopses],
        tier_rows(kernel.platform),
    )  # fmt: skip
    return report, prof


def tier_rows(platform: Any) -> list[dict[str, Any]]:
    """Each task's figures on the tiered CPU's two tiers (none on another platform)."""
    stats = getattr(platform, "stats", None)
    if not isinstance(stats, dict):
        return []
    return [{"tid": st.tid, "unicorn_ns": st.run_ns[0], "kvm_ns": st.run_ns[1],
             "unicorn_exits": st.exits[0], "kvm_exits": st.exits[1],
             "translated": st.translated, "moves_up": st.moves_up,
             "moves_down": st.moves_down}
            for st in stats.values()]  # fmt: skip


def render(report: ProfileReport) -> list[Any]:
    """rich renderables: the seed's exec table, the iteration breakdown, the syscalls."""
    from rich.table import Table

    n = report.execs
    prog = " ".join(report.argv)
    t1 = Table(title=f"execve phases: {prog}, average of {n} execs ({report.platform})")
    t1.add_column("Phase")
    t1.add_column("Avg time", justify="right")
    t1.add_column("% of exec", justify="right")
    for name, avg, pct in report.exec_rows():
        style = "bold" if name.startswith(("sum", "exec.total")) else ""
        t1.add_row(name, format_ns(avg), f"{pct:.1f}%", style=style)

    t2 = Table(title=f"one fork+exec+wait iteration (average of {n})")
    t2.add_column("Phase")
    t2.add_column("Calls/iter", justify="right")
    t2.add_column("Avg time", justify="right")
    t2.add_column("% of iteration", justify="right")
    for name, calls, avg, pct in report.iteration_rows():
        last = name.startswith(("profiled", "measured"))
        t2.add_row(name, f"{calls:.1f}" if calls else "", format_ns(avg),
                   "" if last else f"{pct:.1f}%", style="bold" if last else "")  # fmt: skip

    t3 = Table(title="syscalls by name (per iteration)")
    t3.add_column("Syscall")
    t3.add_column("Calls/iter", justify="right")
    t3.add_column("Time/iter", justify="right")
    t3.add_column("Avg per call", justify="right")
    for name, count, ns in report.syscall_rows():
        t3.add_row(name, f"{count / n:.1f}", format_ns(ns), format_ns(ns * n / count))
    tables = [t1, t2, t3]
    if report.tiers:
        tables.append(tier_table(report.tiers))
    return tables


TIER_ROWS_SHOWN = 12


def tier_table(rows: list[dict[str, Any]]) -> Any:
    """The tiered CPU: time in each tier's run() (the syscalls answered there included),
    exits, blocks Unicorn translated (whose time the rule does not count as user code) and
    moves, for the tasks that ran longest and all of them together."""
    from rich.table import Table

    t = Table(title="tiered CPU: time on each tier per task (whole run, warm-up included)")
    for name in ("Task", "Unicorn", "KVM", "Exits U", "Exits K", "Blocks", "Moves U->K",
                 "Moves K->U"):
        t.add_column(name, justify="left" if name == "Task" else "right")

    def add(label: str, r: dict[str, Any], style: str = "") -> None:
        t.add_row(label, format_ns(r["unicorn_ns"]), format_ns(r["kvm_ns"]),
                  str(r["unicorn_exits"]), str(r["kvm_exits"]), str(r.get("translated", 0)),
                  str(r["moves_up"]), str(r["moves_down"]), style=style)  # fmt: skip

    ranked = sorted(rows, key=lambda r: r["unicorn_ns"] + r["kvm_ns"], reverse=True)
    for r in ranked[:TIER_ROWS_SHOWN]:
        add(f"tid {r['tid']}", r)
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "tid"}
    add(f"all {len(rows)} tasks", total, "bold")
    return t


def main(argv: list[str], args: Any) -> int:
    from rich.console import Console

    out, err = Console(), Console(stderr=True)
    from twaron.bench.build import BuildError
    from twaron.platform import PlatformUnavailable

    t = time.monotonic()
    try:
        report, prof = run_profile(argv, execs=args.execs, warmup=args.warmup,
                                   platform=args.platform, events=bool(args.trace_out),
                                   add_files=getattr(args, "add_files", ()))  # fmt: skip
    except (BuildError, PlatformUnavailable) as e:
        err.print(f"twaron profile: {e}")
        return 1
    if not report.ok:
        err.print(f"twaron profile: the run failed (exit status {report.returncode})")
        err.print(report.output + report.errors, markup=False, highlight=False)
        for o in report.oopses:
            err.print(o, markup=False, highlight=False)
        return 1
    for table in render(report):
        out.print(table)
    share = 100 * report.exec_phase_sum_ns / max(report.exec_total_ns, 1)
    out.print(f"exec phases add up to {share:.1f}% of exec.total; {time.monotonic() - t:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.to_dict(), f, indent=2)
            f.write("\n")
    if args.trace_out:
        prof.dump_chrome_trace(args.trace_out)
        out.print(f"timeline: {args.trace_out} (open in https://ui.perfetto.dev)")
    return 0
