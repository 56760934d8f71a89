"""Phase timers that any kernel path can use; when off they cost one attribute check.

The seed post found its 50 us problem by timing execve phase by phase and printing averages
(phase, avg time, % of exec). This module gives every path the same tool.

A kernel has a profiler when it was booted with one (`twaron profile`: Kernel(...,
profiler=Profiler(...))), else kernel.profiler is None. Call-site pattern (hot paths: execve,
fork, the syscall loop)::

    prof = task.kernel.profiler
    if prof:
        t0 = prof.now()
    ...
    if prof:
        t0 = prof.phase("exec.load_elf_segments", t0)   # records [t0, now), returns now
    ...
    if prof:
        prof.phase("exec.total", t_start)

With profiling off each site is an attribute load plus a truth test: no call, no clock read,
no allocation. Colder code may use `with prof.span("name"):`.

Phases accumulate total ns, count, min and max. When `events=True` every measured interval is
also kept (up to `max_events`) for a Chrome-trace/Perfetto timeline.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

Clock = Callable[[], int]

@dataclass(slots=True)
class PhaseStats:
    """Accumulated time of one named phase."""

    count: int = 0
    total_ns: int = 0
    min_ns: int = 0
    max_ns: int = 0

    @property
    def avg_ns(self) -> float:
        return self.total_ns / self.count if self.count else 0.0


class Profiler:
    """Accumulating named phases, optionally with a timeline of individual events."""

    def __init__(
        self,
        clock: Clock = time.perf_counter_ns,
        events: bool = False,
        max_events: int = 1_000_000,
        pid: int | None = None,
    ) -> None:
        self.clock = clock
        # `now` is the bound clock itself, so `prof.now()` is one C call with the real clock.
        self.now: Clock = clock
        self.stats: dict[str, PhaseStats] = {}
        self.record_events = events
        self.max_events = max_events
        # (name, start_ns, dur_ns, tid): tuples, because this list can hold a million entries.
        self.events: list[tuple[str, int, int, int]] = []
        self.dropped_events = 0
        self.pid = os.getpid() if pid is None else pid
        self.origin_ns = clock()

    def __bool__(self) -> bool:
        # Call sites test `if prof:`; an enabled profiler must be truthy even when empty.
        return True

    # --- recording ---

    def add(self, name: str, start_ns: int, dur_ns: int, tid: int = 0) -> None:
        """Account one interval of `dur_ns` that began at `start_ns` to phase `name`."""
        self.tally(name, dur_ns)
        if self.record_events:
            if len(self.events) < self.max_events:
                self.events.append((name, start_ns, dur_ns, tid))
            else:
                self.dropped_events += 1

    def tally(self, name: str, dur_ns: int) -> None:
        """Account `dur_ns` to phase `name` in the statistics only (no timeline event): for
        totals derived from intervals that are already on the timeline under other names."""
        st = self.stats.get(name)
        if st is None:
            self.stats[name] = PhaseStats(1, dur_ns, dur_ns, dur_ns)
        else:
            st.count += 1
            st.total_ns += dur_ns
            if dur_ns < st.min_ns:
                st.min_ns = dur_ns
            if dur_ns > st.max_ns:
                st.max_ns = dur_ns

    def phase(self, name: str, t0: int, tid: int = 0) -> int:
        """Close the phase that began at `t0`; returns now, the start of the next phase."""
        t1 = self.clock()
        self.add(name, t0, t1 - t0, tid)
        return t1

    def span(self, name: str, tid: int = 0) -> _Span:
        """`with prof.span("name"):` times the block."""
        return _Span(self, name, tid)

    def reset(self) -> None:
        self.stats.clear()
        self.events.clear()
        self.dropped_events = 0
        self.origin_ns = self.clock()

    # --- reports ---

    def rows(
        self,
        prefix: str = "",
        per: int | None = None,
        total: str | None = None,
    ) -> list[tuple[str, int, float, float]]:
        """(phase, count, average ns, % of total) for the phases whose name starts with prefix.

        The average is total/count, or total/`per` when given (the seed's "average per
        exec over 50 execs": a phase run twice per exec counts double). The percentage is of
        phase `total` when named (e.g. "exec.total"), else of the sum of the listed phases.
        Phases keep their first-seen order, which is the order of the code path.
        """
        chosen = [(n, s) for n, s in self.stats.items() if n.startswith(prefix)]
        if total is not None and total in self.stats:
            denom = self.stats[total].total_ns
        else:
            denom = sum(s.total_ns for n, s in chosen if n != total)
        out = []
        for name, st in chosen:
            avg = st.total_ns / per if per else st.avg_ns
            pct = 100.0 * st.total_ns / denom if denom else 0.0
            out.append((name, st.count, avg, pct))
        return out

    def table(
        self,
        prefix: str = "",
        per: int | None = None,
        total: str | None = None,
        title: str | None = None,
    ) -> Table:
        """A rich Table like the seed post's: phase, avg time, % of total (and count)."""
        from rich.table import Table  # imported here: rich is only needed for reports

        t = Table(title=title)
        t.add_column("Phase")
        t.add_column("Count", justify="right")
        t.add_column("Avg time", justify="right")
        t.add_column(f"% of {total}" if total else "% of total", justify="right")
        for name, count, avg, pct in self.rows(prefix, per, total):
            t.add_row(name, f"{count:,}", format_ns(avg), f"{pct:.1f}%")
        return t

    def print_table(self, file: Any = None, **kw: Any) -> None:
        from rich.console import Console

        Console(file=file).print(self.table(**kw))

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": "ns",
            "phases": {
                name: {
                    "count": st.count,
                    "total_ns": st.total_ns,
                    "avg_ns": st.avg_ns,
                    "min_ns": st.min_ns,
                    "max_ns": st.max_ns,
                }
                for name, st in self.stats.items()
            },
            "events": len(self.events),
            "dropped_events": self.dropped_events,
        }

    def dump_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
        return text

    def chrome_trace(self) -> dict[str, Any]:
        """The recorded events in Chrome's Trace Event Format ("X" = complete events).

        Load the file in https://ui.perfetto.dev or chrome://tracing. ts/dur are in
        microseconds (floats keep the ns precision), relative to the profiler's start.
        """
        origin = self.origin_ns
        pid = self.pid
        events: list[dict[str, Any]] = [
            {
                "name": name,
                "cat": name.split(".", 1)[0],
                "ph": "X",
                "ts": (start - origin) / 1000.0,
                "dur": dur / 1000.0,
                "pid": pid,
                "tid": tid,
            }
            for name, start, dur, tid in self.events
        ]
        events.append(
            {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "twaron"}}
        )
        return {"traceEvents": events, "displayTimeUnit": "ns"}

    def dump_chrome_trace(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump(self.chrome_trace(), f)


class _Span:
    __slots__ = ("prof", "name", "tid", "t0")

    def __init__(self, prof: Profiler, name: str, tid: int) -> None:
        self.prof = prof
        self.name = name
        self.tid = tid
        self.t0 = 0

    def __enter__(self) -> _Span:
        self.t0 = self.prof.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.prof.phase(self.name, self.t0, self.tid)


def format_ns(ns: float) -> str:
    """1,152ns / 50.2us / 3.41ms: the seed's style for small numbers, readable for large."""
    if ns < 100_000:
        return f"{ns:,.0f}ns"
    if ns < 100_000_000:
        return f"{ns / 1000:,.1f}us"
    return f"{ns / 1e6:,.2f}ms"
