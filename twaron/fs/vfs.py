"""The virtual file system: inodes, dentries, mounts, path walk and open file descriptions.

Shapes follow Linux:
- `Inode` is a file (metadata + ops). Regular files keep their bytes in a PageCache
  (`inode.mapping`), so mm can map the same frames.
- `Dentry` is a name in a directory. For tmpfs-like file systems the dentry tree *is* the
  directory contents (as in Linux's ramfs/shmem, where the dcache is the file system).
- `Mount` attaches a superblock's root dentry on a dentry of a parent mount.
- `Path` = (mount, dentry): what cwd, root, /proc/PID/exe and an open file refer to.
- `File` is an open file description (struct file): shared by dup'ed fds and across fork.

Path walk is Linux's namei: `lookup_at` (resolve a whole path), `lookup_parent_at` (the
parent directory and final name, for create/unlink/rename), `open_at` (open(2)).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    AT_FDCWD,
    BOGO_DIRENT_SIZE,
    F_SEAL_FUTURE_WRITE,
    F_SEAL_GROW,
    F_SEAL_WRITE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    IN_ATTRIB,
    IN_MODIFY,
    IN_OPEN,
    MAXSYMLINKS,
    NAME_MAX,
    O_ACCMODE,
    O_APPEND,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    PAGE_SHIFT,
    PATH_MAX,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
    POLLWRNORM,
    PROC_SUPER_MAGIC,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RENAME_WHITEOUT,
    RESOLVE_BENEATH,
    RESOLVE_CACHED,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_ISGID,
    S_ISVTX,
    SEEK_CUR,
    SEEK_DATA,
    SEEK_END,
    SEEK_HOLE,
    SEEK_SET,
    TMPFS_MAGIC,
    WHITEOUT_DEV,
)
from twaron.arch.x86_64.errno import (
    EACCES,
    EAGAIN,
    EBUSY,
    EEXIST,
    EFBIG,
    EINVAL,
    EISDIR,
    ELOOP,
    ENAMETOOLONG,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    ENXIO,
    EOPNOTSUPP,
    EPERM,
    EROFS,
    ESPIPE,
    ETXTBSY,
    EXDEV,
)
from twaron.errors import KernelError
from twaron.fs import fsnotify, locks

if TYPE_CHECKING:
    from twaron.fs.locks import LockContext
    from twaron.mm.page_cache import PageCache, PageQuota
    from twaron.mm.physmem import PhysMem

MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4
MAX_LFS_FILESIZE = (1 << 63) - 1
_DIRENT_HDR = struct.Struct("<QqHB")  # linux_dirent64 without its name

# Opens of char devices and fifos are dispatched through these tables, filled in by
# devfs (and later by the pipe module) so that vfs does not import them.
# CHRDEV_OPEN[rdev] = fn(task, path, flags) -> File
SHMEM_FSTYPES = ("tmpfs", "devtmpfs", "overlay")  # whose RegularFiles are shmem's (fallocate)
CHRDEV_OPEN: dict[int, Callable[[Any, Path, int], File]] = {}
FIFO_OPEN: list[Callable[[Any, Path, int], File]] = []


def mkdev(major: int, minor: int) -> int:
    """Linux's new_encode_dev: the dev_t userspace sees in st_dev / st_rdev."""
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


def dev_major(dev: int) -> int:
    return (dev >> 8) & 0xFFF


def dev_minor(dev: int) -> int:
    return (dev & 0xFF) | ((dev >> 12) & ~0xFF)


FIRST_MNT_ID = 21  # a container's root mount id is about this (the host's mounts come first)


class MountNamespace:
    """What the mounts of one tree (one kernel) share: the device numbers of its memory file
    systems (Linux's get_anon_bdev: major 0), given out in mount order."""

    __slots__ = ("next_minor", "next_mnt_id")

    def __init__(self) -> None:
        self.next_minor = 16
        self.next_mnt_id = FIRST_MNT_ID  # /proc/PID/mountinfo's mount ids, in mount order

    def assign_dev(self, sb: SuperBlock) -> None:
        if not sb.dev:
            self.next_minor += 1
            sb.dev = mkdev(0, self.next_minor)


class SuperBlock:
    """One mounted file system instance: its identity (dev, magic), inode numbers, clock."""

    def __init__(
        self,
        fstype: str,
        magic: int = TMPFS_MAGIC,
        mem: PhysMem | None = None,
        *,
        clock: Callable[[], int],  # the kernel's clock: nanoseconds since the epoch
        readonly: bool = False,
        pseudo: bool = False,
        mount_opts: str = "rw,relatime",
    ) -> None:
        self.fstype = fstype
        self.magic = magic
        self.mem = mem
        self.dev = 0  # given by the mount namespace when first mounted (MountNamespace)
        self.next_ino = 1
        self.clock = clock  # nanoseconds since the epoch, for timestamps
        self.readonly = readonly  # no create/unlink/rename through the generic tree ops
        self.pseudo = pseudo  # pipefs & co: d_path is just the dentry's name
        self.mount_opts = mount_opts
        self.watched = 0  # inodes with fsnotify marks: hooks do nothing while it is 0
        self.move_cookie = 0  # the last IN_MOVED_FROM/TO cookie given out
        self.quota: PageQuota | None = None  # tmpfs's size limit, charged by its files' pages

    def new_ino(self) -> int:
        self.next_ino += 1
        return self.next_ino

    def now(self) -> int:
        return self.clock()


class Inode:
    """A file. Subclasses (procfs) override the ops; tmpfs uses this class as it is."""

    __slots__ = (
        "sb", "ino", "mode", "uid", "gid", "nlink", "size", "atime", "mtime", "ctime",
        "btime", "rdev", "mapping", "target", "opens", "writers", "pipe", "fsn", "flctx",
        "xattrs", "linkable", "denywrite", "__weakref__",
    )  # fmt: skip
    dirent_size = BOGO_DIRENT_SIZE  # tmpfs's st_size per entry (0: the size is the host's)

    unmergeable = False  # mm never merges VMAs of it (System V shm counts its VMAs)

    def __init__(
        self, sb: SuperBlock, mode: int, uid: int = 0, gid: int = 0, rdev: int = 0
    ) -> None:
        self.sb = sb
        self.ino = sb.new_ino()
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.nlink = 2 if mode & S_IFMT == S_IFDIR else 1
        self.size = 0
        now = sb.now()
        self.atime = self.mtime = self.ctime = self.btime = now
        self.rdev = rdev
        self.mapping: PageCache | None = None
        self.target = b""  # symlink body
        self.opens = 0  # open Files (and mm references taken with iget)
        self.writers = 0  # open Files with write access (execve refuses: ETXTBSY)
        self.denywrite = 0  # address spaces running it (opening it to write: ETXTBSY)
        self.pipe: Any = None  # a FIFO's buffer while either end is open (Linux's i_pipe)
        self.fsn: list[Any] | None = None  # fsnotify marks (inotify, dnotify), see fsnotify
        self.flctx: LockContext | None = None  # its file locks, once it had some (fs/locks.py)
        self.xattrs: dict[bytes, bytes] | None = None  # extended attributes (fs/xattr.py)
        self.linkable = False  # an O_TMPFILE file linkat may give a name (I_LINKABLE)
        if mode & S_IFMT == S_IFREG and sb.mem is not None:
            from twaron.mm.page_cache import PageCache

            self.mapping = PageCache(sb.mem, sb.quota)
        elif mode & S_IFMT == S_IFDIR and sb.mem is not None:
            self.size = 2 * BOGO_DIRENT_SIZE  # a tmpfs directory counts "." and ".." too

    # --- type tests ---
    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    @property
    def is_reg(self) -> bool:
        return self.mode & S_IFMT == S_IFREG

    @property
    def is_lnk(self) -> bool:
        return self.mode & S_IFMT == S_IFLNK

    @property
    def dtype(self) -> int:
        return (self.mode >> 12) & 0o17

    # --- lifetime: the data goes with the last link and the last open reference ---
    def iget(self) -> None:
        self.opens += 1

    def iput(self) -> None:
        self.opens -= 1
        self.maybe_free()

    def maybe_free(self) -> None:
        if self.nlink == 0 and self.opens <= 0:
            if self.fsn is not None:  # the last name and the last user are gone
                fsnotify.inode_removed(self)
            if self.mapping is not None:
                self.mapping.release()
                self.size = 0

    # --- ops that file systems override ---
    def lookup(self, dentry: Dentry, name: bytes) -> Dentry | None:
        """The child named `name` of this directory (whose dentry is `dentry`), or None."""
        ch = dentry.children
        return ch.get(name) if ch is not None else None

    def iterate(self, dentry: Dentry, pos: int) -> Iterator[tuple[int, int, int, bytes]]:
        """(next_pos, ino, d_type, name) for entries at or after position pos."""
        if pos < 1:
            yield 1, self.ino, 4, b"."
        if pos < 2:
            yield 2, dentry.parent.inode.ino, 4, b".."
        ch = dentry.children
        if ch:
            for d in ch.values():
                if d.seq >= pos:
                    yield d.seq + 1, d.inode.ino, d.inode.dtype, d.name

    def get_link(self, task: Any) -> bytes | Path:
        """A symlink's body, or (magic /proc links) the Path it stands for."""
        return self.target

    def readlink(self, task: Any) -> bytes:
        """readlink(2): the body, or for a magic link the name of what it points at."""
        body = self.get_link(task)
        return d_path(body, task.fs.root) if isinstance(body, Path) else body

    def open(self, task: Any, path: Path, flags: int) -> File:
        fmt = self.mode & S_IFMT
        if fmt == S_IFREG:
            return RegularFile(path, flags)
        if fmt == S_IFDIR:
            return DirFile(path, flags)
        if fmt == S_IFCHR:
            opener = CHRDEV_OPEN.get(self.rdev)
            if opener is None:
                raise KernelError(ENXIO)
            return opener(task, path, flags)
        if fmt == S_IFIFO and FIFO_OPEN:
            return FIFO_OPEN[0](task, path, flags)
        raise KernelError(ENXIO)

    def set_size(self, size: int) -> None:
        """truncate: drop or zero-extend the data."""
        if not self.is_reg:
            raise KernelError(EINVAL)
        if size < self.size and self.mapping is not None:
            self.mapping.truncate(size)
        self.size = size
        self.mtime = self.ctime = self.sb.now()

    def setattr(self, path: Path | None, attrs: dict[str, int]) -> None:
        """notify_change: chmod, chown and utimes set these fields (mode, uid, gid, atime,
        mtime, ctime) once every check passed. A file system backed by something else
        (hostfs, the overlay's lower layer) acts there first."""
        for name, value in attrs.items():
            setattr(self, name, value)

    def blocks(self) -> int:
        """st_blocks in 512-byte units: the pages a tmpfs file really holds."""
        if self.mapping is not None and self.mode & S_IFMT == S_IFREG:
            return len(self.mapping.pages) * 8
        return 0

    def st_nlink(self) -> int:
        """st_nlink as stat reports it (overlayfs says 1 for a merged directory)."""
        return self.nlink

    # --- namespace ops on a directory, called once the VFS's checks passed and before the
    # dentry tree changes (Linux's inode_operations). tmpfs's directories are the tree
    # itself, so these do nothing or make an inode in memory; hostfs does the change on the
    # host first (and raises its errno), the overlay copies its lower directories up.
    def dir_create(self, parent: Path, name: bytes, mode: int, cred: Any, rdev: int = 0,
                   target: bytes = b"") -> Inode:  # fmt: skip
        """A new inode of any type to be named `name` in this directory."""
        inode = _new_inode(parent, mode, cred, rdev)
        if target:
            inode.target = target
            inode.size = len(target)
        return inode

    def dir_link(self, old: Path, parent: Path, name: bytes) -> None:
        """link(2): old will also be named `name` in this directory."""

    def d_instantiate(self, dentry: Dentry) -> None:
        """A new name (create, mkdir, link) now names this inode (hostfs remembers one)."""

    def dir_unlink(self, parent: Path, name: bytes, child: Dentry) -> None:
        """unlink(2) (rmdir: is_dir is true) of `name` in this directory."""

    def dir_rename(self, op: Path, oname: bytes, np: Path, nname: bytes, flags: int) -> None:
        """rename(2) from this directory (op) to np."""

    def __repr__(self) -> str:
        return f"<Inode {self.sb.fstype}:{self.ino} {self.mode:o}>"


class Dentry:
    """A name in a directory. Directories have `children` (ordered: readdir order)."""

    __slots__ = ("name", "parent", "inode", "children", "seq", "next_seq", "deleted")

    def __init__(self, name: bytes, parent: Dentry | None, inode: Inode) -> None:
        self.name = name
        self.parent: Dentry = parent if parent is not None else self  # a root is its own parent
        self.inode = inode
        self.children: dict[bytes, Dentry] | None = {} if inode.is_dir else None
        self.seq = 0  # readdir position inside the parent: stable across unlinks
        self.next_seq = 3  # positions 0..2 are ".", ".." of this directory
        self.deleted = False

    def add_child(self, child: Dentry) -> None:
        assert self.children is not None
        child.parent = self
        child.seq = self.next_seq
        self.next_seq += 1
        child.deleted = False
        self.children[child.name] = child
        self.inode.size += self.inode.dirent_size

    def remove_child(self, name: bytes) -> Dentry:
        assert self.children is not None
        child = self.children.pop(name)
        self.inode.size -= self.inode.dirent_size
        return child

    def __repr__(self) -> str:
        return f"<Dentry {self.name!r} {self.inode!r}>"


class Mount:
    """A file system attached at `mountpoint` (a dentry of `parent`); roots have no parent."""

    __slots__ = ("sb", "root", "parent", "mountpoint", "children", "source", "ns", "mnt_id")

    def __init__(
        self,
        sb: SuperBlock,
        root: Dentry,
        parent: Mount | None = None,
        mountpoint: Dentry | None = None,
        source: str = "",
    ) -> None:
        self.sb = sb
        self.root = root
        self.parent = parent
        self.mountpoint = mountpoint
        self.children: dict[Dentry, Mount] = {}
        self.source = source or sb.fstype
        self.ns = parent.ns if parent is not None else MountNamespace()
        self.ns.assign_dev(sb)
        self.mnt_id = self.ns.next_mnt_id
        self.ns.next_mnt_id += 1


class Path:
    """(mount, dentry): a location in the tree, as Linux's struct path."""

    __slots__ = ("mnt", "dentry")

    def __init__(self, mnt: Mount, dentry: Dentry) -> None:
        self.mnt = mnt
        self.dentry = dentry

    @property
    def inode(self) -> Inode:
        return self.dentry.inode

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.mnt is self.mnt and other.dentry is self.dentry

    def __hash__(self) -> int:
        return hash((id(self.mnt), id(self.dentry)))

    def __repr__(self) -> str:
        return f"<Path {self.dentry.name!r} on {self.mnt.sb.fstype}>"


def new_root_mount(sb: SuperBlock, root_inode: Inode, source: str = "") -> Path:
    root = Dentry(b"/", None, root_inode)
    return Path(Mount(sb, root, source=source), root)


def mount(at: Path, sb: SuperBlock, root_inode: Inode | None = None, source: str = "") -> Path:
    """Attach sb (with a fresh root dentry for root_inode) on top of `at`; returns its root."""
    if not at.inode.is_dir:
        raise KernelError(ENOTDIR)
    if root_inode is None:
        root_inode = Inode(sb, S_IFDIR | 0o755)
    root = Dentry(at.dentry.name, None, root_inode)
    m = Mount(sb, root, at.mnt, at.dentry, source)
    at.mnt.children[at.dentry] = m
    return Path(m, root)


def mounts_under(root: Path) -> list[tuple[Mount, Path]]:
    """Every mount at or below root's mount, parents first (for /proc/mounts)."""
    out: list[tuple[Mount, Path]] = []
    stack = [root.mnt]
    while stack:
        m = stack.pop()
        out.append((m, Path(m, m.root)))
        stack.extend(reversed(list(m.children.values())))
    return out


def anon_path(sb: SuperBlock, inode: Inode, name: bytes) -> Path:
    """A Path outside the tree for pipes, sockets, eventfds: d_path gives `name` (pipe:[7])."""
    d = Dentry(name, None, inode)
    return Path(Mount(sb, d), d)


# ----------------------------------------------------------------------------------------
# permissions


def permission(inode: Inode, mask: int, cred: Any, real: bool = False) -> None:
    """generic_permission: raise EACCES unless cred may access inode with mask (MAY_*)."""
    uid = cred.uid if real else cred.fsuid
    mode = inode.mode
    if uid == 0:
        # CAP_DAC_OVERRIDE: everything, except exec of a file with no x bit at all.
        if mask & MAY_EXEC and not mode & 0o111 and mode & S_IFMT != S_IFDIR:
            raise KernelError(EACCES)
        return
    if uid == inode.uid:
        bits = (mode >> 6) & 7
    elif (cred.gid if real else cred.fsgid) == inode.gid or inode.gid in cred.groups:
        bits = (mode >> 3) & 7
    else:
        bits = mode & 7
    if mask & ~bits & 7:
        raise KernelError(EACCES)


def may_write_fs(path: Path) -> None:
    if path.mnt.sb.readonly:
        raise KernelError(EROFS)


def is_owner_or_root(inode: Inode, cred: Any) -> bool:
    return cred.fsuid == 0 or cred.fsuid == inode.uid


def check_sticky(dir_inode: Inode, inode: Inode, cred: Any) -> None:
    """In a sticky directory (/tmp), only the owner of a file or the directory may remove it."""
    if dir_inode.mode & S_ISVTX and cred.fsuid not in (0, inode.uid, dir_inode.uid):
        raise KernelError(EPERM)


# ----------------------------------------------------------------------------------------
# path walk (namei)


class NameiData:
    """The state of one path walk: the root it cannot escape, the symlink budget, and
    openat2's RESOLVE_* restrictions (`resolve`; with RESOLVE_BENEATH or RESOLVE_IN_ROOT the
    root is the starting directory, `scope`)."""

    __slots__ = ("task", "root", "cred", "links", "resolve", "root_set")

    def __init__(self, task: Any, resolve: int = 0, scope: Path | None = None) -> None:
        self.task = task
        self.root: Path = scope if scope is not None else task.fs.root
        self.cred = task.cred
        self.links = 0
        self.resolve = resolve
        # Linux takes the root only when a walk first needs it (an absolute path, a scope):
        # RESOLVE_NO_XDEV refuses an absolute symlink before that (nd_jump_root)
        self.root_set = scope is not None


def _follow_mounts(mnt: Mount, d: Dentry) -> Path:
    ch = mnt.children
    while ch and d in ch:
        mnt = ch[d]
        d = mnt.root
        ch = mnt.children
    return Path(mnt, d)


def _dotdot(nd: NameiData, cur: Path) -> Path:
    root = nd.root
    mnt, d = cur.mnt, cur.dentry
    while True:
        if mnt is root.mnt and d is root.dentry:
            if nd.resolve & RESOLVE_BENEATH:
                raise KernelError(EXDEV)  # it would leave the directory it is beneath
            return Path(mnt, d)  # ".." at the task's root stays there (chroot jail)
        if d is mnt.root:
            if mnt.parent is None or mnt.mountpoint is None:
                return Path(mnt, d)
            if nd.resolve & RESOLVE_NO_XDEV:
                raise KernelError(EXDEV)
            d, mnt = mnt.mountpoint, mnt.parent  # step down to the mountpoint, then up
            continue
        up = _follow_mounts(mnt, d.parent)
        if nd.resolve & RESOLVE_NO_XDEV and up.mnt is not mnt:
            raise KernelError(EXDEV)
        return up


def _step(nd: NameiData, cur: Path, name: bytes) -> Path | None:
    """One component: exec permission on the directory, then look `name` up."""
    inode = cur.dentry.inode
    if not inode.is_dir:
        raise KernelError(ENOTDIR)
    permission(inode, MAY_EXEC, nd.cred)
    if name == b".":
        return cur
    if name == b"..":
        return _dotdot(nd, cur)
    if len(name) > NAME_MAX:
        raise KernelError(ENAMETOOLONG)
    resolve = nd.resolve
    if resolve & RESOLVE_CACHED and inode.sb.magic == PROC_SUPER_MAGIC:
        raise KernelError(EAGAIN)  # procfs revalidates its dentries: not in an RCU walk
    child = inode.lookup(cur.dentry, name)
    if child is None:
        if resolve & RESOLVE_CACHED:
            raise KernelError(EAGAIN)  # tmpfs keeps no negative dentries
        return None
    found = _follow_mounts(cur.mnt, child)
    if resolve & RESOLVE_NO_XDEV and found.mnt is not cur.mnt:
        raise KernelError(EXDEV)
    return found


def _follow_link(nd: NameiData, link: Path, base: Path) -> Path:
    """Resolve a symlink met during a walk (base: the directory that holds it)."""
    resolve = nd.resolve
    if resolve & RESOLVE_NO_SYMLINKS:
        raise KernelError(ELOOP)
    nd.links += 1
    if nd.links > MAXSYMLINKS:
        raise KernelError(ELOOP)
    _touch_link_atime(nd, link.inode)
    body = link.inode.get_link(nd.task)
    if isinstance(body, Path):  # /proc magic link: the object itself, no string re-walk
        if resolve:
            _magic_link_allowed(resolve, link, body)
        return body
    if not body:
        raise KernelError(ENOENT)
    return _walk(nd, base, body, True, jump=True)


RELATIME_DAY_NS = 24 * 3600 * 1_000_000_000


def _touch_link_atime(nd: NameiData, inode: Inode) -> None:
    """Following a symlink reads it: its atime moves under relatime's rule (when it is not
    newer than mtime or ctime, or a day old). Linux's RCU walk must stop to write it, which
    RESOLVE_CACHED forbids: EAGAIN."""
    if inode.sb.mem is None:
        return  # procfs & co keep no atime of their own
    now = inode.sb.now()
    atime = inode.atime
    if atime > inode.mtime and atime > inode.ctime and now - atime < RELATIME_DAY_NS:
        return
    if nd.resolve & RESOLVE_CACHED:
        raise KernelError(EAGAIN)
    inode.atime = now


def _magic_link_allowed(resolve: int, link: Path, target: Path) -> None:
    """nd_jump_link under openat2's restrictions."""
    if resolve & RESOLVE_NO_MAGICLINKS:
        raise KernelError(ELOOP)
    if resolve & RESOLVE_NO_XDEV and target.mnt is not link.mnt:
        raise KernelError(EXDEV)
    if resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
        raise KernelError(EXDEV)  # not safe for scoped lookups
    if resolve & RESOLVE_CACHED:
        raise KernelError(EAGAIN)


def _walk(nd: NameiData, base: Path, path: bytes, follow_last: bool, jump: bool = False) -> Path:
    if path[:1] == b"/":
        resolve = nd.resolve
        if resolve & RESOLVE_BENEATH:
            raise KernelError(EXDEV)  # nd_jump_root
        if resolve & RESOLVE_NO_XDEV and jump and (not nd.root_set
                                                   or base.mnt is not nd.root.mnt):
            raise KernelError(EXDEV)  # an absolute symlink out of another mount
        nd.root_set = True
        cur = nd.root
    else:
        cur = base
    trailing = path[-1:] == b"/"
    comps = [c for c in path.split(b"/") if c]
    last = len(comps) - 1
    plain = not nd.resolve and nd.cred.fsuid == 0
    for i, name in enumerate(comps):
        dir_inode = cur.dentry.inode
        if (plain and dir_inode.mode & S_IFMT == S_IFDIR and name != b"." and name != b".."
                and len(name) <= NAME_MAX):  # fmt: skip
            # _step's common case written out (every syscall that takes a path walks here):
            # root may search any directory, no openat2 restriction applies
            child = dir_inode.lookup(cur.dentry, name)
            if child is None:
                raise KernelError(ENOENT)
            mnt = cur.mnt
            ch = mnt.children
            nxt = _follow_mounts(mnt, child) if ch and child in ch else Path(mnt, child)
        else:
            nxt = _step(nd, cur, name)
            if nxt is None:
                raise KernelError(ENOENT)
        if nxt.dentry.inode.mode & S_IFMT == S_IFLNK and (i < last or follow_last or trailing):
            nxt = _follow_link(nd, nxt, cur)
        cur = nxt
    if trailing and not cur.dentry.inode.is_dir:
        raise KernelError(ENOTDIR)
    return cur


def _check_path(path: bytes) -> None:
    if not path:
        raise KernelError(ENOENT)
    if len(path) >= PATH_MAX:
        raise KernelError(ENAMETOOLONG)


def _base(task: Any, dirfd: int, path: bytes) -> Path:
    if path[:1] == b"/" and path:
        return task.fs.root
    if dirfd == AT_FDCWD:
        return task.fs.cwd
    f = task.files.get(dirfd)
    if f.path is None:
        raise KernelError(ENOTDIR)
    if path and not f.path.dentry.inode.is_dir:
        raise KernelError(ENOTDIR)
    return f.path


def lookup_at(
    task: Any, dirfd: int, path: bytes, follow: bool = True, empty_ok: bool = False
) -> Path:
    """Resolve a whole path (the *at syscalls). empty_ok: AT_EMPTY_PATH (the dirfd itself)."""
    if not path and empty_ok:
        return _base(task, dirfd, path)
    _check_path(path)
    return _walk(NameiData(task), _base(task, dirfd, path), path, follow)


def lookup(task: Any, path: bytes, follow: bool = True) -> Path:
    return lookup_at(task, AT_FDCWD, path, follow)


def _split_last(path: bytes) -> tuple[bytes, bytes, bool]:
    """'a/b/c//' -> ('a/b/', 'c', trailing=True); '/' -> ('/', '', ...)."""
    stripped = path.rstrip(b"/")
    trailing = len(stripped) != len(path)
    if not stripped:
        return b"/", b"", trailing
    i = stripped.rfind(b"/")
    return stripped[: i + 1], stripped[i + 1 :], trailing


def _walk_parent(nd: NameiData, base: Path, path: bytes) -> tuple[Path, bytes, bool]:
    head, last, trailing = _split_last(path)
    parent = _walk(nd, base, head, True) if head else base
    if not parent.dentry.inode.is_dir:
        raise KernelError(ENOTDIR)
    if len(last) > NAME_MAX:
        raise KernelError(ENAMETOOLONG)
    return parent, last, trailing


def lookup_parent_at(task: Any, dirfd: int, path: bytes) -> tuple[Path, bytes, bool]:
    """The parent directory of path, its final component and whether it had a trailing /.

    The final component may be b"" (path was "/"), b"." or b".."; callers map those to the
    errno Linux gives (LAST_ROOT / LAST_DOT / LAST_DOTDOT).
    """
    _check_path(path)
    return _walk_parent(NameiData(task), _base(task, dirfd, path), path)


def lookup_child(task: Any, parent: Path, name: bytes) -> Path | None:
    """The final component inside an already resolved parent (no symlink following)."""
    return _step(NameiData(task), parent, name)


def _is_special(name: bytes) -> bool:
    return name in (b"", b".", b"..")


# ----------------------------------------------------------------------------------------
# open


def _start(task: Any, dirfd: int, path: bytes, resolve: int) -> tuple[NameiData, Path]:
    """path_init: where a walk starts and what it may not leave. RESOLVE_BENEATH and
    RESOLVE_IN_ROOT make the starting directory the root (an absolute path is EXDEV
    beneath it, and starts at it in it)."""
    if not resolve:
        return NameiData(task), _base(task, dirfd, path)
    absolute = path[:1] == b"/"
    if absolute and not resolve & RESOLVE_IN_ROOT:
        if resolve & RESOLVE_BENEATH:
            raise KernelError(EXDEV)
        nd = NameiData(task, resolve)
        nd.root_set = True
        return nd, task.fs.root
    base = _base(task, dirfd, path.lstrip(b"/") or b".") if absolute else _base(task, dirfd, path)
    scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)
    return NameiData(task, resolve, base if scoped else None), base


def open_at(task: Any, dirfd: int, path: bytes, flags: int, mode: int = 0,
            resolve: int = 0) -> File:  # fmt: skip
    """open(2)/openat(2)/openat2(2): resolve (creating with O_CREAT), check access, return a
    File. resolve: openat2's RESOLVE_* flags."""
    _check_path(path)
    nd, base = _start(task, dirfd, path, resolve)
    created = False
    if not flags & O_CREAT:
        target = _walk(nd, base, path, not flags & O_NOFOLLOW)
        if target.inode.is_lnk and not flags & O_PATH:
            raise KernelError(ELOOP)
    else:
        parent, last, trailing = _walk_parent(nd, base, path)
        while True:
            if _is_special(last):
                raise KernelError(EISDIR)
            found = _step(nd, parent, last)
            if found is None:
                if trailing:
                    raise KernelError(EISDIR)
                may_write_fs(parent)
                permission(parent.inode, MAY_WRITE | MAY_EXEC, nd.cred)
                umask = task.fs.umask
                target = vfs_create(parent, last, S_IFREG | (mode & 0o7777 & ~umask), task.cred)
                created = True
                break
            if flags & O_EXCL:
                raise KernelError(EEXIST)
            if found.inode.is_lnk:
                if flags & O_NOFOLLOW:
                    raise KernelError(ELOOP)
                if nd.resolve & RESOLVE_NO_SYMLINKS:
                    raise KernelError(ELOOP)
                nd.links += 1
                if nd.links > MAXSYMLINKS:
                    raise KernelError(ELOOP)
                _touch_link_atime(nd, found.inode)
                body = found.inode.get_link(task)
                if isinstance(body, Path):
                    if nd.resolve:
                        _magic_link_allowed(nd.resolve, found, body)
                    target = body
                    break
                if not body:
                    raise KernelError(ENOENT)
                # O_CREAT through a dangling symlink creates the link's target.
                if body[:1] == b"/" and nd.resolve & RESOLVE_BENEATH:
                    raise KernelError(EXDEV)
                if body[:1] == b"/" and nd.resolve & RESOLVE_NO_XDEV \
                        and (not nd.root_set or parent.mnt is not nd.root.mnt):  # fmt: skip
                    raise KernelError(EXDEV)
                parent, last, t2 = _walk_parent(nd, parent, body)
                trailing = trailing or t2
                continue
            target = found
            break
        if target.inode.is_dir:
            raise KernelError(EISDIR)
        if trailing and not target.inode.is_dir:
            raise KernelError(ENOTDIR)
    return do_open(task, target, flags, created)


def open_tmpfile(task: Any, dirfd: int, path: bytes, flags: int, mode: int,
                 resolve: int = 0) -> File:  # fmt: skip
    """O_TMPFILE (Linux's do_tmpfile/vfs_tmpfile): a new regular file in the directory `path`
    names, with no name (nlink 0: it goes with its last close) unless linkat gives it one
    (not with O_EXCL). /proc/PID/fd shows it as "DIR/#INO (deleted)"."""
    _check_path(path)
    nd, base = _start(task, dirfd, path, resolve)
    where = _walk(nd, base, path, True)
    if not where.inode.is_dir:
        raise KernelError(ENOTDIR)
    may_write_fs(where)
    permission(where.inode, MAY_WRITE | MAY_EXEC, task.cred)
    if where.dentry.children is None or where.mnt.sb.mem is None:
        raise KernelError(EOPNOTSUPP)  # no ->tmpfile (procfs)
    inode = _new_inode(where, S_IFREG | (mode & 0o7777 & ~task.fs.umask), task.cred)
    inode.nlink = 0
    inode.linkable = not flags & O_EXCL
    d = Dentry(b"#%d" % inode.ino, where.dentry, inode)
    d.deleted = True
    return inode.open(task, Path(where.mnt, d), flags)


def do_open(task: Any, target: Path, flags: int, created: bool = False) -> File:
    """The second half of open: access checks on an already resolved Path, then ->open."""
    inode = target.dentry.inode
    if flags & O_DIRECTORY and not inode.is_dir:
        raise KernelError(ENOTDIR)
    if flags & O_PATH:
        return File(target, flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | 0o2000000))
    acc = flags & O_ACCMODE
    wants_write = acc in (O_WRONLY, O_RDWR, O_ACCMODE) or bool(flags & O_TRUNC)
    if inode.is_lnk:
        raise KernelError(ELOOP)
    if inode.is_dir and wants_write:
        raise KernelError(EISDIR)
    if not created:
        mask = 0
        if acc in (0, O_RDWR, O_ACCMODE):
            mask |= MAY_READ
        if wants_write:
            mask |= MAY_WRITE
        permission(inode, mask, task.cred)
        if wants_write and inode.is_reg:
            may_write_fs(target)
    if wants_write:
        get_write_access(inode)
    f = inode.open(task, target, flags)
    if inode.sb.watched:  # IN_OPEN, then O_TRUNC's IN_MODIFY: current Linux (6.1: reversed)
        fsnotify.file_event(f, IN_OPEN)
    if flags & O_TRUNC and inode.is_reg and not created:
        try:
            inode.set_size(0)
        except KernelError:
            f.put()  # a sealed memfd reopened with O_TRUNC
            raise
        if inode.sb.watched:
            fsnotify.change(target, inode, IN_MODIFY)
    return f


def get_write_access(inode: Inode) -> None:
    """A file some process runs cannot be opened for writing or truncated: ETXTBSY (Linux
    denies writes to every address space's exe_file)."""
    if inode.denywrite:
        raise KernelError(ETXTBSY)


def open_exec(task: Any, path: bytes) -> File:
    """Open the file execve will run: a regular file with an x bit the caller may use.

    The File keeps the inode (and its PageCache: file.inode.mapping, size file.inode.size)
    alive; the path for /proc/PID/exe is file.path.
    """
    target = lookup(task, path, True)
    inode = target.inode
    if not inode.is_reg:
        raise KernelError(EACCES)
    permission(inode, MAY_EXEC, task.cred)
    if inode.writers:
        raise KernelError(ETXTBSY)
    return inode.open(task, target, 0)


# ----------------------------------------------------------------------------------------
# d_path


def d_path(path: Path, root: Path) -> bytes:
    """The absolute name of path as seen from root; ' (deleted)' after an unlinked one."""
    name, _ = d_path_ex(path, root)
    return name


def d_path_ex(path: Path, root: Path) -> tuple[bytes, bool]:
    """(name, reachable): reachable is False when path lies outside root (getcwd says so)."""
    mnt, d = path.mnt, path.dentry
    if mnt.sb.pseudo:  # pipes, System V shm segments: their name (and whether it is gone)
        return d.name + (b" (deleted)" if d.deleted else b""), True
    parts: list[bytes] = []
    reachable = True
    while True:
        if d is root.dentry and mnt is root.mnt:
            break
        if d is mnt.root:
            if mnt.parent is None or mnt.mountpoint is None:
                reachable = False
                break
            d, mnt = mnt.mountpoint, mnt.parent
            continue
        parts.append(d.name)
        d = d.parent
    parts.reverse()
    out = b"/" + b"/".join(parts)
    if path.dentry.deleted:
        out += b" (deleted)"
    return out, reachable


# ----------------------------------------------------------------------------------------
# directory operations on the dentry tree (tmpfs, devtmpfs)


def _writable_dir(parent: Path, cred: Any) -> None:
    may_write_fs(parent)
    if parent.dentry.deleted:
        raise KernelError(ENOENT)
    permission(parent.inode, MAY_WRITE | MAY_EXEC, cred)
    if parent.dentry.children is None:
        raise KernelError(EACCES)  # a directory with no create op (procfs)


def _new_inode(parent: Path, mode: int, cred: Any, rdev: int = 0) -> Inode:
    pinode = parent.inode
    gid = cred.fsgid
    if pinode.mode & S_ISGID:
        gid = pinode.gid  # setgid directory: new files inherit its group (and dirs the bit)
        if mode & S_IFMT == S_IFDIR:
            mode |= S_ISGID
    return Inode(parent.mnt.sb, mode, cred.fsuid, gid, rdev)


def _link_in(parent: Path, name: bytes, inode: Inode) -> Path:
    d = Dentry(name, parent.dentry, inode)
    parent.dentry.add_child(d)
    inode.d_instantiate(d)
    pinode = parent.inode
    pinode.mtime = pinode.ctime = parent.mnt.sb.now()
    return Path(parent.mnt, d)


def vfs_create(parent: Path, name: bytes, mode: int, cred: Any, rdev: int = 0,
               target: bytes = b"") -> Path:  # fmt: skip
    """A new inode of any type named name in parent (which the caller has checked); a
    symlink's body is `target`."""
    if parent.dentry.deleted:
        raise KernelError(ENOENT)
    if parent.dentry.children is None:
        raise KernelError(EACCES)
    inode = parent.inode.dir_create(parent, name, mode, cred, rdev, target)
    if inode.is_dir:
        parent.inode.nlink += 1
    p = _link_in(parent, name, inode)
    if parent.mnt.sb.watched:
        fsnotify.create(parent.inode, inode, name)
    return p


def vfs_mknod(task: Any, parent: Path, name: bytes, mode: int, rdev: int = 0,
              target: bytes = b"") -> Path:  # fmt: skip
    """mkdir/mknod/symlink's common part: EEXIST before EACCES, as Linux's filename_create."""
    if _is_special(name) or _step(NameiData(task), parent, name) is not None:
        raise KernelError(EEXIST)
    _writable_dir(parent, task.cred)
    return vfs_create(parent, name, mode, task.cred, rdev, target)


def vfs_symlink(task: Any, parent: Path, name: bytes, target: bytes) -> Path:
    if not target:
        raise KernelError(ENOENT)
    return vfs_mknod(task, parent, name, S_IFLNK | 0o777, 0, target)


def vfs_link(task: Any, old: Path, parent: Path, name: bytes) -> Path:
    if _is_special(name) or _step(NameiData(task), parent, name) is not None:
        raise KernelError(EEXIST)
    if old.mnt is not parent.mnt:
        raise KernelError(EXDEV)
    inode = old.inode
    if inode.is_dir:
        raise KernelError(EPERM)
    _writable_dir(parent, task.cred)
    if inode.nlink == 0 and not inode.linkable:
        raise KernelError(ENOENT)  # unlinked, or an O_TMPFILE|O_EXCL file
    parent.inode.dir_link(old, parent, name)
    inode.linkable = False
    inode.nlink += 1
    inode.ctime = inode.sb.now()
    p = _link_in(parent, name, inode)
    if inode.sb.watched:
        fsnotify.link(parent.inode, inode, name)
    return p


def _drop_link(inode: Inode) -> None:
    """One name fewer: the link count changes (IN_ATTRIB), the inode may go (IN_DELETE_SELF)."""
    inode.nlink -= 1
    inode.ctime = inode.sb.now()
    if inode.sb.watched:
        fsnotify.notify_inode(inode, IN_ATTRIB)
    inode.maybe_free()


def _is_mountpoint(p: Path) -> bool:
    return p.dentry in p.mnt.children or p.dentry is p.mnt.root


def vfs_unlink(task: Any, parent: Path, name: bytes) -> None:
    if _is_special(name):
        raise KernelError(EISDIR)
    child = _step(NameiData(task), parent, name)
    if child is None:
        raise KernelError(ENOENT)
    d = parent.inode.lookup(parent.dentry, name)
    assert d is not None
    if d.inode.is_dir:
        raise KernelError(EISDIR)
    _writable_dir(parent, task.cred)
    check_sticky(parent.inode, d.inode, task.cred)
    if d in parent.mnt.children:
        raise KernelError(EBUSY)
    parent.inode.dir_unlink(parent, name, d)
    parent.dentry.remove_child(name)
    d.deleted = True
    pinode = parent.inode
    pinode.mtime = pinode.ctime = parent.mnt.sb.now()
    _drop_link(d.inode)
    if pinode.sb.watched:
        fsnotify.delete(pinode, d.inode, name)


def vfs_rmdir(task: Any, parent: Path, name: bytes) -> None:
    if name == b".":
        raise KernelError(EINVAL)
    if name == b"..":
        raise KernelError(ENOTEMPTY)
    if name == b"":
        raise KernelError(EBUSY)
    child = _step(NameiData(task), parent, name)
    if child is None:
        raise KernelError(ENOENT)
    d = parent.inode.lookup(parent.dentry, name)
    assert d is not None
    if not d.inode.is_dir:
        raise KernelError(ENOTDIR)
    _writable_dir(parent, task.cred)
    check_sticky(parent.inode, d.inode, task.cred)
    if d in parent.mnt.children or (d is task.fs.root.dentry and parent.mnt is task.fs.root.mnt):
        raise KernelError(EBUSY)
    if d.children:
        raise KernelError(ENOTEMPTY)
    parent.inode.dir_unlink(parent, name, d)
    parent.dentry.remove_child(name)
    d.deleted = True
    parent.inode.nlink -= 1
    parent.inode.mtime = parent.inode.ctime = parent.mnt.sb.now()
    d.inode.nlink = 0
    d.inode.ctime = d.inode.sb.now()
    d.inode.maybe_free()  # IN_DELETE_SELF unless it is still open
    if parent.mnt.sb.watched:
        fsnotify.delete(parent.inode, d.inode, name)


def vfs_rename(
    task: Any,
    op: Path,
    oname: bytes,
    np: Path,
    nname: bytes,
    flags: int = 0,
    otrail: bool = False,
    ntrail: bool = False,
) -> None:
    """rename(2) with Linux's rules, atomically (nothing changes before every check passed).
    RENAME_WHITEOUT leaves a whiteout (a character device 0/0) at the old name."""
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or (
        flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) and flags & RENAME_EXCHANGE
    ):
        raise KernelError(EINVAL)
    if _is_special(oname) or _is_special(nname):
        raise KernelError(EBUSY)
    cred = task.cred
    nd = NameiData(task)
    if _step(nd, op, oname) is None:
        raise KernelError(ENOENT)
    _step(nd, np, nname)  # exec permission on the new parent
    if op.mnt is not np.mnt:
        raise KernelError(EXDEV)
    odir, ndir = op.dentry, np.dentry
    old = op.inode.lookup(odir, oname)
    new = np.inode.lookup(ndir, nname)
    assert old is not None
    if odir.children is None or ndir.children is None:
        raise KernelError(EPERM)
    if flags & RENAME_EXCHANGE and new is None:
        raise KernelError(ENOENT)
    if flags & RENAME_NOREPLACE and new is not None:
        raise KernelError(EEXIST)
    oinode = old.inode
    if (otrail or ntrail) and not oinode.is_dir:
        raise KernelError(ENOTDIR)
    if new is old:
        return
    if new is not None and new.inode is oinode and not flags & RENAME_EXCHANGE:
        return  # two links to the same inode: POSIX says do nothing
    if flags & RENAME_WHITEOUT and op.mnt.sb.mem is None:
        raise KernelError(EINVAL)  # only tmpfs-like file systems make whiteouts
    _writable_dir(op, cred)
    _writable_dir(np, cred)
    check_sticky(op.inode, oinode, cred)
    if new is not None:
        check_sticky(np.inode, new.inode, cred)
    # A directory may not move below itself (the new parent is inside old).
    if oinode.is_dir:
        a: Dentry = ndir
        while True:
            if a is old:
                raise KernelError(EINVAL)
            if a.parent is a:
                break
            a = a.parent
    if new is not None and new.inode.is_dir and flags & RENAME_EXCHANGE:
        a = odir
        while True:
            if a is new:
                raise KernelError(EINVAL)
            if a.parent is a:
                break
            a = a.parent
    mnt_children = op.mnt.children
    if old in mnt_children or (new is not None and new in mnt_children):
        raise KernelError(EBUSY)
    if new is not None and not flags & RENAME_EXCHANGE:
        if oinode.is_dir:
            if not new.inode.is_dir:
                raise KernelError(ENOTDIR)
            if new.children:
                raise KernelError(ENOTEMPTY)
        elif new.inode.is_dir:
            raise KernelError(EISDIR)
    # Directories moving to another parent rewrite their "..": need write access to them.
    if oinode.is_dir and odir is not ndir and cred.fsuid != 0:
        permission(oinode, MAY_WRITE, cred)
    op.inode.dir_rename(op, oname, np, nname, flags)
    now = op.mnt.sb.now()
    if flags & RENAME_EXCHANGE:
        assert new is not None
        ninode = new.inode
        # Move the dentries themselves (not their inodes): a cwd or an open dir keeps
        # pointing at the object it had.
        odir.remove_child(oname)
        ndir.remove_child(nname)
        old.name, new.name = nname, oname
        ndir.add_child(old)
        odir.add_child(new)
        if odir is not ndir and oinode.is_dir != ninode.is_dir:
            delta = 1 if oinode.is_dir else -1
            np.inode.nlink += delta
            op.inode.nlink -= delta
        ninode.ctime = now
    else:
        if new is not None:
            ndir.remove_child(nname)
            new.deleted = True
            if new.inode.is_dir:
                np.inode.nlink -= 1
                new.inode.nlink = 0
            else:
                new.inode.nlink -= 1
            new.inode.ctime = now
        odir.remove_child(oname)
        old.name = nname
        ndir.add_child(old)
        if oinode.is_dir and odir is not ndir:
            op.inode.nlink -= 1
            np.inode.nlink += 1
        if flags & RENAME_WHITEOUT:
            _link_in(op, oname, _new_inode(op, S_IFCHR, cred, WHITEOUT_DEV))  # mode 0
    oinode.ctime = now
    op.inode.mtime = op.inode.ctime = now
    np.inode.mtime = np.inode.ctime = now
    replaced = new.inode if new is not None and not flags & RENAME_EXCHANGE else None
    if op.mnt.sb.watched:
        _rename_events(op.inode, np.inode, oname, nname, oinode, replaced,
                       new.inode if flags & RENAME_EXCHANGE and new is not None else None)
    if replaced is not None:
        replaced.maybe_free()  # the replaced file goes now unless still open (IN_DELETE_SELF)


def _rename_events(odir: Inode, ndir: Inode, oname: bytes, nname: bytes, moved: Inode,
                   replaced: Inode | None, exchanged: Inode | None) -> None:  # fmt: skip
    """Linux's fsnotify_move, once per moved inode (twice for RENAME_EXCHANGE)."""
    fsnotify.move(odir, ndir, oname, nname, moved)
    if replaced is not None:
        fsnotify.notify_inode(replaced, IN_ATTRIB)
    fsnotify.move_self(moved)
    if exchanged is not None:
        fsnotify.move(ndir, odir, nname, oname, exchanged)
        fsnotify.move_self(exchanged)


# ----------------------------------------------------------------------------------------
# open file descriptions


class Unread:
    """The data of a write to a file that discards it unread (File.discards_writes): only
    its length is there, as much as the caller asked to write."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, part: slice) -> Unread:
        return Unread(len(range(self.n)[part]))


class File:
    """An open file description (struct file). Subclasses implement the operations.

    Reference counted: created with one reference (the opener's); FdTable.install takes it
    over, dup/fork take more with get(), close drops one with put(); release() runs once.
    `f_ep` holds the epoll items watching this description (Linux's file->f_ep: see
    fs/eventpoll.py); they go when the last reference does, before release().
    """

    __slots__ = ("path", "inode", "flags", "pos", "refs", "readable", "writable", "owner",
                 "f_ep", "__weakref__")  # fmt: skip

    seekable = True
    may_block = False  # reads or writes can sleep (pipes, terminals, sockets)
    nowait = False  # Linux's FMODE_NOWAIT: preadv2/pwritev2 take RWF_NOWAIT (else EOPNOTSUPP)
    # Its writes never read the caller's buffer (Linux's write_null, write_zero, write_full):
    # the write family passes Unread(count) instead of the bytes, so a buffer that is not
    # mapped (only access_ok's range check applies) is written as Linux writes it
    discards_writes = False
    # `seekable` is Linux's FMODE_PREAD | FMODE_PWRITE as well: an open() of a file system
    # object has them; a pipe, a socket, a tty or an anonymous-inode file does not, and
    # pread64 there is ESPIPE before the access mode is looked at. fmode_pwrite False: a
    # seekable file without FMODE_PWRITE (a seq file: seq_open takes it away).
    fmode_pwrite = True
    # The inode is a regular file to ftruncate's and fallocate's type checks though it has
    # no file type of its own (a pidfd: Linux's pidfs); the operations decide.
    regular_to_vfs = False

    def __init__(self, path: Path | None, flags: int, inode: Inode | None = None) -> None:
        self.path = path
        self.inode: Inode = inode if inode is not None else path.dentry.inode  # type: ignore[union-attr]
        self.flags = flags
        self.pos = 0
        self.refs = 1
        self.f_ep: dict[Any, None] | None = None
        acc = flags & O_ACCMODE
        opath = bool(flags & O_PATH)
        self.readable = (acc == 0 or acc == O_RDWR) and not opath
        self.writable = (acc == O_WRONLY or acc == O_RDWR) and not opath
        self.owner: Any = None  # fown.FileOwner once F_SETOWN, F_SETSIG or F_NOTIFY set one
        self.inode.opens += 1
        if self.writable:
            self.inode.writers += 1

    def get(self) -> File:
        self.refs += 1
        return self

    def put(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            if self.f_ep:  # Linux's eventpoll_release: no epoll watches a file that is gone
                for item in list(self.f_ep):
                    item.file_released()
            self.release()

    def release(self) -> None:
        """The last reference went away (Linux's ->release)."""
        inode = self.inode
        if self.owner is not None:
            self.owner.release()
        if inode.flctx is not None:
            locks.remove_file(self)  # its OFD and flock locks go with it
        if inode.sb.watched:
            fsnotify.close(self)
        if self.writable:
            inode.writers -= 1
        inode.iput()

    # --- operations; defaults are what Linux answers when an fs has no such op ---
    def read(self, n: int) -> bytes:
        raise KernelError(EINVAL)

    def write(self, data: bytes) -> int:
        raise KernelError(EINVAL)

    def read_nowait(self, n: int) -> bytes:
        """read for preadv2's RWF_NOWAIT (Linux's IOCB_NOWAIT), on a file whose `nowait` is
        set: EAGAIN where read would sleep. This default is for a file that never sleeps; one
        that may (a pipe, a socket) overrides it, as it answers O_NONBLOCK."""
        return self.read(n)

    def write_nowait(self, data: bytes) -> int:
        """write for pwritev2's RWF_NOWAIT: EAGAIN where write would sleep (see read_nowait)."""
        return self.write(data)

    def pwrite_nowait(self, data: bytes, offset: int) -> int:
        """pwrite for pwritev2's RWF_NOWAIT (a regular file's write may refuse it: a volume's
        on ext4). A read at an offset never sleeps where `nowait` is set: pread serves it."""
        return self.pwrite(data, offset)

    def pread(self, n: int, offset: int) -> bytes:
        raise KernelError(ESPIPE)

    def read_user(self, mm: Any, addr: int, n: int) -> int:
        """read(2) into the caller's memory at addr: the bytes that reached it. This default
        goes through read(); when the caller's buffer faults, the position stays put."""
        data = self.read(n)
        if data:
            try:
                mm.copy_out(addr, data)
            except KernelError:
                if self.seekable:  # nothing reached the caller: the file position stays put
                    self.pos -= len(data)
                raise
        return len(data)

    def pread_user(self, mm: Any, addr: int, n: int, offset: int) -> int:
        """pread64(2) into the caller's memory (see read_user)."""
        data = self.pread(n, offset)
        if data:
            mm.copy_out(addr, data)
        return len(data)

    def pwrite(self, data: bytes, offset: int) -> int:
        raise KernelError(ESPIPE)

    def lseek(self, offset: int, whence: int) -> int:
        raise KernelError(ESPIPE)

    def getdents64(self, size: int) -> bytes:
        raise KernelError(ENOTDIR)

    def ioctl(self, task: Any, cmd: int, arg: int) -> int:
        raise KernelError(ENOTTY)

    def poll(self) -> int:
        """Readiness mask (POLLIN|POLLOUT...) right now."""
        return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM

    def poll_queue(self) -> Any:
        """The WaitQueue woken when readiness may have changed (None: never changes)."""
        return None

    def truncate(self, size: int) -> None:
        raise KernelError(EINVAL)

    def fallocate(self, mode: int, offset: int, length: int,
                  newsize_ok: Callable[[int], None]) -> None:  # fmt: skip
        """fallocate(2) once vfs_fallocate's checks passed (Linux's ->fallocate). newsize_ok
        is the caller's inode_newsize_ok (RLIMIT_FSIZE: SIGXFSZ and EFBIG), for the file
        system to call as Linux's do. Without the operation (procfs & co): EOPNOTSUPP."""
        raise KernelError(EOPNOTSUPP)

    def fsync(self) -> None:
        """fsync(2) and fdatasync(2): a file without the operation (a pipe, a socket, a tty,
        a character device, procfs, an anonymous-inode file) is EINVAL, as Linux's
        vfs_fsync_range."""
        raise KernelError(EINVAL)

    def fcntl(self, cmd: int, arg: int) -> int:
        """File-type specific fcntl commands (F_SETPIPE_SZ for pipes...)."""
        raise KernelError(EINVAL)

    def link_name(self, root: Path) -> bytes:
        """readlink of /proc/PID/fd/N."""
        if self.path is None:
            return b"anon_inode:[file]"
        return d_path(self.path, root)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} flags={self.flags:o} pos={self.pos}>"


def _generic_lseek(f: File, offset: int, whence: int, size: int) -> int:
    if whence == SEEK_SET:
        new = offset
    elif whence == SEEK_CUR:
        new = f.pos + offset
    elif whence == SEEK_END:
        new = size + offset
    elif whence == SEEK_DATA:
        if offset < 0 or offset >= size:
            raise KernelError(ENXIO)
        new = offset
    elif whence == SEEK_HOLE:
        if offset < 0 or offset >= size:
            raise KernelError(ENXIO)
        new = size
    else:
        raise KernelError(EINVAL)
    if new < 0 or new > MAX_LFS_FILESIZE:
        raise KernelError(EINVAL)
    f.pos = new
    return new


def can_read(f: File) -> bool:
    """Linux's FMODE_CAN_READ: the file's type has a read operation (an epoll file or a pidfd
    has none: the vectored reads answer EINVAL before they look at the iovec or the flags)."""
    return type(f).read is not File.read


def can_write(f: File) -> bool:
    """Linux's FMODE_CAN_WRITE (see can_read)."""
    return type(f).write is not File.write


class NonblockingReads:
    """For a file whose reads sleep unless they are non-blocking: O_NONBLOCK on the file, or
    preadv2's RWF_NOWAIT for one call (FMODE_NOWAIT). It gives `_read(n, nonblock)`; read and
    read_nowait are that (pipes, eventfd, timerfd, signalfd)."""

    __slots__ = ()
    nowait = True
    flags: int

    def _read(self, n: int, nonblock: bool) -> bytes:
        raise NotImplementedError

    def read(self, n: int) -> bytes:
        return self._read(n, bool(self.flags & O_NONBLOCK))

    def read_nowait(self, n: int) -> bytes:
        return self._read(n, True)


class RegularFile(File):
    """A file whose bytes live in inode.mapping (tmpfs). read/write are the hot paths."""

    __slots__ = ()

    def fsync(self) -> None:
        return None  # the page cache is the file (tmpfs, the host-backed root)

    def read(self, n: int) -> bytes:
        inode = self.inode
        pos = self.pos
        avail = inode.size - pos
        if avail <= 0 or n <= 0:
            return b""
        if n > avail:
            n = avail
        data = inode.mapping.read(pos, n)  # type: ignore[union-attr]
        self.pos = pos + n
        return data

    def pread(self, n: int, offset: int) -> bytes:
        inode = self.inode
        avail = inode.size - offset
        if avail <= 0 or n <= 0:
            return b""
        return inode.mapping.read(offset, min(n, avail))  # type: ignore[union-attr]

    # read(2) and pread64(2) copy from the page cache's frames to the caller's, with no bytes
    # object in between (sha256sum's 4 KiB reads, 16,384 of them for 64 MiB); a buffer that
    # runs into an unmapped page gets a short read, as on Linux.
    def read_user(self, mm: Any, addr: int, n: int) -> int:
        pos = self.pos
        avail = self.inode.size - pos
        if avail <= 0 or n <= 0:
            return 0
        done = self.inode.mapping.read_to(mm, addr, pos, min(n, avail))  # type: ignore[union-attr]
        self.pos = pos + done
        return done

    def pread_user(self, mm: Any, addr: int, n: int, offset: int) -> int:
        avail = self.inode.size - offset
        if avail <= 0 or n <= 0:
            return 0
        return self.inode.mapping.read_to(mm, addr, offset, min(n, avail))  # type: ignore[union-attr]

    def write(self, data: bytes) -> int:
        inode = self.inode
        pos = inode.size if self.flags & O_APPEND else self.pos
        n = self._write_at(data, pos)
        self.pos = pos + n
        return n

    def pwrite(self, data: bytes, offset: int) -> int:
        # Linux quirk kept: pwrite on an O_APPEND file appends.
        if self.flags & O_APPEND:
            offset = self.inode.size
        return self._write_at(data, offset)

    def _write_at(self, data: bytes, pos: int) -> int:
        n = len(data)
        if n == 0:
            return 0
        if pos + n > MAX_LFS_FILESIZE:
            raise KernelError(EFBIG)
        inode = self.inode
        n = inode.mapping.write(pos, data)  # type: ignore[union-attr]  # short when full
        if pos + n > inode.size:
            inode.size = pos + n
        inode.mtime = inode.ctime = inode.sb.clock()
        return n

    def lseek(self, offset: int, whence: int) -> int:
        return _generic_lseek(self, offset, whence, self.inode.size)

    def truncate(self, size: int) -> None:
        self.inode.set_size(size)

    def fallocate(self, mode: int, offset: int, length: int,
                  newsize_ok: Callable[[int], None]) -> None:  # fmt: skip
        """Linux's shmem_fallocate (tmpfs, and the memory of an overlay's upper layer): only
        KEEP_SIZE and PUNCH_HOLE. Allocation gives the range real pages (st_blocks counts
        them) and, without KEEP_SIZE, the size; a hole gives its whole pages back and zeroes
        the partial ones. A memfd's seals forbid a hole (write seals) or growing (F_SEAL_GROW,
        even with KEEP_SIZE)."""
        inode = self.inode
        mapping = inode.mapping
        if mapping is None or inode.sb.fstype not in SHMEM_FSTYPES:
            raise KernelError(EOPNOTSUPP)  # no ->fallocate there
        end = offset + length
        if not mode & FALLOC_FL_PUNCH_HOLE:
            newsize_ok(end)  # even with KEEP_SIZE (shmem_fallocate)
        if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE):
            raise KernelError(EOPNOTSUPP)
        seals = getattr(inode, "seals", 0)  # a memfd's (fs/memfd.py)
        if mode & FALLOC_FL_PUNCH_HOLE and seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            raise KernelError(EPERM)
        if not mode & FALLOC_FL_PUNCH_HOLE and seals & F_SEAL_GROW and end > inode.size:
            raise KernelError(EPERM)
        if mode & FALLOC_FL_PUNCH_HOLE:
            mapping.punch(offset, end)
        else:
            if length >> PAGE_SHIFT > mapping.mem.frames_free:  # at most the memory
                raise KernelError(ENOSPC)
            mapping.reserve(offset, length)  # all or nothing, within tmpfs's size (ENOSPC)
            if not mode & FALLOC_FL_KEEP_SIZE and end > inode.size:
                inode.size = end
        inode.ctime = inode.sb.now()


class DirFile(File):
    """An open directory: getdents64 walks inode.iterate from the saved position.

    Positions are stable (a tmpfs entry's Dentry.seq, a procfs entry's own number), so a
    listing read in several calls returns every entry that stays exactly once, whatever is
    removed or added meanwhile. In a dentry tree (tmpfs) a listing ends at the entries that
    existed when it began (`end`: the parent's next_seq then): one made later is not
    returned, else creating an entry per call would keep a listing going for ever (Linux 6.1
    puts new dentries before the readdir cursor; later kernels bound the offsets the same way).
    """

    __slots__ = ("end",)

    def __init__(self, path: Path | None, flags: int, inode: Inode | None = None) -> None:
        super().__init__(path, flags, inode)
        self.end = -1

    def read(self, n: int) -> bytes:
        raise KernelError(EISDIR)

    def write(self, data: bytes) -> int:
        raise KernelError(EISDIR)

    def fsync(self) -> None:
        if self.inode.sb.magic == PROC_SUPER_MAGIC:
            raise KernelError(EINVAL)  # procfs directories have no fsync operation

    def pread(self, n: int, offset: int) -> bytes:
        raise KernelError(EISDIR)

    def lseek(self, offset: int, whence: int) -> int:
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self.pos + offset
        else:
            raise KernelError(EINVAL)
        if new < 0:
            raise KernelError(EINVAL)
        self.pos = new
        return new

    def getdents64(self, size: int) -> bytes:
        """struct linux_dirent64 records: u64 ino, s64 off, u16 reclen, u8 type, name, NUL."""
        path = self.path
        assert path is not None
        d = path.dentry
        if d.deleted:
            return b""
        out = bytearray()
        used = 0
        pos = self.pos
        end = 1 << 63
        if d.children is not None:
            if pos < 3 or self.end < 0:  # the listing begins: no entry of it read yet
                self.end = d.next_seq
            end = self.end
        pack = _DIRENT_HDR.pack_into
        for nxt, ino, dtype, name in self.inode.iterate(d, pos):
            if nxt > end:
                break
            reclen = (19 + len(name) + 1 + 7) & ~7
            if used + reclen > size:
                if not used:
                    raise KernelError(EINVAL)  # buffer too small for even one entry
                break
            out += bytes(reclen)
            pack(out, used, ino, nxt, reclen, dtype)
            out[used + 19 : used + 19 + len(name)] = name
            used += reclen
            pos = nxt
        self.pos = pos
        return bytes(out)
