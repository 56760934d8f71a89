"""Socket system calls (Linux's net/socket.c): the arguments are decoded and checked here,
once for every family; the family's Sock does the rest (twaron/net/).

- fds: EBADF for a closed one (or an O_PATH one), ENOTSOCK for a file that is not a socket.
- addresses: move_addr_to_kernel (length 0..128, else EINVAL) and move_addr_to_user (the
  caller's length in, the address cut to it, the full length out).
- messages: struct msghdr and its iovecs, control messages with Linux's CMSG alignment:
  SCM_RIGHTS and SCM_CREDENTIALS are parsed before the family sees the message (scm_send)
  and written back after a receive (scm_recv: MSG_CTRUNC when they do not fit, received
  descriptors installed, MSG_CMSG_CLOEXEC).
- the O_NONBLOCK of the file is MSG_DONTWAIT for every send and receive.
"""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    AF_INET,
    AF_INET6,
    AF_MAX,
    AF_UNIX,
    MAX_RW_COUNT,
    MSG_CMSG_CLOEXEC,
    MSG_CMSG_COMPAT,
    MSG_CTRUNC,
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    MSG_OOB,
    MSG_WAITFORONE,
    O_NONBLOCK,
    O_PATH,
    OPTMEM_MAX,
    SCM_CREDENTIALS,
    SCM_MAX_FD,
    SCM_RIGHTS,
    SIZEOF_CMSGHDR,
    SIZEOF_MMSGHDR,
    SIZEOF_SOCKADDR_STORAGE,
    SOCK_CLOEXEC,
    SOCK_MAX,
    SOCK_NONBLOCK,
    SOCK_TYPE_MASK,
    SOL_SOCKET,
    SOMAXCONN,
    UIO_MAXIOV,
    USER_TOP,
)
from twaron.arch.x86_64.errno import (
    EAFNOSUPPORT,
    EAGAIN,
    EBADF,
    ECONNABORTED,
    EFAULT,
    EINVAL,
    EMFILE,
    EMSGSIZE,
    ENOBUFS,
    ENOTSOCK,
)
from twaron.errors import KernelError
from twaron.fs.vfs import File
from twaron.net.socket import (
    FAMILIES,
    RecvResult,
    SendMsg,
    Sink,
    Sock,
    Socket,
    Ucred,
    check_creds,
)
from twaron.net.unix import UNIX
from twaron.syscalls.fs import _nofile
from twaron.syscalls.table import s32, s64, syscall
from twaron.wait import need_context

_INT = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<QQ")
_MSGHDR = struct.Struct("<QixxxxQQQQixxxx")  # name, namelen, iov, iovlen, control, ...len, flags
_CMSGHDR = struct.Struct("<Qii")  # cmsg_len, cmsg_level, cmsg_type
_TIMESPEC = struct.Struct("<qq")
_UCRED = struct.Struct("<iII")
MSG_NAMELEN_OFF = 8
MSG_CONTROLLEN_OFF = 40
MSG_FLAGS_OFF = 48
MMSG_LEN_OFF = 56
OPT_READ_MAX = 512  # option bytes read for a setsockopt (Linux reads what the option needs)
assert _MSGHDR.size == 56 and UNIX.family == AF_UNIX


# ---- fds and addresses ------------------------------------------------------------------


def _file(task: Any, fd: int) -> File:
    f = task.files.get(s32(fd))
    if f.flags & O_PATH:
        raise KernelError(EBADF)
    return f


def sockfd(task: Any, fd: int) -> Socket:
    """sockfd_lookup: EBADF, or ENOTSOCK for a file that is not a socket."""
    f = _file(task, fd)
    if not isinstance(f, Socket):
        raise KernelError(ENOTSOCK)
    return f


def addr_in(task: Any, uaddr: int, addrlen: int) -> bytes:
    """move_addr_to_kernel: 0 to sizeof(struct sockaddr_storage) bytes, else EINVAL."""
    n = s32(addrlen)
    if n < 0 or n > SIZEOF_SOCKADDR_STORAGE:
        raise KernelError(EINVAL)
    return task.mm.copy_in(uaddr, n) if n else b""


def addr_out(task: Any, kaddr: bytes, uaddr: int, ulen: int) -> None:
    """move_addr_to_user: as much of the address as the caller's length allows, and the
    address's whole length written back (1003.1g: the value before truncation)."""
    mm = task.mm
    n = _INT.unpack(mm.copy_in(ulen, 4))[0]
    n = min(n, len(kaddr))
    if n < 0:
        raise KernelError(EINVAL)
    if n:
        mm.copy_out(uaddr, kaddr[:n])
    mm.copy_out(ulen, _INT.pack(len(kaddr)))


def _free_fds(task: Any, count: int) -> list[int]:
    """The fds the next `count` installs will take (get_unused_fd_flags: EMFILE past the
    limit), without taking them."""
    files = task.files.files
    limit = _nofile(task)
    out = []
    fd = 0
    while len(out) < count:
        while fd < len(files) and files[fd] is not None:
            fd += 1
        if fd >= limit:
            raise KernelError(EMFILE)
        out.append(fd)
        fd += 1
    return out


def _install(task: Any, f: File, cloexec: bool) -> int:
    try:
        return task.files.install(f, cloexec, 0, _nofile(task))
    except KernelError:
        f.put()
        raise


def _nonblock(f: File) -> bool:
    return bool(f.flags & O_NONBLOCK)


# ---- socket, socketpair -------------------------------------------------------------------


def _type_flags(type_: int) -> tuple[int, int]:
    t = s32(type_)
    flags = t & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise KernelError(EINVAL)
    return t & SOCK_TYPE_MASK, flags


def _create(task: Any, family: int, type_: int, protocol: int) -> Sock:
    """__sock_create: the family's range, the type's, then the family's own checks."""
    if family < 0 or family >= AF_MAX:
        raise KernelError(EAFNOSUPPORT)
    if type_ >= SOCK_MAX:
        raise KernelError(EINVAL)
    fam = FAMILIES.get(family)
    if fam is None:
        raise KernelError(EAFNOSUPPORT)
    return fam.create(task.kernel.net, task, type_, protocol)


@syscall("socket")
def sys_socket(task: Any, family: int, type_: int, protocol: int, *_: int) -> int:
    t, flags = _type_flags(type_)
    sk = _create(task, s32(family), t, s32(protocol))
    return _install(task, Socket(sk, flags, task.cred), bool(flags & SOCK_CLOEXEC))


@syscall("socketpair")
def sys_socketpair(task: Any, family: int, type_: int, protocol: int, usv: int, *_: int) -> int:
    t, flags = _type_flags(type_)
    fd1, fd2 = _free_fds(task, 2)
    task.mm.copy_out(usv, struct.pack("<ii", fd1, fd2))
    fam_no = s32(family)
    a = _create(task, fam_no, t, s32(protocol))
    try:
        b = _create(task, fam_no, t, s32(protocol))
    except KernelError:
        a.release()
        raise
    try:
        FAMILIES[fam_no].socketpair(a, b, task)
    except KernelError:
        a.release()
        b.release()
        raise
    cloexec = bool(flags & SOCK_CLOEXEC)
    task.files.install(Socket(a, flags, task.cred), cloexec, 0, _nofile(task))
    task.files.install(Socket(b, flags, task.cred), cloexec, 0, _nofile(task))
    return 0


# ---- bind, listen, accept, connect, names, shutdown ----------------------------------------


@syscall("bind")
def sys_bind(task: Any, fd: int, uaddr: int, addrlen: int, *_: int) -> int:
    sock = sockfd(task, fd)
    sock.sk.bind(task, addr_in(task, uaddr, addrlen))
    return 0


@syscall("listen")
def sys_listen(task: Any, fd: int, backlog: int, *_: int) -> int:
    sock = sockfd(task, fd)
    n = backlog & 0xFFFF_FFFF
    sock.sk.listen(task, SOMAXCONN if n > SOMAXCONN else n)
    return 0


@syscall("accept4")
def sys_accept4(task: Any, fd: int, uaddr: int, ulen: int, flags: int, *_: int) -> int:
    f = _file(task, fd)
    flags = s32(flags)
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise KernelError(EINVAL)
    _free_fds(task, 1)
    if not isinstance(f, Socket):
        raise KernelError(ENOTSOCK)
    newsk = f.sk.accept(task, _nonblock(f))
    newfile = Socket(newsk, flags, task.cred)
    if uaddr:
        try:
            try:
                peer = newsk.getname(True)
            except KernelError:
                raise KernelError(ECONNABORTED) from None
            addr_out(task, peer, uaddr, ulen)
        except KernelError:
            newfile.put()  # the connection is lost, as Linux's do_accept drops it
            raise
    return _install(task, newfile, bool(flags & SOCK_CLOEXEC))


@syscall("accept")
def sys_accept(task: Any, fd: int, uaddr: int, ulen: int, *_: int) -> int:
    return sys_accept4(task, fd, uaddr, ulen, 0)


@syscall("connect")
def sys_connect(task: Any, fd: int, uaddr: int, addrlen: int, *_: int) -> int:
    sock = sockfd(task, fd)
    sock.sk.connect(task, addr_in(task, uaddr, addrlen), _nonblock(sock))
    return 0


@syscall("getsockname")
def sys_getsockname(task: Any, fd: int, uaddr: int, ulen: int, *_: int) -> int:
    sock = sockfd(task, fd)
    addr_out(task, sock.sk.getname(False), uaddr, ulen)
    return 0


@syscall("getpeername")
def sys_getpeername(task: Any, fd: int, uaddr: int, ulen: int, *_: int) -> int:
    sock = sockfd(task, fd)
    addr_out(task, sock.sk.getname(True), uaddr, ulen)
    return 0


@syscall("shutdown")
def sys_shutdown(task: Any, fd: int, how: int, *_: int) -> int:
    sock = sockfd(task, fd)
    sock.sk.do_shutdown(task, s32(how))
    return 0


# ---- options ------------------------------------------------------------------------------


@syscall("setsockopt")
def sys_setsockopt(task: Any, fd: int, level: int, name: int, optval: int, optlen: int,
                   *_: int) -> int:  # fmt: skip
    sock = sockfd(task, fd)
    n = s32(optlen)
    if n < 0:
        raise KernelError(EINVAL)
    value = task.mm.copy_in(optval, min(n, OPT_READ_MAX))
    level, name = s32(level), s32(name)
    if level == SOL_SOCKET:
        sock.sk.set_sol_socket(task, name, value)
    else:
        sock.sk.setsockopt(task, level, name, value)
    return 0


@syscall("getsockopt")
def sys_getsockopt(task: Any, fd: int, level: int, name: int, optval: int, optlen: int,
                   *_: int) -> int:  # fmt: skip
    sock = sockfd(task, fd)
    mm = task.mm
    n = _INT.unpack(mm.copy_in(optlen, 4))[0]
    if n < 0:
        raise KernelError(EINVAL)
    level, name = s32(level), s32(name)
    if level == SOL_SOCKET:
        data = sock.sk.get_sol_socket(task, name, n)
    else:
        data = sock.sk.getsockopt(task, level, name, n)
    n = min(n, len(data))
    mm.copy_out(optval, data[:n])
    mm.copy_out(optlen, _INT.pack(n))
    return 0


# ---- messages: decoding -------------------------------------------------------------------


def _iovecs(task: Any, iov: int, count: int) -> list[tuple[int, int]]:
    """import_iovec: EMSGSIZE past UIO_MAXIOV, EINVAL for a negative length, EFAULT for a
    vector or a buffer outside the user half; the total is cut at MAX_RW_COUNT."""
    if count > UIO_MAXIOV:
        raise KernelError(EMSGSIZE)
    if count == 0:
        return []
    raw = task.mm.copy_in(iov, 16 * count)
    out = []
    total = 0
    for i in range(count):
        base, length = _IOVEC.unpack_from(raw, 16 * i)
        if s64(length) < 0:
            raise KernelError(EINVAL)
        if length and (base >= USER_TOP or base + length > USER_TOP):
            raise KernelError(EFAULT)
        length = min(length, MAX_RW_COUNT - total)
        total += length
        out.append((base, length))
    return out


def _range_ok(buf: int, n: int) -> int:
    """import_single_range: the buffer's length cut at MAX_RW_COUNT, EFAULT outside the user
    half."""
    n = min(n, MAX_RW_COUNT)
    if n and (buf >= USER_TOP or buf + n > USER_TOP):
        raise KernelError(EFAULT)
    return n


class MsgHdr:
    """A struct msghdr as read from the guest."""

    __slots__ = ("name", "namelen", "iovs", "control", "controllen")

    def __init__(self, task: Any, umsg: int) -> None:
        name, namelen, iov, iovlen, control, controllen, _flags = _MSGHDR.unpack(
            task.mm.copy_in(umsg, _MSGHDR.size))  # fmt: skip
        if not name:
            namelen = 0
        if namelen < 0:
            raise KernelError(EINVAL)
        self.name = name
        self.namelen = min(namelen, SIZEOF_SOCKADDR_STORAGE)
        if iovlen > UIO_MAXIOV:
            raise KernelError(EMSGSIZE)
        self.iovs = _iovecs(task, iov, iovlen)
        self.control = control
        self.controllen = controllen

    @property
    def size(self) -> int:
        return sum(n for _, n in self.iovs)


def _cmsgs(ctl: bytes) -> list[tuple[int, int, bytes]]:
    """for_each_cmsghdr with CMSG_OK: (level, type, data) of each control message; EINVAL
    for a header whose length is too short or runs past the buffer."""
    out = []
    pos = 0
    size = len(ctl)
    while pos + SIZEOF_CMSGHDR <= size:
        length, level, type_ = _CMSGHDR.unpack_from(ctl, pos)
        if length < SIZEOF_CMSGHDR or length > size - pos:
            raise KernelError(EINVAL)
        out.append((level, type_, ctl[pos + SIZEOF_CMSGHDR : pos + length]))
        pos += _align(length)
    return out


def _align(n: int) -> int:
    return (n + 7) & ~7


def _scm_send(task: Any, sock: Socket, cmsgs: list[tuple[int, int, bytes]], msg: SendMsg) -> None:
    """__scm_send: SOL_SOCKET messages are SCM_RIGHTS (AF_UNIX only; at most SCM_MAX_FD
    descriptors in all; EBADF for one not open) and SCM_CREDENTIALS (exactly a struct
    ucred the sender may claim); any other SOL_SOCKET type is EINVAL; other levels are the
    family's. Internet sockets have no scm_send: every message is theirs (sock_cmsg_send
    checks the SOL_SOCKET ones, in order with their own). On error the references taken are
    dropped."""
    if sock.sk.family in (AF_INET, AF_INET6):
        msg.cmsgs = cmsgs or None
        return
    other = []
    rights: list[File] = []
    try:
        for level, type_, data in cmsgs:
            if level != SOL_SOCKET:
                other.append((level, type_, data))
                continue
            if type_ == SCM_RIGHTS:
                if sock.sk.family != AF_UNIX:
                    raise KernelError(EINVAL)
                num = len(data) // 4
                if num <= 0:
                    continue
                if num > SCM_MAX_FD or len(rights) + num > SCM_MAX_FD:
                    raise KernelError(EINVAL)
                for (fd,) in struct.iter_unpack("<i", data[: 4 * num]):
                    f = task.files.lookup(fd) if fd >= 0 else None
                    if f is None:
                        raise KernelError(EBADF)
                    rights.append(f.get())
            elif type_ == SCM_CREDENTIALS:
                if len(data) != _UCRED.size:
                    raise KernelError(EINVAL)
                creds = Ucred(*_UCRED.unpack(data))
                check_creds(task, creds)
                msg.creds = creds
            else:
                raise KernelError(EINVAL)
    except BaseException:
        for f in rights:
            f.put()
        raise
    msg.rights = rights or None
    msg.cmsgs = other or None


# ---- messages: sending --------------------------------------------------------------------


def _send(task: Any, sock: Socket, msg: SendMsg) -> int:
    """sock_sendmsg: the family sends; the descriptors' references taken for the message
    are dropped afterwards (the family took its own for what it queued)."""
    msg.flags = sock.msg_flags(msg.flags)
    try:
        return sock.sk.sendmsg(task, msg)
    finally:
        for f in msg.rights or ():
            f.put()


def _gather(task: Any, iovs: list[tuple[int, int]]) -> bytes:
    mm = task.mm
    return b"".join(mm.copy_in(base, n) for base, n in iovs if n)


def _sendmsg(task: Any, sock: Socket, umsg: int, flags: int) -> tuple[int, int]:
    """___sys_sendmsg: (bytes sent, bytes the message had)."""
    hdr = MsgHdr(task, umsg)
    addr = task.mm.copy_in(hdr.name, hdr.namelen) if hdr.namelen else None
    if hdr.controllen > 0x7FFF_FFFF or hdr.controllen > OPTMEM_MAX:
        raise KernelError(ENOBUFS)
    ctl = task.mm.copy_in(hdr.control, hdr.controllen) if hdr.controllen else b""
    data = _gather(task, hdr.iovs)
    msg = SendMsg(data, addr, flags)
    if ctl:
        _scm_send(task, sock, _cmsgs(ctl), msg)
    return _send(task, sock, msg), len(data)


@syscall("sendto")
def sys_sendto(task: Any, fd: int, buf: int, length: int, flags: int, uaddr: int,
               addrlen: int) -> int:  # fmt: skip
    n = _range_ok(buf, length)
    sock = sockfd(task, fd)
    addr = addr_in(task, uaddr, addrlen) if uaddr else b""
    data = task.mm.copy_in(buf, n) if n else b""
    return _send(task, sock, SendMsg(data, addr or None, flags & 0xFFFF_FFFF))


@syscall("sendmsg")
def sys_sendmsg(task: Any, fd: int, umsg: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & MSG_CMSG_COMPAT:
        raise KernelError(EINVAL)
    sock = sockfd(task, fd)
    return _sendmsg(task, sock, umsg, flags)[0]


@syscall("sendmmsg")
def sys_sendmmsg(task: Any, fd: int, umsgs: int, vlen: int, flags: int, *_: int) -> int:
    """Sends until one fails or is sent in part; the count sent, or the first error."""
    flags &= 0xFFFF_FFFF
    if flags & MSG_CMSG_COMPAT:
        raise KernelError(EINVAL)
    sock = sockfd(task, fd)
    vlen = min(vlen & 0xFFFF_FFFF, UIO_MAXIOV)
    if vlen > 1 and not sock.flags & O_NONBLOCK and not flags & MSG_DONTWAIT:
        need_context()  # a later message may sleep after an earlier one went out
    done = 0
    for i in range(vlen):
        entry = umsgs + SIZEOF_MMSGHDR * i
        try:
            sent, total = _sendmsg(task, sock, entry, flags)
            task.mm.copy_out(entry + MMSG_LEN_OFF, _U32.pack(sent))
        except KernelError:
            if done:
                return done
            raise
        done += 1
        if sent < total:
            break
    return done


# ---- messages: receiving ------------------------------------------------------------------


def _drop(res: RecvResult) -> None:
    for f in res.rights or ():
        f.put()


def _recv(task: Any, sock: Socket, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
    return sock.sk.recvmsg(task, sink, sock.msg_flags(flags), want_addr)


@syscall("recvfrom")
def sys_recvfrom(task: Any, fd: int, buf: int, length: int, flags: int, uaddr: int,
                 ulen: int) -> int:  # fmt: skip
    n = _range_ok(buf, length)
    sock = sockfd(task, fd)
    res = _recv(task, sock, Sink(n, task.mm, [(buf, n)]), flags & 0xFFFF_FFFF, bool(uaddr))
    _drop(res)  # no control buffer: descriptors are closed (scm_recv)
    if uaddr:
        addr_out(task, res.addr or b"", uaddr, ulen)
    return res.n


class Control:
    """The receiver's control buffer, filled as Linux's put_cmsg and scm_detach_fds fill it."""

    __slots__ = ("task", "addr", "left", "used", "flags")

    def __init__(self, task: Any, addr: int, size: int) -> None:
        self.task = task
        self.addr = addr
        self.left = size
        self.used = 0
        self.flags = 0

    def _advance(self, n: int) -> None:
        n = min(n, self.left)
        self.addr += n
        self.left -= n
        self.used += n

    def put(self, level: int, type_: int, data: bytes) -> None:
        """put_cmsg: a header and as much of the data as fits (MSG_CTRUNC when cut)."""
        if self.left < SIZEOF_CMSGHDR:
            self.flags |= MSG_CTRUNC
            return
        cmlen = SIZEOF_CMSGHDR + len(data)
        if self.left < cmlen:
            self.flags |= MSG_CTRUNC
            cmlen = self.left
        mm = self.task.mm
        try:
            mm.copy_out(self.addr, _CMSGHDR.pack(cmlen, level, type_))
            mm.copy_out(self.addr + SIZEOF_CMSGHDR, data[: cmlen - SIZEOF_CMSGHDR])
        except KernelError:
            return
        self._advance(SIZEOF_CMSGHDR + _align(len(data)))

    def put_fds(self, files: list[File], cloexec: bool) -> None:
        """scm_detach_fds: install as many descriptors as the buffer holds and the fd table
        takes (EMFILE stops it: MSG_CTRUNC); the rest are closed."""
        task = self.task
        fdmax = 0 if self.left <= SIZEOF_CMSGHDR else (self.left - SIZEOF_CMSGHDR) // 4
        fdmax = min(fdmax, len(files))
        base = self.addr + SIZEOF_CMSGHDR
        i = 0
        while i < fdmax:
            try:
                (fd,) = _free_fds(task, 1)
                task.mm.copy_out(base + 4 * i, _INT.pack(fd))
            except KernelError:
                break
            task.files.install(files[i], cloexec, 0, _nofile(task))
            i += 1
        if i:
            try:
                task.mm.copy_out(self.addr, _CMSGHDR.pack(SIZEOF_CMSGHDR + 4 * i, SOL_SOCKET,
                                                          SCM_RIGHTS))  # fmt: skip
                self._advance(SIZEOF_CMSGHDR + _align(4 * i))
            except KernelError:
                pass
        if i < len(files) or (files and fdmax <= 0):
            self.flags |= MSG_CTRUNC
        for f in files[i:]:
            f.put()


def _scm_recv(task: Any, sk: Sock, res: RecvResult, control: Control | None,
              flags: int) -> int:  # fmt: skip
    """The family's control messages (put while its recvmsg runs, as Linux's udp_recvmsg
    puts IP_TTL...), then scm_recv: SCM_CREDENTIALS for a receiver with SO_PASSCRED, then
    SCM_RIGHTS; without a control buffer, MSG_CTRUNC says something was left out. msg_flags
    bits it adds."""
    if control is None:
        _drop(res)
        return MSG_CTRUNC if sk.passcred or res.rights or res.cmsgs else 0
    for level, type_, data in res.cmsgs or ():
        control.put(level, type_, data)
    if sk.passcred and res.creds is not None:
        control.put(SOL_SOCKET, SCM_CREDENTIALS, res.creds.pack_munged())
    if res.rights:
        control.put_fds(res.rights, bool(flags & MSG_CMSG_CLOEXEC))
    return control.flags


def _recvmsg(task: Any, sock: Socket, umsg: int, flags: int) -> RecvResult:
    """___sys_recvmsg: the data, then the control messages, the sender's address, msg_flags
    and msg_controllen written back."""
    hdr = MsgHdr(task, umsg)
    sink = Sink(min(hdr.size, MAX_RW_COUNT), task.mm, hdr.iovs)
    res = _recv(task, sock, sink, flags, bool(hdr.name))
    control = Control(task, hdr.control, hdr.controllen) if hdr.control else None
    mflags = (flags & MSG_CMSG_CLOEXEC) | res.flags
    mflags |= _scm_recv(task, sock.sk, res, control, flags)
    mm = task.mm
    if hdr.name:
        addr_out(task, res.addr or b"", hdr.name, umsg + MSG_NAMELEN_OFF)
    mm.copy_out(umsg + MSG_FLAGS_OFF, _INT.pack(s32(mflags)))
    mm.copy_out(umsg + MSG_CONTROLLEN_OFF, _U64.pack(control.used if control else 0))
    res.flags = mflags
    return res


@syscall("recvmsg")
def sys_recvmsg(task: Any, fd: int, umsg: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & MSG_CMSG_COMPAT:
        raise KernelError(EINVAL)
    sock = sockfd(task, fd)
    return _recvmsg(task, sock, umsg, flags).n


@syscall("recvmmsg")
def sys_recvmmsg(task: Any, fd: int, umsgs: int, vlen: int, flags: int, utimeout: int,
                 *_: int) -> int:  # fmt: skip
    """do_recvmmsg: receives until vlen messages, an error, or (checked after each message)
    the timeout; an error after some messages is kept for the next call (SO_ERROR)."""
    flags &= 0xFFFF_FFFF
    if flags & MSG_CMSG_COMPAT:
        raise KernelError(EINVAL)
    mm = task.mm
    end = None
    clock = task.kernel.clock
    if utimeout:
        sec, nsec = _TIMESPEC.unpack(mm.copy_in(utimeout, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise KernelError(EINVAL)
        end = clock.monotonic_ns() + sec * 1_000_000_000 + nsec
    sock = sockfd(task, fd)
    sk = sock.sk
    if not flags & MSG_ERRQUEUE:
        err = sk.sock_error()
        if err:
            raise KernelError(err)
    vlen &= 0xFFFF_FFFF
    if vlen > 1 and not sock.flags & O_NONBLOCK and not flags & MSG_DONTWAIT:
        need_context()  # a later message may sleep after an earlier one was taken
    done = 0
    error: KernelError | None = None
    left = None
    while done < vlen:
        entry = umsgs + SIZEOF_MMSGHDR * done
        try:
            res = _recvmsg(task, sock, entry, flags & ~MSG_WAITFORONE)
            mm.copy_out(entry + MMSG_LEN_OFF, _U32.pack(res.n))
        except KernelError as e:
            error = e
            break
        done += 1
        if flags & MSG_WAITFORONE:
            flags |= MSG_DONTWAIT
        if end is not None:
            left = max(end - clock.monotonic_ns(), 0)
            if left == 0:
                break
        if res.flags & MSG_OOB:
            break
    if error is not None:
        if not done:
            raise error
        if error.errno != EAGAIN:
            sk.err = error.errno
    if utimeout and done:
        if left is None:
            left = max(end - clock.monotonic_ns(), 0) if end is not None else 0
        mm.copy_out(utimeout, _TIMESPEC.pack(left // 1_000_000_000, left % 1_000_000_000))
    return done


__all__ = ["addr_in", "addr_out", "sockfd"]
assert MSG_DONTWAIT
