"""Extended attribute system calls: get/set/list/removexattr with their l* (no symlink
following) and f* (an fd) forms. The name and value are read before the path is walked, as
Linux does since 6.13 (fs/xattr.c's path_*xattrat); the rules are fs/xattr.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    O_PATH,
    XATTR_CREATE,
    XATTR_LIST_MAX,
    XATTR_NAME_MAX,
    XATTR_REPLACE,
    XATTR_SIZE_MAX,
)
from twaron.arch.x86_64.errno import E2BIG, EBADF, EINVAL, ENAMETOOLONG, ERANGE
from twaron.errors import KernelError
from twaron.fs import vfs, xattr
from twaron.fs.vfs import Inode
from twaron.syscalls.fs import _pathname
from twaron.syscalls.table import s32, syscall

Target = Callable[[], Inode]


def _name(task: Any, addr: int) -> bytes:
    """import_xattr_name: 1..255 bytes (ERANGE otherwise), EFAULT if unreadable."""
    try:
        name = task.mm.read_cstring(addr, XATTR_NAME_MAX + 1)
    except KernelError as e:
        if e.errno == ENAMETOOLONG:
            raise KernelError(ERANGE) from None
        raise
    if not name:
        raise KernelError(ERANGE)
    return name


def _path_target(task: Any, path: int, follow: bool) -> Target:
    return lambda: vfs.lookup(task, _pathname(task, path), follow).inode


def _fd_target(task: Any, fd: int) -> Target:
    def target() -> Inode:
        f = task.files.get(s32(fd))
        if f.flags & O_PATH:
            raise KernelError(EBADF)
        return f.inode

    return target


# ---- getxattr ------------------------------------------------------------------------------


def _get(task: Any, target: Target, name_addr: int, value: int, size: int) -> int:
    name = _name(task, name_addr)
    inode = target()
    got = xattr.getxattr(inode, name, min(size, XATTR_SIZE_MAX), task.cred)
    if isinstance(got, int):
        return got
    task.mm.copy_out(value, got)
    return len(got)


@syscall("getxattr")
def sys_getxattr(task: Any, path: int, name: int, value: int, size: int, *_: int) -> int:
    return _get(task, _path_target(task, path, True), name, value, size)


@syscall("lgetxattr")
def sys_lgetxattr(task: Any, path: int, name: int, value: int, size: int, *_: int) -> int:
    return _get(task, _path_target(task, path, False), name, value, size)


@syscall("fgetxattr")
def sys_fgetxattr(task: Any, fd: int, name: int, value: int, size: int, *_: int) -> int:
    return _get(task, _fd_target(task, fd), name, value, size)


# ---- setxattr ------------------------------------------------------------------------------


def _set(task: Any, target: Target, name_addr: int, value: int, size: int, flags: int) -> int:
    flags = s32(flags)
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise KernelError(EINVAL)
    name = _name(task, name_addr)
    if size > XATTR_SIZE_MAX:
        raise KernelError(E2BIG)
    data = task.mm.copy_in(value, size) if size else b""
    inode = target()
    xattr.setxattr(inode, name, data, flags, task.cred)
    return 0


@syscall("setxattr")
def sys_setxattr(task: Any, path: int, name: int, value: int, size: int, flags: int,
                 *_: int) -> int:  # fmt: skip
    return _set(task, _path_target(task, path, True), name, value, size, flags)


@syscall("lsetxattr")
def sys_lsetxattr(task: Any, path: int, name: int, value: int, size: int, flags: int,
                  *_: int) -> int:  # fmt: skip
    return _set(task, _path_target(task, path, False), name, value, size, flags)


@syscall("fsetxattr")
def sys_fsetxattr(task: Any, fd: int, name: int, value: int, size: int, flags: int,
                  *_: int) -> int:  # fmt: skip
    return _set(task, _fd_target(task, fd), name, value, size, flags)


# ---- listxattr -----------------------------------------------------------------------------


def _list(task: Any, target: Target, buf: int, size: int) -> int:
    names = xattr.listxattr(target(), task.cred)
    if not size:
        return len(names)
    if len(names) > min(size, XATTR_LIST_MAX):
        raise KernelError(ERANGE if size < XATTR_LIST_MAX else E2BIG)
    task.mm.copy_out(buf, names)
    return len(names)


@syscall("listxattr")
def sys_listxattr(task: Any, path: int, buf: int, size: int, *_: int) -> int:
    return _list(task, _path_target(task, path, True), buf, size)


@syscall("llistxattr")
def sys_llistxattr(task: Any, path: int, buf: int, size: int, *_: int) -> int:
    return _list(task, _path_target(task, path, False), buf, size)


@syscall("flistxattr")
def sys_flistxattr(task: Any, fd: int, buf: int, size: int, *_: int) -> int:
    return _list(task, _fd_target(task, fd), buf, size)


# ---- removexattr ---------------------------------------------------------------------------


def _remove(task: Any, target: Target, name_addr: int) -> int:
    name = _name(task, name_addr)
    xattr.removexattr(target(), name, task.cred)
    return 0


@syscall("removexattr")
def sys_removexattr(task: Any, path: int, name: int, *_: int) -> int:
    return _remove(task, _path_target(task, path, True), name)


@syscall("lremovexattr")
def sys_lremovexattr(task: Any, path: int, name: int, *_: int) -> int:
    return _remove(task, _path_target(task, path, False), name)


@syscall("fremovexattr")
def sys_fremovexattr(task: Any, fd: int, name: int, *_: int) -> int:
    return _remove(task, _fd_target(task, fd), name)
