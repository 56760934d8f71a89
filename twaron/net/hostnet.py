"""`--net host`: the guest's AF_INET and AF_INET6 sockets are host sockets (as gVisor's
hostinet). The guest reaches what twaron's process reaches, its listeners listen on the host,
and the host kernel answers bind, connect, send, receive and the options: the guest's raw
sockaddr bytes and option values go to the host's calls as they are (through libc, so
their checks and errors are the host's).

The kernel never blocks in a host call: every host socket is non-blocking; a guest task
that must wait (a blocking accept, connect, send or receive) asks the kernel's host poller
to watch the fd and sleeps on the socket's wait queue, which the poller notifies. poll,
select and epoll from the guest see the host socket's readiness the same way.

Kept in the guest rather than passed on: the send and receive timeouts (a guest sleep),
O_NONBLOCK (the file's), SO_LINGER with a timeout (the host close would block: only the
abortive {1, 0} is passed on). Options that could reach beyond the socket (SO_BINDTODEVICE,
SO_MARK, SO_ATTACH_FILTER, IP_TRANSPARENT, IP_HDRINCL...) are EPERM. The interface list
(ioctls, netlink) stays the guest's own lo; /proc/net/tcp does not list host sockets.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno as host_errno
import select
import socket
import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    FIONREAD,
    MSG_DONTWAIT,
    MSG_NOSIGNAL,
    MSG_TRUNC,
    MSG_WAITALL,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    SIGPIPE,
    SIOCATMARK,
    SIOCOUTQ,
    SO_LINGER,
    SO_RCVTIMEO_NEW,
    SO_RCVTIMEO_OLD,
    SO_SNDTIMEO_NEW,
    SO_SNDTIMEO_OLD,
    SOCK_STREAM,
    SOL_IP,
    SOL_IPV6,
    SOL_SOCKET,
    SOL_TCP,
    SOL_UDP,
)
from twaron.arch.x86_64.errno import EAGAIN, EINVAL, ENOPROTOOPT, EPERM, EPIPE
from twaron.errors import KernelError
from twaron.net.socket import NetNamespace, RecvResult, SendMsg, Sink, Sock, sock_cmsg_send
from twaron.process.signal import send_thread_signal
from twaron.wait import ALL_EVENTS, need_context

_libc: ctypes.CDLL | None = None  # the host's libc: process-wide, holds no kernel state
EINPROGRESS_HOST = host_errno.EINPROGRESS
_INT = struct.Struct("<i")
# SOL_SOCKET options passed to the host (the rest are the guest's, or EPERM)
_SOL_SOCKET_PASS = frozenset((2, 3, 4, 6, 7, 8, 9, 10, 15, 18, 19, 29, 30, 35, 38, 39, 63, 64))
_DENIED = {SOL_SOCKET: {25, 36, 26, 27, 50, 51, 62, 32, 33}, SOL_IP: {3, 19}, SOL_IPV6: {75}}


def libc() -> ctypes.CDLL:
    """The host's libc with the prototypes of the socket calls (size_t and socklen_t
    arguments must not be passed as C ints)."""
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        c_int, c_void_p, c_size_t, c_u32 = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, \
            ctypes.c_uint32  # fmt: skip
        for name in ("bind", "connect"):
            getattr(lib, name).argtypes = [c_int, ctypes.c_char_p, c_u32]
        lib.listen.argtypes = [c_int, c_int]
        lib.shutdown.argtypes = [c_int, c_int]
        lib.sendto.argtypes = [c_int, ctypes.c_char_p, c_size_t, c_int, ctypes.c_char_p, c_u32]
        lib.sendto.restype = ctypes.c_ssize_t
        lib.recvfrom.argtypes = [c_int, c_void_p, c_size_t, c_int, c_void_p, c_void_p]
        lib.recvfrom.restype = ctypes.c_ssize_t
        for name in ("getsockname", "getpeername"):
            getattr(lib, name).argtypes = [c_int, c_void_p, c_void_p]
        lib.ioctl.argtypes = [c_int, ctypes.c_ulong, c_void_p]
        _libc = lib
    return _libc


def _call(ret: int) -> int:
    if ret < 0:
        raise KernelError(ctypes.get_errno())
    return ret


def _oserror(e: OSError) -> KernelError:
    return KernelError(e.errno or EINVAL)


class HostSock(Sock):
    """A guest socket whose protocol side is a non-blocking host socket."""

    def __init__(self, net: NetNamespace, family: int, type_: int, protocol: int,
                 task: Any, hs: socket.socket | None = None) -> None:  # fmt: skip
        super().__init__(net, type_, protocol)
        self.family = family
        if hs is None:
            try:
                hs = socket.socket(family, type_ | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                                   protocol)  # fmt: skip
            except OSError as e:
                raise _oserror(e) from None
        hs.setblocking(False)
        self.hs = hs
        self.fd = hs.fileno()
        self.connecting = False
        net.closers[self] = self.close_host

    @property
    def poller(self) -> Any:
        return self.net.kernel.hostpoll

    def close_host(self) -> None:
        if self.fd >= 0:
            self.net.closers.pop(self, None)
            self.poller.forget(self.fd)
            self.hs.close()
            self.fd = -1

    # --- waiting for the host ---
    def host_events(self) -> int:
        """poll(2) of the host fd, now."""
        if self.fd < 0:
            return 0
        p = select.poll()
        p.register(self.fd, POLLIN | POLLOUT | POLLPRI)
        ready = p.poll(0)
        return ready[0][1] if ready else 0

    def arm(self, events: int) -> None:
        if self.fd >= 0 and events:
            self.poller.want(self.fd, events, self.notify)

    def wait_host(self, events: int, deadline: float | None) -> bool:
        """Sleep until the host fd is ready for events (False: the deadline passed)."""
        self.would_block(deadline)

        def ready() -> bool:
            if self.host_events() & (events | POLLERR | POLLHUP):
                return True
            self.arm(events)
            return False

        return self.sleep(((self.wait, ALL_EVENTS),), ready, deadline) is not None

    # --- the calls ---
    def bind(self, task: Any, addr: bytes) -> None:
        _call(libc().bind(self.fd, addr, len(addr)))

    def listen(self, task: Any, backlog: int) -> None:
        _call(libc().listen(self.fd, backlog))

    def accept(self, task: Any, nonblock: bool) -> Sock:
        deadline = self.rcv_deadline(nonblock)
        while True:
            try:
                conn, _ = self.hs.accept()
            except BlockingIOError:
                if not self.wait_host(POLLIN, deadline):
                    raise KernelError(EAGAIN) from None
                continue
            except OSError as e:
                raise _oserror(e) from None
            return HostSock(self.net, self.family, self.type, self.protocol, task, conn)

    def connect(self, task: Any, addr: bytes, nonblock: bool) -> None:
        deadline = self.snd_deadline(nonblock)
        ret = libc().connect(self.fd, addr, len(addr))
        err = ctypes.get_errno() if ret < 0 else 0
        if err in (EINPROGRESS_HOST, host_errno.EALREADY) and self.type == SOCK_STREAM:
            self.connecting = True
            if deadline == 0.0:
                raise KernelError(err)
            if not self.wait_host(POLLOUT, deadline):
                raise KernelError(host_errno.EINPROGRESS)
            err = self.hs.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self.connecting = False
        elif err == host_errno.EISCONN and self.connecting:
            self.connecting = False
            err = 0
        if err:
            raise KernelError(err)

    def getname(self, peer: bool) -> bytes:
        buf = ctypes.create_string_buffer(128)
        length = ctypes.c_uint32(128)
        fn = libc().getpeername if peer else libc().getsockname
        _call(fn(self.fd, buf, ctypes.byref(length)))
        return buf.raw[: length.value]

    def sendmsg(self, task: Any, msg: SendMsg) -> int:
        if msg.cmsgs:  # the SOL_SOCKET ones are checked; no message reaches the host
            try:
                sock_cmsg_send(task, msg.cmsgs)
            except KernelError as e:
                raise KernelError(EINVAL if self.type == SOCK_STREAM else e.errno) from None
        flags = msg.flags
        nonblock = bool(flags & MSG_DONTWAIT)
        deadline = self.snd_deadline(nonblock)
        data = msg.data
        host_flags = (flags & ~MSG_DONTWAIT) | MSG_DONTWAIT | MSG_NOSIGNAL
        if not nonblock and self.type == SOCK_STREAM and len(data) > 0:
            need_context()  # it may sleep after a part went out
        sent = 0
        addr = msg.addr or None
        while True:
            chunk = data[sent:]
            ret = libc().sendto(self.fd, chunk, len(chunk), host_flags, addr,
                                len(addr) if addr else 0)  # fmt: skip
            if ret >= 0:
                sent += ret
                if sent >= len(data) or self.type != SOCK_STREAM or nonblock:
                    return sent
                continue
            err = ctypes.get_errno()
            if err == EAGAIN and deadline != 0.0:
                try:
                    ok = self.wait_host(POLLOUT, deadline)
                except KernelError:
                    if sent:
                        return sent
                    raise
                if ok:
                    continue
            if sent:
                return sent
            if err == EPIPE and not flags & MSG_NOSIGNAL:
                send_thread_signal(task.kernel, task, SIGPIPE)
            raise KernelError(err)

    def recvmsg(self, task: Any, sink: Sink, flags: int, want_addr: bool) -> RecvResult:
        deadline = self.rcv_deadline(bool(flags & MSG_DONTWAIT))
        size = sink.size
        host_flags = (flags & ~(MSG_DONTWAIT | MSG_WAITALL)) | MSG_DONTWAIT
        buf = ctypes.create_string_buffer(max(size, 1))
        abuf = ctypes.create_string_buffer(128)
        while True:
            alen = ctypes.c_uint32(128)
            ret = libc().recvfrom(self.fd, buf, size, host_flags, abuf if want_addr else None,
                                  ctypes.byref(alen) if want_addr else None)  # fmt: skip
            if ret >= 0:
                break
            err = ctypes.get_errno()
            if err != EAGAIN or deadline == 0.0 or not self.wait_host(POLLIN, deadline):
                raise KernelError(err)
        n = min(ret, size)
        sink.put(buf.raw[:n])
        addr = abuf.raw[: alen.value] if want_addr and alen.value else None
        mflags = MSG_TRUNC if flags & MSG_TRUNC and ret > size and self.type != SOCK_STREAM \
            else 0  # fmt: skip
        return RecvResult(ret, addr, mflags)

    def do_shutdown(self, task: Any, how: int) -> None:
        _call(libc().shutdown(self.fd, how))
        self.notify(ALL_EVENTS)

    def poll(self) -> int:
        mask = self.host_events()
        self.arm((POLLIN | POLLOUT) & ~mask)
        return mask

    def release(self) -> None:
        self.close_host()

    def inq_len(self) -> int:
        buf = ctypes.c_int(0)
        _call(libc().ioctl(self.fd, FIONREAD, ctypes.byref(buf)))
        return buf.value

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        if cmd not in (SIOCATMARK, SIOCOUTQ):
            return super().ioctl(task, cmd, arg)
        buf = ctypes.c_int(0)
        _call(libc().ioctl(self.fd, cmd, ctypes.byref(buf)))
        task.mm.copy_out(arg, _INT.pack(buf.value))
        return 0

    # --- options: the host's, except what is the guest's own ---
    def set_sol_socket(self, task: Any, name: int, value: bytes) -> None:
        if name in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW, SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
            return super().set_sol_socket(task, name, value)
        if name == SO_LINGER:
            super().set_sol_socket(task, name, value)
            if self.linger is not None and self.lingertime == 0:
                self._host_set(SOL_SOCKET, name, value[:8])
            return
        if name in _DENIED[SOL_SOCKET]:
            raise KernelError(EPERM)
        if name not in _SOL_SOCKET_PASS:
            return super().set_sol_socket(task, name, value)
        self._host_set(SOL_SOCKET, name, value)

    def get_sol_socket(self, task: Any, name: int, size: int) -> bytes:
        if name in _SOL_SOCKET_PASS:
            return self._host_get(SOL_SOCKET, name, size)
        return super().get_sol_socket(task, name, size)

    def setsockopt(self, task: Any, level: int, name: int, value: bytes) -> None:
        if level not in (SOL_IP, SOL_IPV6, SOL_TCP, SOL_UDP) or name in _DENIED.get(level, ()):
            raise KernelError(EPERM if level in _DENIED else ENOPROTOOPT)
        self._host_set(level, name, value)

    def getsockopt(self, task: Any, level: int, name: int, size: int) -> bytes:
        if level not in (SOL_IP, SOL_IPV6, SOL_TCP, SOL_UDP):
            raise KernelError(ENOPROTOOPT)
        return self._host_get(level, name, size)

    def _host_set(self, level: int, name: int, value: bytes) -> None:
        try:
            self.hs.setsockopt(level, name, value)
        except OSError as e:
            raise _oserror(e) from None

    def _host_get(self, level: int, name: int, size: int) -> bytes:
        try:
            return self.hs.getsockopt(level, name, max(min(size, 512), 0) or 4)
        except OSError as e:
            raise _oserror(e) from None
