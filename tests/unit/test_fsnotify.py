"""fsnotify and inotify without syscalls: hooks cost nothing unwatched, merging, the overflow
event, IN_IGNORED when the inode goes; memfd's F_SEAL_GROW write split."""

from __future__ import annotations

import struct

import pytest
from fs_fakes import boot

from twaron.arch.x86_64.constants import (
    F_SEAL_GROW,
    F_SEAL_WRITE,
    IN_ALL_EVENTS,
    IN_CREATE,
    IN_DELETE_SELF,
    IN_IGNORED,
    IN_MODIFY,
    IN_Q_OVERFLOW,
    O_RDWR,
)
from twaron.arch.x86_64.errno import EINVAL, EPERM
from twaron.errors import KernelError
from twaron.fs import tmpfs, vfs
from twaron.fs.anon_inodes import AnonInodeFs
from twaron.fs.inotify import InotifyFile
from twaron.fs.memfd import _sealed_write


def events(group: InotifyFile) -> list[tuple[int, int, bytes]]:
    data = group.read(1 << 16)
    out = []
    while data:
        wd, mask, _cookie, n = struct.unpack_from("<iIII", data)
        out.append((wd, mask, data[16 : 16 + n].rstrip(b"\0")))
        data = data[16 + n :]
    return out


@pytest.fixture
def env():
    k, root, t = boot()
    tmpfs.mkdir_p(root, b"w")
    anon = AnonInodeFs(k.clock.realtime_ns)
    return k, root, t, anon


def test_unwatched_superblock_has_no_marks(env):
    _k, root, t, anon = env
    assert root.mnt.sb.watched == 0
    group = InotifyFile(anon.path(b"inotify"), 0, 16)
    w = vfs.lookup(t, b"/w")
    group.add_watch(w.inode, IN_ALL_EVENTS)
    assert root.mnt.sb.watched == 1 and w.inode.fsn is not None
    group.put()  # closing the instance takes its marks away
    assert root.mnt.sb.watched == 0 and w.inode.fsn is None


def test_merge_and_overflow(env):
    _k, _root, t, anon = env
    group = InotifyFile(anon.path(b"inotify"), 0, 3)
    w = vfs.lookup(t, b"/w")
    wd = group.add_watch(w.inode, IN_CREATE | IN_MODIFY)
    for name in (b"a", b"b", b"c", b"d", b"e"):
        f = vfs.open_at(t, -100, b"/w/" + name, O_RDWR | 0o100, 0o644)
        f.write(b"x")  # (the write syscall, not File.write, tells fsnotify)
        f.put()
    got = events(group)
    assert got == [(wd, IN_CREATE, b"a"), (wd, IN_CREATE, b"b"), (wd, IN_CREATE, b"c"),
                   (-1, IN_Q_OVERFLOW, b"")]  # fmt: skip
    group.queue_event(wd, IN_MODIFY, 0, b"a")
    group.queue_event(wd, IN_MODIFY, 0, b"a")  # the same as the last one: merged
    group.queue_event(wd, IN_MODIFY, 0, b"b")
    assert [e[2] for e in events(group)] == [b"a", b"b"]


def test_short_read_and_ignored_on_delete(env):
    _k, _root, t, anon = env
    group = InotifyFile(anon.path(b"inotify"), 0)
    f = vfs.open_at(t, -100, b"/w/f", O_RDWR | 0o100, 0o644)
    f.put()
    wd = group.add_watch(vfs.lookup(t, b"/w/f").inode, IN_ALL_EVENTS)
    parent = vfs.lookup(t, b"/w")
    vfs.vfs_unlink(t, parent, b"f")
    assert len(group.read(16 + 4)) == 16  # the first event (IN_ATTRIB: the link count)
    with pytest.raises(KernelError) as e:
        group.read(15)  # not even one event fits
    assert e.value.errno == EINVAL
    masks = [m for _wd, m, _n in events(group)]
    assert masks[-2:] == [IN_DELETE_SELF, IN_IGNORED]
    assert wd not in group.marks


def test_grow_seal_writes_whole_pages_inside_the_file():
    assert _sealed_write(F_SEAL_GROW, b"0123456789", 8190, 8192) == b"01"
    assert _sealed_write(F_SEAL_GROW, b"abc", 0, 8192) == b"abc"
    with pytest.raises(KernelError) as e:
        _sealed_write(F_SEAL_GROW, b"x", 8192, 8192)
    assert e.value.errno == EPERM
    with pytest.raises(KernelError):
        _sealed_write(F_SEAL_WRITE, b"x", 0, 8192)
