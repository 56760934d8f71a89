"""The embedding API, in the spirit of subprocess.run; the CLI is built on it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twaron.arch.x86_64.errno import EACCES, ENOENT, ENOEXEC, ENOTDIR
from twaron.config import Config
from twaron.errors import KernelError
from twaron.fs.console import Console
from twaron.kernel import Kernel, status_to_exit_code
from twaron.profile import Profiler


@dataclass
class CompletedRun:
    """What a guest run left: like subprocess.CompletedProcess, plus kernel health."""

    args: list[str]
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    oopses: list[str] = field(default_factory=list)
    # Calls twaron does not implement yet (ENOSYS, or a stub without effect): name -> count.
    unimplemented: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False


def boot(config: Config, console: Console, profiler: Profiler | None = None) -> Kernel:
    return Kernel(config, console, profiler)


def start(kernel: Kernel, config: Config) -> int | None:
    """Exec PROGRAM as pid 1; returns a shell-style status if it cannot be started."""
    argv = [a.encode() if isinstance(a, str) else a for a in config.argv]
    if not argv:
        raise ValueError("no program given")
    path = resolve_program(kernel, argv[0], config.env or {})
    if path is None:
        _complain(kernel, argv[0], ENOENT)
        return 127
    try:
        kernel.spawn_init(path, argv, config.envp())
    except KernelError as e:
        _complain(kernel, argv[0], e.errno)
        return 127 if e.errno in (ENOENT, ENOTDIR) else 126
    return None


def resolve_program(kernel: Kernel, name: bytes, env: dict[str, str]) -> bytes | None:
    """PROGRAM through the guest's PATH, as a shell would find it."""
    if b"/" in name:
        return name
    for d in env.get("PATH", "/bin:/usr/bin").split(":"):
        candidate = (d or ".").encode() + b"/" + name
        if kernel.guest_exists(candidate):
            return candidate
    return None


def _complain(kernel: Kernel, name: bytes, errno: int) -> None:
    msg = {ENOENT: "not found", EACCES: "Permission denied", ENOEXEC: "Exec format error"}
    text = f"twaron: {name.decode(errors='replace')}: {msg.get(errno, os.strerror(errno))}\n"
    kernel.console.write_to(kernel.console.stderr, text.encode())


FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP,
                     signal.SIGWINCH)  # fmt: skip


def run_console(config: Config) -> int:
    """Boot with the host's stdin/stdout/stderr as the guest's console; a shell-style exit
    status (the guest's, 128+N if it was killed by signal N, 124 on --timeout).

    When stdin is a terminal the console is a terminal of the kernel's (its line discipline
    makes Ctrl-C, Ctrl-\\ and Ctrl-Z signals for the guest's foreground group), and the host
    terminal is in raw mode for the run, put back whatever ends it (the guest's exit,
    --timeout, an exception, SIGTERM or SIGHUP to twaron: forwarded to the guest, whose end
    ends the run)."""
    sys.stdout.flush()
    console = Console(0, 1, 2, line_discipline=True)
    try:
        kernel = boot(config, console)
    except OSError as e:  # a host file named by --add or --rootfs
        print(f"twaron: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 2
    previous = _forward_host_signals(kernel)
    stderr = sys.stderr
    try:
        status = start(kernel, config)
        if status is not None:
            return status
        console.enter_raw()
        if console.raw:  # twaron's own lines (--trace, oopses) on a raw terminal
            sys.stderr = kernel.trace_out = _CrLf(stderr, console)
        wait_status = kernel.run()
        console.restore()
        _report(kernel, config)
        return 124 if kernel.timed_out else status_to_exit_code(wait_status)
    finally:
        sys.stderr = stderr
        _restore_host_signals(kernel, previous)
        console.restore()


class _CrLf:
    """A text stream that ends lines with CR LF while the host terminal is in raw mode."""

    def __init__(self, stream: Any, console: Console) -> None:
        self.stream = stream
        self.console = console

    def write(self, s: str) -> int:
        self.stream.write(s.replace("\n", "\r\n") if self.console.raw else s)
        return len(s)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _report(kernel: Kernel, config: Config) -> None:
    """After the run, on stderr: the calls twaron does not implement (unless --quiet), and
    how many oopses there were."""
    missing = kernel.unimplemented()
    if missing and not config.quiet:
        calls = ", ".join(f"{name} x{n}" for name, n in missing.items())
        print(f"twaron: not implemented (ENOSYS or no effect): {calls}", file=sys.stderr)
    if kernel.oopses:
        print(f"twaron: {len(kernel.oopses)} oops(es) during the run", file=sys.stderr)


def _forward_host_signals(kernel: Kernel) -> dict[int, object]:
    """Signals that reach twaron (Ctrl-C in its terminal) go to the guest's foreground
    process group; a wakeup pipe makes the idle loop's select() notice them."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    kernel.wakeup_fd = r
    kernel.wakeup_write_fd = w
    previous = {sig: signal.signal(sig, lambda signum, _f: kernel.host_signal(signum))
                for sig in FORWARDED_SIGNALS}  # fmt: skip
    previous[-1] = signal.set_wakeup_fd(w)
    return previous


def _restore_host_signals(kernel: Kernel, previous: dict[int, object]) -> None:
    signal.set_wakeup_fd(previous.pop(-1))  # type: ignore[arg-type]
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
    for fd in (kernel.wakeup_fd, kernel.wakeup_write_fd):
        os.close(fd)  # type: ignore[arg-type]


def run(
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    rootfs: str | None = None,
    platform: str = "auto",
    memory: int | str = "512M",
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    rng: str = "chacha20",
    seed: int | None = None,
    trace: bool = False,
    timeout: float | None = None,
) -> CompletedRun:
    """Run argv in a fresh twaron kernel and collect its output.

    files maps guest paths to host paths copied into the guest's root before boot.
    """
    from twaron.config import parse_size

    config = Config(
        argv=list(argv), platform=platform, rootfs=rootfs,
        memory=parse_size(memory) if isinstance(memory, str) else memory,
        rng=rng, seed=seed, trace=trace,
        add_files=[(host, guest) for guest, host in (files or {}).items()],
        env=env, timeout=timeout,
    )  # fmt: skip
    out, err = bytearray(), bytearray()
    data = memoryview(input or b"")
    pos = [0]

    def read(n: int) -> bytes:
        chunk = data[pos[0] : pos[0] + n]
        pos[0] += len(chunk)
        return bytes(chunk)

    console = Console(read, out.extend, err.extend)
    kernel = boot(config, console)
    kernel.trace_out = _Collector(err)
    status = start(kernel, config)
    if status is None:
        wait_status = kernel.run()
        # As subprocess reports it: the exit code, or -N for death by signal N.
        status = -(wait_status & 0x7F) if wait_status & 0x7F else (wait_status >> 8) & 0xFF
    return CompletedRun(
        list(argv), status, bytes(out), bytes(err),
        [o.report() for o in kernel.oopses], kernel.unimplemented(), kernel.timed_out,
    )  # fmt: skip


class _Collector:
    """A text stream that appends to a bytearray (trace lines into captured stderr)."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf

    def write(self, s: str) -> int:
        self.buf += s.encode()
        return len(s)

    def flush(self) -> None:
        pass
