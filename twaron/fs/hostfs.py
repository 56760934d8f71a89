"""hostfs: the files of a host directory, seen through the VFS.

The one driver behind both uses of host files (Linux's nearest relatives: a bind mount, and
overlayfs's lower layer):
- the overlay's lower layer (`--rootfs DIR`, `--image`): read-only, never written; a file's
  bytes are read into its page cache when first used (fs/overlayfs.py copies it up when the
  guest changes it);
- volumes (`--volume HOST:GUEST[:ro]`, VolumeInode below): the guest's changes are made on
  the host, and never outside the volume's directory.

How the host is reached (`HostTree`): through a descriptor of the tree's root opened once,
then one `openat(O_NOFOLLOW)` per path component, so a path is only ever resolved beneath
the root and no host symlink is followed on the way (a symlink in the tree is a guest
symlink, resolved by the guest's path walk inside the guest). Descriptors of the
directories and files in use are kept in small LRU caches.

A host directory becomes guest dentries when first looked into (`HostDentry`: its
`children` fill themselves from one host listing, in the host's readdir order); each entry
is an inode with the host's attributes (mode, owner, times, size, blocks, link count,
st_ino), and files are host-backed page caches (`HostPageCache`) that read the host file a
readahead window at a time when a page is first wanted, by read() or by a mapping (execve
maps these frames as it maps tmpfs's).
"""

from __future__ import annotations

import ctypes
import os
import stat as pystat
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from twaron.arch.x86_64.constants import (
    PAGE_SHIFT,
    PAGE_SIZE,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_IFSOCK,
)
from twaron.arch.x86_64.errno import EIO
from twaron.errors import KernelError
from twaron.fs.vfs import Dentry, Inode, mkdev
from twaron.mm.page_cache import PageCache, PageQuota
from twaron.mm.physmem import PhysMem

READAHEAD_PAGES = 32  # a host file is read 128 KiB at a time (Linux's default readahead)
DIR_FDS = 64  # directory descriptors kept open per tree
FILE_FDS = 32  # file descriptors kept open per tree (for reading pages)
XATTR_PREFIXES = (b"user.",)  # the host's extended attributes a guest sees

_O_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_LIST = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_KINDS = {pystat.S_IFREG: S_IFREG, pystat.S_IFDIR: S_IFDIR, pystat.S_IFLNK: S_IFLNK,
          pystat.S_IFCHR: S_IFCHR, pystat.S_IFBLK: S_IFBLK, pystat.S_IFIFO: S_IFIFO,
          pystat.S_IFSOCK: S_IFSOCK}  # fmt: skip


def host_error(e: OSError) -> KernelError:
    """A host call's failure as the guest's errno (Linux's numbers are the host's)."""
    return KernelError(e.errno or EIO)


def split(rel: bytes) -> tuple[bytes, bytes]:
    """b"usr/bin/ls" -> (b"usr/bin", b"ls"); b"ls" -> (b"", b"ls")."""
    head, _, name = rel.rpartition(b"/")
    return head, name


def join(rel: bytes, name: bytes) -> bytes:
    return rel + b"/" + name if rel else name


class HostTree:
    """A host directory, reached only beneath its root. `rel` paths are relative to the
    root (b"" is the root itself) and name directories the guest saw as directories."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.root_fd = os.open(self.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.dev = os.fstat(self.root_fd).st_dev
        self.dirfds: OrderedDict[bytes, int] = OrderedDict()
        self.filefds: OrderedDict[Any, int] = OrderedDict()
        self._finalizer = weakref.finalize(self, _close_all, self.root_fd, self.dirfds,
                                           self.filefds)  # fmt: skip

    def close(self) -> None:
        self._finalizer()

    # --- descriptors ---
    def dirfd(self, rel: bytes) -> int:
        """An O_PATH descriptor of directory rel (cached): OSError if it is not one."""
        if not rel:
            return self.root_fd
        fds = self.dirfds
        fd = fds.get(rel)
        if fd is not None:
            fds.move_to_end(rel)
            return fd
        head, name = split(rel)
        fd = os.open(name, _O_DIR, dir_fd=self.dirfd(head))
        fds[rel] = fd
        if len(fds) > DIR_FDS:
            os.close(fds.popitem(last=False)[1])
        return fd

    def forget_dirs(self) -> None:
        """A directory moved or went away (a volume's rename, rmdir): drop every cached
        directory descriptor, so that no later walk starts from a stale one."""
        while self.dirfds:
            os.close(self.dirfds.popitem()[1])

    def file_fd(self, key: Any, rel: bytes) -> int:
        """A read-only descriptor of the file rel, cached under key (one per inode)."""
        fds = self.filefds
        fd = fds.get(key)
        if fd is not None:
            fds.move_to_end(key)
            return fd
        head, name = split(rel)
        fd = os.open(name, _O_READ, dir_fd=self.dirfd(head))
        fds[key] = fd
        if len(fds) > FILE_FDS:
            os.close(fds.popitem(last=False)[1])
        return fd

    def forget_file(self, key: Any) -> None:
        fd = self.filefds.pop(key, None)
        if fd is not None:
            os.close(fd)

    # --- reading ---
    def lstat(self, rel: bytes) -> os.stat_result:
        if not rel:
            return os.stat(self.root_fd)
        head, name = split(rel)
        return os.stat(name, dir_fd=self.dirfd(head), follow_symlinks=False)

    def listdir(self, rel: bytes) -> Iterator[tuple[bytes, os.stat_result]]:
        """(name, lstat) of every entry of directory rel, in the host's readdir order."""
        head, name = split(rel)
        fd = os.open(name or ".", _O_LIST, dir_fd=self.dirfd(head) if rel else self.root_fd)
        try:
            with os.scandir(fd) as it:
                entries = list(it)
            for e in entries:
                try:
                    yield os.fsencode(e.name), e.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone meanwhile
        finally:
            os.close(fd)

    def readlink(self, rel: bytes) -> bytes:
        head, name = split(rel)
        return os.readlink(name, dir_fd=self.dirfd(head))

    def xattrs(self, rel: bytes, is_link: bool) -> dict[bytes, bytes]:
        """The host's user.* extended attributes of rel (none for a symlink: Linux keeps
        user.* to regular files and directories)."""
        if is_link:
            return {}
        out: dict[bytes, bytes] = {}
        try:
            fd = os.open(split(rel)[1] or ".", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                         | os.O_NONBLOCK | os.O_NOCTTY,
                         dir_fd=self.dirfd(split(rel)[0]) if rel else self.root_fd)  # fmt: skip
        except OSError:
            return out
        try:
            for name in os.listxattr(fd):
                bname = os.fsencode(name)
                if bname.startswith(XATTR_PREFIXES):
                    out[bname] = os.getxattr(fd, name)
        except OSError:
            pass
        finally:
            os.close(fd)
        return out

    def pread(self, key: Any, rel: bytes, n: int, offset: int) -> bytes:
        return os.pread(self.file_fd(key, rel), n, offset)

    def open(self, rel: bytes, flags: int, mode: int = 0o600) -> int:
        """openat beneath the root (O_NOFOLLOW: the last component may not be a symlink)."""
        head, name = split(rel)
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, mode,
                       dir_fd=self.dirfd(head))  # fmt: skip


def _close_all(root_fd: int, *caches: OrderedDict) -> None:
    for cache in caches:
        while cache:
            try:
                os.close(cache.popitem()[1])
            except OSError:
                pass
    try:
        os.close(root_fd)
    except OSError:
        pass


# ------------------------------------------------------------------------------- inodes


def guest_mode(st: os.stat_result) -> int:
    return _KINDS.get(pystat.S_IFMT(st.st_mode), S_IFREG) | pystat.S_IMODE(st.st_mode)


def fill_attrs(inode: Inode, st: os.stat_result) -> None:
    """The host's attributes, as stat(2) on the host reports them."""
    inode.mode = guest_mode(st)
    inode.uid = st.st_uid
    inode.gid = st.st_gid
    inode.nlink = st.st_nlink
    inode.size = st.st_size
    inode.atime = st.st_atime_ns
    inode.mtime = st.st_mtime_ns
    inode.ctime = inode.btime = st.st_ctime_ns
    if inode.mode & S_IFMT in (S_IFCHR, S_IFBLK):
        inode.rdev = mkdev(os.major(st.st_rdev), os.minor(st.st_rdev))


class HostDentry(Dentry):
    """A directory of a host tree: its children are the host's entries, listed the first
    time anyone looks (then the dentry tree is the directory, as tmpfs's)."""

    __slots__ = ("_kids", "_listed")

    def __init__(self, name: bytes, parent: Dentry | None, inode: Inode) -> None:
        self._listed = False
        super().__init__(name, parent, inode)

    @property  # type: ignore[override]
    def children(self) -> dict[bytes, Dentry] | None:
        kids = self._kids
        if not self._listed:
            self._listed = True
            size = self.inode.size
            self.inode.fill_dir(self)  # type: ignore[attr-defined]
            self.inode.size = size  # the host's st_size, not tmpfs's 20 bytes an entry
        return kids

    @children.setter
    def children(self, value: dict[bytes, Dentry] | None) -> None:
        self._kids = value

    @property
    def listed(self) -> bool:
        return self._listed


def new_dentry(name: bytes, parent: Dentry | None, inode: Inode) -> Dentry:
    if isinstance(inode, HostBacked) and inode.is_dir:
        return HostDentry(name, parent, inode)
    return Dentry(name, parent, inode)


class HostBacked:
    """Marker of inodes whose directories list a host directory (HostDentry uses it)."""

    __slots__ = ()


# ------------------------------------------------------------------------------- page cache


class HostPageCache(PageCache):
    """A page cache filled from a host file: a page missing below `host_size` is read from
    the host (a readahead window at a time) when read() or a mapping first wants it.

    `source` is (tree, key, rel) while the host file backs the cache; the overlay drops it
    when it copies the file up (every page then lives here, charged to the upper layer's
    tmpfs size). Pages of a cache nothing ever mapped are clean copies of the host's and
    may be dropped under memory pressure (`Shrinker`); a mapped cache keeps its frames (page
    tables hold them without a reference).
    """

    __slots__ = ("source", "host_size", "mapped", "shrinker", "dirty")

    def __init__(self, mem: PhysMem, source: tuple[HostTree, Any] | None, host_size: int,
                 shrinker: Shrinker | None = None) -> None:  # fmt: skip
        super().__init__(mem, None)
        self.source = source  # (tree, inode): inode.host_rel() names the file in the tree
        self.host_size = host_size
        self.mapped = False
        self.shrinker = shrinker
        self.dirty = False  # a shared writable mapping may have changed pages (volumes)

    # mm's entry points: the frames will be mapped
    def find_or_create(self, index: int) -> int:
        if not self.mapped:
            self._pin()
        pfn = self.pages.get(index)
        if pfn is None and self.source is not None and index << PAGE_SHIFT < self.host_size:
            self._fill(index)
            pfn = self.pages.get(index)
        if pfn is None:
            pfn = super().find_or_create(index)
        return pfn

    def _pin(self) -> None:
        self.mapped = True
        if self.shrinker is not None:
            self.shrinker.forget(self)

    def read(self, offset: int, n: int) -> bytes:
        if self.source is not None and n > 0:
            self.load(offset, n)
        return super().read(offset, n)

    def read_to(self, mm: Any, addr: int, offset: int, n: int) -> int:
        if self.source is not None and n > 0:
            self.load(offset, n)
        return super().read_to(mm, addr, offset, n)

    def load(self, offset: int, n: int) -> None:
        """Every page of [offset, offset+n) below host_size is in the cache."""
        end = min(offset + n, self.host_size)
        if offset >= end:
            return
        pages = self.pages
        first, last = offset >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
        shrinker = self.shrinker if not self.mapped else None
        if shrinker is not None:
            shrinker.forget(self)  # never dropped while it is being filled
        try:
            for index in range(first, last + 1):
                if index not in pages:
                    self._fill(index)
        finally:
            if shrinker is not None and pages:
                shrinker.remember(self)

    def _fill(self, index: int) -> None:
        """Read the readahead window holding page `index` from the host."""
        assert self.source is not None
        _tree, inode = self.source
        limit = (self.host_size + PAGE_SIZE - 1) >> PAGE_SHIFT
        first = index - index % READAHEAD_PAGES
        last = min(first + READAHEAD_PAGES, limit)
        pages = self.pages
        while first < last and first in pages:
            first += 1
        end = first
        while end < last and end not in pages:
            end += 1
        if first >= end:
            return
        try:
            data = inode.host_pread((end - first) << PAGE_SHIFT, first << PAGE_SHIFT)
        except OSError as e:
            raise host_error(e) from None
        mem = self.mem
        mv = memoryview(data)
        for i in range(first, end):
            chunk = mv[(i - first) << PAGE_SHIFT : (i - first + 1) << PAGE_SHIFT]
            if not chunk:
                break  # the host file is shorter than it was: the rest reads as zeros
            pfn = mem.alloc(zero=len(chunk) < PAGE_SIZE)
            mem.write(pfn, 0, chunk)
            pages[i] = pfn
        if self.pte_blocks:
            self.pte_blocks.clear()

    def load_all(self) -> None:
        self.load(0, self.host_size)

    def detach(self, quota: PageQuota | None, keep_data: bool = True) -> None:
        """Copy-up: every page of the host file into the cache (or none, for a file about
        to be truncated), charged to quota; the host is not read again."""
        if keep_data:
            self.load_all()
            if quota is not None:
                quota.charge(len(self.pages))  # ENOSPC: the upper layer is full
        else:
            self.orphans.extend(self.pages.values())  # mappings may still hold them
            self.pages.clear()
            self.pte_blocks.clear()
        self.quota = quota
        self._release_source()
        self.host_size = 0

    def _release_source(self) -> None:
        if self.source is not None:
            tree, inode = self.source
            tree.forget_file(inode)
            self.source = None
        if self.shrinker is not None:
            self.shrinker.forget(self)

    def drop_clean(self) -> int:
        """The shrinker drops this cache's pages (nothing maps them): frames freed."""
        n = len(self.pages)
        for pfn in self.pages.values():
            self.mem.put(pfn)
        self.pages.clear()
        self.pte_blocks.clear()
        return n

    def release(self) -> None:
        self._release_source()
        super().release()

    def blocks_held(self) -> int:
        return len(self.pages) * (PAGE_SIZE // 512)


class Shrinker:
    """The clean host pages of one superblock, least recently used first: dropped when guest
    memory runs out (PhysMem.shrinkers), as Linux reclaims clean page cache."""

    def __init__(self, mem: PhysMem) -> None:
        self.lru: OrderedDict[int, HostPageCache] = OrderedDict()
        self.mem = mem
        mem.shrinkers.append(self.shrink)

    def remember(self, cache: HostPageCache) -> None:
        self.lru[id(cache)] = cache
        self.lru.move_to_end(id(cache))

    def forget(self, cache: HostPageCache) -> None:
        self.lru.pop(id(cache), None)

    def shrink(self, wanted: int) -> int:
        freed = 0
        while self.lru and freed < wanted:
            _, cache = self.lru.popitem(last=False)
            freed += cache.drop_clean()
        return freed


# ------------------------------------------------------------------------------- renameat2

_libc: Any = None
SYS_RENAMEAT2 = 316


def renameat2(olddirfd: int, old: bytes, newdirfd: int, new: bytes, flags: int) -> None:
    """The host's renameat2 (os.rename has no flags)."""
    if not flags:
        os.rename(old, new, src_dir_fd=olddirfd, dst_dir_fd=newdirfd)
        return
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    r = _libc.syscall(SYS_RENAMEAT2, olddirfd, old, newdirfd, new,
                      flags & (RENAME_NOREPLACE | RENAME_EXCHANGE))  # fmt: skip
    if r != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def host_fstype(path: str) -> str:
    """The type of the host file system holding path (from /proc/self/mountinfo), for what
    /proc/mounts shows of a volume; "hostfs" when it cannot be told."""
    try:
        dev = os.stat(path).st_dev
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[2] == f"{os.major(dev)}:{os.minor(dev)}" and "-" in fields:
                    return fields[fields.index("-") + 1]
    except (OSError, IndexError, ValueError):
        pass
    return "hostfs"


def statvfs_fields(path_fd: int, magic: int, readonly: bool) -> tuple:
    """struct statfs's fields from the host's statvfs (stat.py packs them)."""
    from twaron.arch.x86_64.constants import NAME_MAX, ST_RDONLY, ST_RELATIME

    try:
        v = os.statvfs(path_fd)
    except OSError:
        return (magic, PAGE_SIZE, 0, 0, 0, 0, 0, 0, 0, NAME_MAX, PAGE_SIZE, ST_RELATIME)
    flags = ST_RELATIME | (ST_RDONLY if readonly else 0)
    return (magic, v.f_bsize, v.f_blocks, v.f_bfree, v.f_bavail, v.f_files, v.f_ffree, 0, 0,
            v.f_namemax, v.f_frsize, flags)  # fmt: skip
