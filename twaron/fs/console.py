"""The console: the guest's terminal, backed by the host's stdin/stdout/stderr.

Guest fds 0/1/2 of the first process are three ConsoleFiles: reads come from the host's
stdin, writes go to the host's stdout (fd 2's file: the host's stderr), so a test harness
capturing the two streams sees what the guest wrote to each. Each file answers terminal
ioctls only if *its* host fd is a terminal (TCGETS on a pipe is ENOTTY in Linux, and that is
how isatty() decides), so `twaron run ls > file` behaves like `ls > file`.

When embedded (Python API), any endpoint may be a callable instead of a host fd:
stdin: fn(n) -> bytes (b"" is end of file), stdout/stderr: fn(data) -> None.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    FIONREAD,
    O_NONBLOCK,
    O_RDWR,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    S_IFCHR,
    SIZEOF_TERMIOS,
    SIZEOF_WINSIZE,
    TCFLSH,
    TCGETS,
    TCSBRK,
    TCSETS,
    TCSETSF,
    TCSETSW,
    TCXONC,
    TIOCGPGRP,
    TIOCGSID,
    TIOCGWINSZ,
    TIOCNOTTY,
    TIOCSCTTY,
    TIOCSPGRP,
    TIOCSWINSZ,
)
from twaron.arch.x86_64.errno import EAGAIN, EIO, ENOTTY, EPIPE
from twaron.errors import KernelError
from twaron.fs.vfs import File, Inode, Path, SuperBlock, mkdev
from twaron.wait import EVENT_IN, WaitQueue, wait_event

Reader = Callable[[int], bytes]
Writer = Callable[[bytes], Any]


class Console:
    """The host side of the console: endpoints, saved terminal modes, foreground group."""

    def __init__(
        self,
        stdin: int | Reader | None = 0,
        stdout: int | Writer | None = 1,
        stderr: int | Writer | None = 2,
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.fg_pgrp = 0  # 0: not set yet (TIOCGPGRP then answers the caller's group)
        # Readers wait here for host input; while anyone does, the kernel's idle loop selects
        # on stdin and notifies EVENT_IN.
        self.wait = WaitQueue()
        self.saved: dict[int, bytes] = {}  # host termios to restore at shutdown
        # The inode of console files opened without a /dev/console path (embedding, tests).
        # (Its times are 0: no kernel clock exists yet when a console is made.)
        self.inode = Inode(SuperBlock("devtmpfs", clock=lambda: 0), S_IFCHR | 0o600,
                           rdev=mkdev(5, 1))  # fmt: skip
        for ep in (stdin, stdout, stderr):
            if isinstance(ep, int) and ep not in self.saved and _isatty(ep):
                self.saved[ep] = fcntl.ioctl(ep, TCGETS, bytes(SIZEOF_TERMIOS))

    def tty_fd(self, ep: Any) -> int | None:
        """The host fd behind an endpoint if it is a terminal, else None."""
        return ep if isinstance(ep, int) and ep in self.saved else None

    def tty_of(self, which: int) -> int | None:
        """The terminal behind stream `which` (0, 1, 2; any other: the first terminal)."""
        if which in (0, 1, 2):
            return self.tty_fd((self.stdin, self.stdout, self.stderr)[which])
        return self.any_tty_fd()

    def any_tty_fd(self) -> int | None:
        for fd in self.saved:
            return fd
        return None

    # --- data ---
    def read(self, n: int) -> bytes:
        ep = self.stdin
        if ep is None or n <= 0:
            return b""
        if isinstance(ep, int):
            try:
                return os.read(ep, n)
            except BlockingIOError:
                raise KernelError(EAGAIN) from None
            except OSError:
                raise KernelError(EIO) from None
        return ep(n)

    @staticmethod
    def write_to(ep: int | Writer | None, data: bytes) -> int:
        if ep is None:
            return len(data)
        if isinstance(ep, int):
            mv = memoryview(data)
            done = 0
            try:
                while done < len(mv):
                    done += os.write(ep, mv[done:])
            except BrokenPipeError:
                if not done:
                    raise KernelError(EPIPE) from None
            except BlockingIOError:
                if not done:
                    raise KernelError(EAGAIN) from None
            except OSError:
                if not done:
                    raise KernelError(EIO) from None
            return done
        ep(bytes(data))
        return len(data)

    def must_wait(self) -> bool:
        """A read of stdin would block now (a host fd with nothing to read)."""
        return isinstance(self.stdin, int) and not self.input_ready()

    def input_ready(self) -> bool:
        ep = self.stdin
        if isinstance(ep, int):
            try:
                return bool(select.select([ep], [], [], 0)[0])
            except (OSError, ValueError):
                return True
        return True

    # --- the terminal (ConsoleFile.ioctl): the host's, through its fd ---
    def tty_get(self, fd: int) -> bytes:
        return fcntl.ioctl(fd, TCGETS, bytes(SIZEOF_TERMIOS))

    def tty_set(self, fd: int, cmd: int, termios: bytes) -> None:
        fcntl.ioctl(fd, cmd, termios)

    def winsize(self, fd: int) -> bytes:
        return fcntl.ioctl(fd, TIOCGWINSZ, bytes(SIZEOF_WINSIZE))

    def set_winsize(self, fd: int, winsize: bytes) -> None:
        pass  # the host terminal's size is the host's

    def unread(self, fd: int) -> bytes:
        """FIONREAD's answer: bytes waiting to be read (an int32)."""
        return fcntl.ioctl(fd, FIONREAD, bytes(4))

    def restore(self) -> None:
        """Put the host terminal back as it was at boot (the guest may have set raw mode)."""
        for fd, mode in self.saved.items():
            try:
                fcntl.ioctl(fd, TCSETS, mode)
            except OSError:
                pass

    # --- files ---
    def open(self, path: Path | None, flags: int, which: int = 1) -> ConsoleFile:
        """A console file: `which` 0/1/2 picks the host fd that decides isatty and, for 2,
        sends writes to the host's stderr."""
        return ConsoleFile(self, path, flags, which)

    def stdio_files(self, path: Path | None) -> list[ConsoleFile]:
        """The init process's fds 0, 1, 2 (path: /dev/console, for fstat and /proc fd links).

        Each carries a ConsolePath that remembers which stream it is, so that reopening it
        through /proc/PID/fd/N (/dev/stdout, /dev/stderr) reaches the same host stream."""
        return [
            self.open(ConsolePath(path.mnt, path.dentry, i) if path is not None else None,
                      O_RDWR, i)
            for i in range(3)
        ]


class ConsolePath(Path):
    """/dev/console as the path of one of init's stdio files: ``which`` is 0, 1 or 2."""

    __slots__ = ("which",)

    def __init__(self, mnt: Any, dentry: Any, which: int) -> None:
        super().__init__(mnt, dentry)
        self.which = which


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


_I32 = struct.Struct("<i")


class ConsoleFile(File):
    """An open console: a terminal if its host fd is one."""

    __slots__ = ("console", "out", "ttyfd")

    seekable = False
    may_block = True

    def __init__(self, console: Console, path: Path | None, flags: int, which: int = 1) -> None:
        super().__init__(path, flags, None if path is not None else console.inode)
        self.console = console
        self.out = console.stderr if which == 2 else console.stdout
        self.ttyfd = console.tty_of(which)

    def read(self, n: int) -> bytes:
        console = self.console
        if n > 0 and console.must_wait():
            if self.flags & O_NONBLOCK:
                raise KernelError(EAGAIN)
            wait_event(((console.wait, EVENT_IN),), console.input_ready)  # others run meanwhile
        return console.read(n)

    def poll_queue(self) -> WaitQueue:
        return self.console.wait

    def write(self, data: bytes) -> int:
        return self.console.write_to(self.out, data)

    def poll(self) -> int:
        mask = POLLOUT | POLLWRNORM
        if self.console.input_ready():
            mask |= POLLIN | POLLRDNORM
        return mask

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        fd = self.ttyfd
        if fd is None:
            raise KernelError(ENOTTY)
        mm = task.mm
        console = self.console
        try:
            if cmd == TCGETS:
                mm.copy_out(arg, console.tty_get(fd))
            elif cmd in (TCSETS, TCSETSW, TCSETSF):
                console.tty_set(fd, cmd, mm.copy_in(arg, SIZEOF_TERMIOS))
            elif cmd == TIOCGWINSZ:
                mm.copy_out(arg, console.winsize(fd))
            elif cmd == TIOCSWINSZ:
                console.set_winsize(fd, mm.copy_in(arg, SIZEOF_WINSIZE))
            elif cmd == TIOCGPGRP:
                pgrp = self.console.fg_pgrp or task.group.pgid
                mm.copy_out(arg, _I32.pack(pgrp))
            elif cmd == TIOCSPGRP:
                self.console.fg_pgrp = _I32.unpack(mm.copy_in(arg, 4))[0]
            elif cmd == TIOCGSID:
                mm.copy_out(arg, _I32.pack(task.group.sid))
            elif cmd == FIONREAD:
                mm.copy_out(arg, console.unread(fd))
            elif cmd in (TIOCSCTTY, TIOCNOTTY, TCFLSH, TCXONC, TCSBRK):
                return 0
            else:
                raise KernelError(ENOTTY)
        except OSError as e:
            raise KernelError(e.errno or EIO) from None
        return 0
