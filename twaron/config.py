"""How to boot one kernel: what the CLI parsed, in a form the kernel and api take directly.

Kept free of argparse so that tests, benchmarks and the api build a Config in code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from twaron.random import RNG_KINDS

DETERMINISTIC_NEEDS_UNICORN = (
    "--deterministic runs on the Unicorn platform only: under KVM the guest's instructions, "
    "RDTSC and RDRAND run on the real CPU, whose time and preemption points twaron does not "
    "own (use --platform unicorn, or auto)"
)

PLATFORMS = ("auto", "unicorn", "kvm", "tiered")
NET_MODES = ("none", "host")
DEFAULT_MEMORY = 512 << 20
DEFAULT_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"
# uname's nodename and domainname at boot (the root's /etc/hostname and /etc/hosts agree;
# the native runner sets the same in its UTS namespace)
DEFAULT_HOSTNAME = b"twaron"
DEFAULT_DOMAINNAME = b"(none)"

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}


def parse_size(text: str) -> int:
    """ "512M" -> 536870912; K/M/G/T are powers of 1024 (also "512MiB", "64kb"); plain
    digits are bytes. Raises ValueError for anything else, zero included."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"invalid size {text!r} (examples: 512M, 1G, 64K, 1048576)")
    size = int(m.group(1)) << _SHIFT[m.group(2).lower()]
    if size <= 0:
        raise ValueError(f"size must be positive: {text!r}")
    return size


def parse_add(spec: str) -> tuple[str, str]:
    """--add HOST[:GUEST] -> (host, guest).

    Without GUEST the file lands in / under its own name; a GUEST ending in "/" is a
    directory that receives the file under its own name. The guest path must be absolute.
    """
    host, sep, guest = spec.partition(":")
    if not host:
        raise ValueError(f"--add needs a host path: {spec!r}")
    base = os.path.basename(os.path.normpath(host))
    if not sep or not guest:
        guest = "/" + base
    elif guest.endswith("/"):
        guest += base
    if not guest.startswith("/"):
        raise ValueError(f"--add guest path must be absolute: {guest!r}")
    return host, guest


@dataclass(frozen=True)
class Publish:
    """One --publish: a host address and port joined to a guest port (tcp or udp)."""

    host_addr: str
    host_port: int
    guest_port: int
    proto: str = "tcp"

    @classmethod
    def parse(cls, spec: str) -> Publish:
        """docker's syntax: [HOST_ADDR:]HOST_PORT:GUEST_PORT[/udp|/tcp]; an IPv6 HOST_ADDR
        in brackets."""
        text, _, proto = spec.partition("/")
        proto = proto or "tcp"
        if proto not in ("tcp", "udp"):
            raise ValueError(f"--publish {spec!r}: protocol must be tcp or udp")
        addr = "127.0.0.1"
        if text.startswith("["):
            end = text.find("]:")
            if end < 0:
                raise ValueError(f"--publish {spec!r}: bad [address]")
            addr, text = text[1:end], text[end + 2 :]
        parts = text.split(":")
        if len(parts) == 3:
            addr, parts = parts[0] or addr, parts[1:]
        if len(parts) != 2:
            raise ValueError(f"--publish {spec!r}: expected [HOST_ADDR:]HOST_PORT:GUEST_PORT")
        try:
            host_port, guest_port = int(parts[0]), int(parts[1])
        except ValueError:
            raise ValueError(f"--publish {spec!r}: ports must be numbers") from None
        for p in (host_port, guest_port):
            if not 0 < p < 65536:
                raise ValueError(f"--publish {spec!r}: port {p} out of range")
        return cls(addr, host_port, guest_port, proto)


@dataclass(frozen=True)
class Volume:
    """One --volume: a host directory mounted on a guest directory (fs/volume.py)."""

    host: str
    guest: str
    readonly: bool = False

    @classmethod
    def parse(cls, spec: str) -> Volume:
        """docker's -v syntax: HOST:GUEST[:ro|:rw]; HOST absolute (or ./relative, made
        absolute here), GUEST absolute."""
        parts = spec.split(":")
        mode = "rw"
        if len(parts) == 3:
            mode = parts.pop()
        if len(parts) != 2 or mode not in ("ro", "rw"):
            raise ValueError(f"--volume {spec!r}: expected HOST:GUEST[:ro|:rw]")
        host, guest = parts
        if not host.startswith(("/", "./", "../")) and host not in (".", ".."):
            raise ValueError(f"--volume {spec!r}: the host directory must be a path "
                             "(named volumes are not supported)")  # fmt: skip
        if not guest.startswith("/"):
            raise ValueError(f"--volume {spec!r}: the guest path must be absolute")
        if any(c == ".." for c in guest.split("/")):
            raise ValueError(f"--volume {spec!r}: the guest path may not contain '..'")
        return cls(os.path.abspath(host), "/" + guest.strip("/"), mode == "ro")


def parse_env_assignment(text: str, host: dict[str, str] | None = None) -> tuple[str, str] | None:
    """docker's -e NAME=VALUE; a bare NAME takes the host's value (None: the host has none)."""
    name, sep, value = text.partition("=")
    if not name or "\0" in text:
        raise ValueError(f"bad environment variable {text!r}")
    if sep:
        return name, value
    value = (os.environ if host is None else host).get(name)
    return None if value is None else (name, value)


def read_env_file(path: str, host: dict[str, str] | None = None) -> dict[str, str]:
    """docker's --env-file: NAME=VALUE lines (values taken literally, no quotes or
    expansion); blank lines and lines starting with # are skipped; a bare NAME takes the
    host's value. OSError if the file cannot be read."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            found = parse_env_assignment(line.lstrip(), host)
            if found is not None:
                out[found[0]] = found[1]
    return out


def parse_user(text: str) -> tuple[str, str | None]:
    """-u USER[:GROUP] as (user, group): names or numbers, resolved in the guest's
    /etc/passwd and /etc/group at boot."""
    user, sep, group = text.partition(":")
    if not user or (sep and not group):
        raise ValueError(f"--user {text!r}: expected UID[:GID] or NAME[:GROUP]")
    return user, group if sep else None


def default_env() -> dict[str, str]:
    """The guest's environment: a clean login-like one, not the host's (which would leak
    host paths and settings into every run and make runs differ between machines)."""
    return {"PATH": DEFAULT_PATH, "HOME": "/root", "TERM": os.environ.get("TERM") or "linux"}


@dataclass
class Config:
    argv: list[str] = field(default_factory=list)
    platform: str = "auto"  # auto | unicorn | kvm
    rootfs: str | None = None  # host directory imported as /, or None for the built-in one
    image: str | None = None  # --image: a root tarball, unpacked (cached) and used as rootfs
    memory: int = DEFAULT_MEMORY  # bytes of guest-physical memory
    rng: str = "chacha20"  # chacha20 | splitmix64 | host (see twaron.random)
    seed: int | None = None  # reproducible randomness when set
    trace: bool = False  # strace-style syscall lines on stderr
    quiet: bool = False  # no end-of-run line listing the calls twaron does not implement
    add_files: list[tuple[str, str]] = field(default_factory=list)  # (host, guest) pairs
    # None means the default environment (filled in by __post_init__, so readers always
    # see a dict); pass {} for an empty one.
    env: dict[str, str] | None = None
    init: bool = False  # run PROGRAM under a minimal init (later: --init)
    timeout: float | None = None  # seconds of wall time before the run is stopped
    # Watching and steering (syscalls/watch.py): strace-style tracing of a set of calls,
    # -c's summary, fault injection, --fail-mem, the timeline, Python hooks.
    trace_filter: str | None = None  # --trace=SET: trace only these calls (implies trace)
    summary: bool = False  # -c / -C: strace -c's table on stderr at the end
    inject: list[str] = field(default_factory=list)  # --inject SET:error=...:when=...
    fault: list[str] = field(default_factory=list)  # --fault SET[:error=E] (ENOSYS default)
    fail_mem: float | None = None  # --fail-mem PERCENT: mmap/mremap/brk fail at seeded points
    timeline: str | None = None  # --timeline FILE: Chrome-trace/Perfetto JSON of the run
    trace_file: str | None = None  # --trace-file FILE: trace and -c table there, not stderr
    tmpfs_size: int | None = None  # every tmpfs's size limit (default: half of memory)
    hooks: Any = None  # a twaron.Hooks (Python callbacks on syscalls, exec, exit, signals)
    trace_timestamps: bool = False  # -tt: each trace line starts with the time of day
    # --deterministic: virtual time, a seeded schedule, inputs only at input points (the seed
    # defaults to 0); epoch: CLOCK_REALTIME at boot, seconds since 1970 (--epoch).
    deterministic: bool = False
    epoch: int | None = None
    record: str | None = None  # --record FILE: every outside input (implies deterministic)
    check_every: int = 1000  # events between two hash checks in a record
    replay: bool = False  # twaron replay: host sockets are never opened (net/detnet.py)
    net_files: dict[str, tuple[int, bytes]] | None = None  # replay: --net host's copied files
    net: str = "none"  # none: lo inside the guest; host: the guest's sockets are host sockets
    publish: list[Publish] = field(default_factory=list)  # --publish (with net none)
    # docker run's container options: every run is fresh (as --rm: nothing is kept).
    volumes: list[Volume] = field(default_factory=list)  # -v HOST:GUEST[:ro]
    workdir: str | None = None  # -w DIR: PROGRAM's working directory (made if missing)
    user: str | None = None  # -u USER[:GROUP]: PROGRAM's uid/gid (names or numbers)
    hostname: str | None = None  # --hostname: uname's nodename (and /etc/hostname's)

    def __post_init__(self) -> None:
        if self.env is None:
            self.env = default_env()
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r} ({', '.join(PLATFORMS)})")
        if self.rng not in RNG_KINDS:
            raise ValueError(f"unknown rng {self.rng!r} ({', '.join(RNG_KINDS)})")
        if self.memory <= 0:
            raise ValueError("memory must be positive")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.tmpfs_size is not None and self.tmpfs_size <= 0:
            raise ValueError("tmpfs size must be positive")
        if self.fail_mem is not None and not 0 <= self.fail_mem <= 100:
            raise ValueError("--fail-mem is a percentage, 0..100")
        if self.net not in NET_MODES:
            raise ValueError(f"unknown net mode {self.net!r} ({', '.join(NET_MODES)})")
        self.publish = [Publish.parse(p) if isinstance(p, str) else p for p in self.publish]
        if self.publish and self.net != "none":
            raise ValueError("--publish needs --net none (with --net host, listen on the host)")
        if self.record:
            self.deterministic = True
        if self.epoch is not None and not self.deterministic:
            raise ValueError("--epoch needs --deterministic")
        if self.deterministic:
            if self.platform == "kvm":
                raise ValueError(DETERMINISTIC_NEEDS_UNICORN)
            if self.seed is None:
                self.seed = 0
        if self.check_every <= 0:
            raise ValueError("the check interval must be positive")
        if self.image and self.rootfs:
            raise ValueError("--image and --rootfs: give one root")
        self.volumes = [Volume.parse(v) if isinstance(v, str) else v for v in self.volumes]
        if self.workdir is not None and not self.workdir.startswith("/"):
            raise ValueError(f"--workdir {self.workdir!r}: must be an absolute path")
        if self.user is not None:
            parse_user(self.user)
        if self.hostname is not None and not 0 < len(self.hostname.encode()) <= 64:
            raise ValueError("--hostname: 1 to 64 bytes")

    def envp(self) -> list[bytes]:
        """The environment as execve's envp strings."""
        return [f"{k}={v}".encode() for k, v in (self.env or {}).items()]
