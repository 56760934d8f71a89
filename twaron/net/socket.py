"""What every socket family shares (Linux's net/socket.c, net/core/sock.c and scm.c).

- `Socket` is the File: the open file description of a socket, with an inode in the kernel's
  sockfs (fstat says S_IFSOCK, /proc/PID/fd/N says socket:[INO]). read and write are a
  receive and a send without flags; readiness is the Sock's poll() on the Sock's wait queue.
- `Sock` is the protocol's side (struct sock): the state a family keeps and the operations
  it implements. The base class answers as Linux's sock_no_* stubs do (EOPNOTSUPP) and keeps
  the SOL_SOCKET options every family has (buffer sizes, timeouts, credentials passing,
  linger, ...), reported back by getsockopt as Linux reports them.
- `SendMsg`, `RecvResult` and `Sink` carry a message between the system calls
  (syscalls/net.py decodes the msghdr once for every family) and the family.
- scm: the credentials a sender may claim (SCM_CREDENTIALS, Linux's scm_check_creds) and the
  count of descriptors in flight per user (the limit on SCM_RIGHTS).

Sleeping: a Sock waits on its own `wait` queue with `sleep()`, which applies Linux's socket
timeouts: without a timeout a signal ends the sleep with ERESTARTSYS (restarted after an
SA_RESTART handler), with SO_RCVTIMEO/SO_SNDTIMEO set it is EINTR, never restarted, and the
timeout running out is the caller's EAGAIN.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from twaron.arch.x86_64.constants import (
    AF_INET,
    AF_INET6,
    FIONREAD,
    MSG_DONTWAIT,
    O_NONBLOCK,
    O_RDWR,
    RMEM_MAX,
    S_IFSOCK,
    SCM_CREDENTIALS,
    SCM_DEVMEM_DMABUF,
    SCM_RIGHTS,
    SO_ACCEPTCONN,
    SO_BINDTODEVICE,
    SO_BINDTOIFINDEX,
    SO_BROADCAST,
    SO_BSDCOMPAT,
    SO_BUF_LOCK,
    SO_BUSY_POLL,
    SO_COOKIE,
    SO_DEBUG,
    SO_DOMAIN,
    SO_DONTROUTE,
    SO_ERROR,
    SO_INCOMING_CPU,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_MARK,
    SO_NO_CHECK,
    SO_NOFCS,
    SO_OOBINLINE,
    SO_PASSCRED,
    SO_PASSSEC,
    SO_PEEK_OFF,
    SO_PEERCRED,
    SO_PEERNAME,
    SO_PRIORITY,
    SO_PROTOCOL,
    SO_RCVBUF,
    SO_RCVBUFFORCE,
    SO_RCVLOWAT,
    SO_RCVMARK,
    SO_RCVTIMEO_NEW,
    SO_RCVTIMEO_OLD,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_RXQ_OVFL,
    SO_SELECT_ERR_QUEUE,
    SO_SNDBUF,
    SO_SNDBUFFORCE,
    SO_SNDLOWAT,
    SO_SNDTIMEO_NEW,
    SO_SNDTIMEO_OLD,
    SO_TIMESTAMP_NEW,
    SO_TIMESTAMP_OLD,
    SO_TIMESTAMPING_NEW,
    SO_TIMESTAMPING_OLD,
    SO_TIMESTAMPNS_NEW,
    SO_TIMESTAMPNS_OLD,
    SO_TYPE,
    SO_WIFI_STATUS,
    SOCK_MIN_RCVBUF,
    SOCK_MIN_SNDBUF,
    SOCKFS_MAGIC,
    SOF_TIMESTAMPING_TX_RECORD_MASK,
    SOL_SOCKET,
    TC_PRIO_INTERACTIVE,
    TCP_CLOSE,
    TCP_LISTEN,
    WMEM_DEFAULT,
    WMEM_MAX,
)
from twaron.arch.x86_64.errno import (
    EACCES,
    EAGAIN,
    EDOM,
    EINTR,
    EINVAL,
    ENOPROTOOPT,
    ENOTCONN,
    ENOTTY,
    EOPNOTSUPP,
    EPERM,
    ERESTARTSYS,
    ESRCH,
)
from twaron.errors import KernelError
from twaron.fs.vfs import File, Inode, SuperBlock, anon_path
from twaron.net.netdev import DEV_IOCTLS, dev_ioctl
from twaron.wait import ALL_EVENTS, WaitQueue, wait_event

if TYPE_CHECKING:
    from twaron.kernel import Kernel

T = TypeVar("T")

HZ = 1000  # the jiffy the socket timeouts and SO_LINGER are kept in (CONFIG_HZ)
INT_MAX = 0x7FFF_FFFF
OVERFLOW_ID = 65534  # what an id that cannot be told shows as (overflowuid)
NO_ID = 0xFFFF_FFFF  # an unset (invalid) uid or gid
_INT = struct.Struct("<i")
_TIMEVAL = struct.Struct("<qq")
_LINGER = struct.Struct("<ii")
_UCRED = struct.Struct("<iII")


class Ucred(NamedTuple):
    """struct ucred: a process's pid and ids (SCM_CREDENTIALS, SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int

    def pack(self) -> bytes:
        return _UCRED.pack(self.pid, self.uid & NO_ID, self.gid & NO_ID)

    def pack_munged(self) -> bytes:
        """As SCM_CREDENTIALS shows them: an unset id is the overflow id (65534)."""
        uid = OVERFLOW_ID if self.uid == NO_ID else self.uid
        gid = OVERFLOW_ID if self.gid == NO_ID else self.gid
        return _UCRED.pack(self.pid, uid, gid)


NO_CREDS = Ucred(0, 0xFFFF_FFFF, 0xFFFF_FFFF)  # a message sent without credentials


def task_ucred(task: Any, effective: bool = False) -> Ucred:
    """The task's process id and real (or effective: SO_PEERCRED) ids."""
    c = task.cred
    return Ucred(task.group.pid, c.euid if effective else c.uid, c.egid if effective else c.gid)


def capable(task: Any) -> bool:
    """Linux's capable() for the capabilities root holds (twaron has no finer ones)."""
    return task.cred.euid == 0


# ---- the per-kernel network state ------------------------------------------------------


class Family:
    """A protocol family: socket(2) and socketpair(2) make its socks here."""

    family = 0

    def create(self, net: NetNamespace, task: Any, type_: int, protocol: int) -> Sock:
        """A new sock of this family (EPROTONOSUPPORT, ESOCKTNOSUPPORT as Linux's
        ->create)."""
        raise NotImplementedError

    def socketpair(self, a: Sock, b: Sock, task: Any) -> None:
        """Join two new socks back to back (sock_no_socketpair: EOPNOTSUPP)."""
        raise KernelError(EOPNOTSUPP)

    def new_table(self, net: NetNamespace) -> Any:
        """The family's state in one namespace (bound names, ...), made on first use."""
        return None

    def proc_net(self, net: NetNamespace) -> dict[bytes, Callable[[], bytes]]:
        """The files this family adds to /proc/net (name -> contents)."""
        return {}


FAMILIES: dict[int, Family] = {}  # filled in by the family modules as they are imported


def register(family: Family) -> Family:
    FAMILIES[family.family] = family
    return family


class NetNamespace:
    """One kernel's network state: its sockfs, each family's tables (made when the family
    is first used), the descriptors in flight per user."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.sockfs = SuperBlock("sockfs", SOCKFS_MAGIC, clock=kernel.clock.realtime_ns,
                                 pseudo=True)  # fmt: skip
        kernel.fs.root.mnt.ns.assign_dev(self.sockfs)  # never mounted, but this kernel's
        self.tables: dict[int, Any] = {}
        self.inflight: Counter[int] = Counter()  # uid -> descriptors it has in flight
        self.last_cookie = 0  # SO_COOKIE's counter
        # host resources (host sockets, --publish listeners) by owner, let go at the end
        self.closers: dict[object, Callable[[], None]] = {}

    def close(self) -> None:
        """The kernel is done: host resources go."""
        closers, self.closers = self.closers, {}
        for fn in closers.values():
            fn()

    def table(self, family: int) -> Any:
        t = self.tables.get(family)
        if t is None:
            t = self.tables[family] = FAMILIES[family].new_table(self)
        return t

    def proc_net(self) -> dict[bytes, Callable[[], bytes]]:
        """/proc/net's files: each registered family's."""
        out: dict[bytes, Callable[[], bytes]] = {}
        for fam in sorted(FAMILIES):
            out.update(FAMILIES[fam].proc_net(self))
        return out

    def monotonic(self) -> float:
        return self.kernel.clock.monotonic()

    def current(self) -> Any:
        return self.kernel.current


# ---- messages -----------------------------------------------------------------------------


class SendMsg:
    """One send: the bytes, the destination (raw sockaddr bytes, None when not given), the
    flags, and the control messages: descriptors (Files, each holding a reference the
    caller drops after the send), claimed credentials, and the other levels' cmsgs
    (level, type, data) for the family."""

    __slots__ = ("data", "addr", "flags", "rights", "creds", "cmsgs")

    def __init__(self, data: bytes, addr: bytes | None = None, flags: int = 0,
                 rights: list[File] | None = None, creds: Ucred | None = None,
                 cmsgs: list[tuple[int, int, bytes]] | None = None) -> None:  # fmt: skip
        self.data = data
        self.addr = addr
        self.flags = flags
        self.rights = rights
        self.creds = creds
        self.cmsgs = cmsgs


class RecvResult:
    """What a receive returns besides the bytes it put in the Sink: the call's result (the
    bytes copied, or the datagram's whole length under MSG_TRUNC), the source address (raw
    sockaddr bytes, None: none to report), msg_flags bits (MSG_TRUNC, ...), the sender's
    credentials (for SO_PASSCRED), received descriptors (the caller installs or drops
    them: it owns a reference to each), and the family's own control messages (level, type,
    data), in the order recvmsg gives them."""

    __slots__ = ("n", "addr", "flags", "creds", "rights", "cmsgs")

    def __init__(self, n: int, addr: bytes | None = None, flags: int = 0,
                 creds: Ucred | None = None, rights: list[File] | None = None) -> None:  # fmt: skip
        self.n = n
        self.addr = addr
        self.flags = flags
        self.creds = creds
        self.rights = rights
        self.cmsgs: list[tuple[int, int, bytes]] | None = None


class Sink:
    """Where a receive puts its bytes: the caller's iovecs, copied as the bytes come (a fault
    ends the receive there: the family keeps what it could not copy, as Linux's copy to the
    msghdr), or a buffer (read(2), and callers that copy afterwards)."""

    __slots__ = ("mm", "iovs", "size", "done", "buf", "_i", "_off")

    def __init__(self, size: int, mm: Any = None,
                 iovs: list[tuple[int, int]] | None = None) -> None:  # fmt: skip
        self.mm = mm
        self.iovs = iovs
        self.size = size  # bytes the caller asked for
        self.done = 0  # bytes put so far
        self.buf: list[bytes] | None = [] if iovs is None else None
        self._i = 0
        self._off = 0

    @property
    def left(self) -> int:
        return self.size - self.done

    def put(self, data: bytes) -> None:
        """Copy data (at most `left` bytes: the caller cuts) to the destination;
        KernelError(EFAULT) when the guest's memory is bad (nothing counted then)."""
        if not data:
            return
        if self.buf is not None:
            self.buf.append(bytes(data))
            self.done += len(data)
            return
        iovs, mm = self.iovs, self.mm
        assert iovs is not None
        i, off, pos, n = self._i, self._off, 0, len(data)
        while pos < n:
            while iovs[i][1] - off == 0:
                i += 1
                off = 0
            base, length = iovs[i]
            take = min(length - off, n - pos)
            mm.copy_out(base + off, data[pos : pos + take])
            pos += take
            off += take
        self._i, self._off = i, off
        self.done += n

    def data(self) -> bytes:
        return b"".join(self.buf or ())


# ---- the file -----------------------------------------------------------------------------


class SockInode(Inode):
    """A socket's inode in sockfs (mode S_IFSOCK|0777, owned by the creator's fs ids)."""

    __slots__ = ()


class Socket(File):
    """An open socket (struct socket with its file). O_RDWR, plus O_NONBLOCK if asked."""

    __slots__ = ("sk",)
    seekable = False
    may_block = True
    nowait = True  # sock_alloc_file gives FMODE_NOWAIT

    def __init__(self, sk: Sock, flags: int, cred: Any) -> None:
        sb = sk.net.sockfs
        inode = SockInode(sb, S_IFSOCK | 0o777, cred.fsuid, cred.fsgid)
        path = anon_path(sb, inode, b"socket:[%d]" % inode.ino)
        super().__init__(path, O_RDWR | (flags & O_NONBLOCK), inode)
        self.sk = sk
        sk.socket = self

    def msg_flags(self, flags: int = 0) -> int:
        """A call's flags with MSG_DONTWAIT added for an O_NONBLOCK file."""
        return flags | MSG_DONTWAIT if self.flags & O_NONBLOCK else flags

    def read(self, n: int) -> bytes:
        return self._recv(n, self.msg_flags())

    def read_nowait(self, n: int) -> bytes:
        return self._recv(n, MSG_DONTWAIT)  # sock_read_iter: IOCB_NOWAIT is MSG_DONTWAIT

    def write(self, data: bytes) -> int:
        return self.sk.sendmsg(self.sk.net.current(), SendMsg(data, flags=self.msg_flags()))

    def write_nowait(self, data: bytes) -> int:
        return self.sk.sendmsg(self.sk.net.current(), SendMsg(data, flags=MSG_DONTWAIT))

    def _recv(self, n: int, flags: int) -> bytes:
        if n <= 0:
            return b""
        sink = Sink(n)
        self.sk.recvmsg(self.sk.net.current(), sink, flags, False)
        return sink.data()

    def poll(self) -> int:
        return self.sk.poll()

    def poll_queue(self) -> WaitQueue:
        return self.sk.wait

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:  # SIOCINQ
            task.mm.copy_out(arg, _INT.pack(self.sk.inq_len()))
            return 0
        if cmd in DEV_IOCTLS:  # the interface ioctls answer on a socket of any family
            return dev_ioctl(task, self.sk.family, cmd, arg)
        return self.sk.ioctl(task, cmd, arg)

    def release(self) -> None:
        sk = self.sk
        sk.socket = None
        sk.release()
        super().release()

    def link_name(self, root: Any) -> bytes:
        return b"socket:[%d]" % self.inode.ino


# ---- the protocol side ----------------------------------------------------------------------


class Sock:
    """A socket's protocol state (struct sock). Families subclass it; the operations here are
    Linux's sock_no_* answers and the SOL_SOCKET options every family shares."""

    family = 0

    def __init__(self, net: NetNamespace, type_: int, protocol: int) -> None:
        self.net = net
        self.type = type_
        self.protocol = protocol
        self.cookie = 0  # SO_COOKIE, given when first asked for (Linux's sock_gen_cookie)
        self.socket: Socket | None = None  # the file, once there is one (accept makes it)
        self.wait = WaitQueue()  # readiness: what poll, select, epoll and sleepers hear
        self.state = TCP_CLOSE
        self.shutdown = 0  # RCV_SHUTDOWN | SEND_SHUTDOWN
        self.err = 0  # sk_err: a pending error, reported (and cleared) once
        self.err_soft = 0
        self.sndbuf = WMEM_DEFAULT
        self.rcvbuf = WMEM_DEFAULT
        self.rcvtimeo = 0  # jiffies; 0: none (MAX_SCHEDULE_TIMEOUT)
        self.sndtimeo = 0
        self.rcvlowat = 1
        self.passcred = False
        self.passsec = False
        self.linger: int | None = None  # SO_LINGER: seconds while on
        self.lingertime = 0
        self.peercred: Ucred | None = None  # sk_peer_pid and sk_peer_cred (euid, egid)
        self.peek_off = -1
        self.opts: dict[int, int] = {}  # options only kept and reported back

    # --- the operations a family implements (Linux's sock_no_* answers by default) ---
    def bind(self, task: Any, addr: bytes) -> None:
        raise KernelError(EOPNOTSUPP)

    def listen(self, task: Any, backlog: int) -> None:
        raise KernelError(EOPNOTSUPP)

    def accept(self, task: Any, nonblock: bool) -> Sock:
        raise KernelError(EOPNOTSUPP)

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        raise KernelError(EOPNOTSUPP)

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        raise KernelError(EOPNOTSUPP)

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        raise KernelError(EOPNOTSUPP)

    def do_shutdown(self, task: Any, how: int) -> None:
        raise KernelError(EOPNOTSUPP)

    def getname(self, peer: bool) -> bytes:
        """The socket's own address (peer False) or its peer's, as raw sockaddr bytes of the
        exact length Linux reports; ENOTCONN for a peer there is not."""
        raise KernelError(EOPNOTSUPP)

    def poll(self) -> int:
        return 0

    def release(self) -> None:
        """The file's last reference went away (Linux's ->release)."""

    def inq_len(self) -> int:
        raise KernelError(EINVAL)

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        """The family's ioctls (FIONREAD is Socket's); sock_do_ioctl's ENOTTY otherwise."""
        raise KernelError(ENOTTY)

    def setsockopt(self, task: Any, level: int, name: int, value: bytes) -> None:
        """A level of the family's own (SOL_SOCKET is set_sol_socket)."""
        raise KernelError(EOPNOTSUPP)

    def getsockopt(self, task: Any, level: int, name: int, size: int) -> bytes:
        raise KernelError(EOPNOTSUPP)

    def set_peek_off(self, val: int) -> None:
        """SO_PEEK_OFF, for families that have it (EOPNOTSUPP otherwise)."""
        raise KernelError(EOPNOTSUPP)

    @property
    def has_peek_off(self) -> bool:
        return False

    # --- waking and sleeping ---
    def notify(self, mask: int) -> None:
        self.wait.notify(mask)

    def sock_error(self) -> int:
        """The pending error, cleared (Linux's sock_error): 0 if none."""
        err, self.err = self.err, 0
        return err

    def rcv_deadline(self, nonblock: bool) -> float | None:
        """When a receive gives up: 0.0 for no wait at all (non-blocking), None for never,
        else the kernel's monotonic time (Linux's sock_rcvtimeo)."""
        return self._deadline(0 if nonblock else self.rcvtimeo, nonblock)

    def snd_deadline(self, nonblock: bool) -> float | None:
        return self._deadline(self.sndtimeo, nonblock)

    def _deadline(self, jiffies: int, nonblock: bool) -> float | None:
        if nonblock:
            return 0.0
        if not jiffies:
            return None
        return self.net.monotonic() + jiffies / HZ

    def sleep(self, waits: Iterable[tuple[WaitQueue, int]], ready: Callable[[], T],
              deadline: float | None) -> T | None:  # fmt: skip
        """wait_event with the socket's timeout: None when the deadline passed (the caller's
        EAGAIN); a signal is ERESTARTSYS without a timeout (restarted after an SA_RESTART
        handler) and EINTR with one (signal(7): never restarted)."""
        if deadline == 0.0:
            r = ready()
            return r or None
        try:
            return wait_event(waits, ready, deadline)
        except KernelError as e:
            if e.errno == ERESTARTSYS and deadline is not None:
                raise KernelError(EINTR) from None
            raise

    @staticmethod
    def would_block(deadline: float | None) -> None:
        """The check every sleeper starts with: a non-blocking call does not wait."""
        if deadline == 0.0:
            raise KernelError(EAGAIN)

    # --- SOL_SOCKET (sk_setsockopt / sk_getsockopt) ---
    def set_sol_socket(self, task: Any, name: int, value: bytes) -> None:
        if name == SO_BINDTODEVICE:
            raise KernelError(EPERM if not capable(task) else ENOPROTOOPT)
        if len(value) < 4:
            raise KernelError(EINVAL)
        if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW, SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
            self._set_timeout(name, value)
            return
        if name == SO_LINGER:
            self._set_linger(value)
            return
        val = _INT.unpack_from(value)[0]
        setter = _SET_INT.get(name)
        if setter is None:
            raise KernelError(ENOPROTOOPT)
        setter(self, task, val)

    def get_sol_socket(self, task: Any, name: int, size: int) -> bytes:
        """The option's bytes, cut to `size` by the caller (Linux copies min(len, lv))."""
        if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
            return _timeval(self.rcvtimeo)
        if name in (SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
            return _timeval(self.sndtimeo)
        if name == SO_LINGER:
            return _LINGER.pack(self.linger is not None, self.lingertime // HZ)
        if name == SO_PEERCRED:
            cred = self.peercred_of()
            return cred.pack() if cred is not None else Ucred(0, NO_ID, NO_ID).pack()
        if name == SO_PEERNAME:
            try:
                addr = self.getname(True)
            except KernelError:
                raise KernelError(ENOTCONN) from None
            if len(addr) < size:
                raise KernelError(EINVAL)
            return addr
        if name == SO_COOKIE:
            if size < 8:
                raise KernelError(EINVAL)
            if not self.cookie:  # a counter, as Linux's: never the host's address of self
                self.net.last_cookie += 1
                self.cookie = self.net.last_cookie
            return struct.pack("<Q", self.cookie)
        getter = _GET_INT.get(name)
        if getter is None:
            raise KernelError(ENOPROTOOPT)
        return _INT.pack(getter(self))

    def peercred_of(self) -> Ucred | None:
        return self.peercred

    def _set_timeout(self, name: int, value: bytes) -> None:
        """sock_set_timeout: a struct timeval (old or new: both 16 bytes on x86-64)."""
        if len(value) < _TIMEVAL.size:
            raise KernelError(EINVAL)
        sec, usec = _TIMEVAL.unpack_from(value)
        if usec < 0 or usec >= 1_000_000:
            raise KernelError(EDOM)
        if sec < 0:
            jiffies = -1  # Linux's 0 jiffies: no wait at all
        elif sec == 0 and usec == 0:
            jiffies = 0
        else:
            jiffies = sec * HZ + -(-usec // (1_000_000 // HZ))
            if jiffies >= (1 << 62):
                jiffies = 0
        if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
            self.rcvtimeo = jiffies
        else:
            self.sndtimeo = jiffies

    def _set_linger(self, value: bytes) -> None:
        if len(value) < _LINGER.size:
            raise KernelError(EINVAL)
        onoff, secs = _LINGER.unpack_from(value)
        if not onoff:
            self.linger = None
            return
        t = secs & 0xFFFF_FFFF_FFFF_FFFF
        self.lingertime = (1 << 63) - 1 if t >= ((1 << 63) - 1) // HZ else t * HZ
        self.linger = secs


def _timeval(jiffies: int) -> bytes:
    """sock_get_timeout: {0, 0} for none; a negative setting was kept as 0 jiffies."""
    if jiffies <= 0:
        return _TIMEVAL.pack(0, 0)
    return _TIMEVAL.pack(jiffies // HZ, (jiffies % HZ) * (1_000_000 // HZ))


def _flag(name: int) -> Callable[[Sock, Any, int], None]:
    def set_flag(sk: Sock, task: Any, val: int) -> None:
        sk.opts[name] = 1 if val else 0

    return set_flag


def _set_sndbuf(sk: Sock, task: Any, val: int, force: bool = False) -> None:
    """Linux doubles the size asked for (the bookkeeping overhead) within [min, 2*max]."""
    if force:
        if not capable(task):
            raise KernelError(EPERM)
        val = max(val, 0)
    else:
        val = min(val & 0xFFFF_FFFF, WMEM_MAX)
    sk.sndbuf = max(min(val, INT_MAX // 2) * 2, SOCK_MIN_SNDBUF)
    sk.notify(ALL_EVENTS)  # writers may fit now


def _set_rcvbuf(sk: Sock, task: Any, val: int, force: bool = False) -> None:
    if force:
        if not capable(task):
            raise KernelError(EPERM)
        val = max(val, 0)
    else:
        val = min(val & 0xFFFF_FFFF, RMEM_MAX)
    sk.rcvbuf = max(min(val, INT_MAX // 2) * 2, SOCK_MIN_RCVBUF)


def _set_priority(sk: Sock, task: Any, val: int) -> None:
    if not 0 <= val <= 6 and not capable(task):
        raise KernelError(EPERM)
    sk.opts[SO_PRIORITY] = val


def _set_mark(sk: Sock, task: Any, val: int) -> None:
    if not capable(task):
        raise KernelError(EPERM)
    sk.opts[SO_MARK] = val & 0xFFFF_FFFF


def _set_debug(sk: Sock, task: Any, val: int) -> None:
    if val and not capable(task):
        raise KernelError(EACCES)
    sk.opts[SO_DEBUG] = 1 if val else 0


def _set_rcvlowat(sk: Sock, task: Any, val: int) -> None:
    sk.rcvlowat = INT_MAX if val < 0 else (val or 1)


def _set_passcred(sk: Sock, task: Any, val: int) -> None:
    sk.passcred = bool(val)


def _set_passsec(sk: Sock, task: Any, val: int) -> None:
    sk.passsec = bool(val)


def _set_peek_off(sk: Sock, task: Any, val: int) -> None:
    sk.set_peek_off(val)


def _read_only(sk: Sock, task: Any, val: int) -> None:
    raise KernelError(ENOPROTOOPT)


def _ignore(sk: Sock, task: Any, val: int) -> None:
    pass


def _keep(name: int) -> Callable[[Sock, Any, int], None]:
    def keep(sk: Sock, task: Any, val: int) -> None:
        sk.opts[name] = val

    return keep


def _set_reuseport(sk: Sock, task: Any, val: int) -> None:
    """Only internet sockets share ports (Linux 6.18: EOPNOTSUPP for the others)."""
    if val and sk.family not in (AF_INET, AF_INET6):
        raise KernelError(EOPNOTSUPP)
    sk.opts[SO_REUSEPORT] = 1 if val else 0


def _set_buf_lock(sk: Sock, task: Any, val: int) -> None:
    if val & ~3:
        raise KernelError(EINVAL)
    sk.opts[SO_BUF_LOCK] = val


_SET_INT: dict[int, Callable[[Sock, Any, int], None]] = {
    SO_DEBUG: _set_debug,
    SO_REUSEADDR: _flag(SO_REUSEADDR),
    SO_REUSEPORT: _set_reuseport,
    SO_TYPE: _read_only,
    SO_PROTOCOL: _read_only,
    SO_DOMAIN: _read_only,
    SO_ERROR: _read_only,
    SO_DONTROUTE: _flag(SO_DONTROUTE),
    SO_BROADCAST: _flag(SO_BROADCAST),
    SO_SNDBUF: _set_sndbuf,
    SO_SNDBUFFORCE: lambda sk, t, v: _set_sndbuf(sk, t, v, True),
    SO_RCVBUF: _set_rcvbuf,
    SO_RCVBUFFORCE: lambda sk, t, v: _set_rcvbuf(sk, t, v, True),
    SO_KEEPALIVE: _flag(SO_KEEPALIVE),
    SO_OOBINLINE: _flag(SO_OOBINLINE),
    SO_NO_CHECK: _flag(SO_NO_CHECK),
    SO_PRIORITY: _set_priority,
    SO_BSDCOMPAT: _ignore,
    SO_PASSCRED: _set_passcred,
    SO_PASSSEC: _set_passsec,
    SO_RCVLOWAT: _set_rcvlowat,
    SO_MARK: _set_mark,
    SO_RCVMARK: _flag(SO_RCVMARK),
    SO_RXQ_OVFL: _flag(SO_RXQ_OVFL),
    SO_WIFI_STATUS: _flag(SO_WIFI_STATUS),
    SO_PEEK_OFF: _set_peek_off,
    SO_NOFCS: _flag(SO_NOFCS),
    SO_SELECT_ERR_QUEUE: _flag(SO_SELECT_ERR_QUEUE),
    SO_TIMESTAMP_OLD: _flag(SO_TIMESTAMP_OLD),
    SO_TIMESTAMPNS_OLD: _flag(SO_TIMESTAMPNS_OLD),
    SO_TIMESTAMP_NEW: _flag(SO_TIMESTAMP_OLD),
    SO_TIMESTAMPNS_NEW: _flag(SO_TIMESTAMPNS_OLD),
    SO_BUSY_POLL: _keep(SO_BUSY_POLL),
    SO_INCOMING_CPU: _keep(SO_INCOMING_CPU),
    SO_BINDTOIFINDEX: _keep(SO_BINDTOIFINDEX),
    SO_BUF_LOCK: _set_buf_lock,
}


def _opt(name: int, default: int = 0) -> Callable[[Sock], int]:
    return lambda sk: sk.opts.get(name, default)


def _get_error(sk: Sock) -> int:
    err = sk.sock_error()
    if not err:
        err, sk.err_soft = sk.err_soft, 0
    return err


_GET_INT: dict[int, Callable[[Sock], int]] = {
    SO_DEBUG: _opt(SO_DEBUG),
    SO_DONTROUTE: _opt(SO_DONTROUTE),
    SO_BROADCAST: _opt(SO_BROADCAST),
    SO_SNDBUF: lambda sk: sk.sndbuf,
    SO_RCVBUF: lambda sk: sk.rcvbuf,
    SO_REUSEADDR: _opt(SO_REUSEADDR),
    SO_REUSEPORT: _opt(SO_REUSEPORT),
    SO_KEEPALIVE: _opt(SO_KEEPALIVE),
    SO_TYPE: lambda sk: sk.type,
    SO_PROTOCOL: lambda sk: sk.protocol,
    SO_DOMAIN: lambda sk: sk.family,
    SO_ERROR: _get_error,
    SO_OOBINLINE: _opt(SO_OOBINLINE),
    SO_NO_CHECK: _opt(SO_NO_CHECK),
    SO_PRIORITY: _opt(SO_PRIORITY),
    SO_BSDCOMPAT: lambda sk: 0,
    SO_RCVLOWAT: lambda sk: sk.rcvlowat,
    SO_SNDLOWAT: lambda sk: 1,
    SO_PASSCRED: lambda sk: int(sk.passcred),
    SO_PASSSEC: lambda sk: int(sk.passsec),
    SO_ACCEPTCONN: lambda sk: int(sk.state == TCP_LISTEN),
    SO_MARK: _opt(SO_MARK),
    SO_RCVMARK: _opt(SO_RCVMARK),
    SO_RXQ_OVFL: _opt(SO_RXQ_OVFL),
    SO_WIFI_STATUS: _opt(SO_WIFI_STATUS),
    SO_NOFCS: _opt(SO_NOFCS),
    SO_SELECT_ERR_QUEUE: _opt(SO_SELECT_ERR_QUEUE),
    SO_TIMESTAMP_OLD: _opt(SO_TIMESTAMP_OLD),
    SO_TIMESTAMPNS_OLD: _opt(SO_TIMESTAMPNS_OLD),
    SO_TIMESTAMP_NEW: _opt(SO_TIMESTAMP_OLD),
    SO_TIMESTAMPNS_NEW: _opt(SO_TIMESTAMPNS_OLD),
    SO_BUSY_POLL: _opt(SO_BUSY_POLL),
    SO_INCOMING_CPU: _opt(SO_INCOMING_CPU, -1),
    SO_BINDTOIFINDEX: _opt(SO_BINDTOIFINDEX),
    SO_BUF_LOCK: _opt(SO_BUF_LOCK),
}


def _get_peek_off(sk: Sock) -> int:
    if not sk.has_peek_off:
        raise KernelError(EOPNOTSUPP)
    return sk.peek_off


_GET_INT[SO_PEEK_OFF] = _get_peek_off


# ---- scm: what a message may carry -----------------------------------------------------------


def check_creds(task: Any, creds: Ucred) -> None:
    """scm_check_creds and the lookup of __scm_send: a sender claims its own pid (any, for
    root) and one of its real, effective or saved ids (any, for root); -1 is EINVAL, a pid
    that does not exist ESRCH."""
    c = task.cred
    if creds.uid == NO_ID or creds.gid == NO_ID:
        raise KernelError(EINVAL)
    admin = capable(task)
    if not (creds.pid == task.group.pid or admin) or \
            not (creds.uid in (c.uid, c.euid, c.suid) or admin) or \
            not (creds.gid in (c.gid, c.egid, c.sgid) or admin):  # fmt: skip
        raise KernelError(EPERM)
    if task.kernel.pids.groups.get(creds.pid) is None and \
            task.kernel.pids.threads.get(creds.pid) is None:  # fmt: skip
        raise KernelError(ESRCH)



def sock_cmsg_send(task: Any, cmsgs: list[tuple[int, int, bytes]] | None) -> None:
    """sock_cmsg_send: the SOL_SOCKET messages of a socket without scm_send (internet
    sockets), checked as __sock_cmsg_send checks them; SCM_RIGHTS and SCM_CREDENTIALS are
    AF_UNIX's and ignored here, what is asked (a mark, a priority, timestamps) changes
    nothing on lo. The other levels are not this function's."""
    for level, type_, data in cmsgs or ():
        if level == SOL_SOCKET:
            sock_cmsg(task, type_, data)


def sock_cmsg(task: Any, type_: int, data: bytes) -> None:
    """__sock_cmsg_send for one SOL_SOCKET message."""
    if type_ in (SCM_RIGHTS, SCM_CREDENTIALS):
        return
    if type_ == SO_MARK:
        if not capable(task):
            raise KernelError(EPERM)
        if len(data) != 4:
            raise KernelError(EINVAL)
    elif type_ == SO_PRIORITY:
        prio = int.from_bytes(data[:4].ljust(4, b"\0"), "little")
        if prio > TC_PRIO_INTERACTIVE and not capable(task):
            raise KernelError(EPERM)
        if len(data) != 4:
            raise KernelError(EINVAL)
    elif type_ == SCM_DEVMEM_DMABUF:
        if len(data) != 4:
            raise KernelError(EINVAL)
    elif type_ in (SO_TIMESTAMPING_OLD, SO_TIMESTAMPING_NEW):
        if len(data) != 4 or _INT.unpack(data)[0] & ~SOF_TIMESTAMPING_TX_RECORD_MASK:
            raise KernelError(EINVAL)
    else:
        raise KernelError(EINVAL)  # SCM_TXTIME without SO_TXTIME, SCM_TS_OPT_ID, unknown
