"""Deterministic runs (`--deterministic`): the same program, inputs and seed give the same
bytes - stdout, stderr, the --trace output with its timestamps, the exit status - in this
process or another (another hash seed), for threads, pipelines and processes racing on a
pipe or a file; another seed changes what it should (random values, the schedule) and
nothing else; and the kernel never reads the host's clock or entropy on this path."""

from __future__ import annotations

import os
import random
import re
import socket
import time

import pytest

import twaron

SEED = 7


def det_run(argv, seed=SEED, **kw):
    r = twaron.run(argv, deterministic=True, seed=seed, platform="unicorn", **kw)
    assert not r.oopses
    return r


def same_twice(argv, **kw):
    """Two runs: identical in every byte (trace and its -tt timestamps in stderr)."""
    a = det_run(argv, trace=True, trace_timestamps=True, **kw)
    b = det_run(argv, trace=True, trace_timestamps=True, **kw)
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout)
    assert a.stderr == b.stderr
    return a


def test_threaded_counter_program(racy_counter):
    r = same_twice(["/racy"], files={"/racy": str(racy_counter)})
    assert b"counter=" in r.stdout
    assert re.search(rb"\d\d:\d\d:\d\d\.\d{6} clone\(", r.stderr)  # -tt's virtual times


def test_shell_pipeline_of_several_processes():
    r = same_twice(["sh", "-c", "seq 1 300 | sort -rn | awk 'NR % 50 == 1' | tr '\\n' ' ' | cat; "
                    "echo; ls /bin | wc -l"])  # fmt: skip
    assert r.stdout.startswith(b"300 250 200 150 100 50")


def test_processes_racing_on_a_pipe_and_a_file():
    """Writers race for a pipe and for an append-only file: whatever order one run gives,
    the next gives again."""
    script = ("for i in 1 2 3 4; do (for j in 1 2 3; do echo w$i.$j; done) & done | cat; "
              "for i in a b c; do (echo $i >> /tmp/f; echo $i$i >> /tmp/f) & done; wait; "
              "cat /tmp/f")  # fmt: skip
    r = same_twice(["sh", "-c", script])
    assert sorted(r.stdout.split())[:3] == [b"a", b"aa", b"b"]


def test_date_and_epoch():
    r = same_twice(["date", "-u"])
    assert r.stdout == b"Sat Jan  1 00:00:00 UTC 2000\n"
    later = det_run(["sh", "-c", "sleep 90; date -u +%FT%T"], epoch=1_700_000_000)
    assert later.stdout == b"2023-11-14T22:14:50\n"  # 1700000000 + 90 s, slept at once


def test_ls_proc_self():
    r = same_twice(["ls", "-l", "/proc/self/"])
    assert b"Jan  1  2000" in r.stdout or b"Jan  1 00:00" in r.stdout


def test_clocks_tsc_and_random_sources(clocks):
    r = same_twice(["/clocks"], files={"/clocks": str(clocks)})
    out = dict(line.split(" ", 1) for line in r.stdout.decode().splitlines())
    assert out["rdtsc"].endswith("aux 0 increasing 1")
    assert out["realtime"].startswith("9466848")  # the default epoch, 2000-01-01
    slept = int(out["slept"].split()[0])
    assert 1_500_000_000 <= slept < 1_500_100_000  # virtual: the sleep, almost exactly
    assert out["cpuid"] == "rdrand 1 rdseed 1"
    assert out["vdso"] == "yes" and out["mixed"] == "ordered 1"
    # the vDSO answered in user mode: the only clock_gettime is the program's own syscall
    assert r.stderr.count(b"clock_gettime(") == 1
    assert out["rdrand"].endswith("ok 111") and out["rdseed"].endswith("ok 1")


def test_another_seed_differs_where_it_should(clocks):
    files = {"/clocks": str(clocks)}
    a = det_run(["/clocks"], seed=1, files=files).stdout.decode().splitlines()
    b = det_run(["/clocks"], seed=2, files=files).stdout.decode().splitlines()
    differ = {x.split()[0] for x, y in zip(a, b, strict=True) if x != y}
    assert {"urandom", "getrandom", "rdrand", "rdseed"} <= differ
    assert not differ & {"vdso", "cpuid"}
    sched = [det_run(["sh", "-c", "for i in 1 2 3 4 5 6; do echo $i & done | cat"],
                     seed=s).stdout for s in range(8)]  # fmt: skip
    assert len(set(sched)) > 1  # the seed picks the schedule


def test_another_process_gives_the_same_bytes(cli):
    """Python's hash order (PYTHONHASHSEED) and everything else of the host process must
    not reach the guest: a pipeline with --trace -tt in two processes."""
    args = ("run", "--deterministic", "--seed", "3", "--trace", "-tt", "--", "sh", "-c",
            "echo a | (cat; echo b) & echo c | cat; wait; date")  # fmt: skip
    a = cli(*args, hashseed="1")
    b = cli(*args, hashseed="2")
    assert a.returncode == b.returncode == 0
    assert (a.stdout, a.stderr) == (b.stdout, b.stderr)
    assert b"Sat Jan  1 00:00:00 UTC 2000" in a.stdout


def _raise(*_args, **_kw):
    raise AssertionError("a deterministic kernel read the host's clock or entropy")


def test_no_host_clock_or_entropy(monkeypatch, clocks, tmp_path):
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter",
                 "perf_counter_ns", "process_time", "thread_time"):  # fmt: skip
        monkeypatch.setattr(time, name, _raise)
    monkeypatch.setattr(os, "urandom", _raise)
    monkeypatch.setattr(os, "getrandom", _raise)
    monkeypatch.setattr(random, "SystemRandom", _raise)
    script = "sleep 1; date; ls -l /proc/self/ >/dev/null; cat /proc/uptime; /clocks"
    r = twaron.run(["sh", "-c", script], files={"/clocks": str(clocks)}, deterministic=True,
                   platform="unicorn", trace=True, trace_timestamps=True, summary=True,
                   timeline=str(tmp_path / "t.json"))  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert b"Sat Jan  1 00:00:01 UTC 2000" in r.stdout and b"rdrand" in r.stdout


def test_kvm_refuses_with_a_clear_message(cli):
    r = cli("run", "--deterministic", "--platform", "kvm", "--", "true")
    assert r.returncode == 2
    assert b"--deterministic runs on the Unicorn platform only" in r.stderr
    with pytest.raises(ValueError, match="Unicorn platform only"):
        twaron.run(["true"], deterministic=True, platform="kvm")


def test_timeout_is_taken_at_an_input_point(cli):
    """--timeout is the operator's host clock: a deterministic run takes it at an input
    point, whether the guest spins through virtual sleeps or blocks for good."""
    r = twaron.run(["sh", "-c", "while :; do sleep 1; done"], deterministic=True, timeout=1,
                   platform="unicorn")  # fmt: skip
    assert r.timed_out and r.returncode == -9
    blocked = cli("run", "--deterministic", "--timeout", "1", "--", "sh", "-c",
                  "mkfifo /tmp/p; cat /tmp/p")  # fmt: skip
    assert blocked.returncode == 124 and b"timed out after 1 s" in blocked.stderr


def test_host_network_is_allowed():
    """--net host and --publish run deterministically: what their sockets bring in is taken
    at input points (a record keeps it; tests/determinism/test_record_replay_net.py)."""
    r = twaron.run(["sh", "-c", "echo ok"], deterministic=True, net="host")
    assert r.returncode == 0 and r.stdout == b"ok\n"
    r = twaron.run(["sh", "-c", "echo ok"], deterministic=True, publish={_free_port(): 80})
    assert r.returncode == 0 and r.stdout == b"ok\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
