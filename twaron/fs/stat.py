"""struct stat, struct statx and struct statfs in the x86-64 ABI, packed from an Inode."""

from __future__ import annotations

import struct

from twaron.arch.x86_64.constants import (
    NAME_MAX,
    PAGE_SIZE,
    ST_RDONLY,
    ST_RELATIME,
    STATX_BASIC_STATS,
    STATX_BTIME,
)
from twaron.fs.vfs import Inode, Path, dev_major, dev_minor

# struct stat (asm/stat.h, x86-64): 144 bytes
STAT = struct.Struct("<QQQIIIiQqqqqqqqqq24x")
# struct statx (linux/stat.h): 256 bytes
STATX = struct.Struct("<IIQIIIHxxQQQQqIiqIiqIiqIiIIIIQII96x")
# struct statfs (asm-generic/statfs.h, 64-bit): 120 bytes
STATFS = struct.Struct("<qqQQQQQiiqqq32x")
assert STAT.size == 144 and STATX.size == 256 and STATFS.size == 120

_NS = 1_000_000_000


def blocks_of(inode: Inode) -> int:
    """st_blocks in 512-byte units: the pages a tmpfs file really holds (the host's count
    for a host-backed file)."""
    return inode.blocks()


def pack_stat(inode: Inode) -> bytes:
    a, m, c = inode.atime, inode.mtime, inode.ctime
    return STAT.pack(
        inode.sb.dev, inode.ino, inode.st_nlink(), inode.mode, inode.uid, inode.gid, 0,
        inode.rdev, inode.size, PAGE_SIZE, blocks_of(inode),
        a // _NS, a % _NS, m // _NS, m % _NS, c // _NS, c % _NS,
    )  # fmt: skip


def pack_statx(inode: Inode, mask: int = STATX_BASIC_STATS) -> bytes:
    """Every basic field plus btime, whatever was asked (Linux may return more than mask)."""
    a, b, c, m = inode.atime, inode.btime, inode.ctime, inode.mtime
    dev = inode.sb.dev
    return STATX.pack(
        STATX_BASIC_STATS | STATX_BTIME, PAGE_SIZE, 0,
        inode.st_nlink(), inode.uid, inode.gid, inode.mode & 0xFFFF,
        inode.ino, inode.size, blocks_of(inode), 0,
        a // _NS, a % _NS, 0, b // _NS, b % _NS, 0, c // _NS, c % _NS, 0, m // _NS, m % _NS, 0,
        dev_major(inode.rdev), dev_minor(inode.rdev), dev_major(dev), dev_minor(dev),
        0, 0, 0,
    )  # fmt: skip


def pack_statfs(path: Path) -> bytes:
    sb = path.mnt.sb
    host = getattr(sb, "statfs", None)
    if host is not None:  # a host-backed file system: the host's own figures
        return STATFS.pack(*host())
    mem = sb.mem
    if sb.quota is not None:  # tmpfs: its size limit and what its files hold
        blocks, free = sb.quota.limit, max(0, sb.quota.limit - sb.quota.used)
        files = ffree = mem.nframes if mem is not None else 0
    elif mem is not None:
        blocks, free = mem.nframes, mem.frames_free
        files = ffree = mem.nframes
    else:
        blocks = free = files = ffree = 0
    flags = ST_RELATIME | (ST_RDONLY if sb.readonly else 0)
    return STATFS.pack(
        sb.magic, PAGE_SIZE, blocks, free, free, files, ffree, sb.dev & 0xFFFF_FFFF, 0,
        NAME_MAX, PAGE_SIZE, flags,
    )  # fmt: skip
