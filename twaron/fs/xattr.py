"""Extended attributes (Linux's fs/xattr.c with tmpfs's simple_xattr handlers).

tmpfs inodes (every inode of a superblock with a page cache: tmpfs, devtmpfs) keep their
attributes in `inode.xattrs`, name -> value. The namespaces tmpfs has: user.* (regular files
and directories only; on other types a read finds nothing and a write is EPERM), trusted.*
(root only: others read nothing and may not write) and security.* (writing needs root, as
the capability LSM decides). Other file systems (procfs, pipes) have no attributes:
EOPNOTSUPP, after the VFS's own permission checks, as on Linux.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    S_IFDIR,
    S_IFMT,
    S_IFREG,
    S_ISVTX,
    XATTR_CREATE,
    XATTR_REPLACE,
)
from twaron.arch.x86_64.errno import EEXIST, EINVAL, ENODATA, EOPNOTSUPP, EPERM, ERANGE, EROFS
from twaron.errors import KernelError
from twaron.fs.vfs import MAY_READ, MAY_WRITE, Inode, is_owner_or_root, permission

USER, TRUSTED, SECURITY, SYSTEM = b"user.", b"trusted.", b"security.", b"system."
HANDLERS = (USER, TRUSTED, SECURITY)  # what tmpfs has (POSIX ACLs aside)


def has_xattrs(inode: Inode) -> bool:
    """IOP_XATTR: the file system keeps attributes (tmpfs-like ones do)."""
    return inode.sb.mem is not None and not inode.sb.pseudo


def _permission(inode: Inode, name: bytes, mask: int, cred: Any) -> None:
    """xattr_permission."""
    if name.startswith((SECURITY, SYSTEM)):
        return
    if name.startswith(TRUSTED):
        if cred.euid != 0:  # CAP_SYS_ADMIN
            raise KernelError(EPERM if mask & MAY_WRITE else ENODATA)
        return
    if name.startswith(USER):
        kind = inode.mode & S_IFMT
        if kind not in (S_IFREG, S_IFDIR):
            raise KernelError(EPERM if mask & MAY_WRITE else ENODATA)
        if kind == S_IFDIR and inode.mode & S_ISVTX and mask & MAY_WRITE \
                and not is_owner_or_root(inode, cred):  # fmt: skip
            raise KernelError(EPERM)
    permission(inode, mask, cred)


def _resolve(inode: Inode, name: bytes) -> None:
    """xattr_resolve_name: a namespace the file system has, with a name after its prefix."""
    if not has_xattrs(inode):
        raise KernelError(EOPNOTSUPP)
    for prefix in HANDLERS:
        if name.startswith(prefix):
            if name == prefix:
                raise KernelError(EINVAL)
            return
    raise KernelError(EOPNOTSUPP)


def getxattr(inode: Inode, name: bytes, size: int, cred: Any) -> bytes | int:
    """The value (size > 0, at most size bytes: ERANGE if it is longer) or its length
    (size 0). ENODATA when there is none."""
    _permission(inode, name, MAY_READ, cred)
    _resolve(inode, name)
    value = (inode.xattrs or {}).get(name)
    if value is None:
        raise KernelError(ENODATA)
    if not size:
        return len(value)
    if len(value) > size:
        raise KernelError(ERANGE)
    return value


def setxattr(inode: Inode, name: bytes, value: bytes, flags: int, cred: Any) -> None:
    if inode.sb.readonly:
        raise KernelError(EROFS)  # mnt_want_write: a read-only (volume) mount
    _permission(inode, name, MAY_WRITE, cred)
    _resolve(inode, name)
    if name.startswith(SECURITY) and cred.euid != 0:
        raise KernelError(EPERM)  # cap_inode_setxattr: CAP_SYS_ADMIN
    xattrs = inode.xattrs if inode.xattrs is not None else {}
    exists = name in xattrs
    if flags & XATTR_CREATE and exists:
        raise KernelError(EEXIST)
    if flags & XATTR_REPLACE and not exists:
        raise KernelError(ENODATA)
    xattrs[name] = value
    inode.xattrs = xattrs
    inode.ctime = inode.sb.now()


def removexattr(inode: Inode, name: bytes, cred: Any) -> None:
    if inode.sb.readonly:
        raise KernelError(EROFS)
    _permission(inode, name, MAY_WRITE, cred)
    _resolve(inode, name)
    if name.startswith(SECURITY) and cred.euid != 0:
        raise KernelError(EPERM)
    if not inode.xattrs or name not in inode.xattrs:
        raise KernelError(ENODATA)
    del inode.xattrs[name]
    inode.ctime = inode.sb.now()


def listxattr(inode: Inode, cred: Any) -> bytes:
    """simple_xattr_list: the names, each NUL-terminated, in the order of Linux's rbtree walk
    (names in descending byte order); trusted.* only for root. A file system without
    attributes lists nothing."""
    if not has_xattrs(inode) or not inode.xattrs:
        return b""
    names = sorted(inode.xattrs, reverse=True)
    if cred.euid != 0:
        names = [n for n in names if not n.startswith(TRUSTED)]
    return b"".join(n + b"\0" for n in names)
