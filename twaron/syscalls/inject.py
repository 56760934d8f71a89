"""`--inject`: strace 6's syscall tampering (`-e inject=`), same syntax, same semantics.

    SET:error=ERRNO|retval=N[:signal=SIG][:syscall=PURE][:delay_enter=US][:delay_exit=US]
       [:when=FIRST[..LAST][+[STEP]]]

As in strace: error= and retval= replace the call (it does not run; the caller sees the
error or the value); signal= alone lets the call run and sends the signal to the thread as
it enters the call; delays hold the thread back on entering or leaving the call (other tasks
run meanwhile); without when= every call of the set is tampered with; when=N only the Nth,
N+ the Nth and every later one, N+S every Sth from the Nth, N..M+S the same up to the Mth.
Calls are counted per syscall and per thread (strace's "per syscall and per tracee"), and
when two injections name the same call the later one holds for it. `--fault SET[:error=E]`
is inject with ENOSYS as the default error. syscall=NAME (a %pure call run instead) reads
as error/retval: twaron's pure calls have no effect, so the value is the injected one.

`--fail-mem PERCENT` (twaron's own): each mmap, mremap and brk fails with probability
PERCENT/100 (mmap and mremap with ENOMEM, brk by leaving the break where it is, as Linux's
brk answers a refusal), drawn from a generator seeded by --seed, so a seeded run fails the
same calls every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twaron.arch.x86_64 import constants as C
from twaron.arch.x86_64.errno import ENOSYS, ERRNO_NAMES

MAX_FIRST = 65535  # strace's limits for when=
MAX_LAST = 65534
_WHEN_RE = re.compile(r"^(\d+)(?:\.\.(\d+))?(\+(\d*))?$")
_ERRNO_BY_NAME = {name: value for value, name in ERRNO_NAMES.items()}


class InjectError(ValueError):
    """An injection strace would refuse."""


@dataclass(frozen=True)
class Injection:
    """One --inject expression: what to do to the calls of `nrs`, and on which calls."""

    nrs: frozenset[int]
    error: int | None = None
    retval: int | None = None
    signal: int | None = None
    delay_enter: int = 0  # microseconds
    delay_exit: int = 0
    first: int = 1
    last: int | None = None
    step: int = 1  # 0: only the first-th call
    text: str = ""

    @property
    def replaces(self) -> bool:
        """The call does not run: the caller sees `error` or `retval`."""
        return self.error is not None or self.retval is not None

    @property
    def result(self) -> int:
        """What the caller sees (a -errno or the value) when the call is replaced."""
        return -self.error if self.error is not None else int(self.retval or 0)

    def due(self, n: int) -> bool:
        """Is the n-th call (1-based) of one syscall by one thread tampered with?"""
        if n < self.first or (self.last is not None and n > self.last):
            return False
        if self.step == 0:
            return n == self.first
        return (n - self.first) % self.step == 0


def parse_inject(text: str, select, fault: bool = False) -> Injection:  # noqa: ANN001
    """Injection from `SET:opt=value:...`; select(set_text) gives the set's numbers."""
    set_text, *options = _split(text)
    try:
        nrs = select(set_text)
    except ValueError as e:
        raise InjectError(str(e)) from None
    fields: dict[str, int | None] = {}
    when = (1, None, 1)
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep:
            raise InjectError(f"invalid injection option {opt!r}")
        if key == "when":
            when = parse_when(value)
        elif key == "error":
            _once(fields, "error", parse_errno(value), "error/retval")
        elif key == "retval":
            _once(fields, "retval", _int(value, "retval"), "error/retval")
        elif key == "signal":
            _once(fields, "signal", parse_signal(value), "signal")
        elif key in ("delay_enter", "delay_exit"):
            fields[key] = parse_delay(value)
        elif key == "syscall":
            if value not in ("getpid", "getppid", "gettid", "getuid", "geteuid", "getgid",
                             "getegid", "getpgrp"):  # fmt: skip
                raise InjectError(f"syscall={value}: only %pure calls can be injected")
        else:
            raise InjectError(f"unknown injection option {key!r} (poke_enter/poke_exit: not "
                              "supported)")  # fmt: skip
    if fault and "error" not in fields and "retval" not in fields:
        fields["error"] = ENOSYS
    if not fields:
        raise InjectError(f"{text!r}: error=, retval=, signal=, delay_enter= or delay_exit= "
                          "is required")  # fmt: skip
    first, last, step = when
    return Injection(nrs, fields.get("error"), fields.get("retval"), fields.get("signal"),
                     fields.get("delay_enter") or 0, fields.get("delay_exit") or 0,
                     first, last, step, text)  # fmt: skip


def _split(text: str) -> list[str]:
    """SET:a=1:b=2; a regex set (/...) may itself hold colons, up to the first option."""
    parts = text.split(":")
    head = parts[0]
    i = 1
    while head.startswith("/") and i < len(parts) and "=" not in parts[i]:
        head += ":" + parts[i]
        i += 1
    if not head:
        raise InjectError(f"{text!r}: no syscall set")
    return [head, *parts[i:]]


def _once(fields: dict[str, int | None], key: str, value: int, what: str) -> None:
    exclusive = ("error", "retval") if key in ("error", "retval") else (key,)
    if any(k in fields for k in exclusive):
        raise InjectError(f"only one {what} specification is allowed")
    fields[key] = value


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise InjectError(f"invalid {what} {text!r}") from None


def parse_errno(text: str) -> int:
    if text.isdigit():
        value = int(text)
    else:
        value = _ERRNO_BY_NAME.get(text.upper(), 0)
    if not 1 <= value <= 4095:
        raise InjectError(f"invalid error {text!r}")
    return value


def parse_signal(text: str) -> int:
    if text.isdigit():
        value = int(text)
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        value = getattr(C, name, 0) if name[3:].isalnum() else 0
    if not 1 <= value <= C.NSIG:
        raise InjectError(f"invalid signal {text!r}")
    return value


_DELAY_UNITS = {"": 1, "us": 1, "ms": 1000, "s": 1_000_000, "ns": 0.001}


def parse_delay(text: str) -> int:
    """Microseconds; strace's time format also takes a unit: 10ms, 1.5s, 500us."""
    m = re.match(r"^(\d+(?:\.\d*)?)(ns|us|ms|s)?$", text)
    if not m:
        raise InjectError(f"invalid delay {text!r}")
    return int(float(m.group(1)) * _DELAY_UNITS[m.group(2) or ""])


def parse_when(text: str) -> tuple[int, int | None, int]:
    """(first, last, step); step 0 means only the first-th call."""
    m = _WHEN_RE.match(text)
    if not m:
        raise InjectError(f"invalid when={text!r} (FIRST[..LAST][+[STEP]])")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else None
    plus, step_text = m.group(3), m.group(4)
    if plus is None:
        step = 1 if last is not None else 0
    else:
        step = int(step_text) if step_text else 1
    if not 1 <= first <= MAX_FIRST or not 1 <= step <= MAX_FIRST and step != 0:
        raise InjectError(f"when={text}: numbers are 1..{MAX_FIRST}")
    if last is not None and not first <= last <= MAX_LAST:
        raise InjectError(f"when={text}: LAST is FIRST..{MAX_LAST}")
    return first, last, step


def parse_percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise InjectError(f"invalid percentage {text!r}") from None
    if not 0 <= value <= 100:
        raise InjectError(f"percentage must be 0..100: {text!r}")
    return value
