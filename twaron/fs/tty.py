"""Terminals: the tty core (Linux's tty_io.c, tty_ioctl.c and tty_jobctrl.c).

A `Tty` is one terminal (tty_struct): its termios, window size, session and foreground
process group, open files, an input buffer (Linux's flip buffer: what the device received
and the line discipline has not taken yet) and its line discipline (twaron/fs/n_tty.py).
Subclasses are the devices: the two ends of a pty (twaron/fs/devpts.py) and the console
(twaron/fs/console.py); they say where output goes (`driver_write`) and how much room it
has. A `TtyFile` is an open file of a tty; `tty_ioctl` answers the terminal ioctls.

Controlling terminals live with processes (a ThreadGroup's `tty`, Linux's signal->tty);
what a terminal needs of processes (sending signals to a process group, whether a group is
orphaned, whether the caller ignores a signal) it asks `kernel.jobctl`
(twaron/process/jobctl.py), since fs/ does not import process/.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    B38400,
    CBAUD,
    CBAUDEX,
    CREAD,
    CS8,
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHOKE,
    FIONREAD,
    HUPCL,
    ICANON,
    ICRNL,
    IEXTEN,
    ISIG,
    IXON,
    N_TTY,
    NCCS,
    NR_LDISCS,
    O_ACCMODE,
    O_CLOEXEC,
    O_NOCTTY,
    O_RDWR,
    O_WRONLY,
    ONLCR,
    OPOST,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    RLIMIT_NOFILE,
    SIGCONT,
    SIGHUP,
    SIGTTIN,
    SIGTTOU,
    SIGWINCH,
    SIZEOF_TERMIOS,
    SIZEOF_TERMIOS2,
    SIZEOF_WINSIZE,
    TCFLSH,
    TCGETS,
    TCGETS2,
    TCIFLUSH,
    TCIOFF,
    TCIOFLUSH,
    TCION,
    TCOFLUSH,
    TCOOFF,
    TCOON,
    TCSBRK,
    TCSBRKP,
    TCSETS,
    TCSETS2,
    TCSETSF,
    TCSETSF2,
    TCSETSW,
    TCSETSW2,
    TCXONC,
    TIOCCBRK,
    TIOCEXCL,
    TIOCGDEV,
    TIOCGETD,
    TIOCGEXCL,
    TIOCGPGRP,
    TIOCGPTPEER,
    TIOCGSID,
    TIOCGWINSZ,
    TIOCNOTTY,
    TIOCNXCL,
    TIOCOUTQ,
    TIOCSBRK,
    TIOCSCTTY,
    TIOCSETD,
    TIOCSPGRP,
    TIOCSTI,
    TIOCSWINSZ,
    TIOCVHANGUP,
    VSTART,
    VSTOP,
)
from twaron.arch.x86_64.errno import (
    EBUSY,
    EINVAL,
    EIO,
    ENOTTY,
    EPERM,
    ERESTARTSYS,
    ESRCH,
)
from twaron.errors import KernelError
from twaron.fs.n_tty import NTty
from twaron.fs.vfs import File, Inode, Path
from twaron.wait import ALL_EVENTS, EVENT_OUT, WaitQueue

if TYPE_CHECKING:
    from twaron.kernel import Kernel

TTY_BUFFER_LIMIT = 65536  # the input buffer (flip buffer) of a tty: a pty writer waits past it
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")

# ---- termios -----------------------------------------------------------------------------

BAUD_TABLE = (0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200,
              38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000,
              1500000, 2000000, 2500000, 3000000, 3500000, 4000000)  # fmt: skip
BOTHER = CBAUDEX
IBSHIFT = 16
# the c_cc of a new terminal: ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, ^Q ^S ^Z, ^R ^O ^W ^V
INIT_C_CC = bytes((3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0))


def baud_rate(cflag: int, speed: int) -> int:
    """tty_termios_baud_rate: the speed the CBAUD bits name (BOTHER: the given one)."""
    cbaud = cflag & CBAUD
    if cbaud == BOTHER:
        return speed
    if cbaud & CBAUDEX:
        cbaud = (cbaud & ~CBAUDEX) + 15
    return BAUD_TABLE[cbaud] if cbaud < len(BAUD_TABLE) else 0


class Termios:
    """struct ktermios: the four flag words, the line discipline, c_cc and the speeds."""

    __slots__ = ("iflag", "oflag", "cflag", "lflag", "line", "cc", "ispeed", "ospeed")
    _S = struct.Struct("<4IB19s")
    _S2 = struct.Struct("<4IB19s2I")

    def __init__(self, iflag: int, oflag: int, cflag: int, lflag: int,
                 cc: bytes = INIT_C_CC) -> None:  # fmt: skip
        self.iflag, self.oflag, self.cflag, self.lflag = iflag, oflag, cflag, lflag
        self.line = N_TTY
        self.cc = bytearray(cc[:NCCS].ljust(NCCS, b"\0"))
        self.ospeed = self.ispeed = baud_rate(cflag, 0)
        self.ispeed = self.input_speed()

    def input_speed(self) -> int:
        cbaud = (self.cflag >> IBSHIFT) & CBAUD
        if cbaud == 0:
            return self.ospeed
        return baud_rate(cbaud, self.ispeed)

    def copy(self) -> Termios:
        t = Termios(self.iflag, self.oflag, self.cflag, self.lflag, bytes(self.cc))
        t.line, t.ispeed, t.ospeed = self.line, self.ispeed, self.ospeed
        return t

    def pack(self) -> bytes:
        return self._S.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                            bytes(self.cc))  # fmt: skip

    def pack2(self) -> bytes:
        return self._S2.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                             bytes(self.cc), self.ispeed, self.ospeed)  # fmt: skip

    def load(self, raw: bytes) -> None:
        """user_termios_to_kernel_termios: the struct termios (or termios2) of a TCSETS*;
        the speeds follow the CBAUD bits (termios2 may give them with BOTHER)."""
        if len(raw) >= SIZEOF_TERMIOS2:
            (self.iflag, self.oflag, self.cflag, self.lflag, self.line, cc, self.ispeed,
             self.ospeed) = self._S2.unpack(raw[:SIZEOF_TERMIOS2])  # fmt: skip
        else:
            self.iflag, self.oflag, self.cflag, self.lflag, self.line, cc = self._S.unpack(
                raw[:SIZEOF_TERMIOS])
        self.cc = bytearray(cc)
        self.ospeed = baud_rate(self.cflag, self.ospeed)
        self.ispeed = self.input_speed()


def std_termios() -> Termios:
    """tty_std_termios: what a new terminal has (cooked mode, 38400 baud)."""
    return Termios(ICRNL | IXON, OPOST | ONLCR, B38400 | CS8 | CREAD | HUPCL,
                   ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN)  # fmt: skip


# ---- the tty -----------------------------------------------------------------------------


class Tty:
    """One terminal. The device side (driver_write, write_room, ...) is the subclass's."""

    is_master = False  # the master end of a pty (TCGETS & co. act on its slave)
    is_console = False

    def __init__(self, kernel: Kernel, rdev: int, termios: Termios) -> None:
        self.kernel = kernel
        self.rdev = rdev
        self.termios = termios
        self.winsize = bytes(SIZEOF_WINSIZE)
        self.wait = WaitQueue()  # EVENT_IN: readers, EVENT_OUT: writers
        self.session: int | None = None  # the session it is the controlling terminal of
        self.pgrp: int | None = None  # its foreground process group
        self.files: list[TtyFile] = []
        self.inbuf = bytearray()  # received, not yet taken by the line discipline
        self.pushing = False
        self.push_again = False
        self.stopped = False  # output stopped (VSTOP, TCOOFF)
        self.tco_stopped = False  # by TCOOFF (only TCOON starts it again)
        self.other_closed = False  # pty: the other end has no open file (reads: EIO)
        self.exclusive = False  # TIOCEXCL
        self.link: Tty | None = None
        self.ldisc = NTty(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.rdev >> 8}:{self.rdev & 0xFF}>"

    # ---- the device side (subclasses) --------------------------------------------------------

    def driver_write(self, data: bytes, force: bool = False) -> int:
        """Send output to the device; how much it took (force: all, for echoes)."""
        return len(data)

    def write_room(self) -> int:
        return 0 if self.stopped else TTY_BUFFER_LIMIT

    def chars_in_buffer(self) -> int:
        return 0

    def flush_output(self) -> None:
        """Discard output not yet sent (nothing to discard on a pty: Linux's is a no-op)."""

    def driver_set_termios(self, old: Termios) -> None:
        """What the device makes of new modes (a pty forces CS8 and CREAD)."""

    def input_taken(self) -> None:
        """The line discipline took input: whoever fills the input buffer may go on."""

    def open_file(self, path: Path | None, flags: int) -> TtyFile:
        """A new open file of this terminal (/dev/tty's open of a controlling terminal)."""
        return TtyFile(self, path, flags)

    # ---- input -------------------------------------------------------------------------------

    def input_room(self) -> int:
        return TTY_BUFFER_LIMIT - len(self.inbuf)

    def receive(self, data: bytes) -> None:
        """Input arrives from the device: buffered, and as much as fits to the ldisc."""
        if self.inbuf or self.pushing:
            self.inbuf += data
            self.push_input()
            return
        self.pushing = True  # straight to the line discipline (what is left waits)
        try:
            n = self.ldisc.receive_buf(data)
        finally:
            self.pushing = False
        if n < len(data):
            self.inbuf += data[n:]
        if n:
            self.input_taken()
        if self.push_again and self.inbuf:
            self.push_input()

    def push_input(self) -> None:
        """Feed the input buffer to the line discipline (Linux's flush_to_ldisc); never
        re-entered: an inner call (a flush while a batch is taken) makes the outer one go
        round again."""
        if self.pushing:
            self.push_again = True
            return
        self.pushing = True
        try:
            while self.inbuf:
                self.push_again = False
                n = self.ldisc.receive_buf(bytes(self.inbuf))
                if n:
                    del self.inbuf[:n]
                    self.input_taken()
                elif not self.push_again:
                    break
        finally:
            self.pushing = False

    def input_consumed(self) -> None:
        """A read (or a flush) made room in the line discipline."""
        self.push_input()

    # ---- flow control ------------------------------------------------------------------------

    def stop(self) -> None:
        self.stopped = True

    def start(self) -> None:
        if self.stopped and not self.tco_stopped:
            self.stopped = False
            self.wait.notify(EVENT_OUT)

    # ---- signals and job control -------------------------------------------------------------

    def isig(self, sig: int) -> None:
        """VINTR & co.: the signal for the foreground process group."""
        if self.pgrp is not None:
            self.kernel.jobctl.kill_pgrp(self.pgrp, sig, console=self.is_console)

    def check_change(self, file: Any, sig: int = SIGTTOU) -> None:
        """__tty_check_change: a process of a background group using its controlling
        terminal gets `sig` (its group stops; the call restarts after SIGCONT), or EIO if
        its group is orphaned; if it ignores or blocks the signal, SIGTTOU lets it through
        and SIGTTIN is EIO."""
        kernel = self.kernel
        task = kernel.current
        if task is None or getattr(task.group, "tty", None) is not self:
            return
        pgrp = self.pgrp
        mine = task.group.pgid
        if pgrp is None or pgrp == mine:
            return
        jc = kernel.jobctl
        if jc.sig_ignored(task, sig):
            if sig == SIGTTIN:
                raise KernelError(EIO)
            return
        if jc.pgrp_orphaned(mine):
            raise KernelError(EIO)
        jc.kill_pgrp(mine, sig)
        raise KernelError(ERESTARTSYS)

    def resize(self, ws: bytes) -> None:
        """tty_do_resize: a new window size; the foreground group hears of a change."""
        if ws == self.winsize:
            return
        if self.pgrp is not None:
            self.kernel.jobctl.kill_pgrp(self.pgrp, SIGWINCH, console=self.is_console)
        self.winsize = ws

    def set_termios(self, new: Termios) -> None:
        """tty_set_termios: the device and the line discipline take the new modes."""
        old = self.termios
        self.termios = new
        self.driver_set_termios(old)
        self.ldisc.set_termios(old)

    # ---- open files and hang-up --------------------------------------------------------------

    def opened(self, file: TtyFile) -> None:
        self.files.append(file)

    def closed(self, file: TtyFile) -> None:
        if file in self.files:
            self.files.remove(file)

    def poll(self, file: TtyFile) -> int:
        mask = self.ldisc.poll()
        if self.other_closed:
            mask |= POLLHUP
        return mask

    def hangup(self, exit_session: bool = False) -> None:
        """__tty_hangup: every open file of the terminal is hung up (reads see end of file,
        writes and ioctls EIO), the session loses it, its leader gets SIGHUP and SIGCONT."""
        for f in self.files:
            f.hung_up = True
        self.signal_session_leader(exit_session)
        self.session = self.pgrp = None
        self.stopped = self.tco_stopped = False
        self.wait.notify(ALL_EVENTS)

    def signal_session_leader(self, exit_session: bool) -> None:
        """tty_signal_session_leader: the session's processes lose this controlling
        terminal; its leader gets SIGHUP and SIGCONT (and remembers the foreground group)."""
        if self.session is None:
            return
        jc = self.kernel.jobctl
        fg = self.pgrp
        for group in jc.session_groups(self.session):
            if group.tty is self:
                group.tty = None
            if group.sid != group.pid:
                continue
            jc.signal_group(group, SIGHUP)
            jc.signal_group(group, SIGCONT)
            group.tty_old_pgrp = fg
        if fg is not None and exit_session:
            jc.kill_pgrp(fg, SIGHUP)


# ---- controlling terminals (Linux's tty_jobctrl.c) ---------------------------------------


def is_session_leader(group: Any) -> bool:
    return group.sid == group.pid


def proc_set_tty(group: Any, tty: Tty) -> None:
    """__proc_set_tty: tty becomes the controlling terminal of group's session."""
    tty.session = group.sid
    tty.pgrp = group.pgid
    group.tty = tty
    group.tty_old_pgrp = None


def open_set_ctty(task: Any, tty: Tty, file: File, flags: int) -> None:
    """tty_open_proc_set_tty: a session leader without a controlling terminal that opens
    one nobody has, without O_NOCTTY (and for reading), acquires it."""
    group = task.group
    if flags & O_NOCTTY or not is_session_leader(group) or group.tty is not None:
        return
    if tty.session is None and file.readable:
        proc_set_tty(group, tty)


def disassociate_ctty(kernel: Any, group: Any, on_exit: bool) -> None:
    """disassociate_ctty: a session leader lets its controlling terminal go (TIOCNOTTY, or
    its exit): the foreground group gets SIGHUP (and SIGCONT unless it is the exit), the
    terminal and every process of the session forget each other. After a hang-up the
    leader's exit signals the foreground group the terminal had then."""
    if not is_session_leader(group):
        return
    jc = kernel.jobctl
    tty = group.tty
    if tty is not None:
        if tty.pgrp is not None:
            jc.kill_pgrp(tty.pgrp, SIGHUP, console=tty.is_console)
            if not on_exit:
                jc.kill_pgrp(tty.pgrp, SIGCONT, console=tty.is_console)
    elif on_exit:
        old, group.tty_old_pgrp = group.tty_old_pgrp, None
        if old is not None:
            jc.kill_pgrp(old, SIGHUP)
            jc.kill_pgrp(old, SIGCONT)
        return
    group.tty_old_pgrp = None
    tty = group.tty
    if tty is not None:
        tty.session = tty.pgrp = None
    for g in jc.session_groups(group.sid):  # session_clear_tty
        g.tty = None


def _tiocsctty(task: Any, tty: Tty, file: TtyFile, arg: int) -> int:
    group = task.group
    if is_session_leader(group) and tty.session == group.sid:
        return 0
    if not is_session_leader(group) or group.tty is not None:
        raise KernelError(EPERM)
    root = task.cred.euid == 0  # CAP_SYS_ADMIN
    if tty.session is not None:
        if arg != 1 or not root:  # stealing it from another session takes CAP_SYS_ADMIN
            raise KernelError(EPERM)
        for g in task.kernel.jobctl.session_groups(tty.session):
            if g.tty is tty:
                g.tty = None
    if not file.readable and not root:
        raise KernelError(EPERM)
    proc_set_tty(group, tty)
    return 0


def _tiocspgrp(task: Any, tty: Tty, real: Tty, file: TtyFile, arg: int) -> int:
    try:
        real.check_change(file)
    except KernelError as e:
        raise KernelError(ENOTTY if e.errno == EIO else e.errno) from None
    pgrp = _I32.unpack(task.mm.copy_in(arg, 4))[0]
    if pgrp < 0:
        raise KernelError(EINVAL)
    group = task.group
    if group.tty is not real or real.session != group.sid:
        raise KernelError(ENOTTY)
    sid = task.kernel.jobctl.pgrp_session(pgrp)
    if sid is None:
        raise KernelError(ESRCH)
    if sid != group.sid:
        raise KernelError(EPERM)
    real.pgrp = pgrp
    return 0


def _jobctrl_ioctl(task: Any, file: TtyFile, tty: Tty, real: Tty, cmd: int,
                   arg: int) -> int | None:  # fmt: skip
    """tty_jobctrl_ioctl; None when cmd is not one of its requests."""
    group = task.group
    mm = task.mm
    if cmd == TIOCNOTTY:
        if group.tty is not tty:
            raise KernelError(ENOTTY)
        disassociate_ctty(task.kernel, group, on_exit=False)
        group.tty = None  # proc_clear_tty
        return 0
    if cmd == TIOCSCTTY:
        return _tiocsctty(task, real, file, arg & 0xFFFF_FFFF)
    if cmd == TIOCGPGRP:
        if tty is real and group.tty is not real:
            raise KernelError(ENOTTY)
        mm.copy_out(arg, _I32.pack(real.pgrp or 0))
        return 0
    if cmd == TIOCSPGRP:
        return _tiocspgrp(task, tty, real, file, arg)
    if cmd == TIOCGSID:
        if tty is real and group.tty is not real or real.session is None:
            raise KernelError(ENOTTY)
        mm.copy_out(arg, _I32.pack(real.session))
        return 0
    return None


# ---- ioctl -------------------------------------------------------------------------------


def _set_termios(task: Any, file: TtyFile, tty: Tty, arg: int, size: int, flush: bool) -> int:
    """set_termios (TCSETS, TCSETSW, TCSETSF and their termios2 forms): the job-control
    check, the new modes read, the input flushed for TCSETSF (output is never pending)."""
    tty.check_change(file)
    new = tty.termios.copy()
    new.load(task.mm.copy_in(arg, size))
    if flush:
        tty.ldisc.flush_buffer()
    tty.set_termios(new)
    return 0


def _ldisc_ioctl(task: Any, file: TtyFile, tty: Tty, real: Tty, cmd: int, arg: int) -> int:
    """n_tty_ioctl and its helper: queue sizes, flow control, flushes, then the modes."""
    mm = task.mm
    if cmd == TIOCOUTQ:
        mm.copy_out(arg, _I32.pack(tty.chars_in_buffer()))
        return 0
    if cmd == FIONREAD:
        mm.copy_out(arg, _I32.pack(tty.ldisc.inq()))
        return 0
    if cmd == TCXONC:
        tty.check_change(file)
        if arg == TCOOFF:
            if not tty.tco_stopped:
                tty.tco_stopped = True
                tty.stop()
        elif arg == TCOON:
            if tty.tco_stopped:
                tty.tco_stopped = False
                tty.start()
        elif arg in (TCIOFF, TCION):
            c = tty.termios.cc[VSTOP if arg == TCIOFF else VSTART]
            if c:
                tty.driver_write(bytes((c,)), force=True)  # tty_send_xchar
        else:
            raise KernelError(EINVAL)
        return 0
    if cmd == TCFLSH:
        tty.check_change(file)
        if arg not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
            raise KernelError(EINVAL)
        if arg != TCOFLUSH:
            tty.ldisc.flush_buffer()
        if arg != TCIFLUSH:
            tty.flush_output()
        return 0
    # tty_mode_ioctl: on a pty master these act on the slave
    if cmd == TCGETS:
        mm.copy_out(arg, real.termios.pack())
        return 0
    if cmd == TCGETS2:
        mm.copy_out(arg, real.termios.pack2())
        return 0
    if cmd in (TCSETS, TCSETSW, TCSETSF):
        return _set_termios(task, file, real, arg, SIZEOF_TERMIOS, cmd == TCSETSF)
    if cmd in (TCSETS2, TCSETSW2, TCSETSF2):
        return _set_termios(task, file, real, arg, SIZEOF_TERMIOS2, cmd == TCSETSF2)
    raise KernelError(ENOTTY)


def tty_ioctl(file: TtyFile, task: Any, cmd: int, arg: int) -> int:
    """Linux's tty_ioctl: the common requests, job control, the device's own (a pty
    master's), then the line discipline's."""
    if file.hung_up:
        raise KernelError(ENOTTY if cmd == TIOCSPGRP else EIO)
    tty = file.tty
    real = tty.link if tty.is_master and tty.link is not None else tty
    mm = task.mm
    if cmd in (TIOCSETD, TIOCSBRK, TCSBRK, TCSBRKP):
        tty.check_change(file)  # then the output would be waited for: there is none pending
    if cmd == TIOCSTI:
        if task.group.tty is not tty and task.cred.euid != 0:
            raise KernelError(EPERM)
        if not file.readable and task.cred.euid != 0:
            raise KernelError(EPERM)
        tty.ldisc.receive_buf(mm.copy_in(arg, 1))
        return 0
    if cmd == TIOCGWINSZ:
        mm.copy_out(arg, real.winsize)
        return 0
    if cmd == TIOCSWINSZ:
        real.resize(mm.copy_in(arg, SIZEOF_WINSIZE))
        return 0
    if cmd == TIOCEXCL or cmd == TIOCNXCL:
        tty.exclusive = cmd == TIOCEXCL
        return 0
    if cmd == TIOCGEXCL:
        mm.copy_out(arg, _I32.pack(int(tty.exclusive)))
        return 0
    if cmd == TIOCGETD:
        mm.copy_out(arg, _I32.pack(tty.termios.line))
        return 0
    if cmd == TIOCSETD:
        ld = _I32.unpack(mm.copy_in(arg, 4))[0]
        if ld != N_TTY or not 0 <= ld < NR_LDISCS:
            raise KernelError(EINVAL)  # N_TTY is the only line discipline
        return 0
    if cmd == TIOCVHANGUP:
        if task.cred.euid != 0:
            raise KernelError(EPERM)
        tty.hangup()
        return 0
    if cmd == TIOCGDEV:
        mm.copy_out(arg, _U32.pack(real.rdev))
        return 0
    if cmd in (TIOCSBRK, TIOCCBRK, TCSBRK, TCSBRKP):
        return 0  # no break to send on a pty or the console
    if cmd == TCFLSH and arg in (TCIFLUSH, TCIOFLUSH):
        tty.inbuf.clear()  # tty_buffer_flush
        tty.input_taken()
    if cmd == TIOCGPTPEER:
        return file.open_peer(task, arg)
    ret = _jobctrl_ioctl(task, file, tty, real, cmd, arg)
    if ret is not None:
        return ret
    ret = file.driver_ioctl(task, cmd, arg)
    if ret is not None:
        return ret
    return _ldisc_ioctl(task, file, tty, real, cmd, arg)


# ---- open files --------------------------------------------------------------------------


class TtyFile(File):
    """An open terminal. `hung_up`: after a hang-up (Linux swaps in hung_up_tty_fops);
    `redirected`: opened as /dev/console (exempt from job control, as Linux's console
    file is)."""

    __slots__ = ("tty", "hung_up", "redirected")
    seekable = False
    may_block = True

    def __init__(self, tty: Tty, path: Path | None, flags: int, inode: Inode | None = None,
                 redirected: bool = False) -> None:  # fmt: skip
        super().__init__(path, flags, inode)
        self.tty = tty
        self.hung_up = False
        self.redirected = redirected
        tty.opened(self)

    def read(self, n: int) -> bytes:
        if self.hung_up:
            return b""
        return self.tty.ldisc.read(self, n)

    def write(self, data: bytes) -> int:
        if self.hung_up:
            raise KernelError(EIO)
        return self.tty.ldisc.write(self, data)

    def poll(self) -> int:
        if self.hung_up:
            return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM
        return self.tty.poll(self)

    def poll_queue(self) -> WaitQueue:
        return self.tty.wait

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        return tty_ioctl(self, task, cmd, arg)

    def driver_ioctl(self, task: Any, cmd: int, arg: int) -> int | None:
        """The device's own requests (a pty master's); None: not one of them."""
        return None

    def open_peer(self, task: Any, flags: int) -> int:
        """TIOCGPTPEER: only a pty master has a peer."""
        raise KernelError(EIO)

    def release(self) -> None:
        self.tty.closed(self)
        super().release()


def reopen_check(task: Any, tty: Tty) -> None:
    """tty_reopen: a master is never reopened; an exclusive terminal only by root."""
    if tty.is_master:
        raise KernelError(EIO)
    if tty.exclusive and task.cred.euid != 0:
        raise KernelError(EBUSY)


def nofile_limit(task: Any) -> int:
    lim = task.group.rlimits.get(RLIMIT_NOFILE)
    return min(lim[0], 1 << 20) if lim else 1024


def peer_flags(flags: int) -> tuple[int, bool]:
    """TIOCGPTPEER's argument: open flags (the access mode, O_NOCTTY, ...) and close-on-exec."""
    acc = flags & O_ACCMODE
    if acc not in (0, O_WRONLY, O_RDWR):
        flags = (flags & ~O_ACCMODE) | O_RDWR
    return flags & 0xFFFF_FFFF, bool(flags & O_CLOEXEC)
