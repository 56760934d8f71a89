"""twaron: a Linux-compatible kernel written in Python.

    >>> import twaron
    >>> r = twaron.run(["sh", "-c", "echo hello"])
    >>> r.returncode, r.stdout
    (0, b'hello\\n')
"""

from twaron.api import CompletedRun, run
from twaron.kernel import Kernel
from twaron.syscalls.hooks import GuestMemoryError, Hooks

__all__ = ["CompletedRun", "GuestMemoryError", "Hooks", "Kernel", "run"]
