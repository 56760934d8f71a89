"""`twaron test busybox`: BusyBox's upstream test suites, inside twaron and natively.

The suites (testsuite/runtest and shell/ash_test/run-all) come from the Debian source of the
installed BusyBox (twaron.testsuite.sources). They run against the prebuilt binary: the
root filesystem is twaron's default layout plus

    /src/busybox            hard link to /bin/busybox (shared page cache inside twaron)
    /src/.config            Debian's static flavour: debian/config/os/linux + pkg/static
    /src/testsuite/         minus mdev.tests, as Debian's build does
    /src/shell/ash_test/    plus the helpers printenv, recho, zecho (musl-gcc -static)
    /bin/false              a static program of its own, as the host's coreutils false
    /usr/bin/zip            the host's Info-ZIP zip with its ld.so and libraries (a dynamic
                            program: unzip.tests makes its archive with it)

Each suite runs as the guest's program, `env -i <Debian's test environment> sh -c 'cd ... &&
exec ./runtest 2>&1'`, once inside twaron (`twaron run --rootfs`, a fresh kernel per run)
and once natively, chrooted into a copy of the same tree (twaron.native: private mount, UTS
and pid namespaces, /proc, the /dev nodes, a tmpfs on /tmp). Only fds 0, 1, 2 are open at
the start (inherited descriptors break ash's redir tests).

runtest is split into shards by applet (`./runtest APPLET...`, which runs exactly the tests
a whole run has for those applets, in the same order): the applets in RUNTEST_HEAVY get a
shard each, the rest are cut into RUNTEST_SHARDS runs of about equal size. Shards use both
CPUs, and one slow applet (bc's two big pipelines under emulation) cannot hold the others
back or take them down with it at a timeout. Both sides run the same shards, each in a tree
of its own; the shards' outputs are joined in order into one result per suite and side.
The runs go in parallel, up to --jobs at a time; results are parsed from the output lines
as they come.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twaron.testsuite.sources import HOST_BUSYBOX, Installed, installed, source_tree

SUITES = ("runtest", "ash")
RESULTS = ("PASS", "FAIL", "SKIPPED", "UNTESTED")
GUEST_SRC = "/src"
GUEST_PATH = "/bin:/sbin:/usr/bin:/usr/sbin"
# Debian's TESTSUITE_ENV (debian/rules), plus PATH and HOME.
RUNTEST_ENV = {
    "PATH": GUEST_PATH, "HOME": "/root", "SKIP_KNOWN_BUGS": "y", "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8", "SKIP_INTERNET_TESTS": "y", "SHELL": "/bin/sh", "ECHO": "/bin/echo",
}  # fmt: skip
ASH_ENV = {"PATH": GUEST_PATH, "HOME": "/root"}
SUITE_DIR = {"runtest": "testsuite", "ash": "shell/ash_test"}
SUITE_SCRIPT = {"runtest": "./runtest", "ash": "./run-all"}
ASH_HELPERS = ("printenv", "recho", "zecho")
HELPER_CFLAGS = ["-static", "-O2", "-w"]
HELPERS_DIR = Path(__file__).resolve().parent / "helpers"
HOST_PROGRAMS = ("zip",)
TWARON_TIMEOUT = float(os.environ.get("TWARON_BUSYBOX_TIMEOUT", "3600"))
NATIVE_TIMEOUT = 1800.0
KNOWN_TOTALS = {"runtest": 873, "ash": 333}  # for the progress display only
# runtest applets that take minutes inside twaron (bc: ~10^7 tiny writes and big-number
# loops); each runs as a shard of its own, started first
RUNTEST_HEAVY = ("bc",)
HEAVY_NICE = -5  # the heavy shard's priority (about three times a default share)
RUNTEST_SHARDS = 4

_RUNTEST_LINE = re.compile(r"^(PASS|FAIL|SKIPPED|UNTESTED): (.*)$")
_ASH_LINE = re.compile(r"^(ash-[^:\s]+\.tests|ash-[^:\s]+/run-[^:\s]+): ?(ok|fail)$")


class SuiteError(RuntimeError):
    pass


# --------------------------------------------------------------------------- the tree


def guest_argv(suite: str, applets: tuple[str, ...] = ()) -> list[str]:
    env = RUNTEST_ENV if suite == "runtest" else ASH_ENV
    script = f"cd {GUEST_SRC}/{SUITE_DIR[suite]} && exec {SUITE_SCRIPT[suite]}"
    script += "".join(f" {a}" for a in applets) + " 2>&1"
    return ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", script]


def runtest_applets(busybox: str = HOST_BUSYBOX) -> list[str]:
    """The applets a whole runtest goes through, in its order: "busybox", then those the
    binary lists after "Currently defined functions:" (what runtest reads)."""
    p = subprocess.run([busybox], capture_output=True, text=True)
    text = p.stdout + p.stderr
    _, sep, listed = text.partition("Currently defined functions:")
    if not sep:
        raise SuiteError(f"{busybox} lists no applets")
    return ["busybox", *listed.replace(",", " ").split()]


def runtest_shards(applets: list[str], n: int = RUNTEST_SHARDS,
                   heavy: tuple[str, ...] = RUNTEST_HEAVY) -> list[tuple[str, ...]]:  # fmt: skip
    """Heavy applets alone (first), then the rest in n consecutive runs of about equal size."""
    alone = [(a,) for a in applets if a in heavy]
    rest = [a for a in applets if a not in heavy]
    size = -(-len(rest) // n) if rest else 1
    return alone + [tuple(rest[i : i + size]) for i in range(0, len(rest), size)]


def build_helpers(src: Path) -> dict[str, Path]:
    """Guest path -> static binary: ash_test's printenv, recho, zecho (from
    shell/ash_test/*.c) and a /bin/false of its own (see helpers/false.c)."""
    from twaron.build import BuildError, build_static

    sources = {f"{GUEST_SRC}/shell/ash_test/{n}": src / "shell/ash_test" / f"{n}.c"
               for n in ASH_HELPERS}  # fmt: skip
    sources["/bin/false"] = HELPERS_DIR / "false.c"
    try:
        return {guest: build_static(c, c.stem, "busybox-suite/helpers", cflags=HELPER_CFLAGS)
                for guest, c in sources.items()}  # fmt: skip
    except BuildError as e:
        raise SuiteError(str(e)) from None


def debian_config(src: Path) -> bytes:
    """Debian's static flavour: debian/config/os/linux followed by debian/config/pkg/static."""
    cfg = src / "debian/config"
    return (cfg / "os/linux").read_bytes() + (cfg / "pkg/static").read_bytes()


def write_tree(dest: Path, src: Path, helpers: dict[str, Path],
               busybox: str = HOST_BUSYBOX) -> None:  # fmt: skip
    """The root filesystem both sides get (see the module docstring)."""
    from twaron.native import prepare_root

    prepare_root(dest)
    top = dest / GUEST_SRC.lstrip("/")
    top.mkdir(parents=True, exist_ok=True)
    bb = dest / "bin/busybox"
    if not bb.exists():
        shutil.copy2(busybox, bb)
    os.link(bb, top / "busybox")
    (top / ".config").write_bytes(debian_config(src))
    shutil.copytree(src / "testsuite", top / "testsuite", symlinks=True)
    (top / "testsuite/mdev.tests").unlink(missing_ok=True)  # Debian removes it
    (top / "shell").mkdir()
    ash = top / "shell/ash_test"
    shutil.copytree(src / "shell/ash_test", ash, symlinks=True)
    for guest, path in helpers.items():
        dst = dest / guest.lstrip("/")
        dst.unlink(missing_ok=True)  # /bin/false: a BusyBox link in the default layout
        shutil.copy2(path, dst)
        os.chmod(dst, 0o755)
    (ash / "ash").symlink_to("../../busybox")  # run-all would make it, and say so
    for guest, host in host_programs().items():
        dst = dest / guest.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.unlink(missing_ok=True)
        shutil.copy2(host, dst)  # a library's symlink becomes the file it names


def host_programs() -> dict[str, str]:
    """guest path -> host file: the host programs the suites call that BusyBox lacks (Info-ZIP
    `zip`, which unzip.tests uses to make its archive), with their ld.so and libraries.
    Empty when the host has none of them (the cases that need them then fail on both sides).
    """
    from twaron.fs.rootfs import host_program_files

    out: dict[str, str] = {}
    for name in HOST_PROGRAMS:
        path = shutil.which(name)
        if path is None:
            continue
        try:
            libs = host_program_files(path)
        except OSError:
            continue
        out[f"/usr/bin/{name}"] = path
        out.update(libs)
    return out


def native_tree(pristine: Path, dest: Path) -> None:
    """A copy of the tree for one native run, with what devtmpfs has and a plain directory
    lacks: /dev/full and the /dev/fd, stdin, stdout, stderr links."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", f"{pristine}/.", str(dest)], check=True)
    dev = dest / "dev"
    try:
        full = dev / "full"
        full.unlink(missing_ok=True)
        os.mknod(full, 0o20666, os.makedev(1, 7))
        os.chmod(full, 0o666)
    except OSError:
        pass
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(dev / name):
            os.symlink(target, dev / name)


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    suite: str
    side: str  # native | twaron
    cases: dict[str, str] = field(default_factory=dict)  # name -> PASS/FAIL/SKIPPED/UNTESTED
    order: list[str] = field(default_factory=list)
    status: int | None = None
    seconds: float = 0.0
    error: str = ""  # timeout, could not start, ...
    oopses: int = 0
    log: list[str] = field(default_factory=list)
    last: str = ""
    shard: str = ""  # which applets this run had ("" = the whole suite)
    shard_seconds: dict[str, float] = field(default_factory=dict)  # joined runs: each shard
    origin: dict[str, tuple[int, str]] = field(default_factory=dict)  # joined: (part, name)

    def counts(self) -> dict[str, int]:
        c = {r.lower(): 0 for r in RESULTS}
        for v in self.cases.values():
            c[v.lower()] += 1
        return c

    def feed(self, line: str) -> None:
        self.log.append(line)
        if line.startswith("twaron: oops"):
            self.oopses += 1
        if self.suite == "runtest":
            m = _RUNTEST_LINE.match(line)
            if not m:
                return
            result, name = m.group(1), m.group(2).rstrip()
        else:
            m = _ASH_LINE.match(line.strip())
            if not m:
                return
            name, result = m.group(1), "PASS" if m.group(2) == "ok" else "FAIL"
        base, n = name, 1
        while name in self.cases:  # the same name twice: "name #2"
            n += 1
            name = f"{base} #{n}"
        self.cases[name] = result
        self.order.append(name)
        self.last = name


def differs(native: RunResult, twaron: RunResult) -> dict[str, tuple[str, str]]:
    """name -> (native result, twaron result) where they differ ("-" = not reported)."""
    out = {}
    for name in dict.fromkeys(native.order + twaron.order):
        a, b = native.cases.get(name, "-"), twaron.cases.get(name, "-")
        if a != b:
            out[name] = (a, b)
    return out


# --------------------------------------------------------------------------- running


def join_results(parts: list[RunResult]) -> RunResult:
    """One suite's shards, in order, as if one run had printed all their lines."""
    out = RunResult(parts[0].suite, parts[0].side)
    for i, r in enumerate(parts):
        names = iter(r.order)
        for line in r.log:
            before = len(out.order)
            out.feed(line)
            if len(out.order) > before:
                out.origin[out.last] = (i, next(names))
    out.status = max((r.status for r in parts if r.status is not None), default=None)
    out.seconds = sum(r.seconds for r in parts)
    out.shard_seconds = {r.shard: r.seconds for r in parts if r.shard}
    out.error = "; ".join(r.error for r in parts if r.error)
    return out


@dataclass
class Job:
    suite: str
    side: str
    argv: list[str]
    preexec: Callable[[], None] | None
    timeout: float
    applets: tuple[str, ...] = ()  # runtest applets / ash_test modules ("" = all)
    result: RunResult = field(init=False)
    proc: subprocess.Popen | None = None
    started: float = 0.0

    def __post_init__(self) -> None:
        self.result = RunResult(self.suite, self.side, shard=self.shard)

    @property
    def shard(self) -> str:
        """Which applets, for messages ("" = the whole suite)."""
        a = self.applets
        return "" if not a else a[0] if len(a) == 1 else f"{a[0]}..{a[-1]}"

    @property
    def heavy(self) -> bool:
        return bool(set(self.applets) & set(RUNTEST_HEAVY))

    @property
    def weight(self) -> int:  # longest first
        return ((4 if self.heavy else 0) + (2 if self.side == "twaron" else 0)
                + (1 if self.suite == "ash" else 0))  # fmt: skip

    @property
    def done(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None


def _twaron_job(suite: str, root: Path, platform: str, timeout: float,
                applets: tuple[str, ...] = ()) -> Job:  # fmt: skip
    argv = [sys.executable, "-m", "twaron", "run", "--rootfs", str(root), "--timeout",
            str(timeout)]  # fmt: skip
    if platform != "auto":
        argv += ["--platform", platform]
    favour = _favoured if set(applets) & set(RUNTEST_HEAVY) else None
    return Job(suite, "twaron", [*argv, "--", *guest_argv(suite, applets)], favour,
               timeout + 60, applets)


def _favoured() -> None:
    """(In the heavy shard's child.) bc's shard is the suite's critical path, longer than
    the other shards together: ahead of them and of the tests sharing the CPUs it ends
    about when they do. Only root may raise a priority; otherwise it stays as it was."""
    try:
        os.nice(HEAVY_NICE)
    except OSError:
        pass


def _native_job(suite: str, root: Path, applets: tuple[str, ...] = ()) -> Job:
    from twaron.native import _libc_handle, enter_root

    _libc_handle()  # loaded before fork

    def preexec() -> None:
        enter_root(str(root), tmpfs_tmp=True)

    return Job(suite, "native", guest_argv(suite, applets), preexec, NATIVE_TIMEOUT,
               applets)


def _reader(job: Job) -> None:
    assert job.proc is not None and job.proc.stdout is not None
    for raw in job.proc.stdout:
        job.result.feed(raw.decode("utf-8", "replace").rstrip("\n"))


def _execute(job: Job) -> None:
    job.started = time.monotonic()
    try:
        job.proc = subprocess.Popen(
            job.argv, executable=job.argv[0],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            close_fds=True, start_new_session=True, preexec_fn=job.preexec,
            cwd="/" if job.side == "native" else None,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as e:
        job.result.error = f"cannot start: {e}"
        return
    reader = threading.Thread(target=_reader, args=(job,), daemon=True)
    reader.start()
    try:
        job.result.status = job.proc.wait(timeout=job.timeout)
    except subprocess.TimeoutExpired:
        job.result.error = f"timed out after {job.timeout:.0f}s"
    finally:
        try:
            os.killpg(job.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.proc.wait()
        reader.join(timeout=10)
        job.result.seconds = time.monotonic() - job.started
    if job.side == "twaron" and job.result.status == 124 and not job.result.error:
        job.result.error = "twaron --timeout expired"
    if job.result.error and job.shard:
        job.result.error = f"[{job.shard}] {job.result.error}"


def run_jobs(jobs: list[Job], max_parallel: int, progress: Callable[[list[Job]], None]) -> None:
    pending = sorted(jobs, key=lambda j: -j.weight)
    running: list[threading.Thread] = []
    while pending or running:
        running = [t for t in running if t.is_alive()]
        while pending and len(running) < max_parallel:
            t = threading.Thread(target=_execute, args=(pending.pop(0),), daemon=True)
            t.start()
            running.append(t)
        progress(jobs)
        time.sleep(0.25)
    progress(jobs)


class Progress:
    """A status line on a terminal (stderr); a line every 30 s otherwise."""

    def __init__(self, stream=sys.stderr, enabled: bool = True) -> None:
        self.stream = stream
        self.tty = enabled and stream.isatty()
        self.enabled = enabled
        self.last_print = time.monotonic()
        self.width = shutil.get_terminal_size((100, 20)).columns

    def __call__(self, jobs: list[Job]) -> None:
        if not self.enabled:
            return
        parts = []
        for (suite, side), group in _by_suite(jobs).items():
            n = sum(len(j.result.cases) for j in group)
            fails = sum(j.result.counts()["fail"] for j in group)
            if all(j.done for j in group):
                state = f"{n} done"
            elif any(j.proc for j in group):
                state = f"{n}/{KNOWN_TOTALS[suite]}"
            else:
                state = "waiting"
            parts.append(f"{suite}/{side} {state}" + (f" ({fails} FAIL)" if fails else ""))
        self.show(" | ".join(parts))

    def show(self, line: str) -> None:
        """The line in place on a terminal; elsewhere, at most every 30 s."""
        if self.tty:
            self.stream.write("\r\x1b[K" + line[: self.width - 1])
            self.stream.flush()
        elif time.monotonic() - self.last_print >= 30:
            self.last_print = time.monotonic()
            print(f"[{time.strftime('%H:%M:%S')}] {line}", file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _by_suite(jobs: list[Job]) -> dict[tuple[str, str], list[Job]]:
    out: dict[tuple[str, str], list[Job]] = {}
    for j in jobs:
        out.setdefault((j.suite, j.side), []).append(j)
    return out


@dataclass
class Report:
    installed: Installed
    platform: str
    results: dict[tuple[str, str], RunResult]  # (suite, side) -> result
    suites: tuple[str, ...]
    # suite -> case -> {"native": [first, second], "twaron": [first, second]}: cases that
    # differed in the first run and agreed when run again (see recheck)
    flaky: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)

    def differs(self, suite: str) -> dict[str, tuple[str, str]]:
        native = self.results.get((suite, "native"))
        tw = self.results.get((suite, "twaron"))
        if native is None or tw is None:
            return {}
        return differs(native, tw)

    @property
    def complete(self) -> bool:
        return all(not r.error and r.cases for r in self.results.values())

    @property
    def oopses(self) -> int:
        return sum(r.oopses for r in self.results.values())

    def to_json(self) -> dict:
        out: dict = {}
        for suite in self.suites:
            tw = self.results.get((suite, "twaron"))
            native = self.results.get((suite, "native"))
            d = self.differs(suite)
            entry: dict = dict(tw.counts()) if tw else {}
            entry["native"] = native.counts() if native else None
            entry["differs"] = list(d)
            entry["differences"] = {k: {"native": a, "twaron": b} for k, (a, b) in d.items()}
            entry["seconds"] = {s: round(r.seconds, 1) for (su, s), r in self.results.items()
                                if su == suite}  # fmt: skip
            shards = {s: {k: round(v, 1) for k, v in r.shard_seconds.items()}
                      for (su, s), r in self.results.items() if su == suite and r.shard_seconds}
            if shards:
                entry["shard_seconds"] = shards
            errors = {s: r.error for (su, s), r in self.results.items() if su == suite and r.error}
            if errors:
                entry["errors"] = errors
            entry["oopses"] = tw.oopses if tw else 0
            if self.flaky.get(suite):
                entry["flaky"] = self.flaky[suite]
            out[suite] = entry
        out["meta"] = {
            "busybox": f"{self.installed.source_package} {self.installed.source_version}",
            "platform": self.platform,
        }
        return out

    def text(self) -> str:
        lines = [f"BusyBox {self.installed.upstream} ({self.installed.source_package} "
                 f"{self.installed.source_version}), twaron platform {self.platform}", "",
                 f"{'suite':<9}{'side':<8}{'PASS':>6}{'FAIL':>6}{'SKIPPED':>9}{'UNTESTED':>10}"
                 f"{'time':>8}"]  # fmt: skip
        for suite in self.suites:
            for side in ("native", "twaron"):
                r = self.results.get((suite, side))
                if r is None:
                    continue
                c = r.counts()
                extra = f"  {r.error}" if r.error else ""
                if r.oopses:
                    extra += f"  {r.oopses} oops(es)"
                lines.append(f"{suite:<9}{side:<8}{c['pass']:>6}{c['fail']:>6}"
                             f"{c['skipped']:>9}{c['untested']:>10}{r.seconds:>7.0f}s{extra}")
        for suite in self.suites:
            d = self.differs(suite)
            lines.append("")
            broken = [f"{side}: {r.error or 'no results'}" for (su, side), r in
                      self.results.items() if su == suite and (r.error or not r.cases)]
            if broken:
                lines.append(f"{suite}: incomplete run ({'; '.join(broken)})")
            for name, runs in self.flaky.get(suite, {}).items():
                lines.append(f"{suite}: {name} differed, then agreed when run again "
                             f"(native {' -> '.join(runs['native'])}, "
                             f"twaron {' -> '.join(runs['twaron'])})")  # fmt: skip
            if not d:
                lines.append(f"{suite}: twaron's results equal native's")
                continue
            lines.append(f"{suite}: {len(d)} case(s) differ (native -> twaron; - = not run):")
            shown = [(n, a, b) for n, (a, b) in d.items() if a != "-" and b != "-"]
            missing = [(n, a, b) for n, (a, b) in d.items() if a == "-" or b == "-"]
            for name, a, b in shown + missing[:5]:
                lines.append(f"  {a:>8} -> {b:<8} {name}")
            if len(missing) > 5:
                lines.append(f"  ... and {len(missing) - 5} more not run on one side")
        return "\n".join(lines)


def run(suites: tuple[str, ...] = SUITES, platform: str = "auto", keep: Path | None = None,
        jobs: int | None = None, native: bool = True, progress: bool = True,
        log: Callable[[str], None] | None = None, timeout: float = TWARON_TIMEOUT,
        applets: tuple[str, ...] = ()) -> Report:  # fmt: skip
    """Obtain, lay out and run the suites; both sides when native is possible.

    applets: run only these applets' runtest cases (one run; default all, in shards)."""
    log = log or (lambda m: print(f"twaron: {m}", file=sys.stderr, flush=True))
    inst = installed()
    src = source_tree(inst, log=log)
    helpers = build_helpers(src)
    if native:
        from twaron.native import native_possible

        ok, why = native_possible()
        if not ok:
            log(f"no native side: {why}")
            native = False
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="twaron-busybox-"))
    try:
        if keep and work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        pristine = work / "root"
        write_tree(pristine, src, helpers)
        parallel = jobs or os.cpu_count() or 2
        job_list: list[Job] = []
        for suite in suites:
            if suite != "runtest":
                units: list[tuple[str, ...]] = [()]
            else:
                units = [applets] if applets else runtest_shards(runtest_applets())
            job_list += _jobs_for(suite, units, work, "", platform, timeout, native)
        _execute_all(job_list, parallel, progress)
        results = {key: join_results([j.result for j in group])
                   for key, group in _by_suite(job_list).items()}  # fmt: skip
        report = Report(inst, platform, results, suites)
        if native:
            recheck(report, job_list, lambda suite, units: _jobs_for(
                suite, units, work, "-rerun", platform, timeout, True), parallel, progress)
        if keep:
            logs = work / "logs"
            logs.mkdir(exist_ok=True)
            for (suite, side), r in results.items():
                (logs / f"{suite}-{side}.log").write_text("\n".join(r.log) + "\n")
            (logs / "report.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")
        return report
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _jobs_for(suite: str, units: list[tuple[str, ...]], work: Path, tag: str, platform: str,
              timeout: float, native: bool) -> list[Job]:  # fmt: skip
    """A twaron job (and a native one, in a copy of the tree of its own) per unit."""
    pristine = work / "root"
    out = []
    for i, applets in enumerate(units):
        out.append(_twaron_job(suite, pristine, platform, timeout, applets))
        if native:
            nroot = work / f"native{tag}-{suite}" / str(i)
            native_tree(pristine, nroot)
            out.append(_native_job(suite, nroot, applets))
    return out


def _execute_all(job_list: list[Job], parallel: int, progress: bool) -> None:
    p = Progress(enabled=progress)
    try:
        run_jobs(job_list, parallel, p)
    finally:
        p.done()
        for j in job_list:
            if j.proc is not None and j.proc.returncode is None:
                try:
                    os.killpg(j.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


RECHECK_LIMIT = 10  # more differing cases than this is no flake: no second run


def recheck(report: Report, job_list: list[Job],
            make_jobs: Callable[[str, list[tuple[str, ...]]], list[Job]],
            parallel: int, progress: bool) -> None:  # fmt: skip
    """Run the cases that differ once more, on both sides, in the unit that holds them
    (runtest: the case's shard; ash: its module, `./run-all ash-misc`). Some cases race
    with the clock (`kill $$ &` against `sleep 1`) and fail on a loaded machine, on either
    side. A case whose sides agree in the second run takes that result on both sides and
    is listed in report.flaky; one that differs again keeps its first results."""
    groups = _by_suite(job_list)
    for suite in report.suites:
        native, tw = report.results.get((suite, "native")), report.results.get((suite, "twaron"))
        d = report.differs(suite)
        if native is None or tw is None or not d or len(d) > RECHECK_LIMIT:
            continue
        where: dict[str, tuple[tuple[str, ...], str]] = {}  # name -> (unit, name in it)
        for name in d:
            for side, r in (("twaron", tw), ("native", native)):
                if name not in r.origin:
                    continue
                part, local = r.origin[name]
                job = groups[(suite, side)][part]
                if not job.result.error:
                    unit = job.applets if suite == "runtest" else (name.split("/", 1)[0],)
                    where[name] = (unit, local if suite == "runtest" else name)
                break
        units = list(dict.fromkeys(unit for unit, _ in where.values()))
        if not units:
            continue
        again = make_jobs(suite, units)
        _execute_all(again, parallel, progress)
        second = {(j.applets, j.side): j.result for j in again}
        for name, (unit, local) in where.items():
            a = second[(unit, "native")].cases.get(local)
            b = second[(unit, "twaron")].cases.get(local)
            if a is None or a != b:
                continue
            report.flaky.setdefault(suite, {})[name] = {
                "native": [native.cases.get(name, "-"), a], "twaron": [tw.cases.get(name, "-"), b]}
            native.cases[name] = tw.cases[name] = a
            for r in (native, tw):
                if name not in r.order:
                    r.order.append(name)


# --------------------------------------------------------------------------- known differences


def known_differences(path: Path) -> dict[tuple[str, str], str]:
    """Lines `SUITE: CASE NAME -- REASON`; `#` starts a comment line."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        suite, sep, rest = line.partition(": ")
        name, sep2, reason = rest.rpartition(" -- ")
        if not sep or not sep2 or suite not in SUITES or not reason.strip():
            raise ValueError(f"{path}: bad line (want 'SUITE: NAME -- REASON'): {raw!r}")
        out[(suite, name.strip())] = reason.strip()
    return out


# --------------------------------------------------------------------------- the command


def main(args) -> int:
    """`twaron test busybox`: 0 when twaron's results equal native's, 1 otherwise."""
    from twaron.testsuite.sources import SourceError

    suites = SUITES if args.suite == "all" else (args.suite,)
    try:
        report = run(suites, args.platform, Path(args.keep) if args.keep else None,
                     args.jobs, native=not args.no_native,
                     applets=tuple(a for a in (args.applets or "").split(",") if a))  # fmt: skip
    except (SourceError, SuiteError) as e:
        print(f"twaron test busybox: {e}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1) + "\n")
    if args.keep:
        print(f"\nkept: {args.keep} (root/, native-*/, logs/)")
    same = all(not report.differs(s) for s in suites)
    return 0 if same and report.complete and not report.oopses else 1
