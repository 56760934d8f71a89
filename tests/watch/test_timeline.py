"""--timeline: a Chrome-trace/Perfetto JSON of the run. Checked against the Trace Event
Format's rules (the schema check below) and, where the Perfetto trace processor can run,
loaded by it. The perfetto Python package downloads its trace_processor_shell binary on
first use; where that host is out of reach (this project's machines reach only package
registries) point TWARON_TRACE_PROCESSOR at a trace_processor_shell binary, else that one
test is skipped."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys

import pytest

import twaron

PHASES = {"X", "i", "s", "f", "M"}


def check_schema(trace: dict) -> dict:
    """The Trace Event Format as chrome://tracing and Perfetto read it: every event typed,
    timed and placed; complete events of one thread properly nested; every flow has a start
    and an end, each inside a complete event of its thread. Returns facts for the tests."""
    assert set(trace) >= {"traceEvents"} and isinstance(trace["traceEvents"], list)
    events = trace["traceEvents"]
    slices = collections.defaultdict(list)
    flows: dict[int, dict[str, dict]] = collections.defaultdict(dict)
    names = {}
    for e in events:
        assert e["ph"] in PHASES and isinstance(e["name"], str), e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and e["args"]["name"], e
            if e["name"] == "thread_name":
                names[(e["pid"], e["tid"])] = e["args"]["name"]
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert e["dur"] >= 0, e
            slices[(e["pid"], e["tid"])].append(e)
        elif e["ph"] == "i":
            assert e["s"] in ("t", "p", "g"), e
        else:
            assert e["ph"] not in flows[e["id"]], f"flow {e['id']} has two {e['ph']}"
            flows[e["id"]][e["ph"]] = e
    for track, evs in slices.items():
        stack: list[tuple[int, int]] = []
        for e in sorted(evs, key=lambda e: (round(e["ts"] * 1000), -round(e["dur"] * 1000))):
            start, end = round(e["ts"] * 1000), round((e["ts"] + e["dur"]) * 1000)
            while stack and stack[-1][1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1][1], f"misnested slice on {track}: {e}"
            stack.append((start, end))
    bound = []
    for fid, ends in flows.items():
        assert set(ends) == {"s", "f"}, f"flow {fid} is not closed: {ends}"
        pair = []
        for ph in "sf":
            e = ends[ph]
            inside = [x for x in slices[(e["pid"], e["tid"])] if x["cat"] == "syscall"
                      and x["ts"] <= e["ts"] <= x["ts"] + x["dur"]]  # fmt: skip
            assert inside, f"flow {fid} {ph} is in no syscall slice of its thread"
            pair.append((e["tid"], inside[-1]["name"]))
        bound.append(tuple(pair))
    return {"tracks": names, "slices": slices, "flows": bound}


def test_echo_pipe_cat(tmp_path, twaron_platform):
    path = tmp_path / "run.json"
    # the left side sleeps first, so that the shell surely waits in wait4 (with a bare
    # `echo a`, a slice that ended after the forks let both children finish first)
    r = twaron.run(["sh", "-c", "(sleep 0.3; echo a) | cat"], timeline=str(path),
                   platform=twaron_platform)  # fmt: skip
    assert r.stdout == b"a\n" and r.returncode == 0
    facts = check_schema(json.loads(path.read_text()))
    tracks = facts["tracks"]
    assert {"1/sh", "2/sh", "cpu"} <= set(tracks.values())  # a track per task, and the CPU's
    cat = [key for key, name in tracks.items() if name.endswith("/cat")]
    assert len(cat) == 1, tracks
    calls = [e for e in facts["slices"][cat[0]] if e["cat"] == "syscall"]
    reads = [e["args"] for e in calls if e["name"] == "read"]
    assert {"call": 'read(0, "a\\n", 65536)', "result": "2"} in reads
    assert any(e["name"].startswith("exec.") for e in facts["slices"][cat[0]])
    # the shell's wait4 slept until a child's exit woke it
    assert any(to == (1, "wait4") and frm[1] == "exit_group" for frm, to in facts["flows"])


def test_blocking_read_joined_to_the_write_that_woke_it(tmp_path):
    """The writer sleeps first, so cat's read of the pipe blocks until the write."""
    path = tmp_path / "run.json"
    r = twaron.run(["sh", "-c", "{ sleep 0.5; echo a; } | cat"], timeline=str(path))
    assert r.stdout == b"a\n"
    trace = json.loads(path.read_text())
    facts = check_schema(trace)
    cat = next(tid for (pid, tid), name in facts["tracks"].items() if name.endswith("/cat"))
    writer = [f for f in facts["flows"] if f[1] == (cat, "read")]
    assert writer and writer[0][0][1] == "write"
    blocked = [e for e in facts["slices"][(cat, cat)] if e["name"] == "blocked"]
    assert blocked


def test_profile_trace_out_is_the_same_format(tmp_path):
    out = tmp_path / "prof.json"
    p = subprocess.run([sys.executable, "-m", "twaron", "profile", "--execs", "3", "--warmup",
                        "1", "--trace-out", str(out), "--", "/bin/true"],
                       capture_output=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr.decode()
    facts = check_schema(json.loads(out.read_text()))
    assert any(name.endswith("/true") for name in facts["tracks"].values())
    assert any(e["name"] == "execve" for evs in facts["slices"].values() for e in evs)


def _trace_processor_shell() -> str | None:
    return os.environ.get("TWARON_TRACE_PROCESSOR") or shutil.which("trace_processor_shell")


def test_perfetto_trace_processor_loads_it(tmp_path):
    tp_mod = pytest.importorskip("perfetto.trace_processor")
    shell = _trace_processor_shell()
    if shell is None:
        pytest.skip("no trace_processor_shell here (the perfetto package downloads it from a "
                    "host this machine cannot reach): set TWARON_TRACE_PROCESSOR")
    path = tmp_path / "run.json"
    twaron.run(["sh", "-c", "echo a | cat"], timeline=str(path))
    config = tp_mod.TraceProcessorConfig(bin_path=shell)
    with tp_mod.TraceProcessor(trace=str(path), config=config) as tp:
        threads = {row.name for row in tp.query("select name from thread")}
        assert {"1/sh", "3/cat"} <= threads
        reads = list(tp.query("select count(*) as n from slice where name = 'read'"))
        assert reads[0].n >= 2
        flows = list(tp.query("select count(*) as n from flow"))
        assert flows[0].n >= 1
