"""Python hooks on a running guest: before and after any syscall, on exec, exit and signals.

    hooks = twaron.Hooks()

    @hooks.before("connect")            # a name, a number, or a strace set ("%network")
    def refuse(call):
        call.fail(errno.ECONNREFUSED)   # the call does not run

    @hooks.after("openat")
    def opened(call):
        if call.result >= 0 and call.args[2] & (os.O_WRONLY | os.O_RDWR):
            print("written:", call.string(1))

    twaron.run(["sh", "-c", "..."], hooks=hooks)

A before-hook sees the task, its pid, the raw arguments (call.args, a list it may change:
the call then runs with the new values), the arguments as strace decodes them
(call.decoded) and guest memory through checked helpers (read, write, string: an unmapped
address raises GuestMemoryError). It lets the call proceed (returns, doing nothing), or
replaces it: call.fail(ERRNO) or call.succeed(VALUE) and the call does not run. An
after-hook sees call.result (a negative errno on failure, None for a call that does not
return a value: exit, rt_sigreturn) and may replace it the same way. A call that sleeps
(a read on an empty pipe) runs its after-hooks when it finally returns.

Exec, exit and signal hooks get an event: ExecEvent (pid, path, argv, envp), ExitEvent
(pid, status as wait(2) gives it, exit_code, signal, utime/stime in seconds) and
SignalEvent (pid, tid, signal, action: "handler", "ignore", "default"), the latter for every
signal the kernel takes off the pending set on the way to user mode.

An exception raised by a hook ends the run: it is reported as the hook's error with its
traceback (CompletedRun.hook_errors), never as a kernel oops.

The same Hooks object is `kernel.hooks` of a booted twaron.Kernel: hooks registered there,
before or during the run (a hook may add hooks), take effect at the next syscall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twaron.errors import KernelError

Hook = Callable[[Any], Any]


class GuestMemoryError(Exception):
    """A hook touched guest memory that is not mapped (or not writable)."""


@dataclass
class HookError:
    """A hook raised: where (which hook on which event) and the traceback."""

    where: str
    traceback: str

    def report(self) -> str:
        return f"twaron: hook error in {self.where}\n{self.traceback}"


class Hooks:
    """Functions to call on syscalls, exec, exit and signals, registered by name or number.

    `before(key)` and `after(key)` work as decorators or as `hooks.before("openat", fn)`;
    key is a syscall name, a number, or a strace set ("%file", "openat,openat2", "!read").
    """

    def __init__(self) -> None:
        self.syscall_hooks: list[tuple[str, str | int, Hook]] = []  # (when, key, fn)
        self.exec_hooks: list[Hook] = []
        self.exit_hooks: list[Hook] = []
        self.signal_hooks: list[Hook] = []
        self.listeners: list[Callable[[], None]] = []  # kernels using these hooks

    def before(self, key: str | int, fn: Hook | None = None) -> Any:
        return self._add("before", key, fn)

    def after(self, key: str | int, fn: Hook | None = None) -> Any:
        return self._add("after", key, fn)

    def on_exec(self, fn: Hook) -> Hook:
        self.exec_hooks.append(fn)
        self._changed()
        return fn

    def on_exit(self, fn: Hook) -> Hook:
        self.exit_hooks.append(fn)
        self._changed()
        return fn

    def on_signal(self, fn: Hook) -> Hook:
        self.signal_hooks.append(fn)
        self._changed()
        return fn

    def __bool__(self) -> bool:
        return bool(self.syscall_hooks or self.exec_hooks or self.exit_hooks
                    or self.signal_hooks)  # fmt: skip

    def _add(self, when: str, key: str | int, fn: Hook | None) -> Any:
        if not isinstance(key, (str, int)):
            raise TypeError(f"a syscall name, number or set, not {key!r}")

        def register(f: Hook) -> Hook:
            self.syscall_hooks.append((when, key, f))
            self._changed()
            return f

        return register if fn is None else register(fn)

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()


def hook_name(fn: Hook) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class SyscallCall:
    """One syscall as a hook sees it (before it runs, and after with its result)."""

    __slots__ = ("task", "nr", "name", "args", "result", "override", "phase", "_decoded")

    def __init__(self, task: Any, nr: int, name: str, args: list[int]) -> None:
        self.task = task
        self.nr = nr
        self.name = name
        self.args = args  # raw values; a before-hook may change them
        self.result: int | None = None  # after: the value the caller gets (-errno on error)
        self.override: int | None = None  # set by fail()/succeed()
        self.phase = "before"
        self._decoded: list[str] | None = None

    # ---- who ----
    @property
    def pid(self) -> int:
        return int(self.task.pid)

    @property
    def tid(self) -> int:
        return int(self.task.tid)

    @property
    def comm(self) -> str:
        return bytes(self.task.comm).decode(errors="replace")

    # ---- steering ----
    def fail(self, errno: int) -> None:
        """Before: do not run the call, fail it with errno. After: replace its result."""
        if not 1 <= errno <= 4095:
            raise ValueError(f"errno must be 1..4095, not {errno}")
        self._set(-errno)

    def succeed(self, value: int = 0) -> None:
        """Before: do not run the call, return value. After: replace its result."""
        self._set(int(value))

    def _set(self, value: int) -> None:
        if self.phase == "after":
            self.result = value
        else:
            self.override = value

    @property
    def errno(self) -> int:
        """After: the call's errno (0 when it succeeded)."""
        r = self.result
        return -r if r is not None and -4095 <= r < 0 else 0

    # ---- what it says ----
    @property
    def decoded(self) -> list[str]:
        """The arguments as strace prints them (outputs as `...` before the call)."""
        if self._decoded is None or self.phase == "after":
            from twaron.syscalls import trace

            if self.phase == "before":
                entry = trace.format_entry(self.task, self.nr, self.args)
                self._decoded = [a if a is not None else "..." for a in entry]
            else:
                line = trace.format_syscall(self.task, self.nr, self.args, self.result)
                self._decoded = _split_args(line)
        return self._decoded

    def __str__(self) -> str:
        from twaron.syscalls import trace

        if self.phase == "after":
            return trace.format_syscall(self.task, self.nr, self.args, self.result)
        return f"{self.name}({', '.join(self.decoded)})"

    __repr__ = __str__

    # ---- guest memory, checked ----
    def read(self, addr: int, n: int) -> bytes:
        try:
            return bytes(self.task.mm.copy_in(addr, n))
        except KernelError:
            raise GuestMemoryError(f"cannot read {n} bytes at {addr:#x}") from None

    def write(self, addr: int, data: bytes) -> None:
        try:
            self.task.mm.copy_out(addr, bytes(data))
        except KernelError:
            raise GuestMemoryError(f"cannot write {len(data)} bytes at {addr:#x}") from None

    def string(self, index: int, limit: int = 4096) -> bytes:
        """The NUL-terminated string argument `index` points to (a path, a name)."""
        from twaron.syscalls.trace import read_cstring

        try:
            return read_cstring(self.task, self.args[index], limit)[0]
        except KernelError:
            raise GuestMemoryError(f"no string at {self.args[index]:#x}") from None


def _split_args(line: str) -> list[str]:
    """The arguments of a formatted `name(a, b, c) = r` line, split at top-level commas."""
    body = line[line.index("(") + 1 : line.rindex(") = ")]
    out: list[str] = []
    cur: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in body:
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if cur or out:
        out.append("".join(cur).strip())
    return out


@dataclass
class ExecEvent:
    task: Any
    path: bytes
    argv: list[bytes]
    envp: list[bytes] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return int(self.task.pid)


@dataclass
class ExitEvent:
    pid: int
    comm: str
    status: int  # the wait(2) status
    utime: float  # seconds (twaron counts all CPU time as user time)
    stime: float

    @property
    def exit_code(self) -> int | None:
        return None if self.status & 0x7F else (self.status >> 8) & 0xFF

    @property
    def signal(self) -> int | None:
        return self.status & 0x7F or None


@dataclass
class SignalEvent:
    task: Any
    signal: int
    action: str  # "handler", "ignore" or "default"

    @property
    def pid(self) -> int:
        return int(self.task.pid)

    @property
    def tid(self) -> int:
        return int(self.task.tid)
