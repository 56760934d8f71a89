"""The facts of the syscall registry (see registry.py): one entry per call that needs more
than "implemented, as Linux" - a support level, a note, a restart rule, trace formats.

A call absent from FACTS is FULL when it has a handler and UNSUPPORTED (ENOSYS) when not.
"""

from __future__ import annotations

from twaron.syscalls.registry import Fact, Level, Restart

FULL, PARTIAL, STUB, UNSUPPORTED = Level.FULL, Level.PARTIAL, Level.STUB, Level.UNSUPPORTED
SYS, NOHAND, BLOCK = Restart.SYS, Restart.NOHAND, Restart.BLOCK
EINTR, KILLABLE = Restart.EINTR, Restart.KILLABLE

FACTS: dict[str, Fact] = {
    "read": Fact(FULL, restart=SYS),
    "write": Fact(FULL, restart=SYS),
    "readv": Fact(FULL, restart=SYS),
    "writev": Fact(FULL, restart=SYS),
    "preadv": Fact(FULL, restart=SYS),
    "pwritev": Fact(FULL, restart=SYS),
    "sendfile": Fact(FULL, restart=SYS),
    "open": Fact(FULL, restart=SYS),
    "openat": Fact(FULL, restart=SYS),
    "creat": Fact(FULL, restart=SYS),
    "wait4": Fact(FULL, restart=SYS),
    "waitid": Fact(FULL, restart=SYS),
    "futex": Fact(FULL, restart=SYS),
    "poll": Fact(FULL, restart=BLOCK),
    "ppoll": Fact(FULL, restart=NOHAND),
    "select": Fact(FULL, restart=NOHAND),
    "pselect6": Fact(FULL, restart=NOHAND),
    "pause": Fact(FULL, restart=NOHAND),
    "rt_sigsuspend": Fact(FULL, restart=NOHAND),
    "nanosleep": Fact(FULL, restart=BLOCK),
    "clock_nanosleep": Fact(FULL, restart=BLOCK),
    "vfork": Fact(FULL, restart=KILLABLE),
    "clone": Fact(FULL, restart=KILLABLE),
    "clone3": Fact(FULL, restart=KILLABLE),
}
