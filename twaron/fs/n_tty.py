"""N_TTY, the line discipline every terminal uses (Linux's drivers/tty/n_tty.c).

It sits between a terminal's device side and the processes that read and write it:
- input from the device (what is typed on the console, what a pty master writes) goes
  through `receive_buf`: ISTRIP/IUCLC/ICRNL/INLCR/IGNCR, IXON flow control, the ISIG keys
  (VINTR, VQUIT, VSUSP: a signal for the foreground process group and a flush), and in
  canonical mode the line editing (VERASE, VKILL, VWERASE, VLNEXT, VREPRINT) and the line
  ends (newline, VEOL, VEOL2, VEOF); ECHO and its variants queue echoes, which go out at the
  end of each batch (an ISIG flush drops the ones still queued, as Linux's does);
- `read` hands out whole lines (canonical) or bytes under VMIN/VTIME (non-canonical), with
  the job-control check first (SIGTTIN for a background reader);
- `write` applies the output processing (OPOST: ONLCR, OCRNL, ONOCR, ONLRET, OLCUC, XTABS)
  and hands the bytes to the device, sleeping while the device has no room.

The read buffer works as Linux's ring: absolute positions (tail, canon_head, head), the
bytes between tail and head in `rbuf`, and `delims` the positions of line ends (Linux's
read_flags bitmap). A VEOF is kept as a NUL marked as a line end (__DISABLED_CHAR).

The tty (twaron/fs/tty.py) provides: termios, stopped / tco_stopped (flow control), wait
(its queue), driver_write(data) -> int and write_room() (the device), flush_output(),
isig(sig) (signal the foreground process group), input_consumed() (room came back),
check_change(file, sig) (job control), other_closed and file.hung_up.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHOKE,
    ECHONL,
    ECHOPRT,
    EXTPROC,
    ICANON,
    ICRNL,
    IEXTEN,
    IGNCR,
    INLCR,
    ISIG,
    ISTRIP,
    IUCLC,
    IUTF8,
    IXANY,
    IXON,
    NOFLSH,
    O_NONBLOCK,
    OCRNL,
    OLCUC,
    ONLCR,
    ONLRET,
    ONOCR,
    OPOST,
    PARMRK,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    SIGINT,
    SIGQUIT,
    SIGTSTP,
    SIGTTIN,
    TABDLY,
    TOSTOP,
    VEOF,
    VEOL,
    VEOL2,
    VERASE,
    VINTR,
    VKILL,
    VLNEXT,
    VMIN,
    VQUIT,
    VREPRINT,
    VSTART,
    VSTOP,
    VSUSP,
    VTIME,
    VWERASE,
    XTABS,
)
from twaron.arch.x86_64.errno import EAGAIN, EIO, ERESTARTSYS
from twaron.errors import KernelError
from twaron.wait import EVENT_HUP, EVENT_IN, EVENT_OUT, need_context, wait_event

if TYPE_CHECKING:
    from twaron.fs.tty import Tty

N_TTY_BUF_SIZE = 4096
WAKEUP_CHARS = 256
ECHO_COMMIT_WATERMARK = 256
DISABLED_CHAR = 0  # _POSIX_VDISABLE: a c_cc entry of 0 is no special character

# bytes whose output processing is at most ONLCR (no column jumps): printable, newline,
# and 128-255; the columns they take exclude the newline, the C1 controls and (IUTF8) the
# continuation bytes
_PLAIN = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\n"
_UNCOUNTED = bytes(range(128, 160)) + b"\n"
_UNCOUNTED_UTF8 = bytes(range(128, 192)) + b"\n"

# queued echo operations (Linux's echo buffer opcodes)
OP_CHAR, OP_CTRL, OP_ERASE_TAB, OP_SET_CANON_COL, OP_MOVE_BACK_COL = range(5)


def iscntrl(c: int) -> bool:
    """The kernel's ctype (Latin-1): 0-31, 127 and 128-159 are control characters."""
    return c < 32 or 127 <= c < 160


def isalnum(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or (192 <= c <= 255 and
                                                                 c not in (215, 247))


def tolower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 or (192 <= c <= 222 and c != 215) else c


def toupper(c: int) -> int:
    return c - 32 if 97 <= c <= 122 or (224 <= c <= 254 and c != 247) else c


class NTty:
    """The N_TTY state of one tty."""

    def __init__(self, tty: Tty) -> None:
        self.tty = tty
        self.rbuf = bytearray()  # received and not read: positions tail .. head
        self.tail = 0
        self.canon_head = 0  # canonical mode: what is before it is complete lines
        self.delims: deque[int] = deque()  # positions of line ends (read_flags)
        self.push = False
        self.lnext = False
        self.erasing = False
        self.icanon = False
        self.raw = True
        self.char_map = bytearray(256)  # characters that take the special path
        self.column = 0
        self.canon_column = 0
        self.echoes: list[tuple[int, int]] = []  # echo operations not yet output
        self.set_termios(None)

    @property
    def head(self) -> int:
        return self.tail + len(self.rbuf)

    # ---- termios ---------------------------------------------------------------------

    def set_termios(self, old: Any) -> None:
        """n_tty_set_termios: ICANON changes settle the buffer (a pending partial line becomes
        readable when canonical mode ends, and is pushed as a line when it begins)."""
        t = self.tty.termios
        if old is None or (old.lflag ^ t.lflag) & (ICANON | EXTPROC):
            self.delims.clear()
            if not t.lflag & ICANON or not self.rbuf:
                self.canon_head = self.tail
                self.push = False
            else:
                self.delims.append(self.head - 1)
                self.canon_head = self.head
                self.push = True
            self.erasing = False
            self.lnext = False
        self.icanon = bool(t.lflag & ICANON)
        i, lf, cc = t.iflag, t.lflag, t.cc
        if i & (ISTRIP | IUCLC | IGNCR | ICRNL | INLCR | IXON | PARMRK) or \
                lf & (ICANON | ISIG | ECHO):
            m = bytearray(256)
            if i & (IGNCR | ICRNL):
                m[13] = 1
            if i & INLCR:
                m[10] = 1
            if lf & ICANON:
                for v in (VERASE, VKILL, VEOF, VEOL):
                    m[cc[v]] = 1
                m[10] = 1
                if lf & IEXTEN:
                    m[cc[VWERASE]] = m[cc[VLNEXT]] = m[cc[VEOL2]] = 1
                    if lf & ECHO:
                        m[cc[VREPRINT]] = 1
            if i & IXON:
                m[cc[VSTART]] = m[cc[VSTOP]] = 1
            if lf & ISIG:
                m[cc[VINTR]] = m[cc[VQUIT]] = m[cc[VSUSP]] = 1
            m[DISABLED_CHAR] = 0
            self.char_map = m
            self.raw = False
        else:
            self.char_map = bytearray(256)
            self.raw = True
        tty = self.tty
        if not i & IXON and old is not None and old.iflag & IXON and not tty.tco_stopped:
            tty.start()
            self.process_echoes()
        tty.wait.notify(EVENT_IN | EVENT_OUT)

    # ---- input from the device ---------------------------------------------------------

    def receive_buf(self, data: bytes) -> int:
        """Take what the device received; how many bytes were taken (the rest waits in the
        tty's input buffer until a read makes room)."""
        if not data:
            return 0
        if self.raw:
            rbuf = self.rbuf
            room = N_TTY_BUF_SIZE - 1 - len(rbuf)
            if room <= 0:
                return 0
            if len(data) > room:
                data = data[:room]
            rbuf += data
            wait = self.tty.wait
            if wait.entries:
                wait.notify(EVENT_IN)
            return len(data)
        done = 0
        for c in data:
            room = N_TTY_BUF_SIZE - 1 - len(self.rbuf)
            if room <= 0:
                # canonical mode with no complete line: the last character gives way, so
                # that a newline still gets in (Linux's overflow handling)
                if not (self.icanon and self.canon_head == self.tail):
                    break
                if room < 0:
                    del self.rbuf[-1]
            self.receive_char(c)
            done += 1
        self.flush_echoes()
        if not self.icanon and self.rbuf:
            self.tty.wait.notify(EVENT_IN)
        return done

    def receive_char(self, c: int) -> None:
        """n_tty_receive_buf_standard, one character."""
        t = self.tty.termios
        if self.lnext:
            self.lnext = False
            if t.iflag & ISTRIP:
                c &= 0x7F
            if t.iflag & IUCLC and t.lflag & IEXTEN:
                c = tolower(c)
            self.receive_normal(c)
            return
        if t.iflag & ISTRIP:
            c &= 0x7F
        if t.iflag & IUCLC and t.lflag & IEXTEN:
            c = tolower(c)
        if t.lflag & EXTPROC:
            self.rbuf.append(c)
        elif self.char_map[c]:
            self.receive_special(c)
        else:
            self.receive_normal(c)

    def receive_normal(self, c: int) -> None:
        tty = self.tty
        t = tty.termios
        if tty.stopped and not tty.tco_stopped and t.iflag & IXON and t.iflag & IXANY:
            tty.start()
            self.process_echoes()
        if t.lflag & ECHO:
            self.finish_erasing()
            if self.canon_head == self.head:
                self.echoes.append((OP_SET_CANON_COL, 0))
            self.echo_char(c)
            self.commit_echoes()
        if c == 0xFF and t.iflag & PARMRK:
            self.rbuf.append(c)
        self.rbuf.append(c)

    def receive_special(self, c: int) -> None:
        """n_tty_receive_char_special: flow control, signals, editing and line ends."""
        tty = self.tty
        t = tty.termios
        cc, lf = t.cc, t.lflag
        if t.iflag & IXON and c in (cc[VSTART], cc[VSTOP]):
            if c == cc[VSTART]:
                tty.start()
                self.process_echoes()
            else:
                tty.stop()
            return
        if lf & ISIG:
            for v, sig in ((VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)):
                if c == cc[v]:
                    self.receive_signal_char(sig, c)
                    return
        if tty.stopped and not tty.tco_stopped and t.iflag & IXON and t.iflag & IXANY:
            tty.start()
            self.process_echoes()
        if c == 13:
            if t.iflag & IGNCR:
                return
            if t.iflag & ICRNL:
                c = 10
        elif c == 10 and t.iflag & INLCR:
            c = 13
        if self.icanon:
            if c in (cc[VERASE], cc[VKILL]) or (c == cc[VWERASE] and lf & IEXTEN):
                self.eraser(c)
                self.commit_echoes()
                return
            if c == cc[VLNEXT] and lf & IEXTEN:
                self.lnext = True
                if lf & ECHO:
                    self.finish_erasing()
                    if lf & ECHOCTL:
                        self.echoes += ((OP_CHAR, 94), (OP_CHAR, 8))  # "^", backspace
                        self.commit_echoes()
                return
            if c == cc[VREPRINT] and lf & ECHO and lf & IEXTEN:
                self.finish_erasing()
                self.echo_char(c)
                self.echoes.append((OP_CHAR, 10))
                for b in self.rbuf[self.canon_head - self.tail:]:
                    self.echo_char(b)
                self.commit_echoes()
                return
            if c == 10:
                if lf & (ECHO | ECHONL):
                    self.echoes.append((OP_CHAR, 10))
                    self.commit_echoes()
                self.handle_newline(c)
                return
            if c == cc[VEOF]:
                self.handle_newline(DISABLED_CHAR)
                return
            if c == cc[VEOL] or (c == cc[VEOL2] and lf & IEXTEN):
                if lf & ECHO:
                    if self.canon_head == self.head:
                        self.echoes.append((OP_SET_CANON_COL, 0))
                    self.echo_char(c)
                    self.commit_echoes()
                if c == 0xFF and t.iflag & PARMRK:
                    self.rbuf.append(c)
                self.handle_newline(c)
                return
        if lf & ECHO:
            self.finish_erasing()
            if c == 10:
                self.echoes.append((OP_CHAR, 10))
            else:
                if self.canon_head == self.head:
                    self.echoes.append((OP_SET_CANON_COL, 0))
                self.echo_char(c)
            self.commit_echoes()
        if c == 0xFF and t.iflag & PARMRK:
            self.rbuf.append(c)
        self.rbuf.append(c)

    def handle_newline(self, c: int) -> None:
        """A line end: marked, stored, and the line readable."""
        self.delims.append(self.head)
        self.rbuf.append(c)
        self.canon_head = self.head
        self.tty.wait.notify(EVENT_IN)

    def receive_signal_char(self, sig: int, c: int) -> None:
        """VINTR, VQUIT, VSUSP: the signal (and, without NOFLSH, the queues flushed), then
        the character echoed."""
        tty = self.tty
        t = tty.termios
        tty.isig(sig)
        if not t.lflag & NOFLSH:
            self.echoes.clear()
            tty.flush_output()
            self.reset_buffer()
            tty.input_consumed()
        if t.iflag & IXON:
            tty.start()
        if t.lflag & ECHO:
            self.echo_char(c)
            self.commit_echoes()
        else:
            self.process_echoes()

    def reset_buffer(self) -> None:
        """Linux's reset_buffer_flags: the input is gone."""
        self.tail += len(self.rbuf)
        self.rbuf.clear()
        self.canon_head = self.tail
        self.delims.clear()
        self.erasing = self.push = self.lnext = False

    # ---- editing ---------------------------------------------------------------------

    def is_continuation(self, c: int) -> bool:
        return bool(self.tty.termios.iflag & IUTF8) and c & 0xC0 == 0x80

    def finish_erasing(self) -> None:
        if self.erasing:
            self.echoes.append((OP_CHAR, 47))  # "/" closes an ECHOPRT erasure
            self.erasing = False

    def eraser(self, c: int) -> None:
        """VERASE, VWERASE, VKILL in canonical mode, with their echoes (Linux's eraser)."""
        t = self.tty.termios
        cc, lf = t.cc, t.lflag
        if self.head == self.canon_head:
            return
        if c == cc[VERASE]:
            kind = "erase"
        elif c == cc[VWERASE]:
            kind = "werase"
        else:
            if not lf & ECHO:
                del self.rbuf[self.canon_head - self.tail:]
                return
            if not lf & ECHOK or not lf & ECHOKE or not lf & ECHOE:
                del self.rbuf[self.canon_head - self.tail:]
                self.finish_erasing()
                self.echo_char(cc[VKILL])
                if lf & ECHOK:
                    self.echoes.append((OP_CHAR, 10))
                return
            kind = "kill"
        seen_alnums = 0
        while self.head != self.canon_head:
            # one (possibly multi-byte) character
            start = len(self.rbuf) - 1
            ch = self.rbuf[start]
            while self.is_continuation(ch) and start + self.tail != self.canon_head:
                start -= 1
                ch = self.rbuf[start]
            if self.is_continuation(ch):
                break  # never erase part of a character
            if kind == "werase":
                if isalnum(ch) or ch == 95:
                    seen_alnums += 1
                elif seen_alnums:
                    break
            removed = bytes(self.rbuf[start:])
            del self.rbuf[start:]
            if lf & ECHO:
                self.echo_erased(kind, ch, removed)
            if kind == "erase":
                break
        if self.head == self.canon_head and lf & ECHO:
            self.finish_erasing()

    def echo_erased(self, kind: str, ch: int, removed: bytes) -> None:
        t = self.tty.termios
        lf = t.lflag
        if lf & ECHOPRT:
            if not self.erasing:
                self.echoes.append((OP_CHAR, 92))  # "\"
                self.erasing = True
            self.echo_char(ch)
            for b in removed[1:]:
                self.echoes += ((OP_CHAR, b), (OP_MOVE_BACK_COL, 0))
        elif kind == "erase" and not lf & ECHOE:
            self.echo_char(t.cc[VERASE])
        elif ch == 9:
            self.echo_erase_tab()
        else:
            rub = ((OP_CHAR, 8), (OP_CHAR, 32), (OP_CHAR, 8))
            if iscntrl(ch) and lf & ECHOCTL:  # "^X" took two columns
                self.echoes += rub
            if not iscntrl(ch) or lf & ECHOCTL:  # (an unechoed control char took none)
                self.echoes += rub

    def echo_erase_tab(self) -> None:
        """How far back a tab reached: the columns of what precedes it on the line, from
        the line's start (then counted from the canonical column) or the previous tab."""
        lf = self.tty.termios.lflag
        num = 0
        after_tab = False
        for b in reversed(self.rbuf[self.canon_head - self.tail:]):
            if b == 9:
                after_tab = True
                break
            if iscntrl(b):
                if lf & ECHOCTL:
                    num += 2
            elif not self.is_continuation(b):
                num += 1
        self.echoes.append((OP_ERASE_TAB, (num & 0x7F) | (0x80 if after_tab else 0)))

    # ---- echoes ------------------------------------------------------------------------

    def echo_char(self, c: int) -> None:
        if self.tty.termios.lflag & ECHOCTL and iscntrl(c) and c != 9:
            self.echoes.append((OP_CTRL, c))
        else:
            self.echoes.append((OP_CHAR, c))

    def commit_echoes(self) -> None:
        """Echoes go out at the end of a batch; a long run of them goes at once."""
        if len(self.echoes) >= ECHO_COMMIT_WATERMARK:
            self.process_echoes()

    def flush_echoes(self) -> None:
        lf = self.tty.termios.lflag
        if lf & (ECHO | ECHONL) and self.echoes:
            self.process_echoes()

    def process_echoes(self) -> None:
        """Output the queued echoes (not while output is stopped)."""
        tty = self.tty
        if not self.echoes or tty.stopped:
            return
        ops, self.echoes = self.echoes, []
        opost = tty.termios.oflag & OPOST
        out = bytearray()
        for op, arg in ops:
            if op == OP_CHAR:
                if opost:
                    self.output_char(arg, out)
                else:
                    out.append(arg)
            elif op == OP_CTRL:
                out += bytes((94, arg ^ 0o100))
                self.column += 2
            elif op == OP_ERASE_TAB:
                num = arg if arg & 0x80 else arg + self.canon_column
                n = 8 - (num & 7)
                out += b"\b" * n
                self.column = max(0, self.column - n)
            elif op == OP_SET_CANON_COL:
                self.canon_column = self.column
            elif op == OP_MOVE_BACK_COL and self.column > 0:
                self.column -= 1
        if out:
            tty.driver_write(bytes(out), force=True)

    # ---- output processing -----------------------------------------------------------

    def output_char(self, c: int, out: bytearray) -> None:
        """do_output_char: one character under OPOST, the column kept."""
        o = self.tty.termios.oflag
        if c == 10:
            if o & ONLRET:
                self.column = 0
            if o & ONLCR:
                self.canon_column = self.column = 0
                out += b"\r\n"
                return
            self.canon_column = self.column
        elif c == 13:
            if o & ONOCR and self.column == 0:
                return
            if o & OCRNL:
                c = 10
                if o & ONLRET:
                    self.canon_column = self.column = 0
            else:
                self.canon_column = self.column = 0
        elif c == 9:
            spaces = 8 - (self.column & 7)
            self.column += spaces
            if o & TABDLY == XTABS:
                out += b" " * spaces
                return
        elif c == 8:
            if self.column > 0:
                self.column -= 1
        elif not iscntrl(c):
            if o & OLCUC:
                c = toupper(c)
            if not self.is_continuation(c):
                self.column += 1
        out.append(c)

    def process_output(self, data: bytes) -> bytes:
        """A write's bytes under OPOST; text with newlines (the common case) in bulk."""
        t = self.tty.termios
        o = t.oflag
        if not o & (OLCUC | OCRNL | ONOCR | ONLRET) and not data.translate(None, _PLAIN):
            uncounted = _UNCOUNTED_UTF8 if t.iflag & IUTF8 else _UNCOUNTED
            last = data.rfind(b"\n")
            if last < 0:
                self.column += len(data.translate(None, uncounted))
                return data
            if o & ONLCR:
                self.canon_column = 0
                self.column = len(data[last + 1:].translate(None, uncounted))
                return data.replace(b"\n", b"\r\n")
            self.canon_column = self.column + len(data[:last].translate(None, uncounted))
            self.column += len(data.translate(None, uncounted))
            return data
        out = bytearray()
        for c in data:
            self.output_char(c, out)
        return bytes(out)

    # ---- reading ---------------------------------------------------------------------

    def input_available(self, poll: bool = False) -> bool:
        if self.icanon:
            return self.canon_head != self.tail
        cc = self.tty.termios.cc
        amt = cc[VMIN] if poll and not cc[VTIME] and cc[VMIN] else 1
        return len(self.rbuf) >= amt

    def inq(self) -> int:
        """TIOCINQ: bytes a read could take; in canonical mode those of complete lines,
        without the VEOF markers."""
        if not self.icanon:
            return len(self.rbuf)
        n = self.canon_head - self.tail
        for d in self.delims:
            if d >= self.canon_head:
                break
            if self.rbuf[d - self.tail] == DISABLED_CHAR:
                n -= 1
        return n

    def flush_buffer(self) -> None:
        """TCIFLUSH: the input goes."""
        self.reset_buffer()
        self.tty.input_consumed()

    def _take(self, n: int) -> bytes:
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        self.tail += n
        return data

    def canon_copy(self, n: int) -> bytes:
        """canon_copy_from_read_buf: up to one line; a VEOF marker is not returned, and goes
        with the data before it when that fills the buffer exactly."""
        delims = self.delims
        if delims and delims[0] < self.canon_head:
            eol = delims[0]
            before = eol - self.tail
            is_eof = self.rbuf[before] == DISABLED_CHAR
            want = before if is_eof else before + 1
            if n >= want:
                data = self._take(want)
                if is_eof:
                    self._take(1)
                delims.popleft()
                self.push = False
                return data
        data = self._take(min(n, self.canon_head - self.tail))
        if delims and delims[0] == self.tail and self.rbuf and \
                self.rbuf[0] == DISABLED_CHAR:  # canon_skip_eof
            self._take(1)
            delims.popleft()
        return data

    def read(self, file: Any, n: int) -> bytes:
        """n_tty_read: the job-control check, then a line (canonical) or bytes under
        VMIN/VTIME, sleeping as they say; EIO once the other side of a pty has closed."""
        tty = self.tty
        if not file.redirected:  # (a file opened as /dev/console is exempt, as in Linux)
            tty.check_change(file, SIGTTIN)
        if n <= 0:
            return b""
        # the common case first: what was asked for is there
        rbuf = self.rbuf
        if self.icanon:
            if self.canon_head != self.tail:
                data = self.canon_copy(n)
                if tty.inbuf:
                    tty.input_consumed()
                return data
        elif rbuf and (len(rbuf) >= n or len(rbuf) >= tty.termios.cc[VMIN]):
            data = bytes(rbuf[:n])
            del rbuf[:n]
            self.tail += len(data)
            if tty.inbuf:
                tty.input_consumed()
            return data
        cc = tty.termios.cc
        minimum, inter, timeout = 0, 0.0, None
        if not self.icanon:
            minimum = cc[VMIN]
            if minimum:
                inter = cc[VTIME] / 10
            else:
                timeout = cc[VTIME] / 10
                minimum = 1
            if minimum > 1 and len(self.rbuf) < min(n, minimum):
                need_context()  # it may sleep after taking a part
        clock = tty.kernel.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        out = bytearray()
        while len(out) < n:
            if not self.input_available():
                if tty.other_closed:
                    if out:
                        break
                    raise KernelError(EIO)
                if file.hung_up or deadline is not None and clock.monotonic() >= deadline:
                    break
                if file.flags & O_NONBLOCK:
                    if out:
                        break
                    raise KernelError(EAGAIN)
                try:
                    got = wait_event(((tty.wait, EVENT_IN | EVENT_HUP),),
                                     lambda: self.input_available() or tty.other_closed
                                     or file.hung_up, deadline)  # fmt: skip
                except KernelError as e:
                    if out and e.errno == ERESTARTSYS:
                        break
                    raise
                if got is None:
                    deadline = clock.monotonic()  # timed out: what there is
                continue
            if self.icanon:
                out += self.canon_copy(n)
                break
            out += self._take(min(n - len(out), len(self.rbuf)))
            if len(out) >= minimum:
                break
            if inter:
                deadline = clock.monotonic() + inter
        if out and tty.inbuf:
            tty.input_consumed()
        return bytes(out)

    # ---- writing ---------------------------------------------------------------------

    def write(self, file: Any, data: bytes) -> int:
        """n_tty_write: the TOSTOP check, the echoes still queued, then the bytes (under
        OPOST) to the device as room allows, sleeping for more unless O_NONBLOCK."""
        tty = self.tty
        if tty.termios.lflag & TOSTOP:
            tty.check_change(file)
        if self.echoes:
            self.process_echoes()
        if not data:
            return 0
        if not file.flags & O_NONBLOCK and tty.write_room() < len(data) * 8:
            need_context()  # it may sleep after writing a part
        done = 0
        while True:
            if file.hung_up:
                if done:
                    return done
                raise KernelError(EIO)
            done += self._write_some(data[done:])
            if done == len(data):
                return done
            if file.flags & O_NONBLOCK:
                if done:
                    return done
                raise KernelError(EAGAIN)
            try:
                wait_event(((tty.wait, EVENT_OUT | EVENT_HUP),),
                           lambda: tty.write_room() > 0 or file.hung_up)
            except KernelError:
                if done:
                    return done
                raise

    def _write_some(self, data: bytes) -> int:
        """As much of data as the device has room for; how many input bytes went."""
        tty = self.tty
        room = tty.write_room()
        if room <= 0:
            return 0
        if not tty.termios.oflag & OPOST:
            return tty.driver_write(data[:room])
        if len(data) * 8 <= room:  # whatever the expansion, it fits
            tty.driver_write(self.process_output(data))
            return len(data)
        out = bytearray()
        done = 0
        for c in data:
            mark = len(out)
            saved = self.column, self.canon_column
            self.output_char(c, out)
            if len(out) > room:
                del out[mark:]
                self.column, self.canon_column = saved
                break
            done += 1
        if out:
            tty.driver_write(bytes(out))
        return done

    # ---- poll --------------------------------------------------------------------------

    def poll(self) -> int:
        mask = 0
        if self.input_available(poll=True):
            mask |= POLLIN | POLLRDNORM
        tty = self.tty
        if tty.write_room() > 0 and tty.chars_in_buffer() < WAKEUP_CHARS:
            mask |= POLLOUT | POLLWRNORM
        return mask
