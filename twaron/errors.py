"""Exceptions that cross layers inside the kernel.

A handler deep in fs/ or mm/ raises KernelError(errno); the syscall boundary turns it
into -errno for the guest. Anything else that escapes a handler is a kernel bug (an oops).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.errno import ERRNO_NAMES

if TYPE_CHECKING:
    from twaron.process.waitqueue import WaitQueue


class KernelError(Exception):
    """A Linux errno, raised anywhere below the syscall boundary."""

    __slots__ = ("errno",)

    def __init__(self, errno: int, msg: str = "") -> None:
        super().__init__(msg or ERRNO_NAMES.get(errno, str(errno)))
        self.errno = errno


class Block(Exception):
    """The syscall must wait: the task sleeps on `queue` and the syscall restarts when woken.

    Raised by file operations (pipe read with nothing to read, wait4 with no zombie, ...).
    The syscall layer parks the task; it re-executes the same syscall from the start after a
    wake-up, so the operation must not have consumed anything before raising.
    """

    __slots__ = ("queues", "deadline")

    def __init__(self, *queues: WaitQueue, deadline: float | None = None) -> None:
        super().__init__()
        self.queues = queues
        self.deadline = deadline
