"""File-system system calls: decode arguments, copy user memory, call the VFS.

Every pointer goes through task.mm (copy_in / copy_out / read_cstring raise EFAULT); every fd
through task.files (EBADF). Semantics and errno follow Linux; see fs/vfs.py for the walk.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    AT_EACCESS,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_NO_AUTOMOUNT,
    AT_REMOVEDIR,
    AT_STATX_SYNC_TYPE,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLEASE,
    F_GETLK,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    F_UNLCK,
    FALLOC_FL_COLLAPSE_RANGE,
    FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_UNSHARE_RANGE,
    FALLOC_FL_WRITE_ZEROES,
    FALLOC_FL_ZERO_RANGE,
    FD_CLOEXEC,
    FIOCLEX,
    FIONBIO,
    FIONCLEX,
    FIONREAD,
    IN_ACCESS,
    IN_ATTRIB,
    IN_MODIFY,
    MAX_RW_COUNT,
    O_ACCMODE,
    O_APPEND,
    O_ASYNC,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECT,
    O_DIRECTORY,
    O_DSYNC,
    O_EXCL,
    O_LARGEFILE,
    O_NOATIME,
    O_NOCTTY,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_SYNC,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
    OPEN_HOW_SIZE_VER0,
    PAGE_SIZE,
    PATH_MAX,
    RESOLVE_BENEATH,
    RESOLVE_CACHED,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    RLIM_INFINITY,
    RLIMIT_FSIZE,
    RLIMIT_NOFILE,
    RWF_APPEND,
    RWF_NOWAIT,
    RWF_SUPPORTED,
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFMT,
    S_IFREG,
    S_IFSOCK,
    S_ISGID,
    S_ISUID,
    SIGPIPE,
    SIGXFSZ,
    SOCK_STREAM,
    STATX__RESERVED,
    UIO_MAXIOV,
    USER_TOP,
    UTIME_NOW,
    UTIME_OMIT,
)
from twaron.arch.x86_64.errno import (
    E2BIG,
    EAGAIN,
    EBADF,
    EEXIST,
    EFAULT,
    EFBIG,
    EINVAL,
    EISDIR,
    ENODEV,
    ENOENT,
    ENOTDIR,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    ERANGE,
    EROFS,
    ESPIPE,
)
from twaron.errors import KernelError
from twaron.fs import fsnotify, vfs
from twaron.fs.fdtable import NR_OPEN_DEFAULT
from twaron.fs.pipe import PipeFile
from twaron.fs.stat import pack_stat, pack_statfs, pack_statx
from twaron.fs.tty import TtyFile
from twaron.fs.vfs import (
    MAY_EXEC,
    MAY_READ,
    MAY_WRITE,
    File,
    Inode,
    Path,
    Unread,
    can_read,
    can_write,
    permission,
)
from twaron.process import signal as sigs
from twaron.syscalls.locks import fcntl_lock
from twaron.syscalls.table import s32, s64, syscall
from twaron.wait import need_context

_IOVEC = struct.Struct("<QQ")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_TIMESPEC2 = struct.Struct("<qqqq")
SETFL_MASK = O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK
CLOSE_RANGE_UNSHARE = 2
CLOSE_RANGE_CLOEXEC = 4
SENDFILE_CHUNK = 1 << 16
# fcntl commands of other families (owners and dnotify, memfd seals): cmd -> fn(task, fd, f,
# arg), filled in by their modules
FCNTL_CMDS: dict[int, Callable[[Any, int, File, int], int]] = {}
READ_CHUNK = 1 << 20  # reads bigger than this go to the caller a chunk at a time
__O_TMPFILE = O_TMPFILE & ~O_DIRECTORY  # the bit of its own O_TMPFILE adds to O_DIRECTORY
VALID_OPEN_FLAGS = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK
                    | O_SYNC | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY
                    | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE)  # fmt: skip
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
VALID_RESOLVE_FLAGS = (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS
                       | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED)  # fmt: skip
_OPEN_HOW = struct.Struct("<QQQ")
FALLOC_FL_MODE_MASK = (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE
                       | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE
                       | FALLOC_FL_WRITE_ZEROES)  # fmt: skip


# --- helpers ------------------------------------------------------------------------------


def _nofile(task: Any) -> int:
    lim = task.group.rlimits.get(RLIMIT_NOFILE)
    return min(lim[0], 1 << 20) if lim else NR_OPEN_DEFAULT


def _install(task: Any, f: File, cloexec: bool) -> int:
    try:
        return task.files.install(f, cloexec, 0, _nofile(task))
    except KernelError:
        f.put()
        raise


def _pathname(task: Any, addr: int) -> bytes:
    return task.mm.read_cstring(addr, PATH_MAX)


def _user_range(addr: int, n: int) -> None:
    """access_ok: the buffer must lie in the lower half (the copy helpers check mapping)."""
    if addr + n > USER_TOP or addr >= USER_TOP:
        raise KernelError(EFAULT)


def _readable(task: Any, fd: int) -> File:
    f = task.files.get(s32(fd))
    if not f.readable:
        raise KernelError(EBADF)
    return f


def _writable(task: Any, fd: int) -> File:
    f = task.files.get(s32(fd))
    if not f.writable:
        raise KernelError(EBADF)
    return f


def _readable_v(task: Any, fd: int) -> File:
    """readv's and preadv's file (Linux's vfs_readv): EBADF, then EINVAL for a file with no
    read operation (FMODE_CAN_READ: epoll, a pidfd), before the iovec is looked at."""
    f = _readable(task, fd)
    if not can_read(f):
        raise KernelError(EINVAL)
    return f


def _writable_v(task: Any, fd: int) -> File:
    """writev's and pwritev's file (Linux's vfs_writev): see _readable_v."""
    f = _writable(task, fd)
    if not can_write(f):
        raise KernelError(EINVAL)
    return f


def _fsize(task: Any, f: File, data: bytes, pos: int = -1) -> bytes:
    """RLIMIT_FSIZE (Linux's generic_write_check_limits): a write to a regular file is cut
    at the limit; one that starts at or past it gets SIGXFSZ and EFBIG."""
    lim = task.group.rlimits.get(RLIMIT_FSIZE)
    if lim is None or lim[0] == RLIM_INFINITY or not data or not f.inode.is_reg:
        return data
    if pos < 0 or f.flags & O_APPEND:
        pos = f.inode.size if f.flags & O_APPEND else f.pos
    if pos >= lim[0]:
        sigs.send_signal(task.kernel, task.group, SIGXFSZ)
        raise KernelError(EFBIG)
    return data[: lim[0] - pos]


def _newsize_ok(task: Any, inode: Inode, size: int) -> None:
    """Linux's inode_newsize_ok: growing a file past RLIMIT_FSIZE is SIGXFSZ and EFBIG."""
    lim = task.group.rlimits.get(RLIMIT_FSIZE)
    if lim is not None and lim[0] != RLIM_INFINITY and size > inode.size and size > lim[0]:
        sigs.send_signal(task.kernel, task.group, SIGXFSZ)
        raise KernelError(EFBIG)


def _write(task: Any, f: File, data: bytes, notify: bool = True, nowait: bool = False) -> int:
    """A write at the file position (nowait: pwritev2's RWF_NOWAIT, see File.write_nowait)."""
    try:
        data = _fsize(task, f, data)
        n = f.write_nowait(data) if nowait else f.write(data)
    except KernelError as e:
        if e.errno == EPIPE and f.inode.mode & S_IFMT != S_IFSOCK:  # sockets send their own
            sigs.send_signal(task.kernel, task.group, SIGPIPE)
        raise
    if notify and n > 0 and f.inode.sb.watched:
        fsnotify.file_event(f, IN_MODIFY)
    return n


def _accessed(f: File, n: int) -> int:
    """A read returned n bytes: IN_ACCESS for whoever watches the file (Linux's vfs_read)."""
    if n > 0 and f.inode.sb.watched:
        fsnotify.file_event(f, IN_ACCESS)
    return n


def _modified(f: File, n: int) -> int:
    if n > 0 and f.inode.sb.watched:
        fsnotify.file_event(f, IN_MODIFY)
    return n


def _at_inode(task: Any, dirfd: int, path: bytes, flags: int) -> Inode:
    """The inode an *at call with AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW names."""
    if not path and flags & AT_EMPTY_PATH:
        if dirfd == AT_FDCWD:
            return task.fs.cwd.dentry.inode
        return task.files.get(dirfd).inode
    return vfs.lookup_at(task, dirfd, path, not flags & AT_SYMLINK_NOFOLLOW).inode


def _at_path(task: Any, dirfd: int, path: bytes, flags: int) -> Path:
    return vfs.lookup_at(
        task, dirfd, path, not flags & AT_SYMLINK_NOFOLLOW, empty_ok=bool(flags & AT_EMPTY_PATH)
    )


def _read_iov(task: Any, iov: int, cnt: int) -> list[tuple[int, int]]:
    cnt = s32(cnt)
    if cnt < 0 or cnt > UIO_MAXIOV:
        raise KernelError(EINVAL)
    if cnt == 0:
        return []
    raw = task.mm.copy_in(iov, 16 * cnt)
    out = []
    total = 0
    for i in range(cnt):
        base, length = _IOVEC.unpack_from(raw, 16 * i)
        if s64(length) < 0:
            raise KernelError(EINVAL)
        total += length
        if total > (1 << 63) - 1:
            raise KernelError(EINVAL)
        out.append((base, length))
    return out


def _scatter(task: Any, iovs: list[tuple[int, int]], data: bytes) -> None:
    pos = 0
    mm = task.mm
    for base, length in iovs:
        if pos >= len(data):
            break
        chunk = data[pos : pos + length]
        if chunk:
            mm.copy_out(base, chunk)
        pos += len(chunk)


def _gather(task: Any, f: File, iovs: list[tuple[int, int]]) -> bytes | Unread:
    """The data of a vectored write to f (its length only, if f discards it unread)."""
    if f.discards_writes:
        for base, length in iovs:
            _user_range(base, length)
        return Unread(_iov_total(iovs))
    mm = task.mm
    return b"".join(mm.copy_in(base, length) for base, length in iovs if length)


def _user_data(task: Any, f: File, buf: int, count: int) -> bytes | Unread:
    """The data of a write of count bytes at buf to f (copy_from_user, unless f discards
    them unread: then access_ok's check alone, as Linux's write_null)."""
    if f.discards_writes:
        _user_range(buf, count)
        return Unread(count)
    return task.mm.copy_in(buf, count) if count else b""


def _iov_total(iovs: list[tuple[int, int]]) -> int:
    return min(sum(n for _, n in iovs), MAX_RW_COUNT)


def _readv(task: Any, f: File, iovs: list[tuple[int, int]], offset: int,
           nowait: bool = False) -> int:  # fmt: skip
    """readv, preadv and preadv2 (offset -1: at the file position; nowait: RWF_NOWAIT's read
    there). A regular file (a sparse one may be huge) is read buffer by buffer, a chunk at a
    time, as read() does: never more of it in the host's memory than a chunk, a short read at
    the first buffer the caller cannot take. Other files give what one read gives (a pipe's
    or socket's data, bounded)."""
    total = _iov_total(iovs)
    if nowait and offset < 0 and not f.inode.is_reg:  # a regular file's read never sleeps
        data = f.read_nowait(total)
        _scatter(task, iovs, data)
        return _accessed(f, len(data))
    if total <= READ_CHUNK or not (f.inode.is_reg and f.seekable):
        data = f.read(total) if offset < 0 else f.pread(total, offset)
        _scatter(task, iovs, data)
        return _accessed(f, len(data))
    done = 0
    for base, length in iovs:
        want = min(length, total - done)
        if want <= 0:
            break
        try:
            n = _read_chunks(task, f, base, want, offset if offset < 0 else offset + done)
        except KernelError:
            if done:
                break
            raise
        done += n
        if n < want:
            break
    return _accessed(f, done)


# --- read / write ---------------------------------------------------------------------------


def _chunked(f: File) -> bool:
    """A write of more than a chunk to f may go a chunk at a time: a regular file, a
    character device, a pipe or a stream socket (a pipe keeps only writes of up to PIPE_BUF
    whole, and a big blocking write goes in parts as room comes anyway; a datagram or a
    SOCK_SEQPACKET record must go whole)."""
    kind = f.inode.mode & S_IFMT
    if kind == S_IFSOCK:
        return getattr(f, "sk", None) is not None and f.sk.type == SOCK_STREAM
    return kind in (S_IFREG, S_IFCHR, S_IFIFO)


def _writev(task: Any, f: File, iovs: list[tuple[int, int]], offset: int,
            nowait: bool = False) -> int:  # fmt: skip
    """write, writev, pwrite64, pwritev, pwritev2 (offset -1: at the file position; nowait:
    RWF_NOWAIT's write there) of more than a chunk to a file that takes chunks: the caller's
    buffers a chunk at a time, never more of them in the host's memory (an untouched mapping
    of gigabytes reads as zeros). It ends at a short write, or at an error after some bytes
    (which it returns, as Linux)."""
    if f.may_block and not nowait:
        need_context()  # it may sleep after a chunk went in
    total = _iov_total(iovs)
    done = 0
    for base, length in iovs:
        off = 0
        while off < length and done < total:
            want = min(READ_CHUNK, length - off, total - done)
            try:
                data = _user_data(task, f, base + off, want)
                if offset < 0:
                    n = _write(task, f, data, notify=False, nowait=nowait)  # EPIPE's SIGPIPE
                else:
                    at = offset + done
                    data = _fsize(task, f, data, at)
                    n = f.pwrite_nowait(data, at) if nowait else f.pwrite(data, at)
            except KernelError:
                if done:
                    return _modified(f, done)
                raise
            done += n
            off += n
            if n < want:
                return _modified(f, done)
    return _modified(f, done)


@syscall("read")
def sys_read(task: Any, fd: int, buf: int, count: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    if not f.readable:
        raise KernelError(EBADF)
    if count > MAX_RW_COUNT:
        count = MAX_RW_COUNT
    _user_range(buf, count)
    if count > READ_CHUNK and f.inode.is_reg and f.seekable:
        return _read_chunks(task, f, buf, count, -1)
    n = f.read_user(task.mm, buf, count)
    if n and f.inode.sb.watched:
        fsnotify.file_event(f, IN_ACCESS)
    return n


@syscall("write")
def sys_write(task: Any, fd: int, buf: int, count: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    if not f.writable:
        raise KernelError(EBADF)
    if count > MAX_RW_COUNT:
        count = MAX_RW_COUNT
    if count > READ_CHUNK and _chunked(f):
        return _writev(task, f, [(buf, count)], -1)
    return _write(task, f, _user_data(task, f, buf, count))


@syscall("pread64")
def sys_pread64(task: Any, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    off = s64(offset)
    if off < 0:
        raise KernelError(EINVAL)
    f = _positional(task, fd, off, True)
    count = min(count, MAX_RW_COUNT)
    _user_range(buf, count)
    if count > READ_CHUNK and f.inode.is_reg:
        return _read_chunks(task, f, buf, count, off)
    return _accessed(f, f.pread_user(task.mm, buf, count, off))


def _read_chunks(task: Any, f: File, buf: int, count: int, offset: int) -> int:
    """A big read of a file (a sparse one may be huge): chunk by chunk into the caller's
    buffer, never more in the host's memory than a chunk; it ends at the file's end or the
    first chunk the buffer cannot take (a short read, as Linux's, EFAULT if it is the first).
    offset -1: at the file position, which moves."""
    done = 0
    while done < count:
        want = min(READ_CHUNK, count - done)
        data = f.read(want) if offset < 0 else f.pread(want, offset + done)
        if not data:
            break
        try:
            task.mm.copy_out(buf + done, data)
        except KernelError:
            if offset < 0:
                f.pos -= len(data)
            if done:
                break
            raise
        done += len(data)
        if len(data) < want:
            break
    return done


@syscall("pwrite64")
def sys_pwrite64(task: Any, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    off = s64(offset)
    if off < 0:
        raise KernelError(EINVAL)
    f = _positional(task, fd, off, False)
    count = min(count, MAX_RW_COUNT)
    if count > READ_CHUNK and _chunked(f):
        return _writev(task, f, [(buf, count)], off)
    try:
        n = f.pwrite(_fsize(task, f, _user_data(task, f, buf, count), off), off)
    except KernelError as e:
        if e.errno == EPIPE:
            sigs.send_signal(task.kernel, task.group, SIGPIPE)
        raise
    return _modified(f, n)


@syscall("readv")
def sys_readv(task: Any, fd: int, iov: int, cnt: int, *_: int) -> int:
    f = _readable_v(task, fd)
    return _readv(task, f, _read_iov(task, iov, cnt), -1)


@syscall("writev")
def sys_writev(task: Any, fd: int, iov: int, cnt: int, *_: int) -> int:
    f = _writable_v(task, fd)
    iovs = _read_iov(task, iov, cnt)
    if _iov_total(iovs) > READ_CHUNK and _chunked(f):
        return _writev(task, f, iovs, -1)
    return _write(task, f, _gather(task, f, iovs)[:MAX_RW_COUNT])


@syscall("preadv")
def sys_preadv(task: Any, fd: int, iov: int, cnt: int, pos: int, *_: int) -> int:
    if s64(pos) < 0:
        raise KernelError(EINVAL)
    f = _positional(task, fd, s64(pos), True)
    return _readv(task, f, _read_iov(task, iov, cnt), s64(pos))


@syscall("pwritev")
def sys_pwritev(task: Any, fd: int, iov: int, cnt: int, pos: int, *_: int) -> int:
    if s64(pos) < 0:
        raise KernelError(EINVAL)
    f = _positional(task, fd, s64(pos), False)
    iovs = _read_iov(task, iov, cnt)
    if _iov_total(iovs) > READ_CHUNK and _chunked(f):
        return _writev(task, f, iovs, s64(pos))
    data = _fsize(task, f, _gather(task, f, iovs)[:MAX_RW_COUNT], pos)
    return _modified(f, f.pwrite(data, pos))


def _rw_flags(f: File, flags: int) -> bool:
    """preadv2/pwritev2's flags (Linux's kiocb_set_rw_flags): EOPNOTSUPP for an unknown one,
    and for RWF_NOWAIT on a file opened without FMODE_NOWAIT (File.nowait: pipes, sockets,
    eventfd, timerfd, signalfd, /dev/null...; not a FIFO, a terminal or a tmpfs file).
    Whether the call is RWF_NOWAIT's."""
    nowait = bool(flags & RWF_NOWAIT)
    if flags & ~RWF_SUPPORTED or nowait and not f.nowait:
        raise KernelError(EOPNOTSUPP)
    return nowait


def _positional(task: Any, fd: int, pos: int, readable: bool) -> File:
    """The file of a read or write at an offset (pos >= 0; -1: at the file position), as
    Linux's ksys_pread64 and do_preadv check it: ESPIPE for an offset on a file that has
    none (no FMODE_PREAD / FMODE_PWRITE) comes before EBADF for the wrong access mode, and
    EINVAL for a file with no such operation (FMODE_CAN_READ: epoll, a pidfd) after it,
    all before the buffer, the iovec or the flags are looked at."""
    f = task.files.get(s32(fd))
    if pos >= 0 and not (f.seekable and (readable or f.fmode_pwrite)):
        raise KernelError(ESPIPE)
    if not (f.readable if readable else f.writable):
        raise KernelError(EBADF)
    if not (can_read(f) if readable else can_write(f)):
        raise KernelError(EINVAL)  # no such operation (FMODE_CAN_READ), before the iovec
    return f


@syscall("preadv2")
def sys_preadv2(task: Any, fd: int, iov: int, cnt: int, pos_l: int, pos_h: int,
                flags: int) -> int:  # fmt: skip
    """preadv, or readv at the file position when pos is -1, with per-call flags (x86-64:
    the offset is pos_l whole; pos_h is ignored). RWF_NOWAIT: EAGAIN where it would sleep."""
    pos = s64(pos_l)
    if pos < -1:
        raise KernelError(EINVAL)
    f = _positional(task, fd, pos, True)
    iovs = _read_iov(task, iov, cnt)
    if not _iov_total(iovs):
        return 0  # vfs_readv: nothing to read, whatever the flags say
    nowait = _rw_flags(f, s32(flags) & 0xFFFF_FFFF)
    return _readv(task, f, iovs, pos, nowait)


@syscall("pwritev2")
def sys_pwritev2(task: Any, fd: int, iov: int, cnt: int, pos_l: int, pos_h: int,
                 flags: int) -> int:  # fmt: skip
    """pwritev, or writev at the file position when pos is -1; RWF_APPEND writes at the
    end of a regular file whatever pos says (and moves the position only when pos is -1:
    it is then the file's). RWF_NOWAIT: EAGAIN where it would sleep (or what fits)."""
    pos = s64(pos_l)
    if pos < -1:
        raise KernelError(EINVAL)
    f = _positional(task, fd, pos, False)
    iovs = _read_iov(task, iov, cnt)
    if not _iov_total(iovs):
        return 0  # vfs_writev: nothing to write, whatever the flags say
    flags = s32(flags) & 0xFFFF_FFFF
    nowait = _rw_flags(f, flags)
    if not flags & RWF_APPEND and _iov_total(iovs) > READ_CHUNK and _chunked(f):
        return _writev(task, f, iovs, pos, nowait)
    data = _gather(task, f, iovs)[:MAX_RW_COUNT]
    pwrite = f.pwrite_nowait if nowait else f.pwrite
    if flags & RWF_APPEND and f.inode.is_reg:
        end = f.inode.size
        n = pwrite(_fsize(task, f, data, end), end)
        if pos == -1:
            f.pos = end + n
        return _modified(f, n)
    if pos == -1:
        return _write(task, f, data, nowait=nowait)
    return _modified(f, pwrite(_fsize(task, f, data, pos), pos))


@syscall("sendfile")
def sys_sendfile(task: Any, out_fd: int, in_fd: int, offp: int, count: int, *_: int) -> int:
    fin = _readable(task, in_fd)
    fout = _writable(task, out_fd)
    if fout.flags & O_APPEND:
        raise KernelError(EINVAL)
    count = min(count, MAX_RW_COUNT)
    off = -1
    if offp:
        off = s64(_U64.unpack(task.mm.copy_in(offp, 8))[0])
        if off < 0:
            raise KernelError(EINVAL)
    if isinstance(fin, PipeFile):
        # Linux: a pipe has no splice_read for sendfile (ESPIPE first if given an offset);
        # BusyBox's copy loop (tar -x out of gunzip's pipe) then falls back to read/write.
        raise KernelError(ESPIPE if offp else EINVAL)
    if isinstance(fout, TtyFile):
        raise KernelError(EINVAL)  # a terminal takes no splice (cat then falls back to write)
    # from a terminal into a pipe: one read, what it gives (Linux's splice_file_to_pipe)
    if fout.may_block:
        need_context()  # it may sleep after a chunk went out
    done = 0
    while done < count:
        want = min(SENDFILE_CHUNK, count - done)
        try:
            chunk = fin.pread(want, off + done) if off >= 0 else fin.read(want)
        except KernelError:
            if done:  # a pipe ran dry after some data: report what was sent (it is gone)
                break
            raise
        if not chunk:
            break
        try:
            n = _write(task, fout, chunk, notify=False)
        except KernelError:
            if off < 0 and fin.seekable:
                fin.pos -= len(chunk)  # give back what was read but not sent
            if done:
                break
            raise
        done += n
        if n < len(chunk):
            if off < 0 and fin.seekable:
                fin.pos -= len(chunk) - n
            break
        if len(chunk) < want:  # a short read ends it, as Linux's splice_direct_to_actor:
            break  # a terminal's line is sent at once, and its Ctrl-D is left for the next
    if offp:
        task.mm.copy_out(offp, _U64.pack(off + done))
    _accessed(fin, done)
    return _modified(fout, done)


# --- open / close ---------------------------------------------------------------------------


def _open_flags(flags: int) -> None:
    """build_open_flags' checks: O_DIRECTORY|O_CREAT is refused (Linux 6.4+), O_TMPFILE needs
    O_DIRECTORY and write access, O_PATH takes only O_PATH_FLAGS (openat2 sees it)."""
    if flags & (O_DIRECTORY | O_CREAT) == O_DIRECTORY | O_CREAT:
        raise KernelError(EINVAL)
    if flags & __O_TMPFILE:
        if not flags & O_DIRECTORY or flags & O_ACCMODE == O_RDONLY:
            raise KernelError(EINVAL)
    if flags & O_PATH and flags & ~O_PATH_FLAGS:
        raise KernelError(EINVAL)


def _open_file(task: Any, dirfd: int, pathaddr: int, flags: int, mode: int,
               resolve: int = 0) -> int:  # fmt: skip
    """do_sys_openat2 after the flags were checked: the name, then the open."""
    path = _pathname(task, pathaddr)
    if not flags & O_PATH:
        flags |= O_LARGEFILE
    if flags & __O_TMPFILE:
        f = vfs.open_tmpfile(task, s32(dirfd), path, flags, mode, resolve)
    else:
        f = vfs.open_at(task, s32(dirfd), path, flags, mode, resolve)
    f.flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)
    return _install(task, f, bool(flags & O_CLOEXEC))


def _do_open(task: Any, dirfd: int, pathaddr: int, flags: int, mode: int) -> int:
    """open/openat (build_open_how): unknown flags are dropped, O_PATH keeps only its own,
    the mode counts only when creating."""
    flags = s32(flags) & VALID_OPEN_FLAGS
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    mode = mode & 0o7777 if flags & (O_CREAT | __O_TMPFILE) else 0
    _open_flags(flags)
    return _open_file(task, dirfd, pathaddr, flags, mode)


@syscall("openat2")
def sys_openat2(task: Any, dirfd: int, path: int, how: int, size: int, *_: int) -> int:
    """openat2: struct open_how (flags, mode, resolve), every field checked."""
    if size < OPEN_HOW_SIZE_VER0:
        raise KernelError(EINVAL)
    if size > PAGE_SIZE:
        raise KernelError(E2BIG)
    raw = task.mm.copy_in(how, size)
    if any(raw[OPEN_HOW_SIZE_VER0:]):
        raise KernelError(E2BIG)  # copy_struct_from_user: unknown fields must be zero
    flags, mode, resolve = _OPEN_HOW.unpack_from(raw)
    if flags & ~O_CLOEXEC & ~VALID_OPEN_FLAGS or resolve & ~VALID_RESOLVE_FLAGS:
        raise KernelError(EINVAL)
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise KernelError(EINVAL)
    if flags & (O_CREAT | __O_TMPFILE):
        if mode & ~0o7777:
            raise KernelError(EINVAL)
    elif mode:
        raise KernelError(EINVAL)
    _open_flags(flags & ~O_CLOEXEC)
    if resolve & RESOLVE_CACHED and flags & (O_TRUNC | O_CREAT | __O_TMPFILE):
        raise KernelError(EAGAIN)  # not even tried: it would have to create or truncate
    return _open_file(task, dirfd, path, flags, mode, resolve)


@syscall("openat")
def sys_openat(task: Any, dirfd: int, path: int, flags: int, mode: int, *_: int) -> int:
    return _do_open(task, dirfd, path, flags, mode)


@syscall("open")
def sys_open(task: Any, path: int, flags: int, mode: int, *_: int) -> int:
    return _do_open(task, AT_FDCWD, path, flags, mode)


@syscall("creat")
def sys_creat(task: Any, path: int, mode: int, *_: int) -> int:
    return _do_open(task, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)


@syscall("close")
def sys_close(task: Any, fd: int, *_: int) -> int:
    task.files.close(s32(fd))
    return 0


@syscall("close_range")
def sys_close_range(task: Any, first: int, last: int, flags: int, *_: int) -> int:
    first &= 0xFFFF_FFFF
    last &= 0xFFFF_FFFF
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise KernelError(EINVAL)
    files = task.files
    for fd in files.open_fds():
        if first <= fd <= last:
            if flags & CLOSE_RANGE_CLOEXEC:
                files.set_cloexec(fd, True)
            else:
                files.close(fd)
    return 0


# --- stat -----------------------------------------------------------------------------------


@syscall("newfstatat")
def sys_newfstatat(task: Any, dirfd: int, path: int, buf: int, flags: int, *_: int) -> int:
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        raise KernelError(EINVAL)
    inode = _at_inode(task, s32(dirfd), _pathname(task, path), flags)
    task.mm.copy_out(buf, pack_stat(inode))
    return 0


@syscall("fstat")
def sys_fstat(task: Any, fd: int, buf: int, *_: int) -> int:
    task.mm.copy_out(buf, pack_stat(task.files.get(s32(fd)).inode))
    return 0


@syscall("stat")
def sys_stat(task: Any, path: int, buf: int, *_: int) -> int:
    task.mm.copy_out(buf, pack_stat(vfs.lookup(task, _pathname(task, path), True).inode))
    return 0


@syscall("lstat")
def sys_lstat(task: Any, path: int, buf: int, *_: int) -> int:
    task.mm.copy_out(buf, pack_stat(vfs.lookup(task, _pathname(task, path), False).inode))
    return 0


@syscall("statx")
def sys_statx(task: Any, dirfd: int, path: int, flags: int, mask: int, buf: int, *_: int) -> int:
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE):
        raise KernelError(EINVAL)
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX__RESERVED:
        raise KernelError(EINVAL)
    name = _pathname(task, path) if path or not flags & AT_EMPTY_PATH else b""
    inode = _at_inode(task, s32(dirfd), name, flags)
    task.mm.copy_out(buf, pack_statx(inode, mask))
    return 0


@syscall("statfs")
def sys_statfs(task: Any, path: int, buf: int, *_: int) -> int:
    task.mm.copy_out(buf, pack_statfs(vfs.lookup(task, _pathname(task, path), True)))
    return 0


@syscall("fstatfs")
def sys_fstatfs(task: Any, fd: int, buf: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    if f.path is None:
        raise KernelError(EINVAL)
    task.mm.copy_out(buf, pack_statfs(f.path))
    return 0


# --- seek, directories, ioctl, fcntl ---------------------------------------------------------


@syscall("lseek")
def sys_lseek(task: Any, fd: int, offset: int, whence: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    whence &= 0xFFFF_FFFF
    if whence > 4:
        raise KernelError(EINVAL)
    return f.lseek(s64(offset), whence)


@syscall("getdents64")
def sys_getdents64(task: Any, fd: int, dirp: int, count: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    count &= 0xFFFF_FFFF
    _user_range(dirp, count)
    if f.path is None or not f.inode.is_dir:
        raise KernelError(ENOTDIR)
    data = f.getdents64(min(count, MAX_RW_COUNT))
    if data:
        task.mm.copy_out(dirp, data)
    if f.inode.sb.watched:  # Linux's iterate_dir: IN_ACCESS even at the end of the listing
        fsnotify.file_event(f, IN_ACCESS)
    return len(data)


@syscall("ioctl")
def sys_ioctl(task: Any, fd: int, cmd: int, arg: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    cmd &= 0xFFFF_FFFF
    if cmd == FIOCLEX or cmd == FIONCLEX:
        task.files.set_cloexec(s32(fd), cmd == FIOCLEX)
        return 0
    if cmd == FIONBIO:
        on = _I32.unpack(task.mm.copy_in(arg, 4))[0]
        f.flags = f.flags | O_NONBLOCK if on else f.flags & ~O_NONBLOCK
        return 0
    if cmd == FIONREAD and f.inode.is_reg:
        task.mm.copy_out(arg, _I32.pack(max(0, min(f.inode.size - f.pos, 0x7FFF_FFFF))))
        return 0
    return f.ioctl(task, cmd, arg)


@syscall("vhangup")
def sys_vhangup(task: Any, *_: int) -> int:
    """Hang up the caller's controlling terminal (root only: CAP_SYS_ADMIN)."""
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    tty = task.group.tty
    if tty is not None:
        tty.hangup()
    return 0


@syscall("fcntl")
def sys_fcntl(task: Any, fd: int, cmd: int, arg: int, *_: int) -> int:
    fd = s32(fd)
    cmd = s32(cmd)
    files = task.files
    f = files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        limit = _nofile(task)
        if lowest < 0 or lowest >= limit:
            raise KernelError(EINVAL)
        return files.dup(fd, lowest, cmd == F_DUPFD_CLOEXEC, limit)
    if cmd == F_GETFD:
        return FD_CLOEXEC if files.get_cloexec(fd) else 0
    if cmd == F_SETFD:
        files.set_cloexec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK)
        return 0
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        return fcntl_lock(task, f, cmd, arg)
    ext = FCNTL_CMDS.get(cmd)
    if ext is not None:
        return ext(task, fd, f, arg)
    if cmd == F_GETLEASE:
        return F_UNLCK
    return f.fcntl(cmd, arg)


@syscall("dup")
def sys_dup(task: Any, fd: int, *_: int) -> int:
    return task.files.dup(s32(fd), 0, False, _nofile(task))


@syscall("dup2")
def sys_dup2(task: Any, oldfd: int, newfd: int, *_: int) -> int:
    oldfd, newfd = s32(oldfd), s32(newfd)
    if oldfd == newfd:
        task.files.get(oldfd)
        return newfd
    return task.files.dup2(oldfd, newfd, False, _nofile(task))


@syscall("dup3")
def sys_dup3(task: Any, oldfd: int, newfd: int, flags: int, *_: int) -> int:
    oldfd, newfd = s32(oldfd), s32(newfd)
    if flags & ~O_CLOEXEC or oldfd == newfd:
        raise KernelError(EINVAL)
    return task.files.dup2(oldfd, newfd, bool(flags & O_CLOEXEC), _nofile(task))


# --- cwd, root -----------------------------------------------------------------------------


@syscall("getcwd")
def sys_getcwd(task: Any, buf: int, size: int, *_: int) -> int:
    cwd = task.fs.cwd
    if cwd.dentry.deleted:
        raise KernelError(ENOENT)
    name, reachable = vfs.d_path_ex(cwd, task.fs.root)
    if not reachable:
        name = b"(unreachable)" + name
    if len(name) + 1 > size:
        raise KernelError(ERANGE)
    task.mm.copy_out(buf, name + b"\0")
    return len(name) + 1


def _dir_for_chdir(task: Any, p: Path) -> Path:
    if not p.inode.is_dir:
        raise KernelError(ENOTDIR)
    permission(p.inode, MAY_EXEC, task.cred)
    return p


@syscall("chdir")
def sys_chdir(task: Any, path: int, *_: int) -> int:
    task.fs.cwd = _dir_for_chdir(task, vfs.lookup(task, _pathname(task, path), True))
    return 0


@syscall("fchdir")
def sys_fchdir(task: Any, fd: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    if f.path is None:
        raise KernelError(ENOTDIR)
    task.fs.cwd = _dir_for_chdir(task, f.path)
    return 0


@syscall("chroot")
def sys_chroot(task: Any, path: int, *_: int) -> int:
    p = _dir_for_chdir(task, vfs.lookup(task, _pathname(task, path), True))
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    task.fs.root = p
    return 0


@syscall("umask")
def sys_umask(task: Any, mask: int, *_: int) -> int:
    old = task.fs.umask
    task.fs.umask = mask & 0o777
    return old


# --- namespace operations -------------------------------------------------------------------


def _create_parent(task: Any, dirfd: int, pathaddr: int) -> tuple[Path, bytes, bool]:
    return vfs.lookup_parent_at(task, s32(dirfd), _pathname(task, pathaddr))


def _mkdir(task: Any, dirfd: int, path: int, mode: int) -> int:
    parent, name, _trailing = _create_parent(task, dirfd, path)
    vfs.vfs_mknod(task, parent, name, S_IFDIR | (mode & 0o1777 & ~task.fs.umask))
    return 0


@syscall("mkdirat")
def sys_mkdirat(task: Any, dirfd: int, path: int, mode: int, *_: int) -> int:
    return _mkdir(task, dirfd, path, mode)


@syscall("mkdir")
def sys_mkdir(task: Any, path: int, mode: int, *_: int) -> int:
    return _mkdir(task, AT_FDCWD, path, mode)


def _no_trailing_create(task: Any, parent: Path, name: bytes, trailing: bool) -> None:
    """Creating a non-directory at "name/": EEXIST if it exists, else ENOENT (Linux)."""
    if trailing:
        if vfs.lookup_child(task, parent, name) is not None:
            raise KernelError(EEXIST)
        raise KernelError(ENOENT)


def _mknod(task: Any, dirfd: int, path: int, mode: int, dev: int) -> int:
    parent, name, trailing = _create_parent(task, dirfd, path)
    kind = mode & S_IFMT
    if kind == 0:
        kind = S_IFREG
    if kind in (S_IFCHR, S_IFBLK):
        if task.cred.euid != 0:
            raise KernelError(EPERM)
    elif kind == S_IFDIR:
        raise KernelError(EPERM)
    elif kind not in (S_IFREG, S_IFIFO, S_IFSOCK):
        raise KernelError(EINVAL)
    _no_trailing_create(task, parent, name, trailing)
    perm = mode & 0o7777 & ~task.fs.umask
    vfs.vfs_mknod(
        task, parent, name, kind | perm, dev & 0xFFFF_FFFF if kind in (S_IFCHR, S_IFBLK) else 0
    )
    return 0


@syscall("mknodat")
def sys_mknodat(task: Any, dirfd: int, path: int, mode: int, dev: int, *_: int) -> int:
    return _mknod(task, dirfd, path, mode, dev)


@syscall("mknod")
def sys_mknod(task: Any, path: int, mode: int, dev: int, *_: int) -> int:
    return _mknod(task, AT_FDCWD, path, mode, dev)


def _unlink(task: Any, dirfd: int, path: int) -> int:
    parent, name, trailing = _create_parent(task, dirfd, path)
    if trailing and name not in (b"", b".", b".."):
        child = vfs.lookup_child(task, parent, name)
        if child is None:
            raise KernelError(ENOENT)
        raise KernelError(EISDIR if child.inode.is_dir else ENOTDIR)
    vfs.vfs_unlink(task, parent, name)
    return 0


def _rmdir(task: Any, dirfd: int, path: int) -> int:
    parent, name, _trailing = _create_parent(task, dirfd, path)
    vfs.vfs_rmdir(task, parent, name)
    return 0


@syscall("unlinkat")
def sys_unlinkat(task: Any, dirfd: int, path: int, flags: int, *_: int) -> int:
    flags = s32(flags)
    if flags & ~AT_REMOVEDIR:
        raise KernelError(EINVAL)
    if flags & AT_REMOVEDIR:
        return _rmdir(task, dirfd, path)
    return _unlink(task, dirfd, path)


@syscall("unlink")
def sys_unlink(task: Any, path: int, *_: int) -> int:
    return _unlink(task, AT_FDCWD, path)


@syscall("rmdir")
def sys_rmdir(task: Any, path: int, *_: int) -> int:
    return _rmdir(task, AT_FDCWD, path)


def _rename(task: Any, olddirfd: int, old: int, newdirfd: int, new: int, flags: int) -> int:
    op, on, ot = _create_parent(task, olddirfd, old)
    np, nn, nt = _create_parent(task, newdirfd, new)
    vfs.vfs_rename(task, op, on, np, nn, flags & 0xFFFF_FFFF, ot, nt)
    return 0


@syscall("renameat2")
def sys_renameat2(
    task: Any, olddirfd: int, old: int, newdirfd: int, new: int, flags: int, *_: int
) -> int:
    return _rename(task, olddirfd, old, newdirfd, new, flags)


@syscall("renameat")
def sys_renameat(task: Any, olddirfd: int, old: int, newdirfd: int, new: int, *_: int) -> int:
    return _rename(task, olddirfd, old, newdirfd, new, 0)


@syscall("rename")
def sys_rename(task: Any, old: int, new: int, *_: int) -> int:
    return _rename(task, AT_FDCWD, old, AT_FDCWD, new, 0)


def _link(task: Any, olddirfd: int, old: int, newdirfd: int, new: int, flags: int) -> int:
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise KernelError(EINVAL)
    oldname = _pathname(task, old)
    if not oldname and flags & AT_EMPTY_PATH and task.cred.euid != 0:
        raise KernelError(ENOENT)  # linking an fd needs CAP_DAC_READ_SEARCH
    src = vfs.lookup_at(
        task,
        s32(olddirfd),
        oldname,
        bool(flags & AT_SYMLINK_FOLLOW),
        empty_ok=bool(flags & AT_EMPTY_PATH),
    )
    np, nn, nt = _create_parent(task, newdirfd, new)
    _no_trailing_create(task, np, nn, nt)
    vfs.vfs_link(task, src, np, nn)
    return 0


@syscall("linkat")
def sys_linkat(
    task: Any, olddirfd: int, old: int, newdirfd: int, new: int, flags: int, *_: int
) -> int:
    return _link(task, olddirfd, old, newdirfd, new, flags)


@syscall("link")
def sys_link(task: Any, old: int, new: int, *_: int) -> int:
    return _link(task, AT_FDCWD, old, AT_FDCWD, new, 0)


def _symlink(task: Any, target: int, newdirfd: int, linkpath: int) -> int:
    body = _pathname(task, target)
    parent, name, trailing = _create_parent(task, newdirfd, linkpath)
    _no_trailing_create(task, parent, name, trailing)
    vfs.vfs_symlink(task, parent, name, body)
    return 0


@syscall("symlinkat")
def sys_symlinkat(task: Any, target: int, newdirfd: int, linkpath: int, *_: int) -> int:
    return _symlink(task, target, newdirfd, linkpath)


@syscall("symlink")
def sys_symlink(task: Any, target: int, linkpath: int, *_: int) -> int:
    return _symlink(task, target, AT_FDCWD, linkpath)


def _readlink(task: Any, dirfd: int, path: int, buf: int, bufsiz: int) -> int:
    size = s32(bufsiz)
    if size <= 0:
        raise KernelError(EINVAL)
    name = _pathname(task, path)
    if not name and dirfd == AT_FDCWD:
        raise KernelError(ENOENT)
    p = vfs.lookup_at(task, dirfd, name, False, empty_ok=True)
    if not p.inode.is_lnk:
        raise KernelError(EINVAL)
    body = p.inode.readlink(task)[:size]
    task.mm.copy_out(buf, body)
    return len(body)


@syscall("readlinkat")
def sys_readlinkat(task: Any, dirfd: int, path: int, buf: int, bufsiz: int, *_: int) -> int:
    return _readlink(task, s32(dirfd), path, buf, bufsiz)


@syscall("readlink")
def sys_readlink(task: Any, path: int, buf: int, bufsiz: int, *_: int) -> int:
    return _readlink(task, AT_FDCWD, path, buf, bufsiz)


# --- attributes -----------------------------------------------------------------------------


def _in_group(cred: Any, gid: int) -> bool:
    return cred.fsgid == gid or gid in cred.groups


def _setattr_check(p_or_inode: Path | Inode) -> Inode:
    if isinstance(p_or_inode, Path):
        vfs.may_write_fs(p_or_inode)
        return p_or_inode.inode
    return p_or_inode


def _chmod(task: Any, target: Path | Inode, mode: int) -> int:
    inode = _setattr_check(target)
    cred = task.cred
    if not vfs.is_owner_or_root(inode, cred):
        raise KernelError(EPERM)
    mode &= 0o7777
    if cred.fsuid != 0 and not _in_group(cred, inode.gid):
        mode &= ~S_ISGID
    path = target if isinstance(target, Path) else None
    inode.setattr(path, {"mode": (inode.mode & S_IFMT) | mode, "ctime": inode.sb.now()})
    _changed(target, inode, IN_ATTRIB)
    return 0


def _changed(target: Path | Inode, inode: Inode, mask: int) -> None:
    """notify_change's event (fsnotify_change) for whoever watches the inode or its parent."""
    if inode.sb.watched:
        fsnotify.change(target if isinstance(target, Path) else None, inode, mask)


@syscall("fchmodat")
def sys_fchmodat(task: Any, dirfd: int, path: int, mode: int, *_: int) -> int:
    return _chmod(task, vfs.lookup_at(task, s32(dirfd), _pathname(task, path), True), mode)


@syscall("chmod")
def sys_chmod(task: Any, path: int, mode: int, *_: int) -> int:
    return _chmod(task, vfs.lookup(task, _pathname(task, path), True), mode)


@syscall("fchmod")
def sys_fchmod(task: Any, fd: int, mode: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    return _chmod(task, f.path if f.path is not None else f.inode, mode)


def _chown(task: Any, target: Path | Inode, uid: int, gid: int) -> int:
    inode = _setattr_check(target)
    cred = task.cred
    uid &= 0xFFFF_FFFF
    gid &= 0xFFFF_FFFF
    nouid, nogid = uid == 0xFFFF_FFFF, gid == 0xFFFF_FFFF
    if cred.fsuid != 0:
        if not nouid and uid != inode.uid:
            raise KernelError(EPERM)
        if not nogid and gid != inode.gid and (cred.fsuid != inode.uid or not _in_group(cred, gid)):
            raise KernelError(EPERM)
        if (not nouid or not nogid) and cred.fsuid != inode.uid:
            raise KernelError(EPERM)
    attrs = {}
    if not nouid:
        attrs["uid"] = uid
    if not nogid:
        attrs["gid"] = gid
    if (not nouid or not nogid) and not inode.is_dir:
        # Linux clears set-user-ID always, set-group-ID when group exec is set.
        kill = S_ISUID | (S_ISGID if inode.mode & 0o010 else 0)
        attrs["mode"] = inode.mode & ~kill
    attrs["ctime"] = inode.sb.now()
    inode.setattr(target if isinstance(target, Path) else None, attrs)
    if not nouid or not nogid:
        _changed(target, inode, IN_ATTRIB)
    return 0


@syscall("fchownat")
def sys_fchownat(task: Any, dirfd: int, path: int, uid: int, gid: int, flags: int, *_: int) -> int:
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(EINVAL)
    return _chown(task, _at_path(task, s32(dirfd), _pathname(task, path), flags), uid, gid)


@syscall("chown")
def sys_chown(task: Any, path: int, uid: int, gid: int, *_: int) -> int:
    return _chown(task, vfs.lookup(task, _pathname(task, path), True), uid, gid)


@syscall("lchown")
def sys_lchown(task: Any, path: int, uid: int, gid: int, *_: int) -> int:
    return _chown(task, vfs.lookup(task, _pathname(task, path), False), uid, gid)


@syscall("fchown")
def sys_fchown(task: Any, fd: int, uid: int, gid: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    return _chown(task, f.path if f.path is not None else f.inode, uid, gid)


@syscall("utimensat")
def sys_utimensat(task: Any, dirfd: int, path: int, times: int, flags: int, *_: int) -> int:
    flags = s32(flags)
    dirfd = s32(dirfd)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(EINVAL)
    now = None
    if times:
        a_s, a_ns, m_s, m_ns = _TIMESPEC2.unpack(task.mm.copy_in(times, 32))
        for ns in (a_ns, m_ns):
            if ns not in (UTIME_NOW, UTIME_OMIT) and not 0 <= ns < 1_000_000_000:
                raise KernelError(EINVAL)
    else:
        a_s = m_s = 0
        a_ns = m_ns = UTIME_NOW
    if a_ns == UTIME_OMIT and m_ns == UTIME_OMIT:
        return 0
    if path:
        target: Path | Inode = _at_path(task, dirfd, _pathname(task, path), flags)
    else:
        if flags & AT_SYMLINK_NOFOLLOW:
            raise KernelError(EINVAL)
        if dirfd == AT_FDCWD:
            raise KernelError(EFAULT)
        f = task.files.get(dirfd)
        target = f.path if f.path is not None else f.inode
    inode = _setattr_check(target)
    cred = task.cred
    explicit = a_ns not in (UTIME_NOW, UTIME_OMIT) or m_ns not in (UTIME_NOW, UTIME_OMIT)
    if not vfs.is_owner_or_root(inode, cred):
        if explicit:
            raise KernelError(EPERM)
        permission(inode, MAY_WRITE, cred)
    now = inode.sb.now()
    attrs = {}
    if a_ns != UTIME_OMIT:
        attrs["atime"] = now if a_ns == UTIME_NOW else a_s * 1_000_000_000 + a_ns
    if m_ns != UTIME_OMIT:
        attrs["mtime"] = now if m_ns == UTIME_NOW else m_s * 1_000_000_000 + m_ns
    attrs["ctime"] = now
    inode.setattr(target if isinstance(target, Path) else None, attrs)
    # fsnotify_change: both times are a utime call (IN_ATTRIB); one alone reads as an access
    # or a modification
    if a_ns == UTIME_OMIT:
        _changed(target, inode, IN_MODIFY)
    else:
        _changed(target, inode, IN_ACCESS if m_ns == UTIME_OMIT else IN_ATTRIB)
    return 0


def _access(task: Any, dirfd: int, path: int, mode: int, flags: int) -> int:
    if mode & ~7:
        raise KernelError(EINVAL)
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(EINVAL)
    p = _at_path(task, dirfd, _pathname(task, path), flags)
    if mode == 0:
        return 0
    mask = (
        (MAY_READ if mode & 4 else 0)
        | (MAY_WRITE if mode & 2 else 0)
        | (MAY_EXEC if mode & 1 else 0)
    )
    if mask & MAY_WRITE and p.mnt.sb.readonly and p.inode.mode & S_IFMT not in (S_IFCHR, S_IFIFO):
        raise KernelError(EROFS)
    permission(p.inode, mask, task.cred, real=not flags & AT_EACCESS)
    return 0


@syscall("faccessat")
def sys_faccessat(task: Any, dirfd: int, path: int, mode: int, *_: int) -> int:
    return _access(task, s32(dirfd), path, mode, 0)


@syscall("faccessat2")
def sys_faccessat2(task: Any, dirfd: int, path: int, mode: int, flags: int, *_: int) -> int:
    return _access(task, s32(dirfd), path, mode, s32(flags))


@syscall("access")
def sys_access(task: Any, path: int, mode: int, *_: int) -> int:
    return _access(task, AT_FDCWD, path, mode, 0)


# --- size and sync --------------------------------------------------------------------------


@syscall("ftruncate")
def sys_ftruncate(task: Any, fd: int, length: int, *_: int) -> int:
    f = task.files.get(s32(fd))
    length = s64(length)
    if length < 0 or not f.writable or not (f.inode.is_reg or f.regular_to_vfs):
        raise KernelError(EINVAL)
    if f.inode.is_reg:  # (a pidfd's truncate answers for itself, before any size limit)
        _newsize_ok(task, f.inode, length)
    f.truncate(length)
    _changed(f.path if f.path is not None else f.inode, f.inode, IN_MODIFY)
    return 0


@syscall("truncate")
def sys_truncate(task: Any, path: int, length: int, *_: int) -> int:
    length = s64(length)
    if length < 0:
        raise KernelError(EINVAL)
    p = vfs.lookup(task, _pathname(task, path), True)
    inode = p.inode
    if inode.is_dir:
        raise KernelError(EISDIR)
    if not inode.is_reg:
        raise KernelError(EINVAL)
    permission(inode, MAY_WRITE, task.cred)
    vfs.may_write_fs(p)
    vfs.get_write_access(inode)
    _newsize_ok(task, inode, length)
    inode.set_size(length)
    _changed(p, inode, IN_MODIFY)
    return 0


def _falloc_mode_ok(mode: int) -> None:
    """The mode: one operation, with or without KEEP_SIZE where it may have it; every other
    combination is EOPNOTSUPP (as Linux checks it since 6.12; 6.1 said EINVAL for some)."""
    op = mode & FALLOC_FL_MODE_MASK
    if mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE):
        raise KernelError(EOPNOTSUPP)
    if op in (0, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_ZERO_RANGE):
        return
    keep = mode & FALLOC_FL_KEEP_SIZE
    if op == FALLOC_FL_PUNCH_HOLE and keep:
        return
    exclusive = (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_WRITE_ZEROES)
    if op in exclusive and not keep:
        return
    raise KernelError(EOPNOTSUPP)


@syscall("fallocate")
def sys_fallocate(task: Any, fd: int, mode: int, offset: int, length: int, *_: int) -> int:
    """vfs_fallocate's checks in Linux's order, then the file's operation (File.fallocate:
    tmpfs's shmem_fallocate, a volume's host call, EOPNOTSUPP where there is none)."""
    f = task.files.get(s32(fd))
    off, ln, mode = s64(offset), s64(length), s32(mode)
    if off < 0 or ln <= 0:
        raise KernelError(EINVAL)
    _falloc_mode_ok(mode)
    if not f.writable:
        raise KernelError(EBADF)
    inode = f.inode
    kind = inode.mode & S_IFMT
    if kind == S_IFIFO:
        raise KernelError(ESPIPE)
    if kind == S_IFDIR:
        raise KernelError(EISDIR)
    if kind != S_IFREG and not f.regular_to_vfs:
        raise KernelError(ENODEV)
    if off + ln > vfs.MAX_LFS_FILESIZE:
        raise KernelError(EFBIG)
    f.fallocate(mode, off, ln, lambda size: _newsize_ok(task, inode, size))
    _modified(f, 1)
    return 0


@syscall("fsync", "fdatasync")
def sys_fsync(task: Any, fd: int, *_: int) -> int:
    task.files.get(s32(fd)).fsync()
    return 0


@syscall("syncfs")
def sys_syncfs(task: Any, fd: int, *_: int) -> int:
    task.files.get(s32(fd))  # any file names its file system (a pipe's is pipefs)
    return 0


@syscall("sync")
def sys_sync(task: Any, *_: int) -> int:
    return 0


@syscall("fadvise64")
def sys_fadvise64(task: Any, fd: int, offset: int, length: int, advice: int, *_: int) -> int:
    task.files.get(s32(fd))
    if advice & 0xFFFF_FFFF > 5:
        raise KernelError(EINVAL)
    return 0
