"""overlayfs: a host directory as the read-only lower layer, guest memory as the upper one.

`--rootfs DIR` and `--image` mount this as `/`. What a program sees is Linux overlayfs's
merged view with a tmpfs upper layer (in its configuration with stable inode numbers:
index=on, redirect_dir=on on one file system), and nothing is copied at boot:

- a lower directory lists its host directory the first time it is looked into
  (hostfs.HostDentry), a lower file reads its host file into the page cache page by page
  when first used (hostfs.HostPageCache), so boot time and memory do not grow with the tree;
- times, modes, owners, sizes, link counts, symlinks, device nodes, st_ino and the user.*
  extended attributes are the host's until the guest changes them;
- a change copies up: opening a lower file for writing (or truncating it) brings all of its
  data into memory, charged to the upper layer's size (tmpfs's size limit: ENOSPC when full);
  a change of attributes only changes the in-memory inode (a metadata copy-up); the
  directories above a copied-up file become merged directories (st_nlink 1, as overlayfs);
- the upper layer is the dentry tree itself: a removed lower entry is gone from its merged
  directory (a whiteout), a directory made where one was removed starts empty (an opaque
  directory), a renamed lower directory keeps listing its host directory wherever it moves
  (a redirect), hard links stay one inode across copy-up (index=on), and an inode keeps its
  number for the life of the run;
- the host tree is never written: the host is only ever opened read-only.

Lower inodes take the host's st_ino (one host file system); inodes made in the overlay are
numbered from 2^32 up, so the two never meet.
"""

from __future__ import annotations

import os
import stat as pystat
from collections.abc import Callable
from typing import Any

from twaron.arch.x86_64.constants import (
    O_ACCMODE,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    OVERLAYFS_SUPER_MAGIC,
    PAGE_SIZE,
)
from twaron.fs import hostfs
from twaron.fs.hostfs import (
    HostBacked,
    HostDentry,
    HostPageCache,
    HostTree,
    Shrinker,
    fill_attrs,
    new_dentry,
)
from twaron.fs.vfs import Dentry, File, Inode, Mount, Path, SuperBlock
from twaron.mm.page_cache import PageQuota
from twaron.mm.physmem import PhysMem

_XATTRS = Inode.__dict__["xattrs"]  # Inode's own slot, under LowerInode's property
UPPER_INO_BASE = 1 << 32  # inodes made in the overlay; the lower layer's are the host's


class OverlaySuperBlock(SuperBlock):
    """One overlay: its lower tree, the upper layer's size limit, the host's hard links."""

    def __init__(self, mem: PhysMem, clock: Callable[[], int], tree: HostTree,
                 size: int | None = None) -> None:  # fmt: skip
        super().__init__("overlay", OVERLAYFS_SUPER_MAGIC, mem, clock=clock)
        pages = (size + PAGE_SIZE - 1) // PAGE_SIZE if size is not None else mem.nframes // 2
        self.quota = PageQuota(pages)  # the upper layer is a tmpfs of this size
        self.tree = tree
        self.shrinker = Shrinker(mem)
        self.next_ino = UPPER_INO_BASE
        self.by_host: dict[tuple[int, int], LowerInode] = {}  # files with several host names

    def lower_inode(self, rel: bytes, st: os.stat_result) -> LowerInode:
        """The inode of host entry rel: one per host file, so host hard links stay links."""
        key = None
        if st.st_nlink > 1 and not pystat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            found = self.by_host.get(key)
            if found is not None:
                return found
        inode = LowerInode(self, rel, st)
        if key is not None:
            self.by_host[key] = inode
        return inode

    def close(self) -> None:
        """The run is over: the host descriptors are closed."""
        self.tree.close()


class LowerInode(HostBacked, Inode):
    """An inode that came from the lower layer: the host's attributes until changed, its
    directory listed and its data read from the host until copied up."""

    __slots__ = ("hrel", "hblocks", "merged", "xloaded")

    def __init__(self, sb: OverlaySuperBlock, rel: bytes, st: os.stat_result) -> None:
        super().__init__(sb, 0)  # no type yet: no tmpfs page cache is made
        fill_attrs(self, st)
        self.hrel = rel
        self.hblocks = st.st_blocks
        self.merged = False  # a directory copied up (it has entries of both layers)
        self.xloaded = False  # the host's user.* attributes are read when first asked for
        if st.st_dev == sb.tree.dev and st.st_ino < UPPER_INO_BASE:
            self.ino = st.st_ino
        if self.is_reg:
            self.mapping = HostPageCache(sb.mem, (sb.tree, self), st.st_size, sb.shrinker)
        elif self.is_lnk:
            try:
                self.target = sb.tree.readlink(rel)
            except OSError:
                self.target = b""

    # --- extended attributes: the host's user.* ones until the guest changes them ---
    @property  # type: ignore[override]
    def xattrs(self) -> dict[bytes, bytes] | None:
        if not self.xloaded:
            self.xloaded = True
            tree: HostTree = self.sb.tree  # type: ignore[attr-defined]
            found = tree.xattrs(self.hrel, self.is_lnk) if self.is_reg or self.is_dir else {}
            _XATTRS.__set__(self, found or None)
        return _XATTRS.__get__(self, Inode)

    @xattrs.setter
    def xattrs(self, value: dict[bytes, bytes] | None) -> None:
        self.xloaded = True
        _XATTRS.__set__(self, value)

    # --- reading the host ---
    def host_rel(self) -> bytes:
        return self.hrel

    def host_pread(self, n: int, offset: int) -> bytes:
        return self.sb.tree.pread(self, self.hrel, n, offset)  # type: ignore[attr-defined]

    def fill_dir(self, dentry: Dentry) -> None:
        sb: OverlaySuperBlock = self.sb  # type: ignore[assignment]
        try:
            entries = list(sb.tree.listdir(self.hrel))
        except OSError:
            return  # unreadable on the host: an empty directory
        for name, st in entries:
            child = sb.lower_inode(hostfs.join(self.hrel, name), st)
            dentry.add_child(new_dentry(name, dentry, child))

    # --- copy-up ---
    def copy_up_data(self, keep_data: bool = True) -> None:
        """The file's bytes move to the upper layer (memory): the host is not read again."""
        mapping = self.mapping
        if isinstance(mapping, HostPageCache) and mapping.source is not None:
            mapping.detach(self.sb.quota, keep_data)
            self.hblocks = 0

    def open(self, task: Any, path: Path, flags: int) -> File:
        if self.is_reg and (flags & O_TRUNC or flags & O_ACCMODE in (O_WRONLY, O_RDWR)):
            self.copy_up_data(keep_data=not flags & O_TRUNC)
            copy_up_dirs(path.dentry.parent)
        return super().open(task, path, flags)

    def set_size(self, size: int) -> None:
        if self.is_reg:
            self.copy_up_data(keep_data=size > 0)
        super().set_size(size)

    def setattr(self, path: Path | None, attrs: dict[str, int]) -> None:
        if path is not None:
            copy_up_dirs(path.dentry if self.is_dir else path.dentry.parent)
        super().setattr(path, attrs)

    # --- what stat reports ---
    def blocks(self) -> int:
        mapping = self.mapping
        if isinstance(mapping, HostPageCache) and mapping.source is None:
            return mapping.blocks_held()
        return self.hblocks

    def st_nlink(self) -> int:
        return 1 if self.merged and self.nlink else self.nlink

    # --- a change in a lower directory copies it (and its parents) up ---
    def dir_create(self, parent: Path, name: bytes, mode: int, cred: Any, rdev: int = 0,
                   target: bytes = b"") -> Inode:  # fmt: skip
        copy_up_dirs(parent.dentry)
        return super().dir_create(parent, name, mode, cred, rdev, target)

    def dir_link(self, old: Path, parent: Path, name: bytes) -> None:
        copy_up_dirs(parent.dentry)
        copy_up_dirs(old.dentry.parent)

    def dir_unlink(self, parent: Path, name: bytes, child: Dentry) -> None:
        copy_up_dirs(parent.dentry)

    def dir_rename(self, op: Path, oname: bytes, np: Path, nname: bytes, flags: int) -> None:
        copy_up_dirs(op.dentry)
        copy_up_dirs(np.dentry)
        moved = op.dentry.children.get(oname) if op.dentry.children is not None else None
        if moved is not None and isinstance(moved.inode, LowerInode) and moved.inode.is_dir:
            moved.inode.merged = True  # a redirect: it still lists its lower directory


def copy_up_dirs(dentry: Dentry) -> None:
    """The directory and its ancestors become merged directories (Linux copies every parent
    of what it copies up)."""
    d = dentry
    while True:
        inode = d.inode
        if isinstance(inode, LowerInode) and inode.is_dir:
            if inode.merged:
                return  # its parents were merged with it
            inode.merged = True
        if d.parent is d:
            return
        d = d.parent


def overlay_root(mem: PhysMem, clock: Callable[[], int], host_dir: str,
                 size: int | None = None) -> Path:  # fmt: skip
    """The overlay of host_dir (lower) and memory (upper) as the root of a new mount tree.
    OSError when host_dir cannot be opened as a directory."""
    tree = HostTree(host_dir)
    sb = OverlaySuperBlock(mem, clock, tree, size)
    try:
        st = tree.lstat(b"")
    except OSError:
        tree.close()
        raise
    root_inode = sb.lower_inode(b"", st)
    root_inode.merged = True  # the overlay's root always has an upper directory
    root = HostDentry(b"/", None, root_inode)
    return Path(Mount(sb, root, source="overlay"), root)
