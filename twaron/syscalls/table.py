"""The system call table: number -> handler.

Each syscalls/<family>.py module registers its handlers with @syscall("name"). A handler is
called as handler(task, a0, a1, a2, a3, a4, a5) with the six raw 64-bit argument registers
(rdi, rsi, rdx, r10, r8, r9) and returns a non-negative int, or raises KernelError(errno).
Handlers hold no state: they decode arguments, copy user memory through the checked helpers
of mm, and call a subsystem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.unistd import SYSCALL_NUMBERS

Handler = Callable[..., int]
NR_MAX = 512
SYSCALL_TABLE: list[Handler | None] = [None] * NR_MAX


def syscall(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler under one or more syscall names (e.g. "dup2" and "dup3" share code)."""

    def register(fn: Handler) -> Handler:
        for name in names:
            nr = SYSCALL_NUMBERS[name]
            if SYSCALL_TABLE[nr] is not None:
                raise RuntimeError(f"syscall {name} registered twice")
            SYSCALL_TABLE[nr] = fn
        return fn

    return register


def load_all() -> list[Handler | None]:
    """Import every family module so that its handlers are registered."""
    from twaron.syscalls import (  # noqa: F401
        fs,
        itimer,
        misc,
        mm,
        pipe,
        poll,
        process,
        signal,
        time,
    )

    return SYSCALL_TABLE


def s32(x: int) -> int:
    """A 64-bit register as the C int it carries (fds, flags, pids)."""
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x & 0x8000_0000 else x


def s64(x: int) -> int:
    """A 64-bit register as a signed long (offsets, lengths that may be negative)."""
    return x - (1 << 64) if x & (1 << 63) else x


def unused(*_: Any) -> None:
    """Marks arguments a handler takes for its signature but does not read."""
