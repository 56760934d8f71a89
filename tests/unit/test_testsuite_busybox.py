"""The parts of `twaron test busybox` that need no guest: parsing results, comparing."""

from __future__ import annotations

import pytest

from twaron.testsuite import busybox
from twaron.testsuite.busybox import RunResult, differs, guest_argv, known_differences


def test_runtest_lines():
    r = RunResult("runtest", "twaron")
    for line in ("PASS: cat", "FAIL: bc parsing of numbers", "SKIPPED: mount",
                 "UNTESTED: tar-handles-nested-exclude", "PASS: cat", "noise: PASS: x",
                 "twaron: oops in read(...)"):
        r.feed(line)
    assert r.cases == {"cat": "PASS", "bc parsing of numbers": "FAIL", "mount": "SKIPPED",
                       "tar-handles-nested-exclude": "UNTESTED", "cat #2": "PASS"}
    assert r.counts() == {"pass": 2, "fail": 1, "skipped": 1, "untested": 1}
    assert r.oopses == 1


def test_ash_lines():
    r = RunResult("ash", "native")
    for line in ("No ./ash - creating a link to ../../busybox", "ash-comm/comm.tests: ok",
                 "ash-signals/sigquit_exec.tests: fail", "ash-misc/run-foo: ok"):
        r.feed(line)
    assert r.cases == {"ash-comm/comm.tests": "PASS", "ash-signals/sigquit_exec.tests": "FAIL",
                       "ash-misc/run-foo": "PASS"}


def test_differs_includes_missing_cases():
    a, b = RunResult("runtest", "native"), RunResult("runtest", "twaron")
    for line in ("PASS: x", "PASS: y", "FAIL: z"):
        a.feed(line)
    for line in ("PASS: x", "FAIL: y"):
        b.feed(line)
    assert differs(a, b) == {"y": ("PASS", "FAIL"), "z": ("FAIL", "-")}


def test_known_differences_format(tmp_path):
    p = tmp_path / "k.txt"
    p.write_text("# comment\n\nruntest: pidof this -- comm of scripts\n"
                 "ash: ash-a/b.tests -- a -- b\n")
    assert known_differences(p) == {("runtest", "pidof this"): "comm of scripts",
                                    ("ash", "ash-a/b.tests -- a"): "b"}
    p.write_text("runtest: no reason\n")
    with pytest.raises(ValueError):
        known_differences(p)


def test_guest_argv_has_only_debians_environment():
    argv = guest_argv("runtest")
    assert argv[:2] == ["/usr/bin/env", "-i"]
    assert "SKIP_KNOWN_BUGS=y" in argv and "ECHO=/bin/echo" in argv
    assert argv[-1].startswith(f"cd {busybox.GUEST_SRC}/testsuite && exec ./runtest")
    assert "SKIP_KNOWN_BUGS=y" not in guest_argv("ash")


def test_runtest_shards_keep_order_and_isolate_heavy_applets():
    applets = ["busybox", "awk", "bc", "cat", "cut", "dd", "echo", "zcat"]
    shards = busybox.runtest_shards(applets, n=3, heavy=("bc",))
    assert shards[0] == ("bc",)
    assert [a for s in shards[1:] for a in s] == [a for a in applets if a != "bc"]
    assert len(shards) == 4 and max(map(len, shards[1:])) - min(map(len, shards[1:])) <= 2
    assert guest_argv("runtest", ("bc", "cat"))[-1].endswith("exec ./runtest bc cat 2>&1")


def test_join_results_reads_like_one_run():
    a, b = RunResult("runtest", "twaron"), RunResult("runtest", "twaron")
    for line in ("PASS: x", "FAIL: y"):
        a.feed(line)
    for line in ("PASS: x", "twaron: oops in read(...)"):
        b.feed(line)
    a.status, b.status, a.seconds, b.seconds, b.error = 0, 1, 2.0, 3.0, "[bc] timed out"
    joined = busybox.join_results([a, b])
    assert joined.order == ["x", "y", "x #2"]
    assert (joined.status, joined.seconds, joined.error, joined.oopses) == (1, 5.0,
                                                                           "[bc] timed out", 1)


def _fake_job(suite, side, unit, lines):
    script = "".join(f"echo '{line}'; " for line in lines)
    return busybox.Job(suite, side, ["/bin/sh", "-c", script], None, 30.0, unit)


def test_recheck_runs_differing_cases_again_and_keeps_real_differences():
    shard = ("cat", "dd")
    first = [_fake_job("runtest", "twaron", shard, []), _fake_job("runtest", "native", shard, [])]
    for line in ("PASS: x", "PASS: y", "PASS: z"):
        first[0].result.feed(line)
    for line in ("FAIL: x", "FAIL: y", "PASS: z"):
        first[1].result.feed(line)
    results = {(j.suite, j.side): busybox.join_results([j.result]) for j in first}
    inst = busybox.Installed("busybox-static", "busybox", "1:1.35.0-4", "1.35.0")
    report = busybox.Report(inst, "unicorn", results, ("runtest",))
    asked = []

    def make_jobs(suite, units):
        asked.append((suite, units))
        return [_fake_job(suite, "twaron", units[0], ["PASS: x", "PASS: y", "PASS: z"]),
                _fake_job(suite, "native", units[0], ["PASS: x", "FAIL: y", "PASS: z"])]

    busybox.recheck(report, first, make_jobs, parallel=2, progress=False)
    assert asked == [("runtest", [shard])]
    assert report.differs("runtest") == {"y": ("FAIL", "PASS")}
    assert report.flaky == {"runtest": {"x": {"native": ["FAIL", "PASS"],
                                              "twaron": ["PASS", "PASS"]}}}
    assert results[("runtest", "native")].counts()["pass"] == 2
    assert "runtest: x differed, then agreed when run again" in report.text()
    assert report.to_json()["runtest"]["flaky"] == report.flaky["runtest"]
