"""memfd: anonymous tmpfs files (Linux's mm/memfd.c over shmem) and their seals.

A memfd is a regular file in the kernel's internal tmpfs (its own superblock, mounted
nowhere), never linked anywhere: st_nlink is 0, and /proc/PID/fd/N and /proc/PID/maps name
it "/memfd:NAME (deleted)". Its bytes are a page cache like any tmpfs file, so MAP_SHARED
mappings share them across fork. Seals (fcntl F_ADD_SEALS) forbid what they name: shrinking,
growing, writing (F_SEAL_WRITE: no write, no new shared writable mapping; refused while one
exists), future writes (F_SEAL_FUTURE_WRITE: mappings made before keep working), and more
seals (F_SEAL_SEAL). A memfd made without MFD_ALLOW_SEALING starts sealed with F_SEAL_SEAL.
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    F_SEAL_FUTURE_WRITE,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    O_LARGEFILE,
    O_RDWR,
    PAGE_SIZE,
    PROT_WRITE,
    S_IFREG,
    TMPFS_MAGIC,
)
from twaron.arch.x86_64.errno import EINVAL, EPERM
from twaron.errors import KernelError
from twaron.fs import tmpfs
from twaron.fs.vfs import Dentry, File, Inode, Path, RegularFile, new_root_mount

WRITE_SEALS = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE


class MemfdInode(Inode):
    __slots__ = ("seals",)

    def open(self, task: Any, path: Path, flags: int) -> File:
        return MemfdFile(path, flags)

    def set_size(self, size: int) -> None:
        """truncate, with Linux's shmem_setattr seal checks."""
        seals = self.seals
        if size < self.size and seals & F_SEAL_SHRINK or size > self.size and seals & F_SEAL_GROW:
            raise KernelError(EPERM)
        super().set_size(size)


class MemfdFile(RegularFile):
    __slots__ = ()

    def _write_at(self, data: bytes, pos: int) -> int:
        seals = self.inode.seals  # type: ignore[attr-defined]
        if seals and data:
            data = _sealed_write(seals, data, pos, self.inode.size)
        return super()._write_at(data, pos)


def _sealed_write(seals: int, data: bytes, pos: int, size: int) -> bytes:
    """What a write may put in under the seals: nothing with a write seal; with F_SEAL_GROW,
    the page-sized steps of generic_perform_write that end inside the file (EPERM if none)."""
    if seals & WRITE_SEALS:
        raise KernelError(EPERM)
    end = pos + len(data)
    if not seals & F_SEAL_GROW or end <= size:
        return data
    p = pos
    while p < end:
        step = min(PAGE_SIZE - p % PAGE_SIZE, end - p)
        if p + step > size:
            break
        p += step
    if p == pos:
        raise KernelError(EPERM)
    return data[: p - pos]


def shm_root(kernel: Any) -> Path:
    """The kernel's internal tmpfs (Linux's shm_mnt), made when first needed."""
    fs = kernel.fs
    if fs.shm is None:
        sb, root = tmpfs.new_tmpfs(kernel.mem, kernel.clock.realtime_ns)
        fs.root.mnt.ns.assign_dev(sb)  # a device number of this kernel's tree
        fs.shm = new_root_mount(sb, root, source="tmpfs")
    shm: Path = fs.shm
    return shm


def memfd_create(kernel: Any, cred: Any, name: bytes, allow_sealing: bool) -> MemfdFile:
    """A new memfd open O_RDWR: mode 0777 (less nothing: Linux applies no umask), no link."""
    root = shm_root(kernel)
    inode = MemfdInode(root.mnt.sb, S_IFREG | 0o777, cred.fsuid, cred.fsgid)
    inode.nlink = 0
    inode.seals = 0 if allow_sealing else F_SEAL_SEAL
    dentry = Dentry(b"memfd:" + name, root.dentry, inode)
    dentry.deleted = True  # d_path: "/memfd:NAME (deleted)"
    return MemfdFile(Path(root.mnt, dentry), O_RDWR | O_LARGEFILE)


def file_seals(f: File) -> int:
    """F_GET_SEALS: a memfd's seals; any other tmpfs file is sealed with F_SEAL_SEAL (as
    shmem files are); a file of another kind has none to show (EINVAL)."""
    inode = f.inode
    if isinstance(inode, MemfdInode):
        return inode.seals
    if inode.is_reg and inode.mapping is not None and inode.sb.magic == TMPFS_MAGIC:
        return F_SEAL_SEAL
    raise KernelError(EINVAL)


def mmap_check(inode: Inode, shared: bool, prot: int) -> None:
    """A write seal forbids new shared writable mappings (Linux's seal_check_write); a
    read-only shared one is allowed, as since Linux 6.7."""
    if shared and prot & PROT_WRITE and getattr(inode, "seals", 0) & WRITE_SEALS:
        raise KernelError(EPERM)
