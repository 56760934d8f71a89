"""The deterministic kernel's contact with the outside world (`--deterministic`, `--record`,
`twaron replay`), and the instructions it emulates so that they answer from the seed.

While a deterministic kernel runs, the outside world enters only at input points: the calls
the scheduler makes to `host_wait` (process/detsched.py) - when it looks at the host every
HOST_CHECK_INTERVAL of virtual time, before virtual time jumps to a timer, and when nothing
can run at all (then it blocks). Points are numbered; each is at a fixed place in the run.
`LiveInputs` takes what the host has at a point (stdin bytes for a task waiting on the
console, signals sent to twaron, the terminal's size after SIGWINCH, --timeout) and, with
--record, writes it to the record with the point's number and virtual time. `ReplayInputs`
gives each point what the record holds for it, and nothing else. The event hash
(process/record.py) is checked as the replay goes; the first mismatch ends the replay with a
report of where the runs parted.
"""

from __future__ import annotations

import hashlib
import os
import select
import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import POLLIN, SIGKILL, SIGWINCH
from twaron.errors import KernelError
from twaron.fs.vconsole import VirtualConsole
from twaron.process import runloop
from twaron.process import signal as sigs
from twaron.process.record import EventStream, InputEvent, Record, RecordWriter
from twaron.random import make_rng

if TYPE_CHECKING:
    from twaron.fs.vfs import Path
    from twaron.kernel import Kernel
    from twaron.process.task import Task

HOST_READ = 65536  # bytes of host stdin taken at one input point


class Inputs:
    """host_wait for a deterministic kernel: input points."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.point = 0
        self.timeout: float | None = 0

    def __call__(self, timeout: float | None) -> bool:
        point = self.point
        self.point += 1
        self.timeout = timeout  # >0: virtual time will jump that far after this point
        return self.take(point, timeout is None)

    def take(self, point: int, block: bool) -> bool:
        raise NotImplementedError

    def deliver(self, point: int, events: list[InputEvent]) -> None:
        kernel = self.kernel
        stream = kernel.events
        for event in events:
            if stream is not None:
                stream.input(point, event)
            if event.kind == "stdin":
                console = kernel.console
                if isinstance(console, VirtualConsole):
                    console.feed(event.data)
            elif event.kind == "winsize":
                kernel.console.set_winsize(0, event.data)
            elif event.kind == "signal":
                kernel.host_signals = [event.sig]
                runloop.deliver_host_signals(kernel)
            elif event.kind == "timeout":
                kernel.timeout_due = True
            elif event.kind == "net":
                net = kernel.det_net
                if net is None:
                    diverge(kernel, f"the record holds host socket input at point {point} for "
                            "a run without --net host or --publish")  # fmt: skip
                    return
                net.deliver(event)


class LiveInputs(Inputs):
    """The host's inputs, taken at input points (and written to the record, if any)."""

    def __init__(self, kernel: Kernel, writer: RecordWriter | None = None) -> None:
        super().__init__(kernel)
        self.writer = writer
        self.timeout_taken = False

    def take(self, point: int, block: bool) -> bool:
        kernel = self.kernel
        while True:
            fds = self._fds()
            events, watched = self._poll(fds, block)
            if events or not block or not (fds or watched):
                break  # a blocking point waits until something comes (or nothing can)
        if events:
            t = kernel.clock.monotonic_ns()
            for event in events:
                if self.writer is not None:
                    self.writer.line(event.to_json(point, t))
            self.deliver(point, events)
        return bool(events) or bool(fds) or watched

    def _fds(self) -> list[int]:
        kernel = self.kernel
        console = kernel.console
        fds = []
        stdin = console.host_stdin() if isinstance(console, VirtualConsole) else None
        if stdin is not None:
            fds.append(stdin)
        if kernel.wakeup_fd is not None:
            fds.append(kernel.wakeup_fd)
        return fds

    def _poll(self, fds: list[int], block: bool) -> tuple[list[InputEvent], bool]:
        """The inputs there are now (waiting for one if block), and whether host sockets
        were watched (net/detnet.py: what they had is in the inputs)."""
        kernel = self.kernel
        net = kernel.det_net
        watches = net.watches() if net is not None else []
        ready: dict[int, int] = {}
        if fds or watches:
            poller = select.poll()
            for fd in fds:
                poller.register(fd, POLLIN)
            for fd, mask, _ in watches:
                poller.register(fd, mask)
            wait = block and not self._pending() and not (net is not None and net.pending())
            ms: int | None = None if wait else 0
            if not block and self.timeout and net is not None and net.awaited() and \
                    not self._pending():  # fmt: skip
                # Idle until a timer while a task waits for a host socket: the host gets
                # as long (in host time) to answer, as a network would, before time jumps.
                ms = max(1, int(self.timeout * 1000))
            try:
                ready = dict(poller.poll(ms))
            except (OSError, ValueError):
                ready = {}
        if kernel.wakeup_fd is not None and ready.get(kernel.wakeup_fd):
            try:
                os.read(kernel.wakeup_fd, 512)
            except OSError:
                pass
        events = []
        console = kernel.console
        stdin = console.host_stdin() if isinstance(console, VirtualConsole) else None
        if stdin is not None and ready.get(stdin):
            try:
                data = os.read(stdin, HOST_READ)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""  # a terminal that went away reads as end of file
            if data is not None:
                events.append(InputEvent("stdin", data))
        if watches:
            events += net.take(watches, ready)  # type: ignore[union-attr]
        signals, kernel.host_signals = kernel.host_signals, []
        for sig in signals:
            if sig == SIGWINCH and isinstance(console, VirtualConsole):
                size = console.host_winsize()
                if size is not None:
                    events.append(InputEvent("winsize", size))
            events.append(InputEvent("signal", sig=sig))
        if kernel.timeout_fired and not self.timeout_taken:
            self.timeout_taken = True
            events.append(InputEvent("timeout"))
        return events, bool(watches)

    def _pending(self) -> bool:
        kernel = self.kernel
        return bool(kernel.host_signals) or (kernel.timeout_fired and not self.timeout_taken)


class ReplayInputs(Inputs):
    """Each input point gets what the record holds for it; a blocking point without any is
    where the replay and the record part."""

    def __init__(self, kernel: Kernel, record: Record) -> None:
        super().__init__(kernel)
        self.record = record

    def take(self, point: int, block: bool) -> bool:
        events = self.record.inputs.pop(point, [])
        if events:
            self.deliver(point, events)
            return True
        if block:
            if self.record.inputs:
                where = min(self.record.inputs)
                why = f"the record's next input is at point {where}"
            else:
                why = "the record holds no more input"
            diverge(self.kernel, f"the replay waits for outside input at input point {point} "
                    f"(virtual time {_seconds(self.kernel)}) and {why}")
            return False
        return False


# ---- the replay's checks -------------------------------------------------------------------


class ReplayCheck:
    """The event hash of a replay against the record's, every N events and at the end."""

    def __init__(self, kernel: Kernel, record: Record) -> None:
        self.kernel = kernel
        self.record = record
        self.last_ok = 0
        self.last_checked = max(record.checks) if record.checks else 0

    def __call__(self, count: int, digest: str) -> None:
        rec = self.record
        expected = rec.checks.get(count)
        if expected == digest:
            self.last_ok = count
            return
        if expected is not None:
            recorded_t = rec.check_times.get(count, 0)
            diverge(self.kernel, f"between events {self.last_ok + 1} and {count} (by virtual "
                    f"time {_seconds(self.kernel)}, the record's {recorded_t / 1e9:.9f} s): "
                    "the event hash is not the record's")
        elif rec.end is not None and count > rec.end["events"]:
            diverge(self.kernel, f"the replay goes on past the recorded run's end "
                    f"({rec.end['events']} events)")
        elif rec.end is None and count > self.last_checked:
            diverge(self.kernel, f"the record stops at event {self.last_checked}, before the run's "
                    "end (was the recorded run killed?): identical up to there")
        else:
            diverge(self.kernel, f"the record has no check after event {count} (damaged?)")

    def finish(self, status: int) -> None:
        """The replayed run ended with status: is it the recorded end?"""
        kernel = self.kernel
        if kernel.replay_divergence is not None:
            return
        rec = self.record
        stream = kernel.events
        assert stream is not None
        end = rec.end
        if end is None:
            diverge(kernel, f"the record holds no end of the run; the replay ended after "
                    f"{stream.count} events")
        elif end["events"] != stream.count or end["hash"] != stream.digest():
            diverge(kernel, f"the replay ended after {stream.count} events, the record after "
                    f"{end['events']}, with another hash")
        elif end["status"] != status:
            diverge(kernel, f"the replay ended with status {status:#x}, the record with "
                    f"{end['status']:#x}")
        elif rec.inputs:
            diverge(kernel, f"the record holds input for point {min(rec.inputs)} that the "
                    "replay never reached")


def diverge(kernel: Kernel, message: str) -> None:
    """The replay left the recorded run: remember the first message, end the run."""
    if kernel.replay_divergence is None:
        kernel.replay_divergence = message
    kernel.shutdown(sigs.wait_status_for_signal(SIGKILL))
    if kernel.platform is not None:
        kernel.platform.request_stop()


def _seconds(kernel: Kernel) -> str:
    return f"{kernel.clock.monotonic_ns() / 1e9:.9f} s"


def record_stream(kernel: Kernel, writer: RecordWriter | None, check_every: int) -> EventStream:
    """The event hash of a recorded run: each check becomes a line of the record."""

    def check(count: int, digest: str) -> None:
        if writer is not None:
            writer.line({"check": count, "t": kernel.clock.monotonic_ns(), "hash": digest})

    return EventStream(check_every, check)


# ---- RDRAND and RDSEED ---------------------------------------------------------------------

GPR_ORDER = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")  # fmt: skip
LEGACY_PREFIXES = frozenset((0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67))
RFLAGS_ARITH = 0x8D5  # CF PF AF ZF SF OF
RFLAGS_CF = 0x1


def random_insn_rng(seed: int) -> Any:
    """RDRAND's and RDSEED's values: a generator of their own, from the run's seed."""
    return make_rng("chacha20", f"rdrand:{seed}")  # type: ignore[arg-type]


def emulate_random_insn(kernel: Kernel, task: Task) -> bool:
    """task stopped on #UD: if the instruction is RDRAND or RDSEED (which the deterministic
    CPU does not execute itself), do what the CPU would, with the next value of the seeded
    generator (CF=1: a value is always available). False: a real #UD."""
    platform = kernel.platform
    rip = platform.get_reg(task, "rip")
    code = _fetch(task, rip)
    size, i, rex = 4, 0, 0
    while i < len(code) and code[i] in LEGACY_PREFIXES:
        if code[i] == 0x66:
            size = 2
        i += 1
    if i < len(code) and 0x40 <= code[i] <= 0x4F:
        rex = code[i]
        i += 1
    if code[i : i + 2] != b"\x0f\xc7" or i + 2 >= len(code):
        return False
    modrm = code[i + 2]
    if modrm >> 6 != 3 or (modrm >> 3) & 7 not in (6, 7):
        return False
    if rex & 8:
        size = 8
    value = int.from_bytes(kernel.rdrand_rng.read(size), "little")
    name = GPR_ORDER[(modrm & 7) | (8 if rex & 1 else 0)]
    if size == 2:
        value |= platform.get_reg(task, name) & ~0xFFFF
    platform.set_reg(task, name, value)
    flags = platform.get_reg(task, "rflags")
    platform.set_reg(task, "rflags", (flags & ~RFLAGS_ARITH) | RFLAGS_CF)
    platform.set_reg(task, "rip", rip + i + 3)
    return True


def _fetch(task: Task, addr: int) -> bytes:
    """Up to 15 bytes of code at addr (fewer where the mapping ends)."""
    for n in (15, 8, 4):
        try:
            return task.mm.copy_in(addr, n)
        except KernelError:
            continue
    return b""


# ---- digests ---------------------------------------------------------------------------------


def root_digest(root: Path) -> str:
    """A digest of the root file system as booted: every name, mode, owner, size, device,
    link target and file content of the root tmpfs (not /dev and /proc mounted on it)."""
    h = hashlib.sha256()
    mounts = root.mnt.children

    def walk(dentry: Any, prefix: bytes) -> None:
        for name in sorted(dentry.children or {}):
            child = dentry.children[name]
            path = prefix + b"/" + name
            inode = child.inode
            h.update(struct.pack("<IIIQQ", inode.mode, inode.uid, inode.gid, inode.size,
                                 inode.rdev) + path + b"\0")  # fmt: skip
            if child in mounts:
                continue
            if inode.is_lnk:
                h.update((inode.target or b"") + b"\0")
            elif inode.is_reg and inode.mapping is not None:
                h.update(inode.mapping.read(0, inode.size))
            elif inode.is_dir:
                walk(child, path)

    walk(root.dentry, b"")
    return h.hexdigest()


def host_digest(path: str) -> str:
    """A digest of a host file, or of a directory's tree (names, modes, contents)."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, path)
                h.update(rel.encode(errors="surrogateescape") + b"\0")
                h.update(_file_digest(full).encode())
        return h.hexdigest()
    return _file_digest(path)


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    try:
        if os.path.islink(path):
            h.update(b"link:" + os.fsencode(os.readlink(path)))
        else:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
    except OSError as e:
        h.update(f"unreadable:{e.errno}".encode())
    return h.hexdigest()
