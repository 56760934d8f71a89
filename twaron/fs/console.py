"""The console: the guest's terminal, backed by the host's stdin/stdout/stderr.

Guest fds 0/1/2 of the first process come from here: reads from the host's stdin, writes
to the host's stdout (fd 2's: the host's stderr), so a test harness capturing the two
streams sees what the guest wrote to each.

Two modes:
- With a line discipline (`twaron run` when its stdin is a terminal): the console is a
  terminal of the kernel's own (a ConsoleTty with twaron's N_TTY), like the pty that
  `docker run -it` or ssh give a program. `twaron run` puts the host terminal in raw mode
  for the run (enter_raw; restore() puts it back), the host's input reaches the line
  discipline through the idle loop's host wait (pump_input), which turns Ctrl-C, Ctrl-\
  and Ctrl-Z into signals for the guest's foreground process group; echo and output
  processing are the guest's. Its modes start as the host terminal's were; it is the
  controlling terminal of pid 1's session. A stdio stream whose host fd is not a terminal
  (`twaron run ls > file`) stays a plain file (ENOTTY).
- Without (pipes, the Python API): three ConsoleFiles; each answers terminal ioctls only if
  *its* host fd is a terminal (passed to the host's terminal: TCGETS on a pipe is ENOTTY in
  Linux, and that is how isatty() decides), so `twaron run ls > file` behaves like `ls >
  file`.

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
    BRKINT,
    CS8,
    CSIZE,
    ECHO,
    ECHONL,
    FIONREAD,
    ICANON,
    ICRNL,
    IEXTEN,
    IGNBRK,
    IGNCR,
    INLCR,
    ISIG,
    ISTRIP,
    IXON,
    O_NONBLOCK,
    O_RDWR,
    OPOST,
    PARENB,
    PARMRK,
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
    VMIN,
    VTIME,
)
from twaron.arch.x86_64.errno import EAGAIN, EIO, ENOTTY, EPIPE
from twaron.errors import KernelError
from twaron.fs.tty import Termios, Tty, TtyFile, proc_set_tty
from twaron.fs.vfs import File, Inode, Path, SuperBlock, mkdev
from twaron.wait import EVENT_IN, WaitQueue, wait_event

DEV_CONSOLE = mkdev(5, 1)
HOST_READ = 4096  # host input read at once

Reader = Callable[[int], bytes]
Writer = Callable[[bytes], Any]


class Console:
    """The host side of the console: endpoints, saved terminal modes, foreground group."""

    def __init__(
        self,
        stdin: int | Reader | None = 0,
        stdout: int | Writer | None = 1,
        stderr: int | Writer | None = 2,
        line_discipline: bool = False,
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
        # line-discipline mode: only when stdin is a terminal (attach() makes the tty)
        self.line_discipline = line_discipline and isinstance(stdin, int) and stdin in self.saved
        self.tty: ConsoleTty | None = None
        self.raw = False  # the host terminal is in raw mode (enter_raw)
        self.input_eof = False  # the host terminal hung up
        # where the terminal's output goes: the first of stdout, stderr, stdin on it
        self.term_out = next((ep for ep in (stdout, stderr, stdin) if self.tty_fd(ep)
                              is not None), None)  # fmt: skip

    # --- line-discipline mode ---
    def attach(self, kernel: Any) -> None:
        """Boot: in line-discipline mode the console becomes one of the kernel's terminals,
        with the host terminal's modes and window size."""
        if not self.line_discipline or self.tty is not None:
            return
        assert isinstance(self.stdin, int)
        termios = Termios(0, 0, 0, 0)
        termios.load(self.saved[self.stdin])
        self.tty = ConsoleTty(kernel, self, termios)
        self.tty.winsize = self.host_winsize()

    def host_winsize(self) -> bytes:
        fd = self.tty_fd(self.term_out) if self.term_out is not None else None
        for cand in (fd, self.stdin):
            if isinstance(cand, int):
                try:
                    return fcntl.ioctl(cand, TIOCGWINSZ, bytes(SIZEOF_WINSIZE))
                except OSError:
                    pass
        return bytes(SIZEOF_WINSIZE)

    def set_ctty(self, group: Any) -> None:
        """The first process's session has the console as its controlling terminal (what a
        container runtime does with the pty it gives its init)."""
        if self.tty is not None:
            proc_set_tty(group, self.tty)

    def enter_raw(self) -> None:
        """The host terminal in raw mode for the run (cfmakeraw, as ssh and docker -it do):
        every key reaches the guest's line discipline; restore() undoes it."""
        if self.tty is None or self.raw:
            return
        fd = self.stdin
        assert isinstance(fd, int)
        t = Termios(0, 0, 0, 0)
        t.load(self.saved[fd])
        t.iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        t.oflag &= ~OPOST
        t.lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        t.cflag = (t.cflag & ~(CSIZE | PARENB)) | CS8
        t.cc[VMIN], t.cc[VTIME] = 1, 0
        try:
            fcntl.ioctl(fd, TCSETSW, t.pack())
            self.raw = True
        except OSError:
            pass

    def wants_input(self) -> bool:
        """Whether the idle loop should read the host's stdin now: a guest task waits for it
        (legacy mode), or the line discipline has room (it takes input whoever reads)."""
        if self.tty is None:
            return bool(self.wait)
        return not self.input_eof and self.tty.input_room() > 0

    def input_pending(self) -> bool:
        """For the platform's timer thread: host input waits for the line discipline (so a
        Ctrl-C reaches a guest that computes without making syscalls)."""
        return self.tty is not None and not self.input_eof and self.input_ready()

    def pump_input(self) -> None:
        """The host's stdin is readable: what it has goes to the line discipline. End of
        file (the host terminal went away) hangs the console up."""
        tty = self.tty
        assert tty is not None and isinstance(self.stdin, int)
        try:
            data = os.read(self.stdin, min(HOST_READ, tty.input_room()))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.input_eof = True
            tty.hangup()
            return
        tty.receive(data)

    def foreground(self, fallback: int) -> int:
        """The foreground process group, for signals sent to twaron itself."""
        if self.tty is not None:
            return self.tty.pgrp or fallback
        return self.fg_pgrp or fallback

    def host_resized(self) -> None:
        """SIGWINCH reached twaron: the console takes the host's new size (its foreground
        group hears of a change)."""
        if self.tty is not None:
            self.tty.resize(self.host_winsize())

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

    def host_terminal(self) -> bool:
        """One of the host streams is a terminal (a passing-through console's /dev/tty)."""
        return any(isinstance(ep, int) and _isatty(ep)
                   for ep in (self.stdin, self.stdout, self.stderr))  # fmt: skip

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
        """Put the host terminal back as it was at boot (raw mode for a line discipline, or
        what the guest set through a passing-through console)."""
        for fd, mode in self.saved.items():
            try:
                fcntl.ioctl(fd, TCSETSW if self.raw else TCSETS, mode)
            except OSError:
                pass
        self.raw = False

    # --- files ---
    def open(self, path: Path | None, flags: int, which: int = 1) -> File:
        """A console file: `which` 0/1/2 picks the host fd that decides isatty and, for 2,
        sends writes to the host's stderr; -1 is /dev/console itself. In line-discipline
        mode a stream on the terminal (and /dev/console) is a file of the console tty."""
        tty = self.tty
        if tty is not None:
            if which == -1:
                return TtyFile(tty, path, flags, None if path is not None else self.inode,
                               redirected=True)  # fmt: skip
            ep = (self.stdin, self.stdout, self.stderr)[which] if which in (0, 1, 2) else None
            if self.tty_fd(ep) is not None:
                return tty.open_file(path, flags)
        return ConsoleFile(self, path, flags, which)

    def stdio_files(self, path: Path | None) -> list[File]:
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


class ConsoleTty(Tty):
    """The console as a terminal of the kernel's (line-discipline mode): its output goes to
    the host terminal; its input comes from Console.pump_input."""

    is_console = True

    def __init__(self, kernel: Any, console: Console, termios: Termios) -> None:
        super().__init__(kernel, DEV_CONSOLE, termios)
        self.console = console

    def driver_write(self, data: bytes, force: bool = False) -> int:
        try:
            return Console.write_to(self.console.term_out, data)
        except KernelError:
            if force:
                return len(data)  # an echo nobody can see
            raise

    def open_file(self, path: Path | None, flags: int) -> TtyFile:
        return TtyFile(self, path, flags, None if path is not None else self.console.inode)
