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
