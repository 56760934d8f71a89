"""The console of a deterministic kernel (`twaron run --deterministic`, `twaron replay`).

The plain console reads the host's stdin whenever the guest reads, and asks the host
terminal for its modes and size: both answer with whatever the host has at that instant,
which is not a function of the run. Here host input enters the kernel only at input points
(the scheduler's, see process/determinism.py): what arrived is queued as chunks (one host
read each; an empty chunk is a terminal's end-of-file, Ctrl-D), and the guest reads the
queue. The terminal's modes and size are kept in the kernel, from the host's at boot (or
the record's), and a mode the guest sets also goes to the host terminal when there is one.
A replay's console has no host input and no host terminal at all: its chunks, modes and
sizes come from the record.

Embedded (the Python API), stdin may be a function; its answers depend on the guest's reads
alone, so it is read directly as in the plain console.
"""

from __future__ import annotations

import fcntl
from collections import deque
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import SIZEOF_TERMIOS, SIZEOF_WINSIZE, TIOCGWINSZ
from twaron.fs.console import _I32, Console, Reader, Writer
from twaron.wait import EVENT_IN

DEFAULT_WINSIZE = bytes.fromhex("18005000") + bytes(4)  # 24 rows, 80 columns


class VirtualConsole(Console):
    def __init__(
        self,
        stdin: int | Reader | None = 0,
        stdout: int | Writer | None = 1,
        stderr: int | Writer | None = 2,
        replay_ttys: dict[int, tuple[bytes, bytes]] | None = None,
    ) -> None:
        """replay_ttys: a replay's terminals, {stream: (termios, winsize)} from the record;
        then no host terminal is read or changed, and stdin must be None."""
        self.replaying = replay_ttys is not None
        super().__init__(stdin, stdout, stderr)
        self.ttys: dict[int, bytearray] = {}  # stream (0, 1, 2) -> its terminal's termios
        self.winsizes: dict[int, bytes] = {}
        if replay_ttys is not None:
            self.saved = {}  # no host terminal to restore
            for which, (termios, winsize) in replay_ttys.items():
                self.ttys[which] = bytearray(termios[:SIZEOF_TERMIOS].ljust(SIZEOF_TERMIOS, b"\0"))
                self.winsizes[which] = winsize[:SIZEOF_WINSIZE].ljust(SIZEOF_WINSIZE, b"\0")
        else:
            for which, ep in enumerate((stdin, stdout, stderr)):
                if isinstance(ep, int) and ep in self.saved:
                    self.ttys[which] = bytearray(self.saved[ep])
                    self.winsizes[which] = _host_winsize(ep)
        self.chunks: deque[bytes] = deque()
        self.eof = False  # stdin (not a terminal) reached its end: every read is 0 from now on
        # Called with (stream, data) for every write to the console: the record's event hash.
        self.on_output: Callable[[int, bytes], None] | None = None

    # ---- what a record keeps ----------------------------------------------------------------

    def tty_state(self) -> dict[int, tuple[bytes, bytes]]:
        return {which: (bytes(t), self.winsizes[which]) for which, t in self.ttys.items()}

    @property
    def stdin_is_tty(self) -> bool:
        return 0 in self.ttys

    def host_terminal(self) -> bool:
        """The terminals of the record (a replay asks no host)."""
        return bool(self.ttys)

    # ---- input: chunks fed at input points -----------------------------------------------------

    def host_stdin(self) -> int | None:
        """The host fd an input point reads, while a guest task waits for input."""
        ep = self.stdin
        if isinstance(ep, int) and not self.replaying and not self.eof and self.wait:
            return ep
        return None

    def wants_input(self) -> bool:
        return bool(self.wait) and not self.eof and not callable(self.stdin)

    def feed(self, data: bytes) -> None:
        """Input that arrived at an input point; b"" is end of file (once, on a terminal)."""
        if data or self.stdin_is_tty:
            self.chunks.append(data)
        else:
            self.eof = True
        self.wait.notify(EVENT_IN)

    def must_wait(self) -> bool:
        if callable(self.stdin):
            return False
        return not self.chunks and not self.eof

    def input_ready(self) -> bool:
        if callable(self.stdin):
            return True
        return bool(self.chunks) or self.eof

    def read(self, n: int) -> bytes:
        ep = self.stdin
        if callable(ep):
            return super().read(n)
        if n <= 0 or not self.chunks:
            return b""
        chunk = self.chunks[0]
        if len(chunk) <= n:
            self.chunks.popleft()
            return chunk
        self.chunks[0] = chunk[n:]
        return chunk[:n]

    # ---- output -------------------------------------------------------------------------------

    def write_to(self, ep: Any, data: bytes) -> int:  # type: ignore[override]
        done = Console.write_to(ep, data)
        if self.on_output is not None:
            self.on_output(2 if ep is self.stderr and ep is not self.stdout else 1, bytes(data))
        return done

    # ---- the terminal, kept in the kernel ------------------------------------------------------

    def tty_of(self, which: int) -> int | None:
        if which in (0, 1, 2):
            return which if which in self.ttys else None
        return next(iter(self.ttys), None)

    def tty_get(self, fd: int) -> bytes:
        return bytes(self.ttys[fd])

    def tty_set(self, fd: int, cmd: int, termios: bytes) -> None:
        self.ttys[fd][:] = termios
        host = (self.stdin, self.stdout, self.stderr)[fd]
        if not self.replaying and isinstance(host, int) and host in self.saved:
            try:  # the person at the terminal sees the modes the guest chose
                fcntl.ioctl(host, cmd, termios)
            except OSError:
                pass

    def winsize(self, fd: int) -> bytes:
        return self.winsizes.get(fd, DEFAULT_WINSIZE)

    def set_winsize(self, fd: int, winsize: bytes) -> None:
        for which in self.ttys:  # one terminal behind every stream that is one
            self.winsizes[which] = winsize

    def host_winsize(self) -> bytes | None:
        """The host terminal's size now (after SIGWINCH), or None without one."""
        for which, ep in enumerate((self.stdin, self.stdout, self.stderr)):
            if which in self.ttys and isinstance(ep, int) and not self.replaying:
                return _host_winsize(ep)
        return None

    def unread(self, fd: int) -> bytes:
        return _I32.pack(len(self.chunks[0]) if self.chunks else 0)

    def restore(self) -> None:
        if not self.replaying:
            super().restore()


def _host_winsize(fd: int) -> bytes:
    try:
        return fcntl.ioctl(fd, TIOCGWINSZ, bytes(SIZEOF_WINSIZE))
    except OSError:
        return DEFAULT_WINSIZE
