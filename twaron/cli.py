"""`twaron run | replay | explore | bench | profile | test | fuzz | syscalls`: argument parsing
and presentation only.

Everything that boots or runs a kernel lives in twaron.api; this module turns a command
line into a Config and an api call into an exit status. Heavy modules are imported inside
the command handlers so that `twaron --help` and argument errors stay instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from twaron.config import (
    NET_MODES,
    PLATFORMS,
    Config,
    Publish,
    Volume,
    default_env,
    parse_add,
    parse_env_assignment,
    parse_size,
    read_env_file,
)
from twaron.random import RNG_KINDS


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add(text: str) -> tuple[str, str]:
    try:
        return parse_add(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _seed(text: str) -> int:
    try:
        return int(text, 0)  # 42, 0x2a
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _volume(text: str) -> Volume:
    try:
        return Volume.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _publish(text: str) -> Publish:
    try:
        return Publish.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("timeout must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twaron",
        description="A Linux-compatible kernel in Python: run unmodified x86-64 programs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run",
        help="boot a kernel and run PROGRAM as its first process",
        usage="%(prog)s [options] [--] PROGRAM [ARGS...]",
    )
    run.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    run.add_argument("--rootfs", metavar="DIR", help="host directory imported as /")
    run.add_argument("--image", metavar="TARBALL",
                     help="a root filesystem tarball (.tar, .tar.gz, .tar.xz), a docker save "
                     "archive or an OCI layout, unpacked once into a cache and used as "
                     "--rootfs; Env, WorkingDir, User, Entrypoint, Cmd as docker")  # fmt: skip
    run.add_argument(
        "--memory", type=_size, default=Config.memory, metavar="SIZE",
        help="guest memory, e.g. 512M, 1G (default 512M)",
    )  # fmt: skip
    run.add_argument("--rng", choices=RNG_KINDS, default="chacha20", help="kernel RNG")
    run.add_argument("--seed", type=_seed, metavar="N", help="seed the RNG: reproducible runs")
    run.add_argument(
        "--trace", action="store_true",
        help="print each system call to stderr, strace-style; --trace=SET only the calls of "
        "a strace set (%%file, openat,close, !read, ...)",
    )  # fmt: skip
    run.add_argument(
        "--quiet", action="store_true",
        help="do not list the system calls twaron does not implement at the end of the run",
    )  # fmt: skip
    run.add_argument(
        "--add", type=_add, action="append", default=[], metavar="HOST[:GUEST]",
        dest="add_files", help="copy a host file into the guest (repeatable)",
    )  # fmt: skip
    run.add_argument("--timeout", type=_timeout, metavar="S", help="stop after S seconds")
    run.add_argument("--init", action="store_true", help="run PROGRAM under a minimal init")
    watch = run.add_argument_group(
        "watching and steering", "strace's -c, -C, -o, -e trace= and -e inject=, and more "
        "(README: Watching and steering a program from Python)")
    watch.add_argument("--trace-filter", metavar="SET", help=argparse.SUPPRESS)  # --trace=SET
    watch.add_argument("-c", "--summary", action="store_true",
                       help="strace -c's table of the calls on stderr at the end (no trace)")
    watch.add_argument("-C", dest="summary_and_trace", action="store_true",
                       help="the trace and the -c table")
    watch.add_argument("--trace-file", metavar="FILE",
                       help="write the trace (and the -c table) to FILE, not stderr")
    watch.add_argument("--inject", action="append", default=[], metavar="SET:OPTIONS",
                       help="strace's -e inject=SET:error=E|retval=N[:signal=S]"
                       "[:delay_enter=US][:delay_exit=US][:when=FIRST[..LAST][+STEP]] "
                       "(repeatable)")
    watch.add_argument("--fault", action="append", default=[], metavar="SET[:OPTIONS]",
                       help="strace's -e fault=: --inject with error=ENOSYS by default")
    watch.add_argument("--fail-mem", type=_percent, metavar="PERCENT",
                       help="fail PERCENT %% of mmap/mremap/brk (ENOMEM) at points --seed "
                       "makes reproducible")
    watch.add_argument("--timeline", metavar="FILE",
                       help="write a Perfetto/Chrome-trace JSON timeline of the run")
    watch.add_argument("--hooks", metavar="FILE.py",
                       help="Python hooks: a file defining `hooks = twaron.Hooks()`")
    watch.add_argument("-tt", dest="trace_timestamps", action="store_true",
                       help="strace -tt: the time of day (microseconds) before each trace line")
    run.add_argument("--tmpfs-size", type=_size, metavar="SIZE",
                     help="size limit of each tmpfs (default: half of --memory, as Linux)")
    run.add_argument("--net", choices=NET_MODES, default="none",
                     help="none: only lo, inside the guest (default); host: host sockets "
                     "(deterministic runs take what they receive at input points)")
    run.add_argument(
        "-p", "--publish", type=_publish, action="append", default=[],
        metavar="[HOST_ADDR:]HOST_PORT:GUEST_PORT[/udp]",
        help="listen on the host and join connections to the guest's port (repeatable)",
    )  # fmt: skip
    det = run.add_argument_group(
        "deterministic runs", "the same program, inputs and seed give the same output, trace "
        "and times (README: Deterministic runs, record and replay, explore)")
    det.add_argument("--deterministic", action="store_true",
                     help="virtual time, a schedule from --seed (default 0), no host clock or "
                     "entropy (Unicorn platform)")
    det.add_argument("--epoch", type=_epoch, metavar="SECONDS|DATE",
                     help="CLOCK_REALTIME at boot of a deterministic run: seconds since 1970 "
                     "or an ISO date (default 2000-01-01T00:00:00Z)")
    det.add_argument("--record", metavar="FILE",
                     help="write every input from outside the kernel to FILE (the terminal, "
                     "signals, what --net host and --publish sockets receive), for twaron "
                     "replay (implies --deterministic)")
    det.add_argument("--check-every", type=_positive_int, default=Config.check_every,
                     metavar="N", help="events between two hash checks in the record "
                     "(default 1000)")
    box = run.add_argument_group(
        "container options", "docker run's: every run is fresh (as --rm), nothing is kept")
    box.add_argument("-v", "--volume", type=_volume, action="append", default=[],
                     dest="volumes", metavar="HOST:GUEST[:ro]",
                     help="mount a host directory (changes reach it; :ro refuses them)")
    box.add_argument("-e", "--env", action="append", default=[], metavar="NAME[=VALUE]",
                     help="set an environment variable (a bare NAME: the host's value)")
    box.add_argument("--env-file", action="append", default=[], metavar="FILE",
                     help="NAME=VALUE lines to set (# comments and blank lines skipped)")
    box.add_argument("-w", "--workdir", metavar="DIR", help="PROGRAM's working directory")
    box.add_argument("-u", "--user", metavar="UID[:GID]",
                     help="run PROGRAM as this user (and group): numbers or guest names")
    box.add_argument("--hostname", metavar="NAME", help="the guest's host name")
    # REMAINDER: everything from PROGRAM on belongs to the guest, options included.
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="PROGRAM [ARGS...]")
    run.set_defaults(handler=_cmd_run)

    replay = sub.add_parser(
        "replay",
        help="replay a run recorded with `twaron run --record FILE`",
        usage="%(prog)s [options] FILE",
        description="Replay a recorded deterministic run without the outside world: the "
        "guest's output and exit status are the recorded run's (no host socket is opened: "
        "--net host and --publish sockets are fed from the record, and what the guest "
        "sends is checked against it). The record's running hash "
        "is checked as the replay goes; the first divergence is reported and ends the "
        "replay with exit status 125.",
    )
    replay.add_argument("--trace", action="store_true", help="trace the replayed calls")
    replay.add_argument("--trace-file", metavar="FILE", help="write the trace to FILE")
    replay.add_argument("-tt", dest="trace_timestamps", action="store_true",
                        help="the time of day before each trace line")
    replay.add_argument("record", metavar="FILE", help="the record")
    replay.set_defaults(handler=_cmd_replay)

    explore = sub.add_parser(
        "explore",
        help="run PROGRAM under many seeded schedules and group the outcomes",
        usage="%(prog)s --runs N [--seed S] [--jobs J] [--json FILE] [run options] "
        "-- PROGRAM [ARGS...]",
        description="Run PROGRAM N times with `twaron run --deterministic` under seeds S, "
        "S+1, ..., each a different schedule with random preemption points, and print the "
        "distinct outcomes (exit status, SHA-256 of stdout then stderr, oopses) with the "
        "seed that reproduces each: `twaron run --deterministic --seed X -- PROGRAM`.",
    )
    explore.add_argument("--runs", type=_positive_int, default=100, metavar="N",
                         help="runs (default 100)")
    explore.add_argument("--seed", type=_seed, metavar="S",
                         help="the first seed (default: a random one, printed)")
    explore.add_argument("--jobs", type=_positive_int, metavar="J",
                         help="runs at a time (default: the number of CPUs)")
    explore.add_argument("--json", metavar="FILE", help="write the outcomes as JSON")
    explore.add_argument("--platform", choices=("auto", "unicorn"), default="auto",
                         help="CPU platform (deterministic runs are Unicorn's)")
    explore.add_argument("--rootfs", metavar="DIR", help="host directory imported as /")
    explore.add_argument("--memory", type=_size, default=Config.memory, metavar="SIZE",
                         help="guest memory (default 512M)")
    explore.add_argument("--rng", choices=RNG_KINDS, default="chacha20", help="kernel RNG")
    explore.add_argument("--add", type=_add, action="append", default=[],
                         metavar="HOST[:GUEST]", dest="add_files",
                         help="copy a host file into the guest (repeatable)")
    explore.add_argument("--timeout", type=_timeout, metavar="S",
                         help="stop each run after S seconds (exit status 124)")
    explore.add_argument("--init", action="store_true", help="run PROGRAM under a minimal init")
    explore.add_argument("--tmpfs-size", type=_size, metavar="SIZE", help="tmpfs size limit")
    explore.add_argument("--epoch", type=_epoch, metavar="SECONDS|DATE",
                         help="CLOCK_REALTIME at boot")
    explore.add_argument("--inject", action="append", default=[], metavar="SET:OPTIONS",
                         help="strace's -e inject= (repeatable)")
    explore.add_argument("--fault", action="append", default=[], metavar="SET[:OPTIONS]",
                         help="strace's -e fault=")
    explore.add_argument("--fail-mem", type=_percent, metavar="PERCENT",
                         help="fail PERCENT %% of mmap/mremap/brk")
    explore.add_argument("--quiet", action="store_true",
                         help="no end-of-run line about unimplemented calls in the outputs")
    explore.add_argument("argv", nargs=argparse.REMAINDER, metavar="PROGRAM [ARGS...]")
    explore.set_defaults(handler=_cmd_explore)

    bench = sub.add_parser(
        "bench",
        help="run the workload benchmarks natively and inside twaron, side by side",
        usage="%(prog)s [options] [WORKLOAD...]",
        description="Run the workload benchmarks (benchmarks.md) with one static program, "
        "natively in a chroot with twaron's root layout and inside twaron, alternating rounds; "
        "print the medians and the ratio twaron/native.",
    )
    bench.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    bench.add_argument("--quick", action="store_true", help="fewer iterations and rounds")
    bench.add_argument("--iterations", type=_positive_int, metavar="N",
                       help="iterations of every workload (default: its own count)")
    bench.add_argument("--rounds", type=_positive_int, metavar="N",
                       help="rounds per side (default 5, --quick 3)")
    bench.add_argument("--json", metavar="FILE", help="write the results as JSON")
    bench.add_argument("--plot", metavar="FILE.png", help="draw the ratios as a bar chart")
    bench.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    bench.add_argument("--no-native", action="store_true", help="run the twaron side only")
    bench.add_argument("--deterministic-cost", action="store_true",
                       help="instead: time normal and --deterministic Unicorn runs of the "
                       "workloads from the host and print the slowdown")
    bench.add_argument("--guest-speed", action="store_true",
                       help="instead: instructions per microsecond of warm guest code (the "
                       "kernels sha256, interp, qsort) in a bare Unicorn engine, in twaron "
                       "and natively")
    bench.add_argument("--boot", action="store_true",
                       help="instead: boot to the first instruction and `twaron run -- true`, "
                       "in fresh processes, for the built-in root and each --rootfs (default: "
                       "the cached Debian root, if built)")
    bench.add_argument("--rootfs", action="append", default=[], metavar="DIR",
                       help="with --boot: a root to compare with the built-in one")
    bench.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                       help="workloads to run (default: all)")
    bench.set_defaults(handler=_cmd_bench)

    prof = sub.add_parser(
        "profile",
        help="fork+exec+wait PROGRAM N times and print execve's phases",
        usage="%(prog)s [options] -- PROGRAM [ARGS...]",
        description="Run PROGRAM N times as fork+exec+wait from a guest parent with the "
        "kernel's phase timers on, and print the seed post's table: phase, average, % of exec.",
    )
    prof.add_argument("--execs", type=_positive_int, default=50, metavar="N",
                      help="timed execs (default 50)")
    prof.add_argument("--warmup", type=_nonnegative_int, default=3, metavar="N",
                      help="untimed execs first (default 3: the emulator translates code once)")
    prof.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    prof.add_argument(
        "--add", type=_add, action="append", default=[], metavar="HOST[:GUEST]",
        dest="add_files", help="copy a host file into the guest (repeatable), e.g. ld.so",
    )  # fmt: skip
    prof.add_argument("--json", metavar="FILE", help="write the phases as JSON")
    prof.add_argument("--trace-out", metavar="FILE",
                      help="write a Chrome-trace/Perfetto JSON timeline of the timed execs")
    prof.add_argument("argv", nargs=argparse.REMAINDER, metavar="PROGRAM [ARGS...]")
    prof.set_defaults(handler=_cmd_profile)

    test = sub.add_parser(
        "test",
        help="run the conformance suites (BusyBox, CPython) in twaron and natively",
        description="Run a conformance suite inside twaron and natively in a chroot "
        "holding the same tree: BusyBox's upstream test suites (busybox) or CPython's test "
        "modules in a Debian bookworm root (python); print the counts side by side and the "
        "cases that differ.",
    )
    test_sub = test.add_subparsers(dest="suite_set", metavar="SUITE")
    test_sub.required = True
    bb = test_sub.add_parser("busybox", help="BusyBox's runtest and ash_test suites")
    bb.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    bb.add_argument("--json", metavar="FILE", help="write the results as JSON")
    bb.add_argument("--suite", choices=("runtest", "ash", "all"), default="all",
                    help="which suite (default all)")
    bb.add_argument("--keep", metavar="DIR",
                    help="work in DIR and keep it: the tree, the native trees, the logs")
    bb.add_argument("--jobs", type=_positive_int, metavar="N",
                    help="runs at a time (default: the number of CPUs)")
    bb.add_argument("--no-native", action="store_true", help="run the twaron side only")
    bb.add_argument("--applets", metavar="A,B,...",
                    help="runtest: only these applets' tests (default: all, in shards)")
    bb.set_defaults(handler=_cmd_test_busybox)
    py = test_sub.add_parser(
        "python", help="CPython's test suite (python3 -m test) in a Debian bookworm root",
        description="Run CPython's own test modules (python3 -m test -v MODULE) inside "
        "twaron (--rootfs of a cached Debian bookworm root, built by mmdebstrap on first "
        "use) and natively in a chroot of an overlay of the same root; print the counts "
        "per module side by side and the cases that differ. Exit status 1 when a case that "
        "passes natively does not pass inside twaron and is not a known difference.",
    )  # fmt: skip
    py.add_argument("modules", nargs="*", metavar="MODULE",
                    help="test modules (default: the issue's list, see twaron.testsuite.python)")
    py.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    py.add_argument("--json", metavar="FILE", help="write the results as JSON")
    py.add_argument("--jobs", type=_positive_int, metavar="N",
                    help="runs at a time (default: the number of CPUs)")
    py.add_argument("--no-native", action="store_true", help="run the twaron side only")
    py.add_argument("--rootfs", metavar="DIR",
                    help="use this root (with python3 and libpython3.11-testsuite) instead "
                    "of the cached bookworm root")
    py.add_argument("--keep", metavar="DIR", help="write each run's output into DIR")
    py.set_defaults(handler=_cmd_test_python)

    image = sub.add_parser("image", help="make root filesystems (twaron image build)")
    image_sub = image.add_subparsers(dest="image_command", metavar="COMMAND")
    image_sub.required = True
    ib = image_sub.add_parser(
        "build", help="a Debian root made by mmdebstrap",
        description="Build a Debian root filesystem with mmdebstrap (variant minbase) from "
        "Debian's archive as apt is configured on the host, plus the files a container "
        "runtime adds (/etc/hosts, /etc/resolv.conf, /etc/hostname); use it with --rootfs.",
    )  # fmt: skip
    ib.add_argument("--debian", metavar="SUITE", required=True,
                    help="the Debian suite (bookworm, trixie, ...)")
    ib.add_argument("--include", metavar="PKG,...", help="packages beyond minbase")
    ib.add_argument("-o", "--output", metavar="DIR", required=True,
                    help="the new root (must not exist or be empty)")
    ib.set_defaults(handler=_cmd_image_build)

    fuzz = sub.add_parser(
        "fuzz",
        help="fuzz the system call interface: random calls from guest processes",
        description="Boot a guest running PROCS fuzzing processes that issue random system "
        "calls with random and boundary arguments, seeded and reproducible; report the calls "
        "made, the errno distribution and every oops with the seed and call that reproduce "
        "it. The last line reads `calls: N, oopses: M`; the exit status is 1 on any oops.",
    )
    fuzz.add_argument("--platform", choices=PLATFORMS, default="auto", help="CPU platform")
    fuzz.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed (default 0)")
    fuzz.add_argument("--calls", type=_positive_int, default=10_000, metavar="N",
                      help="stop after N calls (default 10000)")
    fuzz.add_argument("--procs", type=_positive_int, default=4, metavar="K",
                      help="fuzzing processes (default 4, at most 64)")
    fuzz.add_argument("--lifetime", type=_positive_int, default=2000, metavar="N",
                      help="calls a fuzzing process makes before it is replaced (default 2000)")
    fuzz.add_argument("--child-seed", type=_seed, metavar="X",
                      help="reproduce: the first child runs with seed X (from an oops report)")
    fuzz.add_argument("--memory", type=_size, default=256 << 20, metavar="SIZE",
                      help="guest memory (default 256M)")
    fuzz.add_argument("--timeout", type=_timeout, metavar="S", help="stop after S seconds")
    fuzz.add_argument("--progress", action="store_true",
                      help="a progress line on stderr every 10 seconds")
    fuzz.set_defaults(handler=_cmd_fuzz)

    scs = sub.add_parser(
        "syscalls",
        help="list the system calls and how far twaron implements each",
        description="Print twaron's syscall registry: every x86-64 system call of Linux 6.1 "
        "with its support level (full, partial, stub, unsupported), what a signal does to it "
        "while it sleeps (restart rule) and a note on what differs from Linux. --markdown "
        "prints the compatibility page, docs/syscalls.md.",
    )
    scs.add_argument("--markdown", action="store_true", help="the Markdown page")
    scs.add_argument("--level", choices=("full", "partial", "stub", "unsupported"),
                     help="only the calls of this level")
    scs.set_defaults(handler=_cmd_syscalls)
    return parser


def _epoch(text: str) -> int:
    """--epoch: seconds since 1970 (an integer) or an ISO 8601 date, UTC unless it says."""
    try:
        return int(text, 0)
    except ValueError:
        pass
    import datetime

    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid epoch {text!r} (seconds since 1970, or a date: 2024-02-29T12:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp())


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid percentage {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("a percentage is 0..100")
    return value


# Options of `run` that take their value as the next word (so that `--trace=SET` can be told
# from `--trace PROGRAM`, see split_trace_set).
_RUN_VALUE_OPTIONS = {"--platform", "--rootfs", "--image", "--memory", "--rng", "--seed", "--add",
                      "--timeout", "--trace-file", "--inject", "--fault", "--fail-mem",
                      "--timeline", "--hooks", "--tmpfs-size", "--trace-filter", "-p",
                      "--publish", "-v", "--volume", "-e", "--env", "--env-file", "-w",
                      "--workdir", "-u", "--user", "--hostname", "--net", "--epoch",
                      "--record", "--check-every"}  # fmt: skip


def split_trace_set(argv: list[str]) -> list[str]:
    """`twaron run --trace=SET ...` -> `--trace-filter SET`: argparse cannot take an optional
    value only in the `=` form (`--trace sh` must stay "trace, and run sh"). Only the words
    before PROGRAM are looked at."""
    if not argv or argv[0] != "run":
        return argv
    out = [argv[0]]
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-"):
            return out + argv[i:]
        if word.startswith("--trace="):
            out += ["--trace-filter", word.split("=", 1)[1]]
        else:
            out.append(word)
            if word in _RUN_VALUE_OPTIONS and i + 1 < len(argv):
                out.append(argv[i + 1])
                i += 1
        i += 1
    return out


def config_from_args(args: argparse.Namespace) -> Config:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    summary = bool(getattr(args, "summary", False) or getattr(args, "summary_and_trace", False))
    trace_filter = getattr(args, "trace_filter", None)
    return Config(
        argv=argv,
        platform=args.platform,
        rootfs=args.rootfs,
        image=getattr(args, "image", None),
        memory=args.memory,
        rng=args.rng,
        seed=args.seed,
        trace=bool(args.trace or trace_filter or getattr(args, "summary_and_trace", False)),
        quiet=args.quiet,
        add_files=list(args.add_files),
        init=args.init,
        timeout=args.timeout,
        trace_filter=trace_filter,
        summary=summary,
        inject=list(getattr(args, "inject", [])),
        fault=list(getattr(args, "fault", [])),
        fail_mem=getattr(args, "fail_mem", None),
        timeline=getattr(args, "timeline", None),
        trace_file=getattr(args, "trace_file", None),
        tmpfs_size=getattr(args, "tmpfs_size", None),
        trace_timestamps=getattr(args, "trace_timestamps", False),
        deterministic=bool(getattr(args, "deterministic", False) or getattr(args, "record", None)),
        epoch=getattr(args, "epoch", None),
        record=getattr(args, "record", None),
        check_every=getattr(args, "check_every", Config.check_every),
        net=getattr(args, "net", "none"),
        publish=list(getattr(args, "publish", [])),
        volumes=list(getattr(args, "volumes", [])),
        env=guest_env(getattr(args, "env_file", []), getattr(args, "env", [])),
        workdir=getattr(args, "workdir", None),
        user=getattr(args, "user", None),
        hostname=getattr(args, "hostname", None),
    )


def guest_env(env_files: list[str], assignments: list[str]) -> dict[str, str]:
    """The default environment, then --env-file's lines, then -e's (docker's order).
    OSError if an env file cannot be read, ValueError for a bad assignment."""
    env = default_env()
    for path in env_files:
        env.update(read_env_file(path))
    for text in assignments:
        found = parse_env_assignment(text)
        if found is not None:
            env[found[0]] = found[1]
    return env


def check_watch_options(config: Config) -> str | None:
    """What is wrong with --trace=SET, --inject or --fault (as strace would refuse it)."""
    if not (config.trace_filter or config.inject or config.fault):
        return None
    from twaron.syscalls import registry
    from twaron.syscalls.inject import parse_inject

    reg = registry.load()
    try:
        if config.trace_filter:
            reg.select(config.trace_filter)
        for text in config.inject:
            parse_inject(text, reg.select)
        for text in config.fault:
            parse_inject(text, reg.select, fault=True)
    except ValueError as e:
        return str(e)
    return None


def load_hooks(path: str) -> object:
    """The `hooks` a --hooks file defines (a twaron.Hooks)."""
    import runpy

    from twaron.syscalls.hooks import Hooks

    hooks = runpy.run_path(path).get("hooks")
    if not isinstance(hooks, Hooks):
        raise ValueError(f"{path} defines no `hooks = twaron.Hooks()`")
    return hooks


def _cmd_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except OSError as e:  # --env-file
        parser.error(f"run: {e.filename}: {e.strerror}")
    except ValueError as e:  # --epoch without --deterministic, --deterministic on KVM, ...
        parser.error(f"run: {e}")
    if not config.argv and not config.image:
        parser.error("run: PROGRAM is required")  # exits 2, like every argument error
    problem = check_watch_options(config)
    if problem:
        parser.error(f"run: {problem}")
    if getattr(args, "hooks", None):
        try:
            config.hooks = load_hooks(args.hooks)
        except (OSError, ValueError, SyntaxError) as e:
            parser.error(f"run: --hooks: {e}")
    import importlib

    from twaron.platform import PlatformUnavailable

    # Looked up through sys.modules at call time so that tests can substitute the api.
    api = importlib.import_module("twaron.api")
    try:
        return int(api.run_console(config))
    except PlatformUnavailable as e:
        print(f"twaron: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + 2  # as a shell reports a run ended by SIGINT


def _cmd_replay(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from twaron.recording import replay_console

    try:
        return replay_console(args.record, trace=args.trace, trace_file=args.trace_file,
                              trace_timestamps=args.trace_timestamps)  # fmt: skip
    except KeyboardInterrupt:
        print("twaron replay: interrupted", file=sys.stderr)
        return 128 + 2


# explore's own options (with a value, or not): the rest are run's, for the reproduce line
_EXPLORE_OWN = {"--runs": True, "--seed": True, "--jobs": True, "--json": True}


def run_options_words(words: Sequence[str]) -> list[str]:
    """The words of `twaron explore ...` before PROGRAM that are also `twaron run` options."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--" or not word.startswith("-"):
            break
        name = word.split("=", 1)[0]
        takes_value = name in _EXPLORE_OWN or name in _RUN_VALUE_OPTIONS
        keep = name not in _EXPLORE_OWN
        if keep:
            out.append(word)
        if takes_value and "=" not in word and i + 1 < len(words):
            if keep:
                out.append(words[i + 1])
            i += 1
        i += 1
    return out


def _cmd_explore(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import json
    import shlex

    from twaron.explore import explore

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        parser.error("explore: PROGRAM is required")
    try:
        config = Config(argv=argv, platform=args.platform, rootfs=args.rootfs,
                        memory=args.memory, rng=args.rng, add_files=list(args.add_files),
                        timeout=args.timeout, init=args.init, tmpfs_size=args.tmpfs_size,
                        epoch=args.epoch, inject=list(args.inject), fault=list(args.fault),
                        fail_mem=args.fail_mem, quiet=args.quiet, deterministic=True)  # fmt: skip
    except ValueError as e:
        parser.error(f"explore: {e}")
    problem = check_watch_options(config)
    if problem:
        parser.error(f"explore: {problem}")
    bar = _ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    result = explore(runs=args.runs, seed=args.seed, jobs=args.jobs, config=config,
                              progress=bar.update if bar else None)  # fmt: skip
    if bar is not None:
        bar.close()
    words = run_options_words(getattr(args, "raw_words", [])[1:])
    rerun = shlex.join(["twaron", "run", "--deterministic", "--seed", "SEED", *words, "--",
                        *argv])  # fmt: skip
    last = result.first_seed + result.runs - 1
    print(f"twaron explore: {result.runs} runs (seeds {result.first_seed}..{last}), "
          f"{len(result.outcomes)} outcome{'s' if len(result.outcomes) != 1 else ''}")
    print(f"{'count':>7}  {'exit':>4}  {'oopses':>6}  {'output sha256':<16}  {'seed':>10}  output")
    for o in result.outcomes:
        text = (o.stdout + o.stderr).decode(errors="replace").strip().splitlines()
        head = text[0] if text else ""
        more = f" (+{len(text) - 1} lines)" if len(text) > 1 else ""
        print(f"{o.count:>7}  {o.exit_status:>4}  {o.oopses:>6}  {o.output_sha256[:16]}  "
              f"{o.seed:>10}  {head[:60]}{more}")
    print(f"reproduce an outcome: {rerun.replace('SEED', '<seed>')}")
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(result.to_json(), f, indent=2)
                f.write("\n")
        except OSError as e:
            print(f"twaron explore: {args.json}: {e.strerror}", file=sys.stderr)
            return 1
    return 0


class _ProgressBar:
    """`[#####.....] 57/200 runs, 2 outcomes` on a terminal, redrawn in place."""

    WIDTH = 30

    def __init__(self, out: object) -> None:
        self.out = out

    def update(self, done: int, total: int, outcomes: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.out.write(f"\rexplore [{bar}] {done}/{total} runs, {outcomes} outcome"  # type: ignore[attr-defined]
                       f"{'s' if outcomes != 1 else ''}")
        self.out.flush()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.out.write("\n")  # type: ignore[attr-defined]
        self.out.flush()  # type: ignore[attr-defined]


def _cmd_bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.deterministic_cost:
        from twaron.bench import detcost

        try:
            return detcost.main(args.workloads, args.quick, args.rounds)
        except ValueError as e:
            parser.error(f"bench: {e}")
    if args.boot:
        from twaron.bench import boot

        try:
            return boot.main(args.rootfs, args.platform, args.rounds or 5, args.markdown)
        except (ValueError, RuntimeError) as e:
            parser.error(f"bench: {e}")
    if args.guest_speed:
        from twaron.bench import guestspeed

        try:
            return guestspeed.main(args.workloads, args.platform, args.rounds or 3)
        except ValueError as e:
            parser.error(f"bench: {e}")
    from twaron.bench import runner

    return runner.main(args=args)


def _cmd_profile(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        parser.error("profile: PROGRAM is required")
    from twaron.bench import profiler

    return profiler.main(argv, args)


def _cmd_test_busybox(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from twaron.testsuite import busybox

    return busybox.main(args)


def _cmd_test_python(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from twaron.testsuite import python

    return python.main(args)


def _cmd_image_build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from twaron import image_build

    return image_build.main(args)


def _cmd_fuzz(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.procs > 64:
        parser.error("fuzz: --procs is at most 64")
    from twaron import fuzz
    from twaron.platform import PlatformUnavailable

    try:
        return fuzz.main(args)
    except (PlatformUnavailable, fuzz.BuildError) as e:
        print(f"twaron: {e}", file=sys.stderr)
        return 1


def _cmd_syscalls(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from twaron.syscalls import docs
    from twaron.syscalls.registry import Level

    level = Level(args.level) if args.level else None
    sys.stdout.write(docs.markdown(level) if args.markdown else docs.text(level))
    return 0


def _cmd_not_implemented(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    print(f"twaron {args.command}: not implemented yet", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(split_trace_set(words))
    args.raw_words = words
    return int(args.handler(parser, args))
