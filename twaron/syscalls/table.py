"""What every handler module needs: @syscall to register a handler, and argument decoding.

A handler is called as handler(task, a0, a1, a2, a3, a4, a5) with the six raw 64-bit argument
registers (rdi, rsi, rdx, r10, r8, r9) and returns a non-negative int, or raises
KernelError(errno). Handlers hold no state: they decode arguments, copy user memory through
the checked helpers of mm, and call a subsystem. The registry (registry.py) joins them with
what else is known of each call.
"""

from __future__ import annotations

from typing import Any

from twaron.syscalls.registry import NR_MAX, syscall

__all__ = ["NR_MAX", "s32", "s64", "syscall", "unused"]


def s32(x: int) -> int:
    """A 64-bit register as the C int it carries (fds, flags, pids)."""
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x & 0x8000_0000 else x


def s64(x: int) -> int:
    """A 64-bit register as a signed long (offsets, lengths that may be negative)."""
    return x - (1 << 64) if x & (1 << 63) else x


def unused(*_: Any) -> None:
    """Marks arguments a handler takes for its signature but does not read."""
