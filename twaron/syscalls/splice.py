"""splice, tee, vmsplice and copy_file_range: data moved by the kernel between pipes and
files (fs/splice.py has the pipe side). Checks in Linux's order (fs/splice.c,
fs/read_write.c's vfs_copy_file_range)."""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    MAX_RW_COUNT,
    O_APPEND,
    O_NONBLOCK,
    O_PATH,
    RLIM_INFINITY,
    RLIMIT_FSIZE,
    SIGPIPE,
    SIGXFSZ,
    SPLICE_F_ALL,
    SPLICE_F_NONBLOCK,
)
from twaron.arch.x86_64.errno import (
    EBADF,
    EFBIG,
    EINVAL,
    EISDIR,
    EOVERFLOW,
    EPIPE,
    ESPIPE,
    EXDEV,
)
from twaron.errors import KernelError
from twaron.fs import splice
from twaron.fs.vfs import MAX_LFS_FILESIZE, File
from twaron.process import signal as sigs
from twaron.syscalls.fs import _fsize, _read_iov
from twaron.syscalls.table import s32, syscall
from twaron.wait import need_context

_LOFF = struct.Struct("<q")
COPY_CHUNK = 1 << 20  # copy_file_range moves this much per step (Linux: a pipe's worth)
SZ_1G = 1 << 30  # what one copy_file_range moves at most (Linux 6.9+; before, MAX_RW_COUNT)


def _file(task: Any, fd: int) -> File:
    """fdget: O_PATH descriptors are not files for these calls."""
    f = task.files.get(s32(fd))
    if f.flags & O_PATH:
        raise KernelError(EBADF)
    return f


def _sigpipe(task: Any, e: KernelError) -> None:
    if e.errno == EPIPE:
        sigs.send_signal(task.kernel, task.group, SIGPIPE)


def _verify_area(offset: int, n: int) -> None:
    """rw_verify_area: a negative offset, or one that would wrap, is EINVAL."""
    if offset < 0 or offset + n > MAX_LFS_FILESIZE:
        raise KernelError(EINVAL)


# ---- splice --------------------------------------------------------------------------------


@syscall("splice")
def sys_splice(task: Any, fd_in: int, off_in: int, fd_out: int, off_out: int, length: int,
               flags: int) -> int:  # fmt: skip
    if not length:
        return 0
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(EINVAL)
    fin, fout = _file(task, fd_in), _file(task, fd_out)
    ipipe, opipe = splice.pipe_of(fin), splice.pipe_of(fout)
    if ipipe is not None and off_in or opipe is not None and off_out:
        raise KernelError(ESPIPE)
    mm = task.mm
    out_pos = _LOFF.unpack(mm.copy_in(off_out, 8))[0] if off_out else None
    in_pos = _LOFF.unpack(mm.copy_in(off_in, 8))[0] if off_in else None
    if not fin.readable or not fout.writable:
        raise KernelError(EBADF)
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    n = min(length, MAX_RW_COUNT)
    try:
        if ipipe is not None and opipe is not None:
            if ipipe is opipe:
                raise KernelError(EINVAL)
            nonblock = nonblock or bool((fin.flags | fout.flags) & O_NONBLOCK)
            return splice.pipe_to_pipe(ipipe, opipe, n, nonblock, consume=True)
        if ipipe is not None:
            return _pipe_to_file(task, fin, ipipe, fout, off_out, out_pos, n, nonblock)
        if opipe is not None:
            return _file_to_pipe(task, fin, off_in, in_pos, fout, opipe, n, nonblock)
    except KernelError as e:
        _sigpipe(task, e)
        raise
    raise KernelError(EINVAL)  # neither end is a pipe


def _pipe_to_file(task: Any, fin: File, ipipe: Any, fout: File, off_out: int,
                  pos: int | None, n: int, nonblock: bool) -> int:  # fmt: skip
    if pos is None:
        pos = fout.pos if fout.seekable else -1
    elif not fout.seekable:
        raise KernelError(EINVAL)  # no FMODE_PWRITE
    if fout.flags & O_APPEND:
        raise KernelError(EINVAL)
    if pos >= 0:
        _verify_area(pos, n)
    if fin.flags & O_NONBLOCK:
        nonblock = True
    if fout.inode.is_dir:
        raise KernelError(EINVAL)  # no ->splice_write

    def write(data: bytes) -> int:
        data = _fsize(task, fout, data, pos)
        return fout.pwrite(data, pos) if pos >= 0 else fout.write(data)

    if fout.may_block:
        need_context()  # the write may sleep after the pipe gave its data
    done = splice.pipe_to_file(ipipe, n, nonblock, write)
    if pos >= 0:
        if off_out:
            task.mm.copy_out(off_out, _LOFF.pack(pos + done))
        else:
            fout.pos = pos + done
    return done


def _file_to_pipe(task: Any, fin: File, off_in: int, pos: int | None, fout: File,
                  opipe: Any, n: int, nonblock: bool) -> int:  # fmt: skip
    if pos is not None and not fin.seekable:
        raise KernelError(EINVAL)  # no FMODE_PREAD
    if pos is None and fin.seekable:
        pos = fin.pos
    if pos is not None:
        _verify_area(pos, n)
    if fout.flags & O_NONBLOCK:
        nonblock = True
    if fin.may_block:
        need_context()  # the read may sleep once there is room
    data = splice.file_to_pipe(fin, opipe, pos if pos is not None else -1, n, nonblock)
    if pos is not None:
        if off_in:
            task.mm.copy_out(off_in, _LOFF.pack(pos + len(data)))
        else:
            fin.pos = pos + len(data)
    return len(data)


# ---- tee -----------------------------------------------------------------------------------


@syscall("tee")
def sys_tee(task: Any, fd_in: int, fd_out: int, length: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(EINVAL)
    if not length:
        return 0
    fin, fout = _file(task, fd_in), _file(task, fd_out)
    if not fin.readable or not fout.writable:
        raise KernelError(EBADF)
    ipipe, opipe = splice.pipe_of(fin), splice.pipe_of(fout)
    if ipipe is None or opipe is None or ipipe is opipe:
        raise KernelError(EINVAL)
    nonblock = bool(flags & SPLICE_F_NONBLOCK or (fin.flags | fout.flags) & O_NONBLOCK)
    try:
        return splice.pipe_to_pipe(ipipe, opipe, min(length, MAX_RW_COUNT), nonblock,
                                   consume=False)  # fmt: skip
    except KernelError as e:
        _sigpipe(task, e)
        raise


# ---- vmsplice ------------------------------------------------------------------------------


@syscall("vmsplice")
def sys_vmsplice(task: Any, fd: int, iov: int, nr_segs: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(EINVAL)
    f = _file(task, fd)
    if not f.writable and not f.readable:
        raise KernelError(EBADF)
    if nr_segs > 1024:
        raise KernelError(EINVAL)  # import_iovec: UIO_MAXIOV (nr_segs is unsigned long)
    iovs = _read_iov(task, iov, nr_segs)
    total = min(sum(n for _, n in iovs), MAX_RW_COUNT)
    if not total:
        return 0
    pipe = splice.pipe_of(f)
    if pipe is None:
        raise KernelError(EBADF)
    nonblock = bool(flags & SPLICE_F_NONBLOCK or f.flags & O_NONBLOCK)
    mm = task.mm
    if f.writable:  # user memory into the pipe: as much as fits now
        try:
            splice.wait_room(pipe, nonblock)
        except KernelError as e:
            _sigpipe(task, e)
            raise
        room = min(pipe.room(), total)
        data = bytearray()
        for base, n in iovs:
            if len(data) >= room:
                break
            data += mm.copy_in(base, min(n, room - len(data)))
        splice.push(pipe, bytes(data))
        return len(data)
    # the pipe into user memory: a read of it
    if not splice.wait_data(pipe, nonblock):
        return 0
    data = splice.pull(pipe, total, consume=False)
    done = 0
    for base, n in iovs:
        chunk = data[done : done + n]
        if not chunk:
            break
        try:
            mm.copy_out(base, chunk)
        except KernelError:
            if not done:
                raise
            break  # what reached the caller left the pipe; the rest stays
        done += len(chunk)
    splice.pull(pipe, done)
    return done


# ---- copy_file_range -----------------------------------------------------------------------


@syscall("copy_file_range")
def sys_copy_file_range(task: Any, fd_in: int, off_in: int, fd_out: int, off_out: int,
                        length: int, flags: int) -> int:  # fmt: skip
    fin, fout = _file(task, fd_in), _file(task, fd_out)
    mm = task.mm
    pos_in = _LOFF.unpack(mm.copy_in(off_in, 8))[0] if off_in else fin.pos
    pos_out = _LOFF.unpack(mm.copy_in(off_out, 8))[0] if off_out else fout.pos
    if flags & 0xFFFF_FFFF:
        raise KernelError(EINVAL)
    count = _copy_checks(task, fin, pos_in, fout, pos_out, length)
    _verify_area(pos_in, count)
    _verify_area(pos_out, count)
    count = min(count, SZ_1G)
    done = 0
    while done < count:
        chunk = fin.pread(min(COPY_CHUNK, count - done), pos_in + done)
        if not chunk:
            break
        n = fout.pwrite(chunk, pos_out + done)
        done += n
        if n < len(chunk):
            break
    if done > 0:
        if off_in:
            mm.copy_out(off_in, _LOFF.pack(pos_in + done))
        else:
            fin.pos = pos_in + done
        if off_out:
            mm.copy_out(off_out, _LOFF.pack(pos_out + done))
        else:
            fout.pos = pos_out + done
    return done


def _copy_checks(task: Any, fin: File, pos_in: int, fout: File, pos_out: int, length: int) -> int:
    """generic_copy_file_checks: what may be copied (the count, cut at the input's end and
    at RLIMIT_FSIZE), or Linux's errno."""
    iin, iout = fin.inode, fout.inode
    if iin.is_dir or iout.is_dir:
        raise KernelError(EISDIR)
    if not iin.is_reg or not iout.is_reg:
        raise KernelError(EINVAL)
    if not fin.readable or not fout.writable or fout.flags & O_APPEND:
        raise KernelError(EBADF)
    if iin.sb is not iout.sb:
        raise KernelError(EXDEV)  # no file system here copies across superblocks
    mask = (1 << 64) - 1
    if (pos_in + length) & mask < pos_in & mask or (pos_out + length) & mask < pos_out & mask:
        raise KernelError(EOVERFLOW)
    count = 0 if pos_in >= iin.size else min(length, iin.size - pos_in)
    if pos_out >= MAX_LFS_FILESIZE:  # generic_write_check_limits
        raise KernelError(EFBIG)
    count = min(count, MAX_LFS_FILESIZE - pos_out)
    lim = task.group.rlimits.get(RLIMIT_FSIZE)
    if lim is not None and lim[0] != RLIM_INFINITY:
        if pos_out >= lim[0]:
            sigs.send_signal(task.kernel, task.group, SIGXFSZ)
            raise KernelError(EFBIG)
        count = min(count, lim[0] - pos_out)
    if iin is iout and pos_out + count > pos_in and pos_out < pos_in + count:
        raise KernelError(EINVAL)  # overlapping ranges of one file
    return count

