"""Phase accounting with an injected clock: no real timing is asserted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from twaron.profile import Profiler, format_ns


class FakeClock:
    """Each call returns the current time; tests advance it explicitly."""

    def __init__(self) -> None:
        self.t = 1_000_000

    def __call__(self) -> int:
        return self.t

    def advance(self, ns: int) -> None:
        self.t += ns


def run_exec(prof: Profiler, clock: FakeClock, tid: int = 1) -> None:
    """One fake execve with the seed's phase shape."""
    start = t0 = prof.now()
    for name, ns in [
        ("exec.close_cloexec", 130),
        ("exec.new_mm", 5740),
        ("exec.load_elf_segments", 1152),
        ("exec.at_random", 165),
    ]:
        clock.advance(ns)
        t0 = prof.phase(name, t0, tid)
    prof.phase("exec.total", start, tid)


def test_phases_accumulate_totals_counts_min_max() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    for _ in range(50):
        run_exec(prof, clock)
    st = prof.stats["exec.new_mm"]
    assert (st.count, st.total_ns, st.min_ns, st.max_ns, st.avg_ns) == (
        50,
        287_000,
        5740,
        5740,
        5740,
    )
    assert prof.stats["exec.total"].total_ns == 50 * (130 + 5740 + 1152 + 165)
    assert list(prof.stats) == [
        "exec.close_cloexec",
        "exec.new_mm",
        "exec.load_elf_segments",
        "exec.at_random",
        "exec.total",
    ]


def test_min_max_track_varying_durations() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    for ns in (30, 10, 20):
        t0 = prof.now()
        clock.advance(ns)
        prof.phase("p", t0)
    st = prof.stats["p"]
    assert (st.min_ns, st.max_ns, st.total_ns, st.count) == (10, 30, 60, 3)


def test_rows_average_per_event_and_percent_of_total() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    for _ in range(4):
        run_exec(prof, clock)
    # Phase run twice per exec: the per-exec average doubles when averaged over execs.
    for _ in range(8):
        t0 = prof.now()
        clock.advance(100)
        prof.phase("exec.prefault", t0)
    rows = {r[0]: r for r in prof.rows(prefix="exec.", per=4, total="exec.total")}
    assert rows["exec.prefault"][1:3] == (8, 200.0)
    assert rows["exec.new_mm"][2] == 5740.0
    assert rows["exec.new_mm"][3] == pytest.approx(100 * 5740 / 7187)
    assert rows["exec.total"][3] == pytest.approx(100.0)
    # Without a named total the percentage is of the listed phases' sum.
    plain = {r[0]: r for r in prof.rows(prefix="exec.new")}
    assert plain["exec.new_mm"][3] == 100.0 and plain["exec.new_mm"][2] == 5740.0


def test_table_renders_like_the_seed() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    run_exec(prof, clock)
    out = io.StringIO()
    prof.print_table(file=out, prefix="exec.", total="exec.total", title="exec_true")
    text = out.getvalue()
    assert "exec.new_mm" in text and "5,740ns" in text and "79.9%" in text


def test_json_dump(tmp_path: Path) -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    run_exec(prof, clock)
    path = tmp_path / "prof.json"
    prof.dump_json(path)
    data = json.loads(path.read_text())
    assert data["unit"] == "ns"
    assert data["phases"]["exec.load_elf_segments"] == {
        "count": 1,
        "total_ns": 1152,
        "avg_ns": 1152.0,
        "min_ns": 1152,
        "max_ns": 1152,
    }


def test_chrome_trace_complete_events(tmp_path: Path) -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock, events=True, pid=7)
    clock.advance(2000)
    run_exec(prof, clock, tid=3)
    path = tmp_path / "trace.json"
    prof.dump_chrome_trace(path)
    data = json.loads(path.read_text())
    xs = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == 5
    first = xs[0]
    assert first == {
        "name": "exec.close_cloexec",
        "cat": "exec",
        "ph": "X",
        "ts": 2.0,
        "dur": 0.13,
        "pid": 7,
        "tid": 3,
    }
    total = next(e for e in xs if e["name"] == "exec.total")
    assert total["ts"] == 2.0 and total["dur"] == pytest.approx(7.187)


def test_event_cap_counts_dropped() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock, events=True, max_events=2)
    for _ in range(5):
        prof.phase("x", prof.now())
    assert len(prof.events) == 2 and prof.dropped_events == 3
    assert prof.stats["x"].count == 5  # accounting continues past the cap


def test_events_off_by_default() -> None:
    prof = Profiler(clock=FakeClock())
    prof.phase("x", 0)
    assert prof.events == [] and prof.chrome_trace()["traceEvents"][0]["ph"] == "M"


def test_empty_profiler_is_truthy() -> None:
    assert Profiler(clock=FakeClock())


def test_span() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock)
    with prof.span("on", tid=2):
        clock.advance(42)
    with prof.span("direct"):
        clock.advance(8)
    assert prof.stats["on"].total_ns == 42 and prof.stats["direct"].total_ns == 8


def test_profiler_belongs_to_its_kernel() -> None:
    """A profiler is given to one kernel at boot; another kernel has none (no global)."""
    from twaron import api
    from twaron.config import Config
    from twaron.fs.console import Console

    prof = Profiler(clock=FakeClock())
    config = Config(argv=["/bin/true"], platform="unicorn")
    with_prof = api.boot(config, Console(lambda n: b"", bytearray().extend, bytearray().extend),
                         profiler=prof)  # fmt: skip
    without = api.boot(config, Console(lambda n: b"", bytearray().extend, bytearray().extend))
    assert with_prof.profiler is prof and without.profiler is None
    with_prof.platform.close()
    without.platform.close()


def test_reset() -> None:
    clock = FakeClock()
    prof = Profiler(clock=clock, events=True)
    prof.phase("x", 0)
    prof.reset()
    assert prof.stats == {} and prof.events == []


def test_format_ns() -> None:
    assert format_ns(130) == "130ns"
    assert format_ns(50_165) == "50,165ns"
    assert format_ns(250_000) == "250.0us"
    assert format_ns(3_410_000_000) == "3,410.00ms"
