"""`twaron run --record FILE` and `twaron replay FILE`: a deterministic run's outside inputs
kept in a file, and the run reproduced from it without the outside world.

The file's format, the event hash and the input points are in process/record.py and
process/determinism.py; this module boots the kernels, writes the header and the end, and
turns what the replay found into a report and an exit status.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import platform as host_platform
import sys
from typing import Any

from twaron import api
from twaron.config import Config
from twaron.fs.vconsole import VirtualConsole
from twaron.kernel import Kernel, status_to_exit_code
from twaron.process import determinism
from twaron.process.record import (
    RECORD_VERSION,
    EventStream,
    Record,
    RecordError,
    RecordWriter,
    read_record,
)

REPLAY_DIVERGED = 125  # twaron replay's exit status when the replay left the record
# What a record keeps of the Config: what changes what the guest sees. (Tracing, -c and the
# timeline only watch; --timeout is in the record as the input point where it expired.)
RECORDED = ("argv", "env", "rootfs", "memory", "rng", "seed", "epoch", "add_files", "init",
            "tmpfs_size", "inject", "fault", "fail_mem", "quiet", "net", "publish")  # fmt: skip
# --net host copies these host files into the root at boot: the record keeps them
NET_FILES = ("/etc/resolv.conf", "/etc/hosts")


def _unicorn_version() -> str:
    try:
        import unicorn

        return str(unicorn.__version__)
    except Exception:  # noqa: BLE001
        return "?"


class Recording:
    """The record of a running kernel: its writer, its event hash."""

    def __init__(self, kernel: Kernel, writer: RecordWriter, stream: EventStream) -> None:
        self.kernel = kernel
        self.writer = writer
        self.stream = stream

    def finish(self, wait_status: int) -> None:
        stream = self.stream
        now = self.kernel.clock.monotonic_ns()
        self.writer.line({"end": True, "events": stream.count, "hash": stream.digest(),
                          "status": wait_status, "t": now})  # fmt: skip

    def close(self) -> None:
        self.writer.close()


def refuse_unrecordable(config: Config) -> None:
    """--record keeps the inputs it knows how to replay; anything else is refused."""
    if config.hooks is not None:
        raise ValueError("--record cannot record Python hooks (--hooks): they are code from "
                         "outside the kernel")
    if config.platform == "kvm":
        raise ValueError("--record needs the Unicorn platform")


def header(kernel: Kernel, config: Config) -> dict[str, Any]:
    cfg = {name: getattr(config, name) for name in RECORDED}
    cfg["add_files"] = [list(pair) for pair in config.add_files]
    cfg["publish"] = [f"[{p.host_addr}]:{p.host_port}:{p.guest_port}/{p.proto}"
                      for p in config.publish]  # fmt: skip
    console = kernel.console
    ttys = console.tty_state() if isinstance(console, VirtualConsole) else {}
    return {
        "twaron_record": RECORD_VERSION,
        "config": cfg,
        "check_every": config.check_every,
        "root_sha256": determinism.root_digest(kernel.fs.root),
        "add_sha256": {guest: determinism.host_digest(host) for host, guest in config.add_files},
        "cpuid_sha256": kernel.platform.det.cpuid_digest(),
        "ttys": {str(which): [termios.hex(), winsize.hex()]
                 for which, (termios, winsize) in ttys.items()},  # fmt: skip
        "versions": {"python": host_platform.python_version(), "unicorn": _unicorn_version()},
        "net_files": _net_files() if config.net == "host" else {},
    }


def _net_files() -> dict[str, list[Any]]:
    """The host files --net host copied into the root: [mode, base64 contents] by path."""
    out: dict[str, list[Any]] = {}
    for path in NET_FILES:
        try:
            with open(path, "rb") as f:
                out[path] = [os.fstat(f.fileno()).st_mode & 0o7777,
                             base64.b64encode(f.read()).decode()]  # fmt: skip
        except OSError:
            continue
    return out


def _replay_net_files(rec: Record) -> dict[str, tuple[int, bytes]]:
    """A replay of a --net host run copies the recorded host files, not this host's."""
    files = rec.header.get("net_files", {})
    if not isinstance(files, dict):
        raise ValueError("net_files is not a table")
    out = {}
    for path, entry in files.items():
        if path not in NET_FILES or not isinstance(entry, list) or len(entry) != 2 or \
                not isinstance(entry[0], int) or not isinstance(entry[1], str):  # fmt: skip
            raise ValueError("net_files holds something else than the host's network files")
        out[path] = (entry[0], base64.b64decode(entry[1], validate=True))
    return out


def start_recording(kernel: Kernel, config: Config) -> Recording:
    """Open config.record, write the header, and make every input and event go to it."""
    refuse_unrecordable(config)
    assert config.record is not None
    writer = RecordWriter(open(config.record, "w", encoding="utf-8"))  # noqa: SIM115
    writer.line(header(kernel, config))
    stream = determinism.record_stream(kernel, writer, config.check_every)
    kernel.watch_events(stream)
    kernel.sched.host_wait = determinism.LiveInputs(kernel, writer)
    if kernel.det_net is not None:
        kernel.det_net.writer = writer  # host calls' results go to the record
    return Recording(kernel, writer, stream)


# ---- replay ---------------------------------------------------------------------------------


def config_from_record(rec: Record, **watch: Any) -> Config:
    """The Config a record was made with, plus the replay's own watching options."""
    cfg = rec.header["config"]
    known = {f.name for f in dataclasses.fields(Config)}
    if not isinstance(cfg, dict) or set(cfg) - known:
        raise ValueError("the header's config has unknown fields")
    args = dict(cfg)
    args["argv"] = _strings(args.get("argv"), "argv")
    env = args.get("env")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in env.items()):  # fmt: skip
        raise ValueError("env is not a table of strings")
    pairs = args.get("add_files", [])
    args["add_files"] = [tuple(_strings(pair, "add_files")) for pair in _list(pairs)]
    if any(len(pair) != 2 for pair in args["add_files"]):
        raise ValueError("add_files is not a list of (host, guest) pairs")
    for name in ("inject", "fault"):
        args[name] = _strings(args.get(name, []), name)
    for name in ("memory", "seed"):
        if not isinstance(args.get(name), int) or isinstance(args.get(name), bool):
            raise ValueError(f"{name} is not an integer")
    args["publish"] = _strings(args.get("publish", []), "publish")
    return Config(**args, deterministic=True, platform="unicorn", replay=True,
                  net_files=_replay_net_files(rec), **watch)  # fmt: skip


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("add_files is not a list")
    return value


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is not a list of strings")
    return value


def _replay_ttys(rec: Record) -> dict[int, tuple[bytes, bytes]]:
    ttys = rec.header.get("ttys", {})
    if not isinstance(ttys, dict):
        raise ValueError("ttys is not a table")
    out = {}
    for which, pair in ttys.items():
        if which not in ("0", "1", "2") or not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("ttys holds something else than terminals 0, 1, 2")
        out[int(which)] = (bytes.fromhex(pair[0]), bytes.fromhex(pair[1]))
    return out


def replay_console(path: str, *, trace: bool = False, trace_filter: str | None = None,
                   trace_file: str | None = None,
                   trace_timestamps: bool = False) -> int:  # fmt: skip
    """Replay the record at path: the guest's output on stdout and stderr as in the recorded
    run, its exit status; a divergence is reported on stderr (status REPLAY_DIVERGED)."""
    try:
        rec = read_record(path)
        config = config_from_record(rec, trace=trace or bool(trace_filter),
                                    trace_filter=trace_filter, trace_file=trace_file,
                                    trace_timestamps=trace_timestamps)  # fmt: skip
        ttys = _replay_ttys(rec)
    except RecordError as e:
        return _diverged(f"the record is damaged: {e}")
    except (ValueError, TypeError, KeyError) as e:
        return _diverged(f"the record is damaged: its header: {e}")
    problem = _host_files_differ(rec, config)
    if problem:
        return _diverged(problem)
    console = VirtualConsole(None, 1, 2, replay_ttys=ttys)
    try:
        trace_out = open(trace_file, "w") if trace_file else None  # noqa: SIM115
    except OSError as e:
        print(f"twaron: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        return _replay(rec, config, console, trace_out)
    finally:
        if trace_out is not None:
            trace_out.close()


def _replay(rec: Record, config: Config, console: VirtualConsole, trace_out: Any) -> int:
    try:
        kernel = api.boot(config, console)
    except Exception as e:  # noqa: BLE001 - a damaged header may hold anything
        return _diverged(f"the recorded kernel cannot boot here: {type(e).__name__}: {e}")
    if trace_out is not None:
        kernel.trace_out = trace_out
    problem = _kernel_differs(rec, kernel)
    if problem:
        kernel.platform.close()
        return _diverged(problem)
    check = determinism.ReplayCheck(kernel, rec)
    kernel.watch_events(EventStream(rec.check_every, check))
    kernel.sched.host_wait = determinism.ReplayInputs(kernel, rec)
    if kernel.det_net is not None:
        kernel.det_net.calls.extend(rec.host_calls)
    elif rec.host_calls:
        kernel.platform.close()
        return _diverged("the record holds host calls of a run without --net host or --publish")
    status = api.start(kernel, config)
    wait_status = status << 8 if status is not None else kernel.run()
    check.finish(wait_status)
    if kernel.det_net is not None and kernel.replay_divergence is None:
        unused = kernel.det_net.unused_calls()
        if unused:
            determinism.diverge(kernel, unused)
    if status is None:
        kernel.report(kernel.trace_out)
        api._report(kernel, config)
    if kernel.replay_divergence is not None:
        return _diverged(kernel.replay_divergence)
    if status is not None:
        return status
    return 124 if kernel.timed_out else status_to_exit_code(wait_status)


def _host_files_differ(rec: Record, config: Config) -> str | None:
    """The --add files must be the recorded ones (the root is checked once booted)."""
    recorded = rec.header.get("add_sha256", {})
    if not isinstance(recorded, dict):
        return "the record is damaged: add_sha256 is not a table"
    for host, guest in config.add_files:
        digest = determinism.host_digest(host)
        if recorded.get(guest) != digest:
            return f"the host file {host} (--add {host}:{guest}) is not the one recorded"
    return None


def _kernel_differs(rec: Record, kernel: Kernel) -> str | None:
    if rec.header.get("root_sha256") != determinism.root_digest(kernel.fs.root):
        return ("the root file system as booted here is not the recorded one (another "
                "BusyBox, --rootfs directory or --add file?)")
    if rec.header.get("cpuid_sha256") != kernel.platform.det.cpuid_digest():
        versions = rec.header.get("versions", {})
        return (f"the CPU's CPUID here is not the recorded one (recorded with Unicorn "
                f"{versions.get('unicorn', '?')}, this is {_unicorn_version()})")
    return None


def _diverged(message: str) -> int:
    print(f"twaron replay: diverged: {message}", file=sys.stderr)
    return REPLAY_DIVERGED
