"""Pseudo-terminals: /dev/ptmx and the devpts file system on /dev/pts (Linux's
drivers/tty/pty.c and fs/devpts).

Opening /dev/ptmx makes a pty: a master end (the opener's file) and a slave end, whose node
/dev/pts/N appears at once, locked until TIOCSPTLCK(0) (what unlockpt does; ptsname is
TIOCGPTN; grantpt has nothing left to do: the node is made with the caller's uid, the tty
group and mode 0620, the mount's options). What the master writes is the slave's input,
through the slave's line discipline; what the slave writes (after its output processing)
is the master's input, read raw. The last slave file's close makes the master's reads EIO
once drained (and POLLHUP); the master's close hangs the slave up (its session leader gets
SIGHUP and SIGCONT) and removes its node. The pty number is free again once no file of
either end is open; new ptys take the lowest free number.

One devpts instance per kernel, mounted at boot with gid=5,mode=620,ptmxmode=666 (as
container runtimes mount theirs); /dev/ptmx finds it as the "pts" directory next to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twaron.arch.x86_64.constants import (
    B38400,
    CREAD,
    CS8,
    CSIZE,
    DEVPTS_SUPER_MAGIC,
    NR_UNIX98_PTY_MAX,
    PARENB,
    S_IFCHR,
    S_IFDIR,
    SIGWINCH,
    TIOCGPTLCK,
    TIOCGPTN,
    TIOCSIG,
    TIOCSPTLCK,
    TTYAUX_MAJOR,
    UNIX98_PTY_SLAVE_MAJOR,
)
from twaron.arch.x86_64.errno import EINVAL, EIO, ENODEV, ENOSPC
from twaron.errors import KernelError
from twaron.fs.tty import (
    TTY_BUFFER_LIMIT,
    Termios,
    Tty,
    TtyFile,
    nofile_limit,
    open_set_ctty,
    peer_flags,
    reopen_check,
    std_termios,
)
from twaron.fs.vfs import CHRDEV_OPEN, Dentry, Inode, Path, SuperBlock, mkdev, mount
from twaron.wait import EVENT_HUP, EVENT_IN, EVENT_OUT

PTMX_DEV = mkdev(TTYAUX_MAJOR, 2)
TTY_GID = 5  # the tty group: devpts's gid=5 option
PTS_MODE = 0o620
PTMX_MODE = 0o666
MOUNT_OPTS = "rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666"


def slave_dev(index: int) -> int:
    return mkdev(UNIX98_PTY_SLAVE_MAJOR + index // 256, index % 256)


def master_termios() -> Termios:
    """The master end's modes: raw (nobody can change them: TCSETS on a master sets its
    slave's)."""
    return Termios(0, 0, B38400 | CS8 | CREAD, 0)


def slave_termios() -> Termios:
    t = std_termios()
    t.cflag = B38400 | CS8 | CREAD
    return t


# ---- the two ends ----------------------------------------------------------------------


class PtyTty(Tty):
    """One end of a pty: its output is the other end's input."""

    def __init__(self, kernel: Any, rdev: int, termios: Termios, pty: Pty, master: bool) -> None:
        super().__init__(kernel, rdev, termios)
        self.pty = pty
        self.is_master = master

    def driver_write(self, data: bytes, force: bool = False) -> int:
        """pty_write: into the other end's input buffer, as far as it has room."""
        if self.stopped and not force:
            return 0
        to = self.link
        assert to is not None
        n = len(data)
        if not force and n > TTY_BUFFER_LIMIT - len(to.inbuf):
            n = TTY_BUFFER_LIMIT - len(to.inbuf)
            data = data[:n]
        if n:
            to.receive(data)
        return n

    def write_room(self) -> int:
        if self.stopped:
            return 0
        assert self.link is not None
        return self.link.input_room()

    def input_taken(self) -> None:
        wait = self.link.wait  # type: ignore[union-attr]
        if wait.entries:
            wait.notify(EVENT_OUT)

    def driver_set_termios(self, old: Termios) -> None:
        """pty_set_termios: always 8 bits, no parity, receiver on."""
        t = self.termios
        t.cflag = (t.cflag & ~(CSIZE | PARENB)) | CS8 | CREAD

    def open_file(self, path: Path | None, flags: int) -> TtyFile:
        """The slave opened again through /dev/tty (a master never is: reopen_check)."""
        pty = self.pty
        if pty.master_gone:
            raise KernelError(EIO)
        f = PtsFile(self, path, flags)
        pty.master.other_closed = False
        return f

    def resize(self, ws: bytes) -> None:
        """pty_resize: both ends take the size; the foreground groups of both hear of it."""
        if ws == self.winsize:
            return
        link = self.link
        assert link is not None
        jc = self.kernel.jobctl
        if self.pgrp is not None:
            jc.kill_pgrp(self.pgrp, SIGWINCH)
        if link.pgrp is not None and link.pgrp != self.pgrp:
            jc.kill_pgrp(link.pgrp, SIGWINCH)
        self.winsize = link.winsize = ws


class Pty:
    """A master and a slave, their number, the slave's node and the lock."""

    def __init__(self, devpts: Devpts, index: int, task: Any) -> None:
        kernel = task.kernel
        self.devpts = devpts
        self.index = index
        self.master = PtyTty(kernel, PTMX_DEV, master_termios(), self, True)
        self.slave = PtyTty(kernel, slave_dev(index), slave_termios(), self, False)
        self.master.link, self.slave.link = self.slave, self.master
        self.locked = True  # TTY_PTY_LOCK: the slave cannot be opened until unlockpt
        self.master_gone = False
        self.node = devpts.add_node(self, task)

    def slave_closed(self) -> None:
        """pty_close of the last slave file: the master reads EIO once drained."""
        if self.slave.files:
            return
        master = self.master
        master.other_closed = True
        master.wait.notify(EVENT_IN | EVENT_OUT | EVENT_HUP)
        self.slave.wait.notify(EVENT_IN | EVENT_OUT | EVENT_HUP)
        self.maybe_free()

    def master_closed(self) -> None:
        """pty_close of the master: the slave hangs up, its node goes."""
        if self.master.files or self.master_gone:
            return
        self.master_gone = True
        self.slave.other_closed = True
        self.devpts.kill_node(self)
        self.slave.hangup()
        self.maybe_free()

    def maybe_free(self) -> None:
        if self.master_gone and not self.slave.files:
            self.devpts.ptys.pop(self.index, None)


class PtmxFile(TtyFile):
    """The master end, as /dev/ptmx's open made it."""

    __slots__ = ("pty",)

    def __init__(self, pty: Pty, path: Path, flags: int) -> None:
        super().__init__(pty.master, path, flags)
        self.pty = pty

    def driver_ioctl(self, task: Any, cmd: int, arg: int) -> int | None:
        """pty_unix98_ioctl: the lock, the number, a signal for the slave's group."""
        pty = self.pty
        mm = task.mm
        if cmd == TIOCSPTLCK:
            pty.locked = bool(int.from_bytes(mm.copy_in(arg, 4), "little"))
            return 0
        if cmd == TIOCGPTLCK:
            mm.copy_out(arg, int(pty.locked).to_bytes(4, "little"))
            return 0
        if cmd == TIOCGPTN:
            mm.copy_out(arg, pty.index.to_bytes(4, "little"))
            return 0
        if cmd == TIOCSIG:
            sig = arg & 0xFFFF_FFFF
            if not 0 < sig < 65:
                raise KernelError(EINVAL)
            if pty.slave.pgrp is not None:
                task.kernel.jobctl.kill_pgrp(pty.slave.pgrp, sig)
            return 0
        return None

    def open_peer(self, task: Any, flags: int) -> int:
        """TIOCGPTPEER: the slave opened from its master (no path walk, no permission
        check), as a new fd."""
        pty = self.pty
        flags, cloexec = peer_flags(flags)
        node = pty.node
        f = node.inode.open(task, Path(pty.devpts.root.mnt, node), flags)
        try:
            return task.files.install(f, cloexec, 0, nofile_limit(task))
        except KernelError:
            f.put()
            raise

    def release(self) -> None:
        super().release()
        self.pty.master_closed()


class PtsFile(TtyFile):
    """An open slave end."""

    __slots__ = ()

    def release(self) -> None:
        pty = self.tty.pty  # type: ignore[attr-defined]
        super().release()
        pty.slave_closed()


# ---- the file system ------------------------------------------------------------------


class PtsInode(Inode):
    """/dev/pts/N: opening it opens the slave end."""

    __slots__ = ("pty",)

    def open(self, task: Any, path: Path, flags: int) -> TtyFile:
        """pty_open: EIO while locked or once the master is gone; the opener may acquire
        it as its controlling terminal."""
        pty = self.pty
        slave = pty.slave
        reopen_check(task, slave)
        if pty.master_gone or pty.locked:
            raise KernelError(EIO)
        f = PtsFile(slave, path, flags, self)
        pty.master.other_closed = False
        open_set_ctty(task, slave, f, flags)
        return f


class DevptsRoot(Inode):
    """/dev/pts: ptmx, then each pty's node at a readdir position of its own (its number)."""

    __slots__ = ("devpts",)

    def lookup(self, dentry: Dentry, name: bytes) -> Dentry | None:
        return self.devpts.entries.get(name)

    def iterate(self, dentry: Dentry, pos: int) -> Iterator[tuple[int, int, int, bytes]]:
        if pos < 1:
            yield 1, self.ino, 4, b"."
        if pos < 2:
            yield 2, dentry.parent.inode.ino, 4, b".."
        entries = self.devpts.entries
        ptmx = entries[b"ptmx"]
        if pos < 4:
            yield 4, ptmx.inode.ino, ptmx.inode.dtype, b"ptmx"
        for index in sorted(self.devpts.nodes):
            if index + 4 >= pos:
                d = self.devpts.nodes[index]
                yield index + 5, d.inode.ino, d.inode.dtype, d.name


class Devpts:
    """One devpts instance: its superblock, the nodes and the ptys by number."""

    def __init__(self, kernel: Any, at: Path) -> None:
        self.sb = SuperBlock("devpts", DEVPTS_SUPER_MAGIC, clock=kernel.clock.realtime_ns,
                             mount_opts=MOUNT_OPTS)  # fmt: skip
        self.sb.devpts = self  # type: ignore[attr-defined]  (how /dev/ptmx finds it)
        root = DevptsRoot(self.sb, S_IFDIR | 0o755)
        root.devpts = self
        root.ino = 1
        self.root = mount(at, self.sb, root, source="devpts")
        self.root.dentry.children = None  # no create: the kernel makes the nodes
        ptmx = Inode(self.sb, S_IFCHR | PTMX_MODE, rdev=PTMX_DEV)
        ptmx.ino = 2
        d = Dentry(b"ptmx", self.root.dentry, ptmx)
        self.entries: dict[bytes, Dentry] = {b"ptmx": d}
        self.nodes: dict[int, Dentry] = {}
        self.ptys: dict[int, Pty] = {}

    def new_pty(self, task: Any) -> Pty:
        """devpts_new_index: the lowest free number (ENOSPC when all are taken)."""
        index = 0
        while index in self.ptys:
            index += 1
        if index >= NR_UNIX98_PTY_MAX:
            raise KernelError(ENOSPC)
        pty = self.ptys[index] = Pty(self, index, task)
        return pty

    def add_node(self, pty: Pty, task: Any) -> Dentry:
        """devpts_pty_new: /dev/pts/N, the opener's, the tty group's, mode 0620."""
        cred = task.cred
        inode = PtsInode(self.sb, S_IFCHR | PTS_MODE, cred.fsuid, TTY_GID, slave_dev(pty.index))
        inode.pty = pty
        inode.ino = pty.index + 3
        name = b"%d" % pty.index
        d = Dentry(name, self.root.dentry, inode)
        self.entries[name] = d
        self.nodes[pty.index] = d
        return d

    def kill_node(self, pty: Pty) -> None:
        """devpts_pty_kill: the node goes (open files keep the inode)."""
        d = self.nodes.pop(pty.index, None)
        if d is not None:
            self.entries.pop(d.name, None)
            d.deleted = True
            d.inode.nlink = 0


def find_devpts(path: Path) -> Devpts:
    """devpts_mntget: the devpts a ptmx node belongs to: its own file system's, or the one
    mounted on "pts" next to it; ENODEV without one."""
    own = getattr(path.mnt.sb, "devpts", None)
    if own is not None:
        return own
    parent = path.dentry.parent
    d = parent.inode.lookup(parent, b"pts")
    if d is not None:
        m = path.mnt.children.get(d)
        found = getattr(m.sb, "devpts", None) if m is not None else None
        if found is not None:
            return found
    raise KernelError(ENODEV)


def ptmx_open(task: Any, path: Path, flags: int) -> TtyFile:
    """ptmx_open: a new pty; the opener holds its master (never a controlling terminal)."""
    devpts = find_devpts(path)
    pty = devpts.new_pty(task)
    return PtmxFile(pty, path, flags)


def mount_devpts(at: Path, kernel: Any) -> Devpts:
    return Devpts(kernel, at)


CHRDEV_OPEN[PTMX_DEV] = ptmx_open
