"""Exceptions that cross layers inside the kernel.

A handler deep in fs/ or mm/ raises KernelError(errno); the syscall boundary turns it
into -errno for the guest. Anything else that escapes a handler is a kernel bug (an oops).
A handler that must wait sleeps in place through the wait layer (twaron/wait.py); a signal
ends the sleep with KernelError(ERESTARTSYS), which the syscall layer and signal delivery
turn into EINTR or a restart as Linux does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.errno import ERESTART_RESTARTBLOCK, ERRNO_NAMES


class KernelError(Exception):
    """A Linux errno, raised anywhere below the syscall boundary."""

    __slots__ = ("errno",)

    def __init__(self, errno: int, msg: str = "") -> None:
        super().__init__(msg or ERRNO_NAMES.get(errno, str(errno)))
        self.errno = errno


class RestartBlock(KernelError):
    """ERESTART_RESTARTBLOCK (nanosleep, poll, a futex wait with a timeout): if no handler
    runs, restart_syscall(2) calls `resume(task)` to go on where the sleep stopped (the
    time left, not a new timeout); after a handler the call fails with EINTR."""

    __slots__ = ("resume",)

    def __init__(self, resume: Callable[[Any], int]) -> None:
        super().__init__(ERESTART_RESTARTBLOCK)
        self.resume = resume
