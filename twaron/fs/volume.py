"""Volumes: a host directory mounted in the guest (`--volume HOST:GUEST[:ro]`, docker's -v).

The same host driver as the overlay's lower layer (fs/hostfs.py), with the guest's changes
made on the host: creating, removing, renaming and linking entries, chmod, chown, utimes,
truncate and every write() go to the host directory at once (a write reaches the host file
before the call returns; pages a MAP_SHARED mapping changed are written back at msync,
fsync, the last close and the end of the run). A read-only volume refuses every change with
EROFS, as a read-only bind mount.

Containment: every host call names its target relative to a directory descriptor reached
from the volume's root descriptor one component at a time with O_NOFOLLOW (hostfs.HostTree),
so neither `..` (the guest's walk handles it inside the guest), nor a symlink (a guest
symlink, resolved in the guest; a host symlink met as a path component is refused), nor a
rename (the VFS refuses renames and links across mounts: EXDEV) leads outside the volume's
directory. Device nodes are not created on the host (mknod of a block or character device
on a volume is EPERM): a guest must not make host devices reachable to host users.

What the guest sees of changes made on the host meanwhile (Linux's NFS close-to-open rule):
opening a file or directory looks at the host again (attributes, a changed file's cached
pages, a directory's entries), and a name not yet known is looked up on the host.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    FALLOC_FL_COLLAPSE_RANGE,
    FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_WRITE_ZEROES,
    FALLOC_FL_ZERO_RANGE,
    O_ACCMODE,
    O_APPEND,
    O_PATH,
    O_RDWR,
    O_WRONLY,
    PAGE_SHIFT,
    PAGE_SIZE,
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_ISGID,
)
from twaron.arch.x86_64.errno import EFBIG, ENOTDIR, EOPNOTSUPP, EPERM, EROFS, ESTALE
from twaron.errors import KernelError
from twaron.fs import hostfs
from twaron.fs.hostfs import (
    HostBacked,
    HostDentry,
    HostPageCache,
    HostTree,
    Shrinker,
    fill_attrs,
    host_error,
    new_dentry,
)
from twaron.fs.vfs import (
    MAX_LFS_FILESIZE,
    Dentry,
    DirFile,
    File,
    Inode,
    Mount,
    Path,
    RegularFile,
    SuperBlock,
    mkdev,
    vfs_create,
)
from twaron.mm.physmem import PhysMem


class VolumeSuperBlock(SuperBlock):
    """One volume: its host tree, and whether the guest may change it."""

    def __init__(self, mem: PhysMem, clock: Callable[[], int], tree: HostTree, readonly: bool,
                 fstype: str, magic: int) -> None:  # fmt: skip
        opts = ("ro" if readonly else "rw") + ",relatime"
        super().__init__(fstype, magic, mem, clock=clock, readonly=readonly, mount_opts=opts)
        self.tree = tree
        self.dev = mkdev(os.major(tree.dev), os.minor(tree.dev))  # the host's, as a bind mount
        self.shrinker = Shrinker(mem)
        self.by_host: dict[tuple[int, int], VolumeInode] = {}
        self.root_dentry: Dentry | None = None
        self.dirty: set[VolumeInode] = set()  # files a shared writable mapping may change
        self.host_nowait: dict[int, bool] = {}  # host st_dev: its files take RWF_NOWAIT

    def inode_for(self, st: os.stat_result) -> VolumeInode:
        """One inode per host file (hard links and renames keep it), refreshed from st."""
        key = (st.st_dev, st.st_ino)
        inode = self.by_host.get(key)
        if inode is not None and inode.mode & S_IFMT == hostfs.guest_mode(st) & S_IFMT:
            inode.refresh(st)
            return inode
        inode = VolumeInode(self, st)
        self.by_host[key] = inode
        return inode

    def statfs(self) -> tuple:
        return hostfs.statvfs_fields(self.tree.root_fd, self.magic, self.readonly)

    def close(self) -> None:
        """The end of the run: shared mappings' pages written back, descriptors closed."""
        for inode in list(self.dirty):
            inode.writeback()
        self.tree.close()


class VolumeInode(HostBacked, Inode):
    """A file of a volume: the host's attributes; its changes are made on the host."""

    __slots__ = ("alias", "hblocks", "hkey", "hfds")
    dirent_size = 0  # a directory's st_size is the host's

    def __init__(self, sb: VolumeSuperBlock, st: os.stat_result) -> None:
        super().__init__(sb, 0)
        self.alias: Dentry | None = None  # a dentry naming it: its host path follows renames
        self.hkey = (st.st_dev, st.st_ino)
        self.hfds: list[int] = []  # host descriptors of its open files that can be read
        self.refresh(st)
        if st.st_dev == sb.tree.dev:
            self.ino = st.st_ino
        if self.is_reg:
            self.mapping = HostPageCache(sb.mem, (sb.tree, self), st.st_size, sb.shrinker)

    def refresh(self, st: os.stat_result) -> None:
        """The host's attributes now (after a change made there, by the guest or not)."""
        fill_attrs(self, st)
        self.hblocks = st.st_blocks
        mapping = self.mapping
        if isinstance(mapping, HostPageCache) and mapping.host_size != st.st_size:
            mapping.host_size = st.st_size

    def d_instantiate(self, dentry: Dentry) -> None:
        if self.alias is None or self.alias.deleted:
            self.alias = dentry

    # --- extended attributes: the host's user.* ones, changed on the host ---
    @property  # type: ignore[override]
    def xattrs(self) -> dict[bytes, bytes] | None:
        """Read from the host each time (a change made there shows); a HostXattrs dict
        whose changes of user.* names are made on the host (others stay in memory)."""
        kept = _XATTRS.__get__(self, Inode) or {}
        found = HostXattrs(self, {k: v for k, v in kept.items() if not _on_host(k)})
        if self.is_reg or self.is_dir:
            try:
                dict.update(found, self.tree.xattrs(self.host_rel(), False))
            except (OSError, KernelError):
                pass
        return found

    @xattrs.setter
    def xattrs(self, value: dict[bytes, bytes] | None) -> None:
        _XATTRS.__set__(self, {k: v for k, v in (value or {}).items() if not _on_host(k)})

    def set_host_xattr(self, name: bytes, value: bytes | None) -> None:
        """setxattr/removexattr of a user.* name, on the host file."""
        self._writable()
        dfd, base = self._dir()
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
        try:
            fd = os.open(base or ".", flags, dir_fd=dfd)
            try:
                if value is None:
                    os.removexattr(fd, name)
                else:
                    os.setxattr(fd, name, value)
            finally:
                os.close(fd)
        except OSError as e:
            raise host_error(e) from None

    # --- where it is on the host ---
    def host_rel(self) -> bytes:
        d = self.alias
        if d is None or d.deleted:
            raise KernelError(ESTALE)
        names = []
        while d.parent is not d:
            names.append(d.name)
            d = d.parent
        return b"/".join(reversed(names))

    @property
    def tree(self) -> HostTree:
        return self.sb.tree  # type: ignore[attr-defined]

    def _dir(self) -> tuple[int, bytes]:
        """(descriptor of the parent directory, own name) for a host call on this file."""
        head, name = hostfs.split(self.host_rel())
        try:
            return self.tree.dirfd(head), name
        except OSError as e:
            raise host_error(e) from None

    def _dirfd(self) -> int:
        """Descriptor of this directory (O_PATH) for calls on its entries."""
        try:
            return self.tree.dirfd(self.host_rel())
        except OSError as e:
            raise host_error(e) from None

    def host_pread(self, n: int, offset: int) -> bytes:
        if self.hfds:
            return os.pread(self.hfds[0], n, offset)
        return self.tree.pread(self, self.host_rel(), n, offset)

    def _restat(self) -> os.stat_result:
        dfd, name = self._dir()
        try:
            st = os.stat(name or ".", dir_fd=dfd, follow_symlinks=False)
        except OSError as e:
            raise host_error(e) from None
        self.refresh(st)
        return st

    # --- directories ---
    def fill_dir(self, dentry: Dentry) -> None:
        if self.alias is None:
            self.alias = dentry
        try:
            entries = list(self.tree.listdir(self.host_rel()))
        except OSError:
            return
        for name, st in entries:
            self._add_entry(dentry, name, st)

    def _add_entry(self, dentry: Dentry, name: bytes, st: os.stat_result) -> Dentry:
        sb: VolumeSuperBlock = self.sb  # type: ignore[assignment]
        child = sb.inode_for(st)
        if child.is_lnk and not child.target:
            child.target = self._readlink(name)
        d = new_dentry(name, dentry, child)
        dentry.add_child(d)
        if child.alias is None or child.alias.deleted:
            child.alias = d
        return d

    def _readlink(self, name: bytes) -> bytes:
        try:
            return os.readlink(name, dir_fd=self._dirfd())
        except OSError:
            return b""

    def lookup(self, dentry: Dentry, name: bytes) -> Dentry | None:
        found = super().lookup(dentry, name)
        if found is not None or dentry.deleted:
            return found
        try:  # made on the host meanwhile?
            st = os.stat(name, dir_fd=self._dirfd(), follow_symlinks=False)
        except (OSError, KernelError):
            return None
        size = self.size
        d = self._add_entry(dentry, name, st)
        self.size = size
        return d

    def _resync(self, dentry: Dentry) -> None:
        """Opening a directory: entries made or removed on the host meanwhile show."""
        if not isinstance(dentry, HostDentry) or not dentry.listed:
            return
        try:
            entries = dict(self.tree.listdir(self.host_rel()))
        except (OSError, KernelError):
            return
        kids = dentry.children
        assert kids is not None
        size = self.size
        for name in [n for n in kids if n not in entries]:
            gone = dentry.remove_child(name)
            gone.deleted = True
        for name, st in entries.items():
            if name not in kids:
                self._add_entry(dentry, name, st)
        self.size = size

    # --- open files ---
    def open(self, task: Any, path: Path, flags: int) -> File:
        if self.alias is None or self.alias.deleted:
            self.alias = path.dentry
        if self.is_dir:
            self._resync(path.dentry)
            return DirFile(path, flags)
        if self.is_reg and not flags & O_PATH:
            self._revalidate()
            return VolumeFile(path, flags)
        return super().open(task, path, flags)

    def _revalidate(self) -> None:
        """Close-to-open: a file changed on the host drops its clean cached pages."""
        old = (self.mtime, self.size)
        try:
            self._restat()
        except KernelError:
            return
        mapping = self.mapping
        if (self.mtime, self.size) != old and isinstance(mapping, HostPageCache):
            if not mapping.mapped and not mapping.dirty:
                mapping.drop_clean()

    # --- changes, made on the host first ---
    def _writable(self) -> None:
        if self.sb.readonly:
            raise KernelError(EROFS)

    def set_size(self, size: int) -> None:
        self._writable()
        if not self.is_reg:
            raise KernelError(EOPNOTSUPP)
        dfd, name = self._dir()
        try:
            fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                         dir_fd=dfd)  # fmt: skip
            try:
                os.ftruncate(fd, size)
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise host_error(e) from None
        self._truncated(size, st)

    def _truncated(self, size: int, st: os.stat_result) -> None:
        mapping = self.mapping
        if isinstance(mapping, HostPageCache) and size < mapping.host_size:
            mapping.truncate(size)
        self.refresh(st)

    def setattr(self, path: Path | None, attrs: dict[str, int]) -> None:
        self._writable()
        dfd, name = self._dir()
        name = name or b"."
        try:
            if "mode" in attrs and attrs["mode"] != self.mode:
                if self.is_lnk:
                    raise KernelError(EOPNOTSUPP)
                os.chmod(name, attrs["mode"] & 0o7777, dir_fd=dfd, follow_symlinks=False)
            if "uid" in attrs or "gid" in attrs:
                os.chown(name, attrs.get("uid", -1), attrs.get("gid", -1), dir_fd=dfd,
                         follow_symlinks=False)  # fmt: skip
                if "mode" in attrs and not self.is_lnk:  # the bits chown cleared, as asked
                    os.chmod(name, attrs["mode"] & 0o7777, dir_fd=dfd, follow_symlinks=False)
            if "atime" in attrs or "mtime" in attrs:
                times = (attrs.get("atime", self.atime), attrs.get("mtime", self.mtime))
                os.utime(name, ns=times, dir_fd=dfd, follow_symlinks=False)
        except NotImplementedError:
            raise KernelError(EOPNOTSUPP) from None
        except OSError as e:
            raise host_error(e) from None
        self._restat()

    def dir_create(self, parent: Path, name: bytes, mode: int, cred: Any, rdev: int = 0,
                   target: bytes = b"") -> Inode:  # fmt: skip
        self._writable()
        kind = mode & S_IFMT
        if kind in (S_IFCHR, S_IFBLK):
            raise KernelError(EPERM)  # no host device nodes from a guest
        perm = mode & 0o7777
        gid = cred.fsgid
        if self.mode & S_ISGID:
            gid = self.gid
            if kind == S_IFDIR:
                perm |= S_ISGID
        dfd = self._dirfd()
        try:
            if kind == S_IFDIR:
                os.mkdir(name, 0o700, dir_fd=dfd)
            elif kind == S_IFLNK:
                os.symlink(target, name, dir_fd=dfd)
            elif kind == S_IFREG:
                os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, 0o600, dir_fd=dfd))  # fmt: skip
            else:
                os.mknod(name, kind | 0o600, dir_fd=dfd)
            _owner(name, dfd, cred.fsuid, gid)
            if kind != S_IFLNK:
                os.chmod(name, perm, dir_fd=dfd, follow_symlinks=False)
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except NotImplementedError:
            raise KernelError(EOPNOTSUPP) from None
        except OSError as e:
            raise host_error(e) from None
        sb: VolumeSuperBlock = self.sb  # type: ignore[assignment]
        inode = sb.inode_for(st)
        if kind == S_IFLNK:
            inode.target = target
        self._restat_quiet()
        return inode

    def _restat_quiet(self) -> None:
        try:
            self._restat()
        except KernelError:
            pass

    def dir_link(self, old: Path, parent: Path, name: bytes) -> None:
        self._writable()
        src: VolumeInode = old.inode  # type: ignore[assignment]
        sdfd, sname = src._dir()
        try:
            os.link(sname, name, src_dir_fd=sdfd, dst_dir_fd=self._dirfd(),
                    follow_symlinks=False)  # fmt: skip
        except OSError as e:
            raise host_error(e) from None
        src._restat_quiet()
        self._restat_quiet()

    def dir_unlink(self, parent: Path, name: bytes, child: Dentry) -> None:
        self._writable()
        dfd = self._dirfd()
        try:
            if child.inode.is_dir:
                os.rmdir(name, dir_fd=dfd)
                self.tree.forget_dirs()
            else:
                os.unlink(name, dir_fd=dfd)
        except OSError as e:
            raise host_error(e) from None
        inode = child.inode
        if isinstance(inode, VolumeInode) and inode.alias is child:
            inode.alias = None
        self._restat_quiet()

    def dir_rename(self, op: Path, oname: bytes, np: Path, nname: bytes, flags: int) -> None:
        self._writable()
        ndir = np.inode
        assert isinstance(ndir, VolumeInode)
        tree = self.tree
        try:
            ofd = os.dup(self._dirfd())  # its own descriptor: the second walk may evict it
            try:
                hostfs.renameat2(ofd, oname, ndir._dirfd(), nname, flags)
            finally:
                os.close(ofd)
        except OSError as e:
            raise host_error(e) from None
        tree.forget_dirs()
        self._restat_quiet()
        if ndir is not self:
            ndir._restat_quiet()

    def blocks(self) -> int:
        return self.hblocks

    def writeback(self) -> None:
        """Pages a shared writable mapping may have changed go back to the host file."""
        mapping = self.mapping
        sb: VolumeSuperBlock = self.sb  # type: ignore[assignment]
        sb.dirty.discard(self)
        if not isinstance(mapping, HostPageCache) or not mapping.pages or sb.readonly:
            return
        try:
            dfd, name = self._dir()
            fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                         dir_fd=dfd)  # fmt: skip
        except (OSError, KernelError):
            return
        try:
            for index, pfn in sorted(mapping.pages.items()):
                start = index << PAGE_SHIFT
                n = min(PAGE_SIZE, self.size - start)
                if n > 0:
                    os.pwrite(fd, mapping.mem.read(pfn, 0, n), start)
            self.refresh(os.fstat(fd))
        except OSError:
            pass
        finally:
            os.close(fd)


_XATTRS = Inode.__dict__["xattrs"]  # Inode's own slot, under VolumeInode's property


def _on_host(name: bytes) -> bool:
    return name.startswith(hostfs.XATTR_PREFIXES)


class HostXattrs(dict):
    """A volume file's attributes as fs/xattr.py sees them: user.* ones set and removed on
    the host (its errors are the guest's), the rest kept in guest memory."""

    def __init__(self, inode: VolumeInode, initial: dict[bytes, bytes]) -> None:
        super().__init__(initial)
        self.inode = inode

    def _kept(self) -> dict[bytes, bytes]:
        kept = _XATTRS.__get__(self.inode, Inode)
        if kept is None:
            kept = {}
            _XATTRS.__set__(self.inode, kept)
        return kept

    def __setitem__(self, name: bytes, value: bytes) -> None:
        if _on_host(name):
            self.inode.set_host_xattr(name, value)
        else:
            self._kept()[name] = value
        super().__setitem__(name, value)

    def __delitem__(self, name: bytes) -> None:
        if _on_host(name):
            self.inode.set_host_xattr(name, None)
        else:
            self._kept().pop(name, None)
        super().__delitem__(name)


def _owner(name: bytes, dfd: int, uid: int, gid: int) -> None:
    """A new host file belongs to the guest's fsuid/fsgid (as docker without user namespaces
    makes it); a twaron that is not root keeps its own."""
    try:
        os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
    except PermissionError:
        pass


class VolumeFile(RegularFile):
    """An open file of a volume: reads through the page cache (filled from the host), writes
    through to the host file (and to the pages cached)."""

    __slots__ = ("hfd",)

    def __init__(self, path: Path, flags: int) -> None:
        inode: VolumeInode = path.dentry.inode  # type: ignore[assignment]
        acc = flags & O_ACCMODE
        host_flags = os.O_RDWR if acc == O_RDWR else os.O_WRONLY if acc == O_WRONLY else os.O_RDONLY
        dfd, name = inode._dir()
        try:
            self.hfd = os.open(name, host_flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
                               | os.O_NOCTTY, dir_fd=dfd)  # fmt: skip
        except OSError as e:
            raise host_error(e) from None
        super().__init__(path, flags)
        if host_flags != os.O_WRONLY:
            inode.hfds.append(self.hfd)

    # --- RWF_NOWAIT: the host file system's answer (a bind mount's files are the host's) ---
    @property  # type: ignore[override]
    def nowait(self) -> bool:
        """Whether the host opens this file system's files FMODE_NOWAIT (Linux 6.18: ext4,
        xfs and btrfs do; tmpfs and overlayfs do not), asked of the host once per host
        file system: a one-byte preadv2(RWF_NOWAIT) is EOPNOTSUPP exactly where they don't."""
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        known: dict[int, bool] = inode.sb.host_nowait  # type: ignore[attr-defined]
        dev = inode.hkey[0]
        if dev not in known:
            known[dev] = self._probe_nowait()
        return known[dev]

    def _probe_nowait(self) -> bool:
        fd = self.hfd if self.readable else None
        try:
            if fd is None:  # a write-only host descriptor cannot be read: one that can
                dfd, name = self.inode._dir()  # type: ignore[attr-defined]
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
                             | os.O_NOCTTY, dir_fd=dfd)  # fmt: skip
            os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        except OSError as e:
            return e.errno != EOPNOTSUPP  # EAGAIN: FMODE_NOWAIT, the page was not cached
        except KernelError:
            return False
        finally:
            if fd is not None and fd != self.hfd:
                os.close(fd)
        return True

    # A read never sleeps here (the host's bytes are read in the call, as if cached), so
    # read_nowait is read; a write with RWF_NOWAIT is the host's pwritev2(RWF_NOWAIT): ext4
    # refuses a buffered one (EOPNOTSUPP), xfs and btrfs write or answer EAGAIN.
    def write_nowait(self, data: bytes) -> int:
        pos = self.inode.size if self.flags & O_APPEND else self.pos
        n = self._write_at(data, pos, os.RWF_NOWAIT)
        self.pos = pos + n
        return n

    def pwrite_nowait(self, data: bytes, offset: int) -> int:
        if self.flags & O_APPEND:
            offset = self.inode.size
        return self._write_at(data, offset, os.RWF_NOWAIT)

    def _write_at(self, data: bytes, pos: int, rwf: int = 0) -> int:
        n = len(data)
        if n == 0:
            return 0
        if pos + n > MAX_LFS_FILESIZE:
            raise KernelError(EFBIG)
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        done = 0
        mv = memoryview(data)
        try:
            while done < n:
                if rwf:
                    done += os.pwritev(self.hfd, [mv[done:]], pos + done, rwf)
                else:
                    done += os.pwrite(self.hfd, mv[done:], pos + done)
        except OSError as e:
            if not done:
                raise host_error(e) from None
        _update_cached(inode.mapping, pos, mv[:done])  # type: ignore[arg-type]
        try:
            inode.refresh(os.fstat(self.hfd))
        except OSError:
            pass
        return done

    def truncate(self, size: int) -> None:
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        try:
            os.ftruncate(self.hfd, size)
            st = os.fstat(self.hfd)
        except OSError as e:
            raise host_error(e) from None
        inode._truncated(size, st)

    def fallocate(self, mode: int, offset: int, length: int,
                  newsize_ok: Callable[[int], None]) -> None:  # fmt: skip
        """fallocate(2) made on the host file (the host file system's own rules and errno:
        ext4 and xfs do every mode, tmpfs only KEEP_SIZE and PUNCH_HOLE), past the guest's
        RLIMIT_FSIZE first. A mode that moves data (COLLAPSE_RANGE, INSERT_RANGE) is
        EOPNOTSUPP: pages of the file may be mapped, and twaron does not shift them."""
        if not mode & FALLOC_FL_PUNCH_HOLE:
            newsize_ok(offset + length)
        if mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE):
            raise KernelError(EOPNOTSUPP)
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        if _libc().fallocate(self.hfd, mode, ctypes.c_int64(offset), ctypes.c_int64(length)):
            err = ctypes.get_errno()
            raise host_error(OSError(err, os.strerror(err))) from None
        if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_WRITE_ZEROES):
            _zero_cached(inode.mapping, offset, offset + length)  # type: ignore[arg-type]
        try:
            inode.refresh(os.fstat(self.hfd))
        except OSError:
            pass

    def fsync(self) -> None:
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        if inode in inode.sb.dirty:  # type: ignore[attr-defined]
            inode.writeback()
        try:
            os.fsync(self.hfd)
        except OSError as e:
            raise host_error(e) from None

    def release(self) -> None:
        inode: VolumeInode = self.inode  # type: ignore[assignment]
        if self.hfd in inode.hfds:
            inode.hfds.remove(self.hfd)
        if inode in inode.sb.dirty:  # type: ignore[attr-defined]
            inode.writeback()
        os.close(self.hfd)
        super().release()


def _update_cached(mapping: HostPageCache, pos: int, data: memoryview) -> None:
    """What write() put in the host file, in the pages already cached (the others are read
    from the host when wanted)."""
    mem, pages = mapping.mem, mapping.pages
    end = pos + len(data)
    if end > mapping.host_size:
        mapping.host_size = end
    off = pos
    while off < end:
        index, in_page = off >> PAGE_SHIFT, off & (PAGE_SIZE - 1)
        chunk = min(end - off, PAGE_SIZE - in_page)
        pfn = pages.get(index)
        if pfn is not None:
            if mapping.code:
                mem.code_rewritten(pfn)
            mem.write(pfn, in_page, data[off - pos : off - pos + chunk])
        off += chunk


def _zero_cached(mapping: HostPageCache, start: int, end: int) -> None:
    """A range the host file now reads as zeros, zeroed in the pages already cached."""
    mem, pages = mapping.mem, mapping.pages
    first, last = start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
    # the range's pages or the cached ones, whichever are fewer (a hole may span terabytes)
    indexes = (range(first, last + 1) if last - first < len(pages)
               else [i for i in pages if first <= i <= last])  # fmt: skip
    for index in indexes:
        pfn = pages.get(index)
        if pfn is None:
            continue
        lo, hi = max(start, index << PAGE_SHIFT), min(end, (index + 1) << PAGE_SHIFT)
        if mapping.code:
            mem.code_rewritten(pfn)
        mem.write(pfn, lo & (PAGE_SIZE - 1), bytes(hi - lo))


def msync(inode: Inode) -> None:
    """msync(2) of a range mapping a volume file: its shared pages go back to the host."""
    if isinstance(inode, VolumeInode) and inode in inode.sb.dirty:  # type: ignore[attr-defined]
        inode.writeback()
        inode.sb.dirty.add(inode)  # type: ignore[attr-defined]  # still mapped: again later


def note_shared_write(inode: Inode) -> None:
    """mmap(MAP_SHARED, PROT_WRITE) of a volume file: its pages go back at sync points."""
    if isinstance(inode, VolumeInode):
        inode.sb.dirty.add(inode)  # type: ignore[attr-defined]
        if isinstance(inode.mapping, HostPageCache):
            inode.mapping.dirty = True


# ------------------------------------------------------------------------------- mounting


@functools.cache
def _libc() -> Any:
    """The C library (fallocate and fstatfs have no os module function)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return libc


class _StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_long * 15)]


def _host_magic(fd: int) -> int:
    try:
        buf = _StatFs()
        if _libc().fstatfs(fd, ctypes.byref(buf)) == 0:
            return buf.f_type & 0xFFFF_FFFF
    except OSError:
        pass
    return 0x6868_6868


def mount_volume(at: Path, mem: PhysMem, clock: Callable[[], int], host_dir: str,
                 readonly: bool) -> Path:  # fmt: skip
    """Mount host_dir on the guest directory `at`. OSError if host_dir is not a directory."""
    tree = HostTree(host_dir)
    try:
        st = tree.lstat(b"")
        fstype = hostfs.host_fstype(tree.path)
        sb = VolumeSuperBlock(mem, clock, tree, readonly, fstype, _host_magic(tree.root_fd))
    except OSError:
        tree.close()
        raise
    root_inode = sb.inode_for(st)
    root = HostDentry(at.dentry.name, None, root_inode)
    root_inode.alias = root
    sb.root_dentry = root
    m = Mount(sb, root, at.mnt, at.dentry, tree.path)
    at.mnt.children[at.dentry] = m
    return Path(m, root)


class _RootCred:
    """Who makes a missing mount point at boot: root (docker's daemon makes them)."""

    fsuid = fsgid = euid = uid = gid = 0
    groups: tuple[int, ...] = ()


def guest_dir(root: Path, guest: bytes) -> Path:
    """The guest directory `guest` (absolute) below root, made as `mkdir -p` would (as root)
    where missing; mounts are crossed. KernelError(ENOTDIR) if a component is not a
    directory (a symlink included: a mount point is never reached through one)."""
    cur = root
    for name in [c for c in guest.split(b"/") if c]:
        d = cur.inode.lookup(cur.dentry, name)
        if d is None:
            nxt = vfs_create(cur, name, S_IFDIR | 0o755, _RootCred())
        else:
            nxt = Path(cur.mnt, d)
        m = nxt.mnt.children.get(nxt.dentry)
        while m is not None:
            nxt = Path(m, m.root)
            m = m.children.get(m.root)
        if not nxt.inode.is_dir:
            raise KernelError(ENOTDIR)
        cur = nxt
    return cur


def mount_volumes(root: Path, mem: PhysMem, clock: Callable[[], int], volumes: Any) -> None:
    """Each --volume (config.Volume: host, guest, readonly) mounted in order (a later one may
    lie inside an earlier one). OSError naming the host directory if it cannot be used;
    ValueError if the guest path cannot become a directory."""
    for v in volumes:
        try:
            at = guest_dir(root, v.guest.encode())
        except KernelError as e:
            raise ValueError(f"--volume {v.host}:{v.guest}: {os.strerror(e.errno)}") from None
        mount_volume(at, mem, clock, v.host, v.readonly)
