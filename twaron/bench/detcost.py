"""`twaron bench --deterministic-cost`: what `--deterministic` costs against a normal run of
the Unicorn platform, workload by workload.

Inside a deterministic run the benchmark program's own clock is virtual, so its figures say
nothing about the host: here each side is timed from the host, the CPU time of a whole
in-process `twaron.run`. Boot and warm-up are taken out by timing each workload twice, with
N and with 1 iteration: the cost of an iteration is (T(N) - T(1)) / (N - 1). Rounds alternate which
side goes first; the figure is the median over rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from twaron.bench.runner import GUEST_BENCH, bench_args, parse_output, workload_table


@dataclass
class CostRow:
    name: str
    iterations: int
    normal_us: list[float] = field(default_factory=list)
    deterministic_us: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def normal(self) -> float:
        return statistics.median(self.normal_us)

    @property
    def deterministic(self) -> float:
        return statistics.median(self.deterministic_us)

    @property
    def ratio(self) -> float:
        return self.deterministic / self.normal if self.normal > 0 else float("nan")


def _timed(binary: Path, name: str, quick: bool, iterations: int, det: bool) -> float:
    """CPU seconds of this process for one whole run (RuntimeError if the workload failed):
    the kernel runs in this process, and CPU time is what a host shared with other work
    does not inflate, where wall time would."""
    import twaron

    t0 = time.process_time()
    r = twaron.run(bench_args(name, quick, iterations), files={GUEST_BENCH: str(binary)},
                   platform="unicorn", deterministic=det)  # fmt: skip
    seconds = time.process_time() - t0
    sample = parse_output(name, r.returncode, r.stdout, r.stderr)
    if not sample.ok or r.oopses:
        raise RuntimeError(sample.error or "kernel oops")
    return seconds


def measure(binary: Path, workloads: Sequence[str] = (), *, quick: bool = True,
            rounds: int = 3,
            progress: Callable[[str], None] | None = None) -> list[CostRow]:  # fmt: skip
    table = {name: (full, q) for name, full, q in workload_table(binary)}
    rows = []
    for name in workloads or table:  # default: every workload
        if name not in table:
            raise ValueError(f"unknown workload {name!r} (known: {', '.join(table)})")
        n = table[name][1] if quick else table[name][0]
        rows.append(CostRow(name, max(n, 2)))
    for rnd in range(rounds):
        for row in rows:
            if row.error:
                continue
            for det in (False, True) if rnd % 2 == 0 else (True, False):
                if progress:
                    progress(f"{row.name} {'deterministic' if det else 'normal'} "
                             f"{rnd + 1}/{rounds}")  # fmt: skip
                try:
                    whole = _timed(binary, row.name, quick, row.iterations, det)
                    one = _timed(binary, row.name, quick, 1, det)
                except RuntimeError as e:
                    row.error = f"{'deterministic' if det else 'normal'}: {e}"
                    break
                per = max(whole - one, 0.0) / (row.iterations - 1) * 1e6
                (row.deterministic_us if det else row.normal_us).append(per)
    return rows


def markdown(rows: list[CostRow]) -> str:
    out = ["| workload | iterations | normal us | --deterministic us | ratio |",
           "|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        if r.error:
            out.append(f"| {r.name} | {r.iterations} | FAILED: {r.error} | | |")
        else:
            out.append(f"| {r.name} | {r.iterations} | {_us(r.normal)} | {_us(r.deterministic)} "
                       f"| {r.ratio:.2f} |")  # fmt: skip
    return "\n".join(out) + "\n"


def _us(x: float) -> str:
    """Three significant figures for the small per-call costs, thousands separated above."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def main(workloads: Sequence[str], quick: bool, rounds: int | None) -> int:
    from twaron.bench.build import build

    binary = build()
    rows = measure(binary, workloads, quick=quick, rounds=rounds or 3,
                   progress=lambda text: print(f"  {text}", flush=True))  # fmt: skip
    print(markdown(rows), end="")
    return 1 if any(r.error for r in rows) else 0
