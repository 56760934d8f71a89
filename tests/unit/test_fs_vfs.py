"""Path walk (namei), mounts, d_path, permissions: the VFS without syscalls."""

from __future__ import annotations

import pytest
from fs_fakes import boot, make_task

from twaron.arch.x86_64.constants import (
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
)
from twaron.arch.x86_64.errno import (
    EACCES,
    EEXIST,
    EISDIR,
    ELOOP,
    ENAMETOOLONG,
    ENOENT,
    ENOTDIR,
)
from twaron.errors import KernelError
from twaron.fs import tmpfs, vfs


def errno_of(fn, *a, **kw) -> int:
    with pytest.raises(KernelError) as ei:
        fn(*a, **kw)
    return ei.value.errno


@pytest.fixture
def env():
    k, root, t = boot()
    tmpfs.mkdir_p(root, b"a/b/c")
    tmpfs.add_file(root, b"a/file", b"hello")
    tmpfs.add_symlink(root, b"a/rel", b"b/c")
    tmpfs.add_symlink(root, b"a/abs", b"/a/b")
    tmpfs.add_symlink(root, b"a/dangling", b"nothere")
    tmpfs.add_symlink(root, b"loop1", b"loop2")
    tmpfs.add_symlink(root, b"loop2", b"loop1")
    tmpfs.add_symlink(root, b"up", b"../../../../..")
    return k, root, t


def name(t, p) -> bytes:
    return vfs.d_path(p, t.fs.root)


def test_basic_walk_and_dotdot(env):
    _, root, t = env
    assert name(t, vfs.lookup(t, b"/a/b/c")) == b"/a/b/c"
    assert name(t, vfs.lookup(t, b"/a/b/c/../..")) == b"/a"
    assert name(t, vfs.lookup(t, b"/../../a/./b//")) == b"/a/b"
    assert vfs.lookup(t, b"/..") == root
    assert vfs.lookup(t, b"/") == root


def test_relative_to_cwd_and_dirfd(env):
    _, root, t = env
    t.fs.cwd = vfs.lookup(t, b"/a")
    assert name(t, vfs.lookup(t, b"b/c")) == b"/a/b/c"
    f = vfs.open_at(t, -100, b"/a/b", O_RDONLY | O_DIRECTORY)
    fd = t.files.install(f)
    assert name(t, vfs.lookup_at(t, fd, b"c")) == b"/a/b/c"
    assert name(t, vfs.lookup_at(t, fd, b"", empty_ok=True)) == b"/a/b"
    ffd = t.files.install(vfs.open_at(t, -100, b"/a/file", O_RDONLY))
    assert errno_of(vfs.lookup_at, t, ffd, b"x") == ENOTDIR


def test_symlinks(env):
    _, root, t = env
    assert name(t, vfs.lookup(t, b"/a/rel")) == b"/a/b/c"
    assert name(t, vfs.lookup(t, b"/a/abs/c")) == b"/a/b/c"
    assert vfs.lookup(t, b"/a/rel", follow=False).inode.is_lnk
    assert name(t, vfs.lookup(t, b"/a/rel/", follow=False)) == b"/a/b/c"  # trailing / follows
    assert errno_of(vfs.lookup, t, b"/a/dangling") == ENOENT
    assert errno_of(vfs.lookup, t, b"/loop1") == ELOOP
    assert vfs.lookup(t, b"/loop1", follow=False).inode.is_lnk


def test_elooop_after_40_links(env):
    _, root, t = env
    for i in range(45):
        tmpfs.add_symlink(root, b"chain%d" % i, b"chain%d" % (i + 1))
    tmpfs.add_file(root, b"chain45", b"")
    assert vfs.lookup(t, b"/chain6").inode.is_reg  # 39 links: fine
    assert vfs.lookup(t, b"/chain5").inode.is_reg  # 40 links: fine
    assert errno_of(vfs.lookup, t, b"/chain4") == ELOOP  # 41


def test_root_confinement(env):
    _, root, t = env
    jail = vfs.lookup(t, b"/a/b")
    t.fs.root = t.fs.cwd = jail
    assert vfs.lookup(t, b"/../../..") == jail
    assert vfs.lookup(t, b"..") == jail
    assert name(t, vfs.lookup(t, b"/c")) == b"/c"
    tmpfs.add_symlink(root, b"a/b/esc", b"/../../a")
    assert errno_of(vfs.lookup, t, b"/esc") == ENOENT  # /a inside the jail does not exist


def test_errors(env):
    _, root, t = env
    assert errno_of(vfs.lookup, t, b"") == ENOENT
    assert errno_of(vfs.lookup, t, b"/a/file/x") == ENOTDIR
    assert errno_of(vfs.lookup, t, b"/a/file/") == ENOTDIR
    assert errno_of(vfs.lookup, t, b"/a/" + b"x" * 256) == ENAMETOOLONG
    assert errno_of(vfs.lookup, t, b"/" + b"a/" * 2048) == ENAMETOOLONG
    assert errno_of(vfs.lookup, t, b"/nope/x") == ENOENT


def test_permissions_for_non_root(env):
    k, root, t = env
    u = make_task(k, root, pid=2, uid=1000)
    d = vfs.lookup(t, b"/a/b")
    d.inode.mode = (d.inode.mode & ~0o777) | 0o700
    assert errno_of(vfs.lookup, u, b"/a/b/c") == EACCES
    assert vfs.lookup(t, b"/a/b/c")  # root bypasses
    f = vfs.lookup(t, b"/a/file")
    f.inode.mode = (f.inode.mode & ~0o777) | 0o600
    assert errno_of(vfs.open_at, u, -100, b"/a/file", O_RDONLY) == EACCES
    # root needs some x bit to execute
    assert errno_of(vfs.open_exec, t, b"/a/file") == EACCES
    f.inode.mode |= 0o100
    assert vfs.open_exec(t, b"/a/file").inode is f.inode


def test_open_create_rules(env):
    _, root, t = env
    f = vfs.open_at(t, -100, b"/a/new", O_CREAT | O_WRONLY, 0o644)
    assert f.inode.is_reg and f.inode.mode & 0o777 == 0o644
    assert errno_of(vfs.open_at, t, -100, b"/a/new", O_CREAT | O_EXCL | O_WRONLY) == EEXIST
    assert errno_of(vfs.open_at, t, -100, b"/a/b", O_CREAT | O_RDONLY) == EISDIR
    assert errno_of(vfs.open_at, t, -100, b"/a/b", O_RDWR) == EISDIR
    assert errno_of(vfs.open_at, t, -100, b"/a/newdir/", O_CREAT | O_WRONLY) == EISDIR
    assert errno_of(vfs.open_at, t, -100, b"/a/file", O_RDONLY | O_DIRECTORY) == ENOTDIR
    assert errno_of(vfs.open_at, t, -100, b"/a/rel", O_RDONLY | O_NOFOLLOW) == ELOOP
    assert vfs.open_at(t, -100, b"/a/rel", O_PATH | O_NOFOLLOW).inode.is_lnk
    # O_CREAT through a dangling symlink creates its target
    vfs.open_at(t, -100, b"/a/dangling", O_CREAT | O_WRONLY, 0o600)
    assert vfs.lookup(t, b"/a/nothere").inode.is_reg
    assert errno_of(vfs.open_at, t, -100, b"/a/rel", O_CREAT | O_EXCL | O_WRONLY) == EEXIST


def test_mounts_and_d_path(env):
    _, root, t = env
    dev = vfs.lookup(t, b"/dev")
    assert dev.mnt is not root.mnt and dev.dentry is dev.mnt.root
    assert name(t, dev) == b"/dev"
    assert vfs.lookup(t, b"/dev/..") == root
    assert name(t, vfs.lookup(t, b"/dev/null")) == b"/dev/null"
    assert name(t, vfs.lookup(t, b"/proc/self/fd/..")).startswith(b"/proc/")


def test_magic_links(env):
    k, root, t = env
    exe = vfs.lookup(t, b"/a/file")
    t.group.exe = exe
    # /proc/self/exe resolves to the object, even after it is renamed
    vfs.vfs_rename(t, vfs.lookup(t, b"/a"), b"file", vfs.lookup(t, b"/a/b"), b"moved")
    assert vfs.lookup(t, b"/proc/self/exe") == exe
    assert vfs.lookup(t, b"/proc/self/exe", follow=False).inode.readlink(t) == b"/a/b/moved"
    t.fs.cwd = vfs.lookup(t, b"/a/b")
    assert vfs.lookup(t, b"/proc/1/cwd/moved") == exe
    fd = t.files.install(vfs.open_at(t, -100, b"/a/b/c", O_RDONLY))
    assert vfs.lookup(t, b"/proc/self/fd/%d" % fd) == vfs.lookup(t, b"/a/b/c")
    assert vfs.lookup(t, b"/dev/fd/%d" % fd) == vfs.lookup(t, b"/a/b/c")
    # deleted files are shown as such
    vfs.vfs_unlink(t, vfs.lookup(t, b"/a/b"), b"moved")
    assert (
        vfs.lookup(t, b"/proc/self/exe", follow=False).inode.readlink(t) == b"/a/b/moved (deleted)"
    )
