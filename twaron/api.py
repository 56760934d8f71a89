"""The embedding API, in the spirit of subprocess.run; the CLI is built on it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twaron.arch.x86_64.errno import EACCES, ENOENT, ENOEXEC, ENOTDIR
from twaron.config import Config, Volume, default_env, parse_env_assignment, read_env_file
from twaron.errors import KernelError
from twaron.fs.console import Console
from twaron.fs.vconsole import VirtualConsole
from twaron.kernel import Kernel, status_to_exit_code
from twaron.profile import Profiler
from twaron.syscalls.hooks import Hooks


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
    # Hooks that raised (each ended the run): where, then the traceback.
    hook_errors: list[str] = field(default_factory=list)
    # With summary=True: syscall name -> (calls, errors), as strace -f -c counts them.
    syscall_counts: dict[str, tuple[int, int]] = field(default_factory=dict)


def boot(config: Config, console: Console, profiler: Profiler | None = None) -> Kernel:
    if config.image and not config.rootfs:
        from twaron.image import apply_config, open_image

        config.rootfs, image_config = open_image(config.image)  # unpacked once, cached
        apply_config(config, image_config)  # Env, WorkingDir, User, Entrypoint, Cmd
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
    envp = config.envp()
    if config.user and (config.env or {}).get("HOME") == default_env()["HOME"]:
        from twaron.process.container import user_home

        home = user_home(kernel.fs.root, config) or "/"  # docker: HOME from /etc/passwd
        envp = [b"HOME=" + home.encode() if e.startswith(b"HOME=") else e for e in envp]
    try:
        kernel.spawn_init(path, argv, envp)
    except KernelError as e:
        _complain(kernel, argv[0], e.errno)
        return 127 if e.errno in (ENOENT, ENOTDIR) else 126
    except ValueError as e:  # -u NAME not in the guest's /etc/passwd
        kernel.console.write_to(kernel.console.stderr, f"twaron: {e}\n".encode())
        return 125  # as docker run: the container could not be started
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
                     signal.SIGWINCH, signal.SIGTSTP)  # fmt: skip


def run_console(config: Config, on_kernel: Callable[[Kernel], None] | None = None) -> int:
    """Boot with the host's stdin/stdout/stderr as the guest's console; a shell-style exit
    status (the guest's, 128+N if it was killed by signal N, 124 on --timeout).

    --deterministic: the console takes host input at input points only (fs/vconsole.py);
    --record FILE writes every outside input to FILE (twaron/recording.py). on_kernel is
    called with the kernel once it has booted (twaron explore counts its oopses).

    Otherwise, when stdin is a terminal the console is a terminal of the kernel's (its line
    discipline makes Ctrl-C, Ctrl-\\ and Ctrl-Z signals for the guest's foreground group),
    and the host terminal is in raw mode for the run, put back whatever ends it (the guest's
    exit, --timeout, an exception, SIGTERM or SIGHUP to twaron: forwarded to the guest, whose
    end ends the run)."""
    sys.stdout.flush()
    console = VirtualConsole(0, 1, 2) if config.deterministic else \
        Console(0, 1, 2, line_discipline=True)  # fmt: skip
    recording = None
    try:
        trace_file = open(config.trace_file, "w") if config.trace_file else None  # noqa: SIM115
        kernel = boot(config, console)
        if config.record:
            from twaron.recording import start_recording

            recording = start_recording(kernel, config)
    # a host file (--add, --rootfs, --trace-file, --record) or a taken --publish port
    except OSError as e:
        where = e.filename or "--publish"
        print(f"twaron: {where}: {e.strerror}", file=sys.stderr)
        return 2
    except KernelError as e:  # the root does not fit in --tmpfs-size
        print(f"twaron: {e} (--tmpfs-size)", file=sys.stderr)
        return 2
    except ValueError as e:  # --record of what it cannot record, a --volume's guest path
        print(f"twaron: {e}", file=sys.stderr)
        return 2
    if on_kernel is not None:
        on_kernel(kernel)
    if trace_file is not None:
        kernel.trace_out = trace_file
    previous = _forward_host_signals(kernel)
    stderr = sys.stderr
    try:
        status = start(kernel, config)
        if status is not None:
            if recording is not None:
                recording.finish(status << 8)
            return status
        console.enter_raw()
        if console.raw:  # twaron's own lines (oopses, --trace on stderr) on a raw terminal
            sys.stderr = _CrLf(stderr, console)
            if trace_file is None:
                kernel.trace_out = sys.stderr
        wait_status = kernel.run()
        console.restore()
        if recording is not None:
            recording.finish(wait_status)
        kernel.report(kernel.trace_out)
        _report(kernel, config)
        if kernel.hook_errors:
            return 1  # as Python's own uncaught exception
        return 124 if kernel.timed_out else status_to_exit_code(wait_status)
    finally:
        sys.stderr = stderr
        kernel.net.close()
        _restore_host_signals(kernel, previous)
        console.restore()
        if trace_file is not None:
            trace_file.close()
        if recording is not None:
            recording.close()


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
    if kernel.hook_errors:
        print("twaron: the run was ended by a hook error", file=sys.stderr)


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
    kernel.host_suspend = _suspend_twaron
    return previous


def _suspend_twaron() -> None:
    """Ctrl-Z reached a guest pid 1 that does not handle it: stop twaron itself, as the
    terminal would have without the forwarding (the run goes on at SIGCONT)."""
    os.kill(os.getpid(), signal.SIGSTOP)


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
    trace: bool | str = False,
    timeout: float | None = None,
    hooks: Hooks | None = None,
    inject: Sequence[str] = (),
    fault: Sequence[str] = (),
    fail_mem: float | None = None,
    summary: bool = False,
    timeline: str | None = None,
    trace_file: str | None = None,
    tmpfs_size: int | str | None = None,
    deterministic: bool = False,
    epoch: int | None = None,
    trace_timestamps: bool = False,
    init: bool = False,
    net: str = "none",
    publish: dict[int, int] | Sequence[str] | None = None,
    image: str | None = None,
    volumes: Sequence[str | Volume] | dict[str, str] | None = None,
    environment: dict[str, str] | Sequence[str] | None = None,
    env_file: str | None = None,
    working_dir: str | None = None,
    user: str | int | None = None,
    hostname: str | None = None,
) -> CompletedRun:
    """Run argv in a fresh twaron kernel and collect its output.

    files maps guest paths to host paths copied into the guest's root before boot.
    trace=True traces every call into stderr (trace_file: into that file), trace="SET"
    only a strace-style set ("%file", "openat,close"); hooks are Python callbacks
    (twaron.Hooks); inject and fault are strace's -e inject=/-e fault= expressions;
    fail_mem fails that percentage of mmap/mremap/brk calls (seeded by seed); summary
    appends strace -c's table to stderr and fills syscall_counts; timeline writes a
    Perfetto/Chrome JSON of the run to that path.
    net is "none" (the guest has lo only) or "host" (its sockets are host sockets);
    publish joins host ports to guest ports with net "none": {HOST_PORT: GUEST_PORT}
    (tcp on 127.0.0.1) or docker's strings ("8080:80", "127.0.0.1:5353:53/udp").

    deterministic=True runs on virtual time with a seeded schedule (seed, default 0): the
    same argv, input and seed give the same output, trace and status every time; epoch is
    CLOCK_REALTIME at boot (seconds since 1970). trace_timestamps: strace -tt's times.

    docker run's container options (docker-py's names): volumes ["HOST:GUEST[:ro]", ...] or
    {HOST: "GUEST[:ro]"}; environment (NAME=VALUE strings or a dict) and env_file set
    variables over env (or the default environment); working_dir, user ("UID[:GID]" or
    names from the guest's /etc/passwd), hostname.
    """
    from twaron.config import parse_size

    config = Config(
        argv=list(argv), platform=platform, rootfs=rootfs, image=image,
        memory=parse_size(memory) if isinstance(memory, str) else memory,
        rng=rng, seed=seed, trace=bool(trace),
        trace_filter=trace if isinstance(trace, str) else None,
        add_files=[(host, guest) for guest, host in (files or {}).items()],
        env=_environment(env, environment, env_file), timeout=timeout, hooks=hooks,
        inject=list(inject), fault=list(fault),
        fail_mem=fail_mem, summary=summary, timeline=timeline, trace_file=trace_file,
        tmpfs_size=parse_size(tmpfs_size) if isinstance(tmpfs_size, str) else tmpfs_size,
        deterministic=deterministic, epoch=epoch, trace_timestamps=trace_timestamps,
        init=init,
        net=net, publish=_publish_specs(publish), volumes=_volume_specs(volumes),
        workdir=working_dir,
        user=str(user) if user is not None else None, hostname=hostname,
    )  # fmt: skip
    out, err = bytearray(), bytearray()
    data = memoryview(input or b"")
    pos = [0]

    def read(n: int) -> bytes:
        chunk = data[pos[0] : pos[0] + n]
        pos[0] += len(chunk)
        return bytes(chunk)

    console = (VirtualConsole if deterministic else Console)(read, out.extend, err.extend)
    trace_out = open(trace_file, "w") if trace_file else None  # noqa: SIM115
    kernel = None
    try:
        kernel = boot(config, console)
        kernel.trace_out = trace_out if trace_out is not None else _Collector(err)
        status = start(kernel, config)
        if status is None:
            wait_status = kernel.run()
            # As subprocess reports it: the exit code, or -N for death by signal N.
            status = -(wait_status & 0x7F) if wait_status & 0x7F else (wait_status >> 8) & 0xFF
        kernel.report(kernel.trace_out)
    finally:
        if kernel is not None:
            kernel.net.close()  # host sockets and published ports, even if PROGRAM never ran
        if trace_out is not None:
            trace_out.close()
    watch = kernel.watch
    counts = {}
    if watch is not None and watch.summary is not None:
        counts = {name: (calls, errors)
                  for name, calls, errors, _ns in watch.summary.rows(watch.registry.name)}
    return CompletedRun(
        list(argv), status, bytes(out), bytes(err),
        [o.report() for o in kernel.oopses], kernel.unimplemented(), kernel.timed_out,
        [e.report() for e in kernel.hook_errors], counts,
    )  # fmt: skip


def _volume_specs(volumes: Sequence[str | Volume] | dict[str, str] | None) -> list:
    if not volumes:
        return []
    if isinstance(volumes, dict):
        return [f"{host}:{guest}" for host, guest in volumes.items()]
    return list(volumes)


def _environment(env: dict[str, str] | None, environment: dict[str, str] | Sequence[str] | None,
                 env_file: str | None) -> dict[str, str] | None:  # fmt: skip
    """env (or the default environment), then env_file's lines, then environment's."""
    if environment is None and env_file is None:
        return env
    out = dict(env) if env is not None else default_env()
    if env_file is not None:
        out.update(read_env_file(env_file))
    items = environment.items() if isinstance(environment, dict) else ()
    out.update(items)
    if environment is not None and not isinstance(environment, dict):
        for text in environment:
            found = parse_env_assignment(text)
            if found is not None:
                out[found[0]] = found[1]
    return out


def _publish_specs(publish: dict[int, int] | Sequence[str] | None) -> list[str]:
    if not publish:
        return []
    if isinstance(publish, dict):
        return [f"{host}:{guest}" for host, guest in publish.items()]
    return list(publish)


class _Collector:
    """A text stream that appends to a bytearray (trace lines into captured stderr)."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf

    def write(self, s: str) -> int:
        self.buf += s.encode()
        return len(s)

    def flush(self) -> None:
        pass
