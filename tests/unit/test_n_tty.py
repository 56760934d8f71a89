"""The line discipline (twaron/fs/n_tty.py) on a terminal whose device is a buffer: what a
read gets and what is echoed for typed input, as Linux's N_TTY does (the contract programs
pty_basic and pty_jobctl compare the same with Linux through ptys)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from twaron.arch.x86_64.constants import (
    ECHO,
    ECHOCTL,
    ICANON,
    IUTF8,
    IXON,
    NOFLSH,
    O_NONBLOCK,
    OCRNL,
    OLCUC,
    ONLCR,
    ONLRET,
    ONOCR,
    OPOST,
    SIGINT,
    SIGTSTP,
    TABDLY,
    VMIN,
    XTABS,
)
from twaron.arch.x86_64.errno import EAGAIN
from twaron.errors import KernelError
from twaron.fs.n_tty import N_TTY_BUF_SIZE
from twaron.fs.tty import Tty, std_termios


class Clock:
    def monotonic(self) -> float:
        return 0.0


class Screen(Tty):
    """A terminal whose output is kept and whose signals are recorded."""

    def __init__(self) -> None:
        kernel = SimpleNamespace(current=None, clock=Clock())
        super().__init__(kernel, 0, std_termios())  # type: ignore[arg-type]
        self.out = bytearray()
        self.signals: list[int] = []

    def driver_write(self, data: bytes, force: bool = False) -> int:
        if self.stopped and not force:
            return 0
        self.out += data
        return len(data)

    def isig(self, sig: int) -> None:
        self.signals.append(sig)

    def screen(self) -> bytes:
        out, self.out = bytes(self.out), bytearray()
        return out


FILE = SimpleNamespace(flags=O_NONBLOCK, hung_up=False, redirected=False)


def typed(tty: Screen, keys: bytes, reads: int = 1) -> tuple[list[bytes], bytes]:
    tty.receive(keys)
    got = [tty.ldisc.read(FILE, 512) for _ in range(reads)]
    return got, tty.screen()


def test_canonical_lines_and_echo():
    t = Screen()
    assert typed(t, b"hello\n") == ([b"hello\n"], b"hello\r\n")
    assert typed(t, b"one\ntwo\n", 2) == ([b"one\n", b"two\n"], b"one\r\ntwo\r\n")
    t.receive(b"part")
    with pytest.raises(KernelError) as e:
        t.ldisc.read(FILE, 10)
    assert e.value.errno == EAGAIN and t.ldisc.inq() == 0
    assert typed(t, b"ial\r") == ([b"partial\n"], b"partial\r\n")  # ICRNL


@pytest.mark.parametrize("keys,line,echo", [
    (b"abc\x7fd\n", b"abd\n", b"abc\b \bd\r\n"),
    (b"foo bar\x15baz\n", b"baz\n", b"foo bar" + b"\b \b" * 7 + b"baz\r\n"),
    (b"foo bar\x17qux\n", b"foo qux\n", b"foo bar" + b"\b \b" * 3 + b"qux\r\n"),
    (b"a\x01\x7fc\n", b"ac\n", b"a^A\b \b\b \bc\r\n"),
    (b"ab\t\x7fc\n", b"abc\n", b"ab\t" + b"\b" * 6 + b"c\r\n"),
    (b"a\x16\x03b\n", b"a\x03b\n", b"a^\b^Cb\r\n"),
    (b"\x7f\x7fz\n", b"z\n", b"z\r\n"),
])  # fmt: skip
def test_editing(keys, line, echo):
    assert typed(Screen(), keys) == ([line], echo)


def test_eof():
    t = Screen()
    assert typed(t, b"abc\x04") == ([b"abc"], b"abc")
    assert typed(t, b"\x04") == ([b""], b"")
    t.receive(b"xy\x04")
    assert t.ldisc.read(FILE, 2) == b"xy"  # the EOF goes with the data that filled the read
    with pytest.raises(KernelError):
        t.ldisc.read(FILE, 2)


def test_utf8_erase_takes_a_whole_character():
    t = Screen()
    t.termios.iflag |= IUTF8
    t.set_termios(t.termios.copy())
    assert typed(t, "aé\x7f\n".encode()) == ([b"a\n"], "aé".encode() + b"\b \b\r\n")


def test_isig_flushes_and_echoes():
    t = Screen()
    t.receive(b"abc")
    t.screen()
    t.receive(b"\x03")
    assert t.signals == [SIGINT] and t.screen() == b"^C" and t.ldisc.inq() == 0
    t.receive(b"d\n")
    assert t.ldisc.read(FILE, 10) == b"d\n"
    new = t.termios.copy()
    new.lflag |= NOFLSH
    t.set_termios(new)
    t.receive(b"keep\x1a\n")
    assert t.signals == [SIGINT, SIGTSTP] and t.ldisc.read(FILE, 10) == b"keep\n"


def test_ixon_stops_output():
    t = Screen()
    assert t.termios.iflag & IXON
    t.receive(b"\x13")  # ^S
    with pytest.raises(KernelError) as e:
        t.ldisc.write(FILE, b"held")
    assert e.value.errno == EAGAIN
    t.receive(b"x")  # echoes wait too
    assert t.screen() == b""
    t.receive(b"\x11")  # ^Q
    assert t.screen() == b"x" and t.ldisc.write(FILE, b"go\n") == 3 and t.screen() == b"go\r\n"


def test_a_full_line_keeps_its_newline():
    t = Screen()
    t.termios.lflag &= ~ECHO
    t.set_termios(t.termios.copy())
    t.receive(b"x" * 5000 + b"\n")
    got = t.ldisc.read(FILE, 8192)
    assert len(got) == N_TTY_BUF_SIZE and got.endswith(b"x\n")


def test_noncanonical_vmin():
    t = Screen()
    new = t.termios.copy()
    new.lflag &= ~(ICANON | ECHO)
    new.cc[VMIN] = 3
    t.set_termios(new)
    t.receive(b"ab")
    assert not t.ldisc.poll() & 1  # POLLIN only from VMIN bytes on (VTIME 0)
    t.receive(b"c")
    assert t.ldisc.poll() & 1 and t.ldisc.read(FILE, 10) == b"abc"


@pytest.mark.parametrize("seed", range(20))
def test_output_processing_fast_path_is_the_slow_one(seed):
    """process_output's bulk path gives the bytes and columns of do_output_char's."""
    rnd = random.Random(seed)
    for _ in range(50):
        # text the bulk path takes (printable, newlines, 128-255), or anything
        alphabet = rnd.choice([b"abc \nxyz\xc3\xa9\x80\xff", b"ab \n\r\t\bz\x01\xc3\xa9\x80"])
        data = bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 40)))
        oflag = OPOST | rnd.choice([0, ONLCR]) | rnd.choice([0, 0, OCRNL, ONOCR, ONLRET, OLCUC])
        oflag |= rnd.choice([0, 0, XTABS & TABDLY])
        utf8 = rnd.choice([0, IUTF8])
        fast, slow = Screen(), Screen()
        col, canon = rnd.randrange(9), rnd.randrange(3)
        for t in (fast, slow):
            t.termios.oflag, t.termios.iflag = oflag, t.termios.iflag | utf8
            t.ldisc.column, t.ldisc.canon_column = col, canon
        got = fast.ldisc.process_output(data)
        out = bytearray()
        for c in data:
            slow.ldisc.output_char(c, out)
        assert got == bytes(out), (data, oflag)
        assert (fast.ldisc.column, fast.ldisc.canon_column) == \
            (slow.ldisc.column, slow.ldisc.canon_column), (data, oflag)


def test_echoctl_off_shows_control_characters_raw():
    t = Screen()
    t.termios.lflag &= ~ECHOCTL
    t.set_termios(t.termios.copy())
    assert typed(t, b"a\x01b\n") == ([b"a\x01b\n"], b"a\x01b\r\n")
