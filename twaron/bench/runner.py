"""`twaron bench`: the workload benchmarks, natively and inside twaron, side by side.

One static program (bench.c) runs each workload. Natively it runs chrooted into a directory
with twaron's default root layout (so /bin/sh, /bin/true, grep and sed are the same BusyBox on
both sides), as pid 1 of its own pid namespace with a tmpfs on /tmp; inside twaron it runs as
pid 1 of a freshly booted kernel. A round runs every workload once natively and once in
twaron, one after the other; several rounds alternate; each figure is the median over rounds
of the program's own measurement (clock_gettime(CLOCK_MONOTONIC) around its timed loop).
"""

from __future__ import annotations

import json
import os
import platform as pyplatform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twaron.bench.build import build

GUEST_BENCH = "/bench"
NATIVE_ENV = {"PATH": "/bin:/sbin:/usr/bin:/usr/sbin", "HOME": "/root"}
# Kevlar's classes of the ratio kernel/Linux.
CLASSES = ((0.90, "faster"), (1.00, "OK"), (1.10, "marginal"))
PROCESS_WORKLOADS = ("fork_exit", "exec_true", "shell_noop", "pipe_grep", "sed_pipeline",
                     "sort_uniq", "tar_extract")  # fmt: skip


# Throughput workloads: bytes moved per iteration (the table and the JSON add MB/s).
BYTES_PER_ITERATION = {"unix_stream": 65536, "tcp_loopback": 65536}


def mb_per_s(name: str, us: float | None) -> float | None:
    """MB/s (10^6 bytes a second) of a throughput workload at `us` per iteration."""
    size = BYTES_PER_ITERATION.get(name)
    return size / us if size and us else None


def classify(ratio: float) -> str:
    for limit, name in CLASSES:
        if ratio <= limit:
            return name
    return "slower"


@dataclass
class Sample:
    """One run of one workload on one side."""

    ok: bool
    iterations: int = 0
    total_ns: int = 0
    error: str = ""

    @property
    def per_iter_ns(self) -> float:
        return self.total_ns / self.iterations if self.iterations else 0.0


def parse_output(name: str, returncode: int, stdout: bytes, stderr: bytes) -> Sample:
    """A Sample from the program's output: its BENCH line, else the reason it failed."""
    text = stdout.decode("utf-8", "replace")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "BENCH_FAIL" and parts[1] == name:
            return Sample(False, error=" ".join(parts[2:]) + _tail(stderr))
        if len(parts) == 5 and parts[0] == "BENCH" and parts[1] == name:
            if returncode != 0:
                return Sample(False, error=f"exit status {returncode} after timing" + _tail(stderr))
            return Sample(True, int(parts[2]), int(parts[3]))
    return Sample(False, error=f"no result (exit status {returncode})" + _tail(stderr))


def _tail(stderr: bytes, n: int = 300) -> str:
    s = stderr.decode("utf-8", "replace").strip()
    return f": {s[-n:]}" if s else ""


def bench_args(name: str, quick: bool, iterations: int | None) -> list[str]:
    args = [GUEST_BENCH] + (["-q"] if quick else []) + [name]
    return args + ([str(iterations)] if iterations else [])


def workload_table(binary: Path) -> list[tuple[str, int, int]]:
    """(name, full iterations, quick iterations) in the program's order (`bench list`)."""
    out = subprocess.run([str(binary), "list"], capture_output=True, check=True, timeout=30)
    rows = []
    for line in out.stdout.decode().splitlines():
        name, full, quick = line.split()
        rows.append((name, int(full), int(quick)))
    return rows


# --------------------------------------------------------------------------- the two sides


class NativeSide:
    """A chroot with twaron's root layout and the benchmark program at /bench."""

    def __init__(self, binary: Path) -> None:
        from twaron.native import prepare_root

        self.dir = Path(tempfile.mkdtemp(prefix="twaron-bench-"))
        self.root = self.dir / "root"
        prepare_root(self.root, {GUEST_BENCH: binary})

    def run(self, name: str, quick: bool, iterations: int | None, timeout: float) -> Sample:
        from twaron.native import run_chrooted

        try:
            r = run_chrooted(self.root, bench_args(name, quick, iterations), env=NATIVE_ENV,
                             timeout=timeout, tmpfs_tmp=True)  # fmt: skip
        except subprocess.TimeoutExpired:
            return Sample(False, error=f"timed out after {timeout:g} s")
        except OSError as e:
            return Sample(False, error=f"cannot run natively: {e}")
        return parse_output(name, r.returncode, r.stdout, r.stderr)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class TwaronSide:
    """A fresh kernel per run (twaron.run), the benchmark program added as /bench."""

    def __init__(self, binary: Path, platform: str) -> None:
        self.binary = binary
        self.platform = platform

    def run(self, name: str, quick: bool, iterations: int | None, timeout: float) -> Sample:
        import twaron

        try:
            r = twaron.run(bench_args(name, quick, iterations),
                           files={GUEST_BENCH: str(self.binary)}, platform=self.platform,
                           timeout=timeout)  # fmt: skip
        except Exception as e:  # noqa: BLE001 - a kernel that cannot boot fails the workload
            return Sample(False, error=f"twaron: {type(e).__name__}: {e}")
        if r.oopses:
            first = r.oopses[0].splitlines()[0] if r.oopses[0] else "oops"
            return Sample(False, error=f"kernel oops: {first}")
        return parse_output(name, r.returncode, r.stdout, r.stderr)


# --------------------------------------------------------------------------- results


@dataclass
class WorkloadResult:
    name: str
    iterations: int
    native: list[Sample] = field(default_factory=list)
    twaron: list[Sample] = field(default_factory=list)
    native_skipped: str = ""  # why there is no native side

    @property
    def error(self) -> str:
        for side, samples in (("native", self.native), ("twaron", self.twaron)):
            for s in samples:
                if not s.ok:
                    return f"{side}: {s.error}"
        return ""

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.twaron) and (bool(self.native) or
                                                          bool(self.native_skipped))

    @staticmethod
    def _median_us(samples: list[Sample]) -> float | None:
        good = [s.per_iter_ns for s in samples if s.ok]
        return statistics.median(good) / 1000.0 if good and len(good) == len(samples) else None

    @property
    def native_us(self) -> float | None:
        return self._median_us(self.native) if self.ok else None

    @property
    def twaron_us(self) -> float | None:
        return self._median_us(self.twaron) if self.ok else None

    @property
    def ratio(self) -> float | None:
        n, t = self.native_us, self.twaron_us
        return t / n if n and t is not None else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "native_us": _round(self.native_us),
            "twaron_us": _round(self.twaron_us),
            "ratio": _round(self.ratio, 4),
            "iterations": self.iterations,
            "ok": self.ok,
            "class": classify(self.ratio) if self.ratio is not None else None,
            "rounds": len(self.twaron),
            "native_rounds_us": [_round(s.per_iter_ns / 1000) for s in self.native if s.ok],
            "twaron_rounds_us": [_round(s.per_iter_ns / 1000) for s in self.twaron if s.ok],
        }
        if self.name in BYTES_PER_ITERATION:
            d["native_mb_s"] = _round(mb_per_s(self.name, self.native_us), 1)
            d["twaron_mb_s"] = _round(mb_per_s(self.name, self.twaron_us), 1)
        if self.error:
            d["error"] = self.error
        if self.native_skipped:
            d["native_skipped"] = self.native_skipped
        return d


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


@dataclass
class BenchReport:
    platform: str
    quick: bool
    rounds: int
    results: list[WorkloadResult]
    host: dict[str, Any]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "host": self.host,
            "quick": self.quick,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 1),
            "workloads": {r.name: r.to_dict() for r in self.results},
        }

    def write_json(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")


def host_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": pyplatform.node(),
        "kernel": pyplatform.release(),
        "machine": pyplatform.machine(),
        "cpus": os.cpu_count(),
        "python": pyplatform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import unicorn

        info["unicorn"] = unicorn.__version__
    except Exception:  # noqa: BLE001
        pass
    try:
        out = subprocess.run(["/bin/busybox"], capture_output=True, timeout=10)
        info["busybox"] = out.stdout.decode(errors="replace").splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info


def resolve_platform(name: str) -> str:
    if name != "auto":
        return name
    from twaron.platform import available

    names = available()
    return names[0] if names else "unicorn"


# --------------------------------------------------------------------------- the run


Progress = Callable[[str], None]


def run_bench(workloads: Sequence[str] | None = None, *, quick: bool = False,
              iterations: int | None = None, rounds: int | None = None,
              platform: str = "auto", timeout: float | None = None,
              native: bool = True, progress: Progress | None = None,
              binary: Path | None = None) -> BenchReport:  # fmt: skip
    """Run the workloads (all by default), alternating native and twaron runs per round.

    progress(text) is called before each run (a label like "exec_true twaron 2/3").
    """
    started = time.monotonic()
    binary = binary or build()
    table = workload_table(binary)
    known = {name: (full, q) for name, full, q in table}
    names = list(workloads) if workloads else [name for name, _, _ in table]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown workload(s): {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")  # fmt: skip
    if rounds is None:
        rounds = 3 if quick else 5
    if timeout is None:
        timeout = 300.0 if quick else 1200.0
    plat = resolve_platform(platform)
    results = [
        WorkloadResult(n, iterations or (known[n][1] if quick else known[n][0])) for n in names
    ]
    native_side: NativeSide | None = None
    why_not = ""
    if native:
        from twaron.native import native_possible

        possible, why_not = native_possible()
        if possible:
            native_side = NativeSide(binary)
    else:
        why_not = "native side not requested"
    twaron_side = TwaronSide(binary, platform)
    try:
        for rnd in range(rounds):
            for res in results:
                if res.error:
                    continue  # a failed workload is reported as failed, never timed again
                # Alternate which side goes first, so neither always runs on a warmer machine.
                order = ("native", "twaron") if rnd % 2 == 0 else ("twaron", "native")
                for side in order:
                    if progress:
                        progress(f"{res.name} {side} {rnd + 1}/{rounds}")
                    if side == "native":
                        if native_side is None:
                            res.native_skipped = why_not
                            continue
                        res.native.append(native_side.run(res.name, quick, iterations, timeout))
                    else:
                        res.twaron.append(twaron_side.run(res.name, quick, iterations, timeout))
                    if res.error:
                        break
    finally:
        if native_side is not None:
            native_side.close()
    return BenchReport(plat, quick, rounds, results, host_info(), time.monotonic() - started)


# --------------------------------------------------------------------------- presentation


def render_table(report: BenchReport) -> Any:
    from rich.table import Table

    title = (f"twaron bench ({report.platform}{', quick' if report.quick else ''}): "
             f"median of {report.rounds} rounds, per iteration")  # fmt: skip
    t = Table(title=title)
    t.add_column("Workload")
    t.add_column("Iterations", justify="right")
    t.add_column("Native us", justify="right")
    t.add_column("twaron us", justify="right")
    t.add_column("Ratio", justify="right")
    t.add_column("Class")
    style = {"faster": "green", "OK": "green", "marginal": "yellow", "slower": "red"}
    for r in report.results:
        if not r.ok:
            t.add_row(r.name, str(r.iterations), "-", "-", "-", f"[red]FAILED[/red] {r.error}")
            continue
        ratio = r.ratio
        klass = classify(ratio) if ratio is not None else "n/a"
        t.add_row(
            _name_with_rate(r), str(r.iterations),
            _fmt_us(r.native_us), _fmt_us(r.twaron_us),
            f"{ratio:.2f}" if ratio is not None else "-",
            f"[{style.get(klass, 'white')}]{klass}[/]",
        )  # fmt: skip
    return t


def _name_with_rate(r: WorkloadResult) -> str:
    """A throughput workload's name with its MB/s (native / twaron)."""
    n, t = mb_per_s(r.name, r.native_us), mb_per_s(r.name, r.twaron_us)
    if t is None:
        return r.name
    return f"{r.name} ({n:,.0f} / {t:,.1f} MB/s)" if n else f"{r.name} ({t:,.1f} MB/s)"


def _fmt_us(us: float | None) -> str:
    if us is None:
        return "-"
    return f"{us:,.3f}" if us < 10 else f"{us:,.1f}" if us < 1000 else f"{us:,.0f}"


def markdown_table(report: BenchReport) -> str:
    """The table as Markdown (for the README)."""
    lines = ["| workload | iterations | native us | twaron us | ratio | class |",
             "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in report.results:
        if not r.ok:
            lines.append(f"| {r.name} | {r.iterations} | - | - | - | FAILED |")
            continue
        ratio = r.ratio
        lines.append(
            f"| {r.name} | {r.iterations} | {_fmt_us(r.native_us)} | {_fmt_us(r.twaron_us)} | "
            + (f"{ratio:.2f} | {classify(ratio)} |" if ratio is not None else "- | n/a |")
        )
    return "\n".join(lines)


def plot(report: BenchReport, path: str) -> None:
    """A bar per workload: its ratio twaron/native, on a log scale, with a line at 1.0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(r.name, r.ratio) for r in report.results if r.ok and r.ratio is not None]
    colors = {"faster": "#2e7d32", "OK": "#66bb6a", "marginal": "#f9a825", "slower": "#c62828"}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(rows) + 2), 4.5))
    names = [n for n, _ in rows]
    ratios = [x for _, x in rows]
    ax.bar(names, ratios, color=[colors[classify(x)] for x in ratios])
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--", label="native (1.0)")
    if ratios and max(ratios) / max(min(ratios), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_ylabel("twaron / native (lower is better)")
    ax.set_title(f"twaron ({report.platform}) vs native Linux, median of {report.rounds} rounds")
    ax.tick_params(axis="x", labelrotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    for i, x in enumerate(ratios):
        ax.annotate(f"{x:.2f}", (i, x), ha="center", va="bottom", fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None, *, args: Any = None) -> int:
    """The `twaron bench` command (args: the parsed namespace from twaron.cli)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from twaron.bench.build import BuildError

    out = Console()
    err = Console(stderr=True)
    try:
        binary = build()
        names = list(args.workloads) or [n for n, _, _ in workload_table(binary)]
    except (BuildError, OSError, subprocess.SubprocessError) as e:
        err.print(f"twaron bench: {e}")
        return 1
    rounds = args.rounds or (3 if args.quick else 5)
    native = not args.no_native
    total = len(names) * rounds * (2 if native else 1)
    with Progress(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task("", total=total)
        first = [True]

        def progress(label: str) -> None:
            if not first[0]:
                bar.advance(task)
            first[0] = False
            bar.update(task, description=label)

        try:
            report = run_bench(names, quick=args.quick, iterations=args.iterations,
                               rounds=rounds, platform=args.platform, native=native,
                               progress=progress, binary=binary)  # fmt: skip
        except ValueError as e:
            err.print(f"twaron bench: {e}")
            return 2
        bar.advance(task)
    out.print(render_table(report))
    skipped = {r.native_skipped for r in report.results if r.native_skipped}
    for why in skipped:
        err.print(f"[yellow]native side skipped:[/] {why}")
    out.print(f"{report.seconds:.1f} s; every child's exit status checked; "
              f"{'all workloads ok' if report.ok else 'SOME WORKLOADS FAILED'}")  # fmt: skip
    if args.json:
        report.write_json(args.json)
    if args.plot:
        try:
            plot(report, args.plot)
        except ImportError as e:
            err.print(f"twaron bench: --plot needs matplotlib ({e})")
            return 1
    if args.markdown:
        print(markdown_table(report), file=sys.stdout)
    return 0 if report.ok else 1
