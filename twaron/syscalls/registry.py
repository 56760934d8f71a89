"""The syscall registry: everything twaron knows about each x86-64 system call, in one place.

One `Syscall` per number of Linux 6.1's x86-64 table: its name, handler, support level, a note
on what differs from Linux, how a signal ends it while it sleeps (restart rule), and the
argument formats `--trace` prints and `twaron fuzz` draws from. The dispatch table, the strace
formatter, the fuzzer's table, the restart rules, `twaron syscalls` and docs/syscalls.md are all
derived from it.

Handlers attach themselves with @syscall("name") in the family modules (syscalls/fs.py, ...);
the facts about each call are the FACTS table in syscalls/facts.py; load() joins the two and
checks that they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from twaron.arch.x86_64.errno import (
    EINTR,
    ENOSYS,
    ERESTART_RESTARTBLOCK,
    ERESTARTNOHAND,
    ERESTARTSYS,
)
from twaron.arch.x86_64.unistd import SYSCALL_NAMES

Handler = Callable[..., "int | None"]
NR_MAX = 512


class Level(Enum):
    FULL = "full"  # as Linux, within what twaron models (one CPU, no hardware)
    PARTIAL = "partial"  # works; the note says what differs
    STUB = "stub"  # succeeds without effect (listed at the end of a run as unimplemented)
    UNSUPPORTED = "unsupported"  # fails with `errno` (ENOSYS unless the note says why not)


class Restart(Enum):
    """What a signal does to the call while it sleeps (Linux's ERESTART* codes)."""

    NEVER_SLEEPS = "-"
    SYS = "restart"  # ERESTARTSYS: restarted if the handler has SA_RESTART (or none runs)
    NOHAND = "no-handler"  # ERESTARTNOHAND: EINTR after a handler, restarted otherwise
    BLOCK = "restart_syscall"  # ERESTART_RESTARTBLOCK: resumed through restart_syscall(2)
    # with the time left unless a handler runs (then EINTR)
    EINTR = "eintr"  # always EINTR (signal(7): "never restarted")
    KILLABLE = "killable"  # only a fatal signal ends the sleep (vfork's wait for the child)


# What a handler's plain interruption (KernelError(ERESTARTSYS) from the wait layer)
# becomes under each rule. BLOCK handlers raise their own RestartBlock; if one did not, it
# is restarted like NOHAND.
INTERRUPT_ERRNO = {
    Restart.NEVER_SLEEPS: ERESTARTSYS,
    Restart.SYS: ERESTARTSYS,
    Restart.NOHAND: ERESTARTNOHAND,
    Restart.BLOCK: ERESTARTNOHAND,
    Restart.EINTR: EINTR,
    Restart.KILLABLE: ERESTARTSYS,
}
assert ERESTART_RESTARTBLOCK  # named here: the BLOCK rule's own code (errors.RestartBlock)


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    level: Level
    note: str = ""
    restart: Restart = Restart.NEVER_SLEEPS
    errno: int = ENOSYS  # what an UNSUPPORTED call answers
    linux_may: bool = False  # its answer is one a Linux build may give (rseq's ENOSYS)
    args: Any = None  # trace formats: a tuple of trace.Arg, or a function of trace.Call
    fuzz: str | None = None  # the fuzzer's argument codes (derived from args when None)
    nofuzz: str = ""  # why the fuzzer's table leaves the call out (it ends the child, ...)
    result: str = "dec"  # how --trace prints what it returns: "dec", "hex" (an address),
    # "none" (it does not return: `= ?`)
    handler: Handler | None = field(default=None, compare=False)
    # strace's classes of the call ("file", "desc", "network", ...: syscalls/classes.py)
    classes: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def unimplemented(self) -> bool:
        """Listed at the end of a run: a call twaron does not really do (yet)."""
        return self.level in (Level.STUB, Level.UNSUPPORTED) and not self.linux_may

    @property
    def fuzz_codes(self) -> str | None:
        """The codes of the fuzzer's table (one per argument, fuzzer.c's arg()): `fuzz` when
        given, else derived from the trace formats; None when the call is not in the table
        (left out on purpose, or a call without formats or codes)."""
        if self.nofuzz:
            return None
        if self.fuzz is not None:
            return self.fuzz
        if isinstance(self.args, tuple):
            return "".join(a.fuzz for a in self.args)
        return None


# Handlers registered by @syscall, by name, before load() joins them with the facts.
HANDLERS: dict[str, Handler] = {}


def syscall(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler under one or more syscall names (e.g. "dup2" and "dup3" share code)."""

    def register(fn: Handler) -> Handler:
        for name in names:
            if name in HANDLERS:
                raise RuntimeError(f"syscall {name} registered twice")
            if name not in _NUMBERS:
                raise RuntimeError(f"no syscall named {name}")
            HANDLERS[name] = fn
        return fn

    return register


_NUMBERS = {name: nr for nr, name in SYSCALL_NAMES.items()}


class Registry:
    """The joined table. `handlers` and `interrupt_errno` are lists indexed by number, for
    the syscall entry's hot path."""

    def __init__(self, entries: dict[int, Syscall]) -> None:
        self.entries = entries
        self.by_name = {e.name: e for e in entries.values()}
        self.handlers: list[Handler | None] = [None] * NR_MAX
        self.interrupt_errno = [ERESTARTSYS] * NR_MAX
        self.unimplemented = [True] * NR_MAX
        for nr, e in entries.items():
            self.handlers[nr] = e.handler
            self.interrupt_errno[nr] = INTERRUPT_ERRNO[e.restart]
            self.unimplemented[nr] = e.unimplemented

    def __getitem__(self, nr: int) -> Syscall:
        return self.entries[nr]

    def __iter__(self) -> Iterator[Syscall]:
        return iter(self.entries[nr] for nr in sorted(self.entries))

    def name(self, nr: int) -> str:
        e = self.entries.get(nr)
        return e.name if e is not None else f"syscall_{nr:#x}"

    def select(self, spec: str) -> frozenset[int]:
        """The numbers of the calls a strace-style set names ("openat,%network", "!%file");
        classes.SetError if strace would refuse it."""
        from twaron.syscalls.classes import parse_set

        return parse_set(spec, {e.name: nr for nr, e in self.entries.items()}, NR_MAX)


_REGISTRY: list[Registry] = []


def load() -> Registry:
    """The registry: every family module imported (so its handlers are registered) and
    joined with the facts. Built once; immutable afterwards."""
    if _REGISTRY:
        return _REGISTRY[0]
    from twaron.syscalls import (  # noqa: F401 - imported for their @syscall handlers
        epoll,
        eventfd,
        fs,
        ipc,
        itimer,
        locks,
        memfd,
        misc,
        mm,
        net,
        notify,
        pidfd,
        pipe,
        poll,
        posix_timers,
        prctl,
        process,
        sched,
        signal,
        signalfd,
        splice,
        time,
        timerfd,
        xattr,
    )
    from twaron.syscalls.classes import classes_of
    from twaron.syscalls.facts import FACTS

    unknown = sorted(set(FACTS) - set(_NUMBERS))
    if unknown:  # a typo in facts.py would otherwise pass as "no facts" for the real name
        raise RuntimeError(f"facts.py names calls that do not exist: {', '.join(unknown)}")
    entries: dict[int, Syscall] = {}
    for nr, name in SYSCALL_NAMES.items():
        handler = HANDLERS.get(name)
        fact = FACTS.get(name) or Fact(Level.FULL if handler else Level.UNSUPPORTED)
        if fact.level is Level.STUB and handler is not None:
            handler = _counted_stub(nr, handler)
        known = {f.name: getattr(fact, f.name) for f in fields(Fact)}
        entries[nr] = Syscall(nr, name, handler=handler, classes=classes_of(name), **known)
    _REGISTRY.append(Registry(entries))
    return _REGISTRY[0]


@dataclass(frozen=True)
class Fact:
    """What facts.py says of one call (the Syscall without its number, name and handler)."""

    level: Level
    note: str = ""
    restart: Restart = Restart.NEVER_SLEEPS
    errno: int = ENOSYS
    linux_may: bool = False
    args: Any = None
    fuzz: str | None = None
    nofuzz: str = ""
    result: str = "dec"


def _counted_stub(nr: int, handler: Handler) -> Handler:
    """A stub still answers as it did; each call is counted for the end-of-run list."""

    def stub(task: Any, *args: int) -> int | None:
        task.kernel.unimplemented_calls[nr] += 1
        return handler(task, *args)

    stub.__wrapped__ = handler  # type: ignore[attr-defined]
    return stub
