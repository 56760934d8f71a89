"""`twaron test python`: CPython's own test suite (`python3 -m test`) inside twaron and natively.

The root is a Debian bookworm tree with python3 and libpython3.11-testsuite, built by
mmdebstrap once and cached under .build/distro/ (twaron.image_build.cached_root). Each
module runs as `python3 -m test -v MODULE` twice, from the same tree:

- inside twaron: `twaron run --rootfs ROOT` (the tree is the lower layer of the overlay;
  a fresh kernel per module);
- natively: chrooted into a writable overlay of the same tree (twaron.native.
  enter_overlay_root: Linux's overlayfs, its upper layer a tmpfs that vanishes with the
  run), in the same namespaces, /dev nodes and tmpfs /tmp as the other native sides.

Both get the same environment (`env -i`) and no bytecode is written (the tree is shared).
The runs go in parallel, up to --jobs at a time, longest first, through the BusyBox
suite's runner (twaron.testsuite.busybox: Job, run_jobs); each case's result is read from
unittest's verbose lines as they come. Cases whose results differ are compared with the
known-differences file (python_known_differences.txt next to this module: `TEST_ID --
REASON`, where TEST_ID may also name a class or module, covering every case under it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twaron.testsuite import busybox
from twaron.testsuite.busybox import Job, RunResult

# The list; every module's cases must pass inside twaron where they pass natively.
MODULES = (
    "test_os", "test_posix", "test_stat", "test_shutil", "test_tempfile", "test_glob",
    "test_pathlib", "test_fileio", "test_fcntl", "test_select", "test_selectors",
    "test_signal", "test_subprocess", "test_threading", "test_socket", "test_pty", "test_mmap",
    "test_time", "test_asyncio",
)  # fmt: skip
# What `make test` runs (tests/test_python_suite.py): every module but test_asyncio, whose
# 2,350 cases take about 19 minutes of CPU inside twaron on Unicorn, and of test_asyncio
# the parts that exercise the kernel most: event loops over real sockets, pipes, signals
# and child processes (test_events, test_subprocess, test_unix_events); and a few short
# modules beyond the list that look at the kernel's semantics closely (EINTR and
# restarts, epoll, wait3/wait4, fork, signals and threads, file locking), ~1 minute in all.
CI_EXTRA = ("test_eintr", "test_epoll", "test_wait3", "test_wait4", "test_fork1",
            "test_threadsignals", "test_mailbox")  # fmt: skip
CI_MODULES = (*(m for m in MODULES if m != "test_asyncio"), "test_asyncio.test_events",
              "test_asyncio.test_subprocess", "test_asyncio.test_unix_events",
              *CI_EXTRA)  # fmt: skip
KNOWN = Path(__file__).resolve().parent / "python_known_differences.txt"
PYTHON = "/usr/bin/python3"
GUEST_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root", "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",  # the tree is shared by every run (and read-only)
}  # fmt: skip
MEMORY = "1G"
TWARON_TIMEOUT = float(os.environ.get("TWARON_PYTHON_TIMEOUT", "1500"))
NATIVE_TIMEOUT = 900.0
# Seconds inside twaron on Unicorn (measured; for the order of the runs: longest first).
EXPECTED_SECONDS: dict[str, float] = {
    "test_subprocess": 314, "test_asyncio.test_ssl": 193, "test_asyncio.test_tasks": 176,
    "test_asyncio.test_events": 135, "test_signal": 122, "test_asyncio.test_subprocess": 103,
    "test_socket": 99, "test_threading": 88, "test_asyncio.test_sendfile": 61,
    "test_pathlib": 58, "test_os": 49, "test_asyncio.test_base_events": 49,
}  # fmt: skip

RESULTS = ("pass", "fail", "error", "skip")
# A case's line may carry durations (test_concurrent_futures prints them): a slow case's
# "... 0.44s ok", and "0.00s " before a name, left by a class's set-up.
_DURATION = r"(?:\d+\.\d+s )?"
_START = re.compile(r"^" + _DURATION + r"(\w+) \(([\w.]+)\)")
_SUBTEST = re.compile(r"^  (\w+) \(([\w.]+)\) .*\.\.\. (FAIL|ERROR)$")
_STATUS = re.compile(r"(?:^| \.\.\. )" + _DURATION + r"(ok|FAIL|ERROR|skipped\b.*|"
                     r"expected failure|unexpected success)$")  # fmt: skip
_RAN = re.compile(r"^Ran (\d+) tests? in ")
_RESULT = re.compile(r"^(?:== )?Tests result: (.*?)(?: ==)?$")


def _classify(status: str) -> str:
    if status in ("ok", "expected failure"):
        return "pass"
    if status.startswith("skipped"):
        return "skip"
    if status == "ERROR":
        return "error"
    return "fail"  # FAIL, unexpected success


@dataclass
class ModuleResult(RunResult):
    """One module on one side: test id -> pass/fail/error/skip (see RunResult)."""

    pending: str = ""  # the case whose result line has not come yet
    ran: int | None = None  # unittest's "Ran N tests"
    verdict: str = ""  # regrtest's "== Tests result: ... =="

    def counts(self) -> dict[str, int]:
        c = {r: 0 for r in RESULTS}
        for v in self.cases.values():
            c[v] += 1
        c["run"] = len(self.cases)
        return c

    def _set(self, test_id: str, result: str) -> None:
        if test_id not in self.cases:
            self.order.append(test_id)
        elif result == "pass" or self.cases[test_id] in ("fail", "error"):
            return  # a subtest failed first: the case failed
        self.cases[test_id] = result
        self.last = test_id

    def feed(self, line: str) -> None:
        self.log.append(line)
        if line.startswith("twaron: oops"):
            self.oopses += 1
        if m := _SUBTEST.match(line):
            self._set(m.group(2), _classify(m.group(3)))
            return
        if m := _START.match(line):
            self.pending = m.group(2)
        if self.pending and (m := _STATUS.search(line)):
            self._set(self.pending, _classify(m.group(1)))
            self.pending = ""
            return
        if m := _RAN.match(line):
            self.ran = int(m.group(1))
        elif m := _RESULT.match(line):
            self.verdict = m.group(1)


@dataclass
class PyJob(Job):
    def __post_init__(self) -> None:
        self.result = ModuleResult(self.suite, self.side)

    @property
    def weight(self) -> float:  # longest first
        guess = EXPECTED_SECONDS.get(self.suite, 60.0)
        return guess * (1 if self.side == "twaron" else 0.05)


def guest_argv(module: str) -> list[str]:
    return ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in GUEST_ENV.items()), PYTHON, "-m",
            "test", "-v", module]  # fmt: skip


def twaron_job(module: str, root: Path, platform: str, timeout: float) -> PyJob:
    argv = [sys.executable, "-m", "twaron", "run", "--rootfs", str(root), "--memory", MEMORY,
            "--timeout", str(timeout)]  # fmt: skip
    if platform != "auto":
        argv += ["--platform", platform]
    return PyJob(module, "twaron", [*argv, "--", *guest_argv(module)], None, timeout + 60)


def native_job(module: str, root: Path, scratch: Path) -> PyJob:
    from twaron.native import _libc_handle, enter_overlay_root

    _libc_handle()  # loaded before fork
    scratch.mkdir(parents=True)

    def preexec() -> None:
        enter_overlay_root(str(root), str(scratch), tmpfs_tmp=True)

    return PyJob(module, "native", guest_argv(module), preexec, NATIVE_TIMEOUT)


def split_packages(modules: tuple[str, ...], root: Path) -> tuple[str, ...]:
    """A test package (test_asyncio) becomes its submodules (test_asyncio.test_events, ...),
    one run each: they then run in parallel, and a crash or hang costs one submodule."""
    out: list[str] = []
    for module in modules:
        pkg = root / "usr/lib/python3.11/test" / module.replace(".", "/")
        subs = sorted(p.stem for p in pkg.glob("test_*.py")) if pkg.is_dir() else []
        out += [f"{module}.{s}" for s in subs] or [module]
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------- known differences


def known_differences(path: Path = KNOWN) -> dict[str, str]:
    """Lines `TEST_ID -- REASON`; `#` starts a comment line."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition(" -- ")
        if not sep or not reason.strip() or " " in name.strip():
            raise ValueError(f"{path}: bad line (want 'TEST_ID -- REASON'): {raw!r}")
        out[name.strip()] = reason.strip()
    return out


def known_reason(test_id: str, known: dict[str, str]) -> str | None:
    """The reason listed for test_id, for its class or for its module."""
    parts = test_id.split(".")
    for i in range(len(parts), 0, -1):
        reason = known.get(".".join(parts[:i]))
        if reason:
            return reason
    return None


# --------------------------------------------------------------------------- the report


@dataclass
class Report:
    platform: str
    modules: tuple[str, ...]
    results: dict[tuple[str, str], ModuleResult]  # (module, side) -> result
    known: dict[str, str] = field(default_factory=dict)
    root: str = ""

    def differs(self, module: str) -> dict[str, tuple[str, str]]:
        native = self.results.get((module, "native"))
        tw = self.results.get((module, "twaron"))
        if native is None or tw is None:
            return {}
        return busybox.differs(native, tw)

    def unexpected(self) -> list[tuple[str, str, str]]:
        """(test id, native, twaron): a case that passes natively and not inside twaron,
        unlisted; a module run that did not complete (on either side: no regrtest verdict,
        a timeout) or an oops counts as one."""
        out = []
        for module in self.modules:
            if known_reason(f"test.{module}", self.known):
                continue
            for side in ("native", "twaron"):
                r = self.results.get((module, side))
                if r is not None and (r.error or r.oopses or not r.verdict):
                    why = r.error or (f"{r.oopses} oops(es)" if r.oopses else "no verdict")
                    out.append((f"test.{module}", f"{side} run incomplete", why))
            for name, (a, b) in self.differs(module).items():
                if a == "pass" and not known_reason(name, self.known):
                    out.append((name, a, b))
        return out

    def to_json(self) -> dict:
        out: dict = {}
        for module in self.modules:
            entry: dict = {}
            for side in ("native", "twaron"):
                r = self.results.get((module, side))
                if r is None:
                    continue
                entry[side] = {**r.counts(), "seconds": round(r.seconds, 1),
                               "status": r.status, "verdict": r.verdict}  # fmt: skip
                if r.error:
                    entry[side]["error"] = r.error
                if side == "twaron":
                    entry[side]["oopses"] = r.oopses
            entry["differences"] = {
                k: {"native": a, "twaron": b, "known": known_reason(k, self.known)}
                for k, (a, b) in self.differs(module).items()}  # fmt: skip
            out[module] = entry
        out["unexpected"] = [list(u) for u in self.unexpected()]
        out["meta"] = {"platform": self.platform, "root": self.root}
        return out

    def text(self) -> str:
        cols = f"{'run':>5}{'pass':>6}{'fail':>5}{'err':>5}{'skip':>5}{'time':>5}  "
        lines = [f"CPython's test suite ({PYTHON} -m test), twaron platform {self.platform}",
                 "", f"{'':<34}{'native':^31}  {'twaron':^31}",
                 f"{'module':<34}{cols}{cols}".rstrip()]  # fmt: skip
        for module in self.modules:
            row = f"{module:<34}"
            notes = []
            for side in ("native", "twaron"):
                r = self.results.get((module, side))
                if r is None:
                    row += f"{'-':>31}  "
                    continue
                c = r.counts()
                row += (f"{c['run']:>5}{c['pass']:>6}{c['fail']:>5}{c['error']:>5}"
                        f"{c['skip']:>5}{r.seconds:>4.0f}s  ")  # fmt: skip
                if r.error:
                    notes.append(f"{side}: {r.error}")
                if r.oopses:
                    notes.append(f"{side}: {r.oopses} oops(es)")
            lines.append(row.rstrip() + ("  " + "; ".join(notes) if notes else ""))
        total = {s: sum(r.counts()["pass"] for (m, side), r in self.results.items()
                        if side == s) for s in ("native", "twaron")}  # fmt: skip
        lines.append(f"{'passed':<34}{total['native']:>11}{'':<22}{total['twaron']:>11}")
        diffs = [(name, a, b) for m in self.modules for name, (a, b) in self.differs(m).items()]
        lines.append("")
        if not diffs:
            lines.append("twaron's results equal native's")
        else:
            lines.append(f"{len(diffs)} case(s) differ (native -> twaron; - = not reported):")
            for name, a, b in diffs:
                reason = known_reason(name, self.known)
                tag = f"  [known: {reason}]" if reason else ""
                lines.append(f"  {a:>5} -> {b:<5} {name}{tag}")
        bad = self.unexpected()
        lines.append("")
        lines.append(f"{len(bad)} unexpected difference(s)" if bad else
                     "no unexpected differences")  # fmt: skip
        return "\n".join(lines)


class Progress(busybox.Progress):
    """The status line: cases reported and modules done per side."""

    def __call__(self, jobs: list[Job]) -> None:  # type: ignore[override]
        if not self.enabled:
            return
        parts = []
        for side in ("native", "twaron"):
            group = [j for j in jobs if j.side == side]
            if not group:
                continue
            n = sum(len(j.result.cases) for j in group)
            bad = sum(1 for j in group for v in j.result.cases.values() if v in ("fail", "error"))
            done = sum(1 for j in group if j.done)
            running = [j.suite for j in group if j.proc is not None and not j.done]
            parts.append(f"{side} {done}/{len(group)} modules, {n} cases"
                         + (f" ({bad} failed)" if bad else "")
                         + (f" [{','.join(running)}]" if running else ""))  # fmt: skip
        self.show(" | ".join(parts))


# --------------------------------------------------------------------------- running


def run(modules: tuple[str, ...] = MODULES, platform: str = "auto", jobs: int | None = None,
        native: bool = True, progress: bool = True, timeout: float = TWARON_TIMEOUT,
        root: Path | None = None, known: Path = KNOWN, keep: Path | None = None,
        log: Callable[[str], None] | None = None) -> Report:  # fmt: skip
    log = log or (lambda m: print(f"twaron: {m}", file=sys.stderr, flush=True))
    if root is None:
        from twaron.image_build import cached_root

        root = cached_root(log=log)
    if native:
        from twaron.native import native_possible

        ok, why = native_possible()
        if not ok:
            log(f"no native side: {why}")
            native = False
    modules = split_packages(modules, Path(root))
    work = Path(tempfile.mkdtemp(prefix="twaron-python-"))
    try:
        job_list: list[Job] = []
        for i, module in enumerate(modules):
            job_list.append(twaron_job(module, root, platform, timeout))
            if native:
                job_list.append(native_job(module, root, work / str(i)))
        p = Progress(enabled=progress)
        try:
            busybox.run_jobs(job_list, jobs or os.cpu_count() or 2, p)
        finally:
            p.done()
        results = {(j.suite, j.side): j.result for j in job_list}
        report = Report(platform, modules, results,  # type: ignore[arg-type]
                        known_differences(known) if known.exists() else {}, str(root))
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            for (module, side), r in results.items():
                (keep / f"{module}-{side}.log").write_text("\n".join(r.log) + "\n")
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(args) -> int:
    """`twaron test python`: 0 when every case passing natively passes inside twaron (or
    is a known difference), 1 otherwise, 2 when the root cannot be built."""
    from twaron.image_build import BuildError

    modules = tuple(args.modules) or MODULES
    try:
        report = run(modules, args.platform, args.jobs, native=not args.no_native,
                     root=Path(args.rootfs) if args.rootfs else None,
                     keep=Path(args.keep) if args.keep else None)  # fmt: skip
    except BuildError as e:
        print(f"twaron test python: {e}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1) + "\n")
    return 1 if report.unexpected() else 0
