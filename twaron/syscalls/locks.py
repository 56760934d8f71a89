"""File locks: fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and the F_OFD_* forms) and
flock(2). The locks themselves are fs/locks.py's; here struct flock is decoded and checked
in Linux's order (fcntl_getlk, fcntl_setlk, sys_flock)."""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    F_GETLK,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_RDLCK,
    F_SETLKW,
    F_UNLCK,
    F_WRLCK,
    LOCK_EX,
    LOCK_MAND,
    LOCK_NB,
    LOCK_SH,
    LOCK_UN,
    O_PATH,
    OFFSET_MAX,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    SIZEOF_FLOCK,
)
from twaron.arch.x86_64.errno import EBADF, EINVAL
from twaron.errors import KernelError
from twaron.fs import locks
from twaron.fs.locks import FL_OFDLCK, FL_POSIX, FileLock
from twaron.fs.vfs import File
from twaron.syscalls.table import s32, syscall
from twaron.wait import need_context

# struct flock: l_type, l_whence, 4 bytes of padding, l_start, l_len, l_pid, 4 bytes of padding
# (written back as they came: Linux copies the whole struct out again)
_FLOCK_HEAD = struct.Struct("<hh")
_FLOCK_BODY = struct.Struct("<qqi")
FLOCK_TYPES = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}


def _request(task: Any, f: File, l_type: int, whence: int, start: int, length: int) -> FileLock:
    """flock64_to_posix_lock: the byte range from l_whence, l_start and l_len (a negative
    l_len locks the bytes before l_start), owned by the process's fd table."""
    if whence == SEEK_SET:
        base = 0
    elif whence == SEEK_CUR:
        base = f.pos
    elif whence == SEEK_END:
        base = f.inode.size
    else:
        raise KernelError(EINVAL)
    lo, hi = locks.flock_to_range(base, start, length)
    if l_type not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise KernelError(EINVAL)
    return FileLock(l_type, lo, hi, task.files, task.pid, f, FL_POSIX)


def fcntl_lock(task: Any, f: File, cmd: int, arg: int) -> int:
    """fcntl's lock commands (called by sys_fcntl)."""
    if f.flags & O_PATH:
        raise KernelError(EBADF)  # check_fcntl_cmd: an O_PATH fd takes no lock command
    raw = bytearray(task.mm.copy_in(arg, SIZEOF_FLOCK))
    l_type, whence = _FLOCK_HEAD.unpack_from(raw)
    start, length, pid = _FLOCK_BODY.unpack_from(raw, 8)
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    if cmd in (F_GETLK, F_OFD_GETLK):
        # F_OFD_GETLK takes F_UNLCK too: "which lock of this description is here" (Linux 6.6)
        if l_type not in (F_RDLCK, F_WRLCK) and not (ofd and l_type == F_UNLCK):
            raise KernelError(EINVAL)
        request = _request(task, f, l_type, whence, start, length)
        if ofd:
            if pid:
                raise KernelError(EINVAL)
            request.flags |= FL_OFDLCK
            request.owner = f
        held = locks.posix_test(f.inode, request)
        if held is None:
            _FLOCK_HEAD.pack_into(raw, 0, F_UNLCK, whence)
        else:
            span = 0 if held.end == OFFSET_MAX else held.end - held.start + 1
            _FLOCK_HEAD.pack_into(raw, 0, held.type, SEEK_SET)
            _FLOCK_BODY.pack_into(raw, 8, held.start, span, -1 if held.ofd else held.pid)
        task.mm.copy_out(arg, raw)
        return 0
    request = _request(task, f, l_type, whence, start, length)
    if l_type == F_RDLCK and not f.readable or l_type == F_WRLCK and not f.writable:
        raise KernelError(EBADF)  # check_fmode_for_setlk
    if ofd:
        if pid:
            raise KernelError(EINVAL)
        request.flags |= FL_OFDLCK
        request.owner = f
    wait = cmd in (F_SETLKW, F_OFD_SETLKW)
    locks.posix_lock(task.kernel.fs.locks, f.inode, request, wait)
    return 0


@syscall("flock")
def sys_flock(task: Any, fd: int, cmd: int, *_: int) -> int:
    cmd &= 0xFFFF_FFFF
    if cmd & LOCK_MAND:
        return 0  # Linux ignores LOCK_MAND requests (and says so once in its log)
    type_ = FLOCK_TYPES.get(cmd & ~LOCK_NB)
    if type_ is None:
        raise KernelError(EINVAL)
    f = task.files.get(s32(fd))
    if f.flags & O_PATH or type_ != F_UNLCK and not (f.readable or f.writable):
        raise KernelError(EBADF)
    wait = not cmd & LOCK_NB
    if wait:
        need_context()  # a conversion drops the old lock before it may sleep
    locks.flock_lock(task.kernel.fs.locks, f, type_, task.pid, wait)
    return 0
