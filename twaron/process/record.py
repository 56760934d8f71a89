"""Record files (`twaron run --record FILE`, `twaron replay FILE`): every input from outside a
deterministic kernel, and a running hash of what the kernel did to check a replay against.

A record is JSON Lines. The first line is the header: how the kernel was booted (argv,
environment, seed, epoch, memory, the options that change what the guest sees), digests of
the root file system as booted and of each --add file, of the CPU's CPUID table, the
console's terminals (modes and size), and the check interval N. Then, in the order they
happened:

    {"in": P, "t": NS, "stdin": BASE64}      input at input point P (virtual time NS):
    {"in": P, "t": NS, "signal": SIG}        stdin bytes ("" is end of file), a signal sent
    {"in": P, "t": NS, "winsize": HEX}       to twaron, the terminal's new size, the
    {"in": P, "t": NS, "timeout": true}      --timeout expiring
    {"in": P, "t": NS, "net": OP, "sock": ID, ["data": BASE64, "err": E, "addr": HEX]}
                                             what a host socket had (net/detnet.py)
    {"host": N, "op": OP, "sock": ID, ["err": E | "ret": R | "data": BASE64]}
                                             the result of the N-th host call (detnet.py)
    {"check": N, "t": NS, "hash": HEX}       the event hash after N events (every N)
    {"end": true, "events": N, "hash": HEX, "status": S, "t": NS}

Input points are the kernel's only contact with the outside world while it runs (the idle
loop's waits and the scheduler's periodic look at the host, at instants of virtual time), so
a replay that feeds each point what the record holds for it sees the same inputs at the same
points. The event hash covers every system call (thread, number, arguments, result), every
turn of a task on the CPU (why it stopped, and when), every write to the console and every
input: a replay recomputes it and compares every N events, so a divergence is reported
where it happens, not only at the end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

RECORD_VERSION = 1
DEFAULT_CHECK_EVERY = 1000
U64 = (1 << 64) - 1

_SYSCALL = struct.Struct("<BIQ7Q")
_RESULT = struct.Struct("<BIQ")
_TURN = struct.Struct("<BIBQQ")
_OUTPUT = struct.Struct("<BBI")
_NO_RESULT = U64  # a call that slept or set the registers itself


class RecordError(Exception):
    """The record file cannot be used: the message says which line and why."""


NET_OPS = frozenset(("data", "eof", "error", "connected", "accept", "pub_accept", "pub_dgram"))
HOST_CALLS = frozenset(("socket", "bind", "listen", "connect", "getsockname", "getpeername",
                        "sendto", "shutdown", "setsockopt", "getsockopt"))  # fmt: skip


@dataclass
class InputEvent:
    kind: str  # stdin | signal | winsize | timeout | net
    data: bytes = b""
    sig: int = 0
    # net: what a host socket had (op), for which socket, an errno, an address
    op: str = ""
    sock: int = 0
    err: int = 0
    addr: bytes = b""
    host: Any = field(default=None, compare=False, repr=False)  # live only: a host socket

    def to_json(self, point: int, t: int) -> dict[str, Any]:
        out: dict[str, Any] = {"in": point, "t": t}
        if self.kind == "stdin":
            out["stdin"] = base64.b64encode(self.data).decode()
        elif self.kind == "signal":
            out["signal"] = self.sig
        elif self.kind == "winsize":
            out["winsize"] = self.data.hex()
        elif self.kind == "net":
            out.update(net=self.op, sock=self.sock)
            if self.data:
                out["data"] = base64.b64encode(self.data).decode()
            if self.err:
                out["err"] = self.err
            if self.addr:
                out["addr"] = self.addr.hex()
        else:
            out["timeout"] = True
        return out

    def digest_bytes(self) -> bytes:
        head = b"in:" + self.kind.encode() + b":" + str(self.sig).encode() + b":"
        if self.kind == "net":
            head += b"%s:%d:%d:%s:" % (self.op.encode(), self.sock, self.err,
                                       self.addr.hex().encode())  # fmt: skip
        return head + self.data


class EventStream:
    """The running hash of what the kernel does; `on_check(count, hash)` every N events."""

    def __init__(self, check_every: int, on_check: Callable[[int, str], None]) -> None:
        self.check_every = max(1, check_every)
        self.on_check = on_check
        self.hash = hashlib.blake2b(digest_size=16)
        self.count = 0

    def add(self, data: bytes) -> None:
        self.hash.update(data)
        self.count += 1
        if self.count % self.check_every == 0:
            self.on_check(self.count, self.hash.hexdigest())

    def digest(self) -> str:
        return self.hash.hexdigest()

    def syscall(self, tid: int, nr: int, args: tuple[int, ...]) -> None:
        self.add(_SYSCALL.pack(1, tid & 0xFFFF_FFFF, nr & U64, *(a & U64 for a in args), 0))

    def result(self, tid: int, ret: int | None) -> None:
        self.add(_RESULT.pack(2, tid & 0xFFFF_FFFF, _NO_RESULT if ret is None else ret & U64))

    def turn(self, tid: int, event: int, info: int, now_ns: int) -> None:
        self.add(_TURN.pack(3, tid & 0xFFFF_FFFF, event, info & U64, now_ns & U64))

    def output(self, stream: int, data: bytes) -> None:
        self.add(_OUTPUT.pack(4, stream, len(data)) + data)

    def net_output(self, sock: int, data: bytes) -> None:
        """Bytes the guest sent to the host through socket `sock` (net/detnet.py)."""
        self.add(struct.pack("<BQI", 6, sock & U64, len(data)) + data)

    def input(self, point: int, event: InputEvent) -> None:
        self.add(struct.pack("<BQ", 5, point) + event.digest_bytes())

    def wrap(self, inner: Callable[..., int | None]) -> Callable[..., int | None]:
        """The syscall entry with every call and its immediate result hashed."""
        syscall, result = self.syscall, self.result

        def entry(task: Any, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                  a5: int) -> int | None:  # fmt: skip
            syscall(task.tid, nr, (a0, a1, a2, a3, a4, a5))
            ret = inner(task, nr, a0, a1, a2, a3, a4, a5)
            result(task.tid, ret)
            return ret

        return entry


class RecordWriter:
    """Writes a record as the run goes (each line flushed: a killed run leaves what it had)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.close()


@dataclass
class Record:
    """A record file, read whole and checked line by line."""

    header: dict[str, Any]
    inputs: dict[int, list[InputEvent]] = field(default_factory=dict)
    checks: dict[int, str] = field(default_factory=dict)
    check_times: dict[int, int] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    last_point: int = -1
    host_calls: list[dict[str, Any]] = field(default_factory=list)  # in call order

    @property
    def check_every(self) -> int:
        return int(self.header.get("check_every", DEFAULT_CHECK_EVERY))


def read_record(path: str) -> Record:
    """The record at path; RecordError names the first line that is not what it should be."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"{path}: cannot read it: {e}") from None
    if not lines:
        raise RecordError(f"{path}: empty, not a twaron record")
    header = _json(lines[0], 1)
    if header.get("twaron_record") != RECORD_VERSION or not isinstance(header.get("config"), dict):
        raise RecordError(f"{path}: line 1: not a twaron record (version {RECORD_VERSION})")
    rec = Record(header)
    for no, text in enumerate(lines[1:], start=2):
        obj = _json(text, no)
        try:
            _take(rec, obj)
        except (KeyError, TypeError, ValueError) as e:
            raise RecordError(f"line {no}: not a record event ({type(e).__name__}: {e})") from None
        if rec.end is not None and no != len(lines):
            raise RecordError(f"line {no + 1}: events after the end of the run")
    return rec


def _json(text: str, no: int) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise RecordError(f"line {no}: not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise RecordError(f"line {no}: not a JSON object")
    return obj


def _take(rec: Record, obj: dict[str, Any]) -> None:
    if "in" in obj:
        point = _int(obj["in"])
        if point < rec.last_point:
            raise ValueError("input points out of order")
        rec.last_point = point
        if "stdin" in obj:
            event = InputEvent("stdin", base64.b64decode(_str(obj["stdin"]), validate=True))
        elif "signal" in obj:
            sig = _int(obj["signal"])
            if not 1 <= sig <= 64:
                raise ValueError(f"no signal {sig}")
            event = InputEvent("signal", sig=sig)
        elif "winsize" in obj:
            event = InputEvent("winsize", bytes.fromhex(_str(obj["winsize"])))
        elif obj.get("timeout") is True:
            event = InputEvent("timeout")
        elif "net" in obj:
            event = _net_input(obj)
        else:
            raise ValueError("an input of no known kind")
        rec.inputs.setdefault(point, []).append(event)
    elif "host" in obj:
        rec.host_calls.append(_host_call(obj, len(rec.host_calls)))
    elif "check" in obj:
        count = _int(obj["check"])
        rec.checks[count] = _str(obj["hash"])
        rec.check_times[count] = _int(obj.get("t", 0))
    elif obj.get("end") is True:
        rec.end = {"events": _int(obj["events"]), "hash": _str(obj["hash"]),
                   "status": _int(obj["status"]), "t": _int(obj.get("t", 0))}  # fmt: skip
    else:
        raise ValueError("a line of no known kind")


def _net_input(obj: dict[str, Any]) -> InputEvent:
    op = _str(obj["net"])
    if op not in NET_OPS:
        raise ValueError(f"no net input {op!r}")
    return InputEvent("net", _b64(obj.get("data", "")), op=op, sock=_int(obj["sock"]),
                      err=_errno(obj.get("err", 0)), addr=bytes.fromhex(_str(obj.get("addr", ""))))


def _host_call(obj: dict[str, Any], no: int) -> dict[str, Any]:
    if _int(obj["host"]) != no:
        raise ValueError(f"host call {obj['host']} where {no} was due")
    op = _str(obj["op"])
    if op not in HOST_CALLS:
        raise ValueError(f"no host call {op!r}")
    call: dict[str, Any] = {"host": no, "op": op, "sock": _int(obj["sock"]),
                            "err": _errno(obj.get("err", 0))}  # fmt: skip
    if "data" in obj:
        call["data"] = _b64(obj["data"])
    if "ret" in obj:
        call["ret"] = _int(obj["ret"])
    return call


def _b64(v: Any) -> bytes:
    return base64.b64decode(_str(v), validate=True)


def _errno(v: Any) -> int:
    e = _int(v)
    if not 0 <= e < 4096:
        raise ValueError(f"no errno {e}")
    return e


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{v!r} is not an integer")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{v!r} is not a string")
    return v
