"""memfd_create and the seal commands of fcntl (F_ADD_SEALS, F_GET_SEALS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    F_ADD_SEALS,
    F_ALL_SEALS,
    F_GET_SEALS,
    F_SEAL_SEAL,
    F_SEAL_WRITE,
    MFD_ALLOW_SEALING,
    MFD_CLOEXEC,
    MFD_HUGETLB,
    MFD_NAME_MAX_LEN,
)
from twaron.arch.x86_64.errno import EBUSY, EINVAL, ENAMETOOLONG, EPERM
from twaron.errors import KernelError
from twaron.fs import memfd
from twaron.fs.vfs import File
from twaron.syscalls.fs import FCNTL_CMDS, _install
from twaron.syscalls.table import syscall

if TYPE_CHECKING:
    from twaron.kernel import Kernel
    from twaron.mm.page_cache import PageCache
    from twaron.process.task import Task


@syscall("memfd_create")
def sys_memfd_create(task: Task, uname: int, flags: int, *_: int) -> int:
    flags &= 0xFFFF_FFFF
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB) or flags & MFD_HUGETLB:
        raise KernelError(EINVAL)  # no hugetlbfs: as Linux with no huge page size
    try:
        name = task.mm.read_cstring(uname, MFD_NAME_MAX_LEN + 1)
    except KernelError as e:
        if e.errno == ENAMETOOLONG:
            raise KernelError(EINVAL) from None
        raise
    f = memfd.memfd_create(task.kernel, task.cred, name, bool(flags & MFD_ALLOW_SEALING))
    return _install(task, f, bool(flags & MFD_CLOEXEC))


def _shared_mapped(kernel: Kernel, mapping: PageCache) -> bool:
    """Whether any address space maps these pages shared (Linux's i_mmap_writable count)."""
    seen: set[int] = set()
    for t in kernel.pids.threads.values():
        mm = t.mm
        if id(mm) in seen:
            continue
        seen.add(id(mm))
        if any(v.mapping is mapping and v.shared for v in mm.vmas):
            return True
    return False


def fcntl_add_seals(task: Task, fd: int, f: File, arg: int) -> int:
    """Linux's memfd_add_seals, in its order of checks."""
    seals = arg & 0xFFFF_FFFF
    if not f.writable:
        raise KernelError(EPERM)
    if seals & ~F_ALL_SEALS:
        raise KernelError(EINVAL)
    current = memfd.file_seals(f)
    if current & F_SEAL_SEAL:
        raise KernelError(EPERM)
    inode = f.inode
    assert isinstance(inode, memfd.MemfdInode)
    if seals & F_SEAL_WRITE and not current & F_SEAL_WRITE:
        if _shared_mapped(task.kernel, inode.mapping):  # type: ignore[arg-type]
            raise KernelError(EBUSY)
    inode.seals = current | seals
    return 0


def fcntl_get_seals(task: Task, fd: int, f: File, arg: int) -> int:
    return memfd.file_seals(f)


FCNTL_CMDS.update({F_ADD_SEALS: fcntl_add_seals, F_GET_SEALS: fcntl_get_seals})
