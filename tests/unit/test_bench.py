"""The benchmark program's checks and the profiler's accounting (no timing is asserted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import twaron
from twaron.bench import runner
from twaron.bench.build import build
from twaron.bench.profiler import EXEC_PHASES, run_profile
from twaron.cli import main
from twaron.fs.rootfs import write_host_tree
from twaron.native import native_possible

pytestmark = pytest.mark.skipif(shutil.which("musl-gcc") is None, reason="musl-gcc missing")


@pytest.fixture(scope="module")
def bench_binary() -> Path:
    return build()


def run_guest(binary: Path, *args: str, rootfs: str | None = None) -> runner.Sample:
    r = twaron.run(["/bench", *args], files={"/bench": str(binary)}, rootfs=rootfs, timeout=60)
    return runner.parse_output(args[-2] if args[-1].isdigit() else args[-1], r.returncode,
                               r.stdout, r.stderr)  # fmt: skip


def test_workloads_listed(bench_binary: Path) -> None:
    names = [name for name, _, _ in runner.workload_table(bench_binary)]
    assert names[:5] == ["fork_exit", "exec_true", "shell_noop", "pipe_grep", "sed_pipeline"]
    assert {"sort_uniq", "tar_extract", "file_tree", "getpid", "read_null", "write_null",
            "pipe", "pty_echo", "epoll_pingpong", "open_close", "stat", "mmap_fault",
            "clock_gettime", "sha256_64m", "gzip_16m"} <= set(names)  # fmt: skip


def test_workload_ok_in_twaron(bench_binary: Path) -> None:
    s = run_guest(bench_binary, "-w", "1", "pipe_grep", "2")
    assert s.ok, s.error
    assert s.iterations == 2 and s.total_ns > 0


def test_epoll_pingpong_ok_in_twaron(bench_binary: Path) -> None:
    """Two processes bounce a token over eventfds through epoll_wait; the other process's
    exit status is checked."""
    s = run_guest(bench_binary, "-w", "2", "epoll_pingpong", "20")
    assert s.ok, s.error
    assert s.iterations == 20 and s.total_ns > 0


def test_missing_program_fails_the_workload(bench_binary: Path, tmp_path: Path) -> None:
    """A child whose exec fails (no /bin/true in the root) fails the workload: never timed."""
    root = tmp_path / "root"
    write_host_tree(str(root))
    (root / "bin" / "true").unlink()
    s = run_guest(bench_binary, "exec_true", "3", rootfs=str(root))
    assert not s.ok
    assert "child /bin/true: exit status 127" in s.error
    assert "No such file or directory" in s.error  # the child's own report, from stderr


def test_failing_command_fails_the_workload(bench_binary: Path) -> None:
    r = twaron.run(["/bench", "profile", "2", "0", "/bin/sh", "-c", "exit 3"],
                   files={"/bench": str(bench_binary)}, timeout=60)  # fmt: skip
    s = runner.parse_output("profile", r.returncode, r.stdout, r.stderr)
    assert r.returncode == 1 and not s.ok
    assert "iteration 0: child /bin/sh: exit status 3" in s.error


def test_parse_output() -> None:
    ok = runner.parse_output("getpid", 0, b"BENCH getpid 10 5000 500\n", b"")
    assert ok.ok and ok.per_iter_ns == 500.0
    assert not runner.parse_output("getpid", 0, b"", b"boom").ok
    late = runner.parse_output("getpid", 1, b"BENCH getpid 10 5000 500\n", b"")
    assert not late.ok and "exit status 1" in late.error


def test_failed_workload_is_reported_not_timed() -> None:
    res = runner.WorkloadResult("exec_true", 3, native=[runner.Sample(True, 3, 3000)],
                                twaron=[runner.Sample(False, error="iteration 0: child")])
    assert not res.ok and res.ratio is None
    d = res.to_dict()
    assert d["ok"] is False and d["twaron_us"] is None and "twaron: iteration 0" in d["error"]


def test_classes() -> None:
    assert [runner.classify(x) for x in (0.5, 0.9, 1.0, 1.05, 1.1, 1.2)] == [
        "faster", "faster", "OK", "marginal", "marginal", "slower"]  # fmt: skip


@pytest.mark.skipif(not native_possible()[0], reason=native_possible()[1])
def test_native_side_checks_children(bench_binary: Path) -> None:
    side = runner.NativeSide(bench_binary)
    try:
        assert side.run("exec_true", False, 2, 30).ok
        (side.root / "bin" / "true").unlink()
        s = side.run("exec_true", False, 2, 30)
        assert not s.ok and "exit status 127" in s.error
    finally:
        side.close()


def test_bench_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    rc = main(["bench", "--quick", "--rounds", "1", "--iterations", "50", "--json", str(out),
               "getpid"])  # fmt: skip
    assert rc == 0
    data = json.loads(out.read_text())
    w = data["workloads"]["getpid"]
    from twaron.bench.runner import resolve_platform

    # auto: unicorn without KVM, the tiered CPU on a PVM host, kvm on VMX
    assert data["platform"] == resolve_platform("auto")
    assert w["ok"] is True and w["iterations"] == 50
    assert w["twaron_us"] > 0
    if native_possible()[0]:
        assert w["native_us"] > 0  # (rounded to 1 ns: the ratio is checked loosely)
        assert w["ratio"] == pytest.approx(w["twaron_us"] / w["native_us"], rel=0.05)
    assert "getpid" in capsys.readouterr().out


def test_unknown_workload_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--no-native", "frobnicate"]) == 2
    assert "unknown workload" in capsys.readouterr().err


def test_profiler_accounting() -> None:
    # Pinned to Unicorn: the phases' accounting is the profiler's, not a tier's (one CI run
    # on the tiered CPU under full load saw exec.total 85% off the phases' sum, not
    # reproduced since; the profile on auto is test_profile_on_auto's).
    report, prof = run_profile(["/bin/true"], execs=3, warmup=1, platform="unicorn")
    assert report.ok, report.output + report.errors
    assert report.count("exec.total") == 3
    for phase in EXEC_PHASES:
        assert report.count(phase) == 3, phase
    if report.accounting_error >= 0.10:
        # A ratio of times (2.4% here, run after run): one exec the host preempted between
        # two phases, under CI's load, put 13% into exec.total and none into the phases.
        # A second profile gets a chance before the phases are called incomplete.
        report, prof = run_profile(["/bin/true"], execs=3, warmup=1, platform="unicorn")
    assert report.accounting_error < 0.10
    assert report.count("fork") == 3 and report.count("fork.do_fork") == 3
    assert report.count("execve") == 3 and report.count("exit") == 3
    assert report.count("wait") >= 3 and report.count("syscall") >= 3 * 10
    assert report.count("sys.getuid") == 3  # one per `busybox true`
    # The top-level rows partition the window, up to the run loop's own time.
    rows = {name.strip(): ns for name, _, ns, _ in report.iteration_rows()}
    assert rows["run loop, scheduler, switches"] >= 0
    assert report.to_dict()["exec_phases"][0]["phase"] == "open + parse"


def test_profiling_off_leaves_the_syscall_path_alone() -> None:
    from twaron.config import Config
    from twaron.fs.console import Console
    from twaron.kernel import Kernel

    k = Kernel(Config(argv=["true"]), Console(lambda n: b"", lambda d: None, lambda d: None))
    try:
        assert k.platform.syscall_entry == k.syscalls.syscall
    finally:
        k.platform.close()


def test_boot_figures_for_two_roots(tmp_path: Path) -> None:
    """bench --boot: fresh processes for the built-in root and a host-backed one; the first
    instruction comes before the end, and a root without /bin/true fails, never timed."""
    from twaron.bench import boot

    root = tmp_path / "root"
    write_host_tree(str(root))
    figures = boot.measure([None, str(root)], 1, "unicorn")
    assert [f.root for f in figures] == [boot.DEFAULT_ROOT, str(root)]
    for f in figures:
        assert 0 < f.first_insn[0] < f.true_run[0]
    assert "ratio to built-in" in boot.render(figures)
    (root / "bin" / "true").unlink()
    with pytest.raises(RuntimeError, match="failed"):
        boot.measure([str(root)], 1, "unicorn")


def test_profile_on_auto() -> None:
    """On auto (the tiered CPU on a PVM host) the profile runs and, when tiered, lists each
    task's time on the tiers."""
    report, _ = run_profile(["/bin/true"], execs=2, warmup=0, platform="auto")
    assert report.ok, report.output + report.errors
    assert report.count("exec.total") == 2
    if report.platform == "tiered":
        assert report.tiers and all(r["unicorn_ns"] + r["kvm_ns"] > 0 for r in report.tiers)
        assert sum(r["translated"] for r in report.tiers) > 0  # a cold start translates
