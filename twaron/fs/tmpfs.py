"""tmpfs: a file system that lives in guest memory (Linux's shmem).

Directories are the dentry tree itself; regular files keep their bytes in a PageCache of
guest frames (inode.mapping), so mmap and execve share the frames with read/write. All the
directory operations are the generic tree operations of vfs. The helpers below build trees
from inside the kernel (boot, rootfs import), without a task or permission checks, like
Linux's init_mkdir/init_symlink.
"""

from __future__ import annotations

from collections.abc import Callable

from twaron.arch.x86_64.constants import (
    PAGE_SIZE,
    S_IFDIR,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    TMPFS_MAGIC,
)
from twaron.arch.x86_64.errno import EEXIST, ENOENT, ENOSPC, ENOTDIR
from twaron.errors import KernelError
from twaron.fs.vfs import Dentry, Inode, Path, SuperBlock, mount, new_root_mount
from twaron.mm.page_cache import PageQuota
from twaron.mm.physmem import PhysMem


def new_tmpfs(
    mem: PhysMem, clock: Callable[[], int], fstype: str = "tmpfs", mode: int = 0o755,
    size: int | None = None,
) -> tuple[SuperBlock, Inode]:
    """A fresh tmpfs superblock and its root directory inode. size: the limit in bytes of
    what its files hold, by default half of guest memory as Linux's tmpfs (writes past it
    are ENOSPC; statfs and df show it)."""
    sb = SuperBlock(fstype, TMPFS_MAGIC, mem, clock=clock)
    pages = (size + PAGE_SIZE - 1) // PAGE_SIZE if size is not None else mem.nframes // 2
    sb.quota = PageQuota(pages)
    return sb, Inode(sb, S_IFDIR | mode)


def tmpfs_root(mem: PhysMem, clock: Callable[[], int], mode: int = 0o755,
               size: int | None = None) -> Path:  # fmt: skip
    """A tmpfs mounted as the root of a new mount tree (the kernel's /)."""
    sb, root = new_tmpfs(mem, clock, mode=mode, size=size)
    return new_root_mount(sb, root, source="tmpfs")  # not "rootfs": df skips that name


def mount_tmpfs(
    at: Path, mem: PhysMem, clock: Callable[[], int], fstype: str = "tmpfs", mode: int = 0o755,
    size: int | None = None,
) -> Path:
    sb, root = new_tmpfs(mem, clock, fstype, mode, size)
    return mount(at, sb, root, source=fstype)


# --- kernel-internal tree builders (no task, no permission checks) ---


def _child(parent: Path, name: bytes) -> Path | None:
    d = parent.dentry.inode.lookup(parent.dentry, name)
    if d is None:
        return None
    m = parent.mnt.children.get(d)
    return Path(m, m.root) if m is not None else Path(parent.mnt, d)


def _parent_of(root: Path, path: bytes, create: bool = True) -> tuple[Path, bytes]:
    parts = [c for c in path.split(b"/") if c]
    if not parts:
        raise KernelError(EEXIST)
    cur = root
    for name in parts[:-1]:
        nxt = _child(cur, name)
        if nxt is None:
            if not create:
                raise KernelError(ENOENT)
            nxt = _add(cur, name, Inode(cur.mnt.sb, S_IFDIR | 0o755))
        if not nxt.inode.is_dir:
            raise KernelError(ENOTDIR)
        cur = nxt
    return cur, parts[-1]


def _add(parent: Path, name: bytes, inode: Inode) -> Path:
    d = Dentry(name, parent.dentry, inode)
    parent.dentry.add_child(d)
    if inode.is_dir:
        parent.inode.nlink += 1
    return Path(parent.mnt, d)


def resolve_internal(root: Path, path: bytes) -> Path | None:
    """Walk path below root without following symlinks (boot-time use)."""
    cur = root
    for name in [c for c in path.split(b"/") if c]:
        nxt = _child(cur, name)
        if nxt is None:
            return None
        cur = nxt
    return cur


def mkdir_p(root: Path, path: bytes, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Path:
    """mkdir -p; an existing directory keeps its mode."""
    cur = root
    for name in [c for c in path.split(b"/") if c]:
        nxt = _child(cur, name)
        if nxt is None:
            nxt = _add(cur, name, Inode(cur.mnt.sb, S_IFDIR | (mode & 0o7777), uid, gid))
        elif not nxt.inode.is_dir:
            raise KernelError(ENOTDIR)
        cur = nxt
    return cur


def add_node(
    root: Path,
    path: bytes,
    mode: int,
    uid: int = 0,
    gid: int = 0,
    rdev: int = 0,
    replace: bool = True,
) -> Path:
    """Create (or replace) any non-directory node at path, making parents as needed."""
    parent, name = _parent_of(root, path)
    old = parent.dentry.children.get(name) if parent.dentry.children is not None else None
    if old is not None:
        if not replace or old.inode.is_dir:
            raise KernelError(EEXIST)
        parent.dentry.remove_child(name)
        old.deleted = True
        old.inode.nlink -= 1
        old.inode.maybe_free()
    if mode & S_IFMT == S_IFDIR:
        return mkdir_p(root, path, mode, uid, gid)
    return _add(parent, name, Inode(parent.mnt.sb, mode, uid, gid, rdev))


def add_file(
    root: Path, path: bytes, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0
) -> Path:
    p = add_node(root, path, S_IFREG | (mode & 0o7777), uid, gid)
    inode = p.inode
    if data:
        assert inode.mapping is not None
        if inode.mapping.write(0, data) != len(data):
            raise KernelError(ENOSPC, f"{path.decode(errors='replace')}: the tmpfs is full")
        inode.size = len(data)
    return p


def add_symlink(root: Path, path: bytes, target: bytes, uid: int = 0, gid: int = 0) -> Path:
    p = add_node(root, path, S_IFLNK | 0o777, uid, gid)
    p.inode.target = target
    p.inode.size = len(target)
    return p


def add_hardlink(root: Path, existing: Path, path: bytes) -> Path:
    parent, name = _parent_of(root, path)
    if parent.dentry.children is not None and name in parent.dentry.children:
        raise KernelError(EEXIST)
    existing.inode.nlink += 1
    return _add(parent, name, existing.inode)
