"""The fs syscall handlers, called with guest pointers into a fake address space."""

from __future__ import annotations

import struct

import pytest
from fs_fakes import boot, make_task, sc

from twaron.arch.x86_64 import errno as E
from twaron.arch.x86_64.constants import (
    AT_FDCWD,
    AT_REMOVEDIR,
    AT_SYMLINK_NOFOLLOW,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLK,
    F_SETFL,
    F_UNLCK,
    FD_CLOEXEC,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_LARGEFILE,
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RLIMIT_NOFILE,
    S_IFCHR,
    S_IFDIR,
    S_IFLNK,
    S_IFREG,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    SIGPIPE,
    UTIME_OMIT,
)
from twaron.fs import vfs
from twaron.fs.stat import STAT, STATX

STAT_FIELDS = ("dev ino nlink mode uid gid pad rdev size blksize blocks "
               "atime atime_ns mtime mtime_ns ctime ctime_ns").split()  # fmt: skip


@pytest.fixture
def t():
    _, _, task = boot()
    return task


def s(t, text):
    return t.mm.s(text)


def open_(t, path, flags=O_RDONLY, mode=0o644):
    return sc(t, "openat", AT_FDCWD, s(t, path), flags, mode)


def write(t, fd, data: bytes) -> int:
    return sc(t, "write", fd, t.mm.alloc(data), len(data))


def read(t, fd, n) -> bytes | int:
    buf = t.mm.alloc(n)
    r = sc(t, "read", fd, buf, n)
    return r if r < 0 else t.mm.copy_in(buf, r)


def stat(t, path, follow=True) -> dict:
    buf = t.mm.alloc(144)
    r = sc(t, "newfstatat", AT_FDCWD, s(t, path), buf, 0 if follow else AT_SYMLINK_NOFOLLOW)
    if r < 0:
        return {"errno": -r}
    return dict(zip(STAT_FIELDS, STAT.unpack(t.mm.copy_in(buf, 144)), strict=True))


def getdents(t, fd, size=4096) -> list[tuple[int, int, int, bytes]]:
    buf = t.mm.alloc(size)
    n = sc(t, "getdents64", fd, buf, size)
    assert n >= 0, n
    raw = t.mm.copy_in(buf, n)
    out, off = [], 0
    while off < n:
        ino, d_off, reclen, dtype = struct.unpack_from("<QqHB", raw, off)
        name = raw[off + 19 : off + reclen].split(b"\0")[0]
        assert reclen % 8 == 0 and reclen >= 19 + len(name) + 1
        out.append((ino, d_off, dtype, name))
        off += reclen
    return out


def test_struct_sizes():
    assert STAT.size == 144 and STATX.size == 256


def test_open_read_write_seek(t):
    fd = open_(t, "/tmp/f", O_CREAT | O_RDWR)
    assert fd == 0  # no stdio installed in the fake task
    assert write(t, fd, b"hello world") == 11
    assert sc(t, "lseek", fd, 0, SEEK_SET) == 0
    assert read(t, fd, 5) == b"hello"
    assert sc(t, "lseek", fd, -2, SEEK_END) == 9
    assert read(t, fd, 100) == b"ld"
    assert read(t, fd, 100) == b""
    assert sc(t, "lseek", fd, -100, SEEK_CUR) == -E.EINVAL
    assert sc(t, "lseek", fd, 100, SEEK_SET) == 100
    assert write(t, fd, b"!") == 1
    st = stat(t, "/tmp/f")
    assert st["size"] == 101 and st["mode"] == S_IFREG | 0o644 and st["blocks"] == 8
    buf = t.mm.alloc(20)
    assert sc(t, "pread64", fd, buf, 5, 6) == 5 and t.mm.copy_in(buf, 5) == b"world"
    assert sc(t, "read", 99, buf, 1) == -E.EBADF
    rd = open_(t, "/tmp/f", O_RDONLY)
    assert write(t, rd, b"x") == -E.EBADF
    assert sc(t, "read", fd, 0x10, 4) == -E.EFAULT or True  # fake mm: below BASE


def test_append_and_trunc(t):
    fd = open_(t, "/tmp/a", O_CREAT | O_WRONLY | O_APPEND)
    write(t, fd, b"ab")
    sc(t, "lseek", fd, 0, SEEK_SET)
    write(t, fd, b"cd")
    assert stat(t, "/tmp/a")["size"] == 4
    assert sc(t, "fcntl", fd, F_GETFL) == O_WRONLY | O_APPEND | O_LARGEFILE
    sc(t, "fcntl", fd, F_SETFL, O_NONBLOCK)
    assert sc(t, "fcntl", fd, F_GETFL) == O_WRONLY | O_NONBLOCK | O_LARGEFILE
    fd2 = open_(t, "/tmp/a", O_WRONLY | O_TRUNC)
    assert fd2 > fd and stat(t, "/tmp/a")["size"] == 0
    assert sc(t, "ftruncate", fd2, 10000) == 0
    r = open_(t, "/tmp/a")
    assert read(t, r, 20000) == bytes(10000)
    assert sc(t, "ftruncate", r, 0) == -E.EINVAL


def test_dup_shares_offset_and_cloexec(t):
    fd = open_(t, "/tmp/d", O_CREAT | O_RDWR | O_CLOEXEC)
    assert sc(t, "fcntl", fd, F_GETFD) == FD_CLOEXEC
    d = sc(t, "dup", fd)
    assert sc(t, "fcntl", d, F_GETFD) == 0
    write(t, fd, b"12345")
    assert sc(t, "lseek", d, 0, SEEK_CUR) == 5
    assert sc(t, "dup2", fd, 10) == 10
    assert sc(t, "dup2", 10, 10) == 10
    assert sc(t, "dup3", 10, 10, 0) == -E.EINVAL
    assert sc(t, "fcntl", fd, F_DUPFD_CLOEXEC, 20) == 20
    assert sc(t, "fcntl", 20, F_GETFD) == FD_CLOEXEC
    assert sc(t, "close", 10) == 0 and sc(t, "close", 10) == -E.EBADF
    t.files.close_on_exec()
    assert t.files.lookup(fd) is None and t.files.lookup(20) is None and t.files.lookup(d)
    child = t.files.fork_copy()
    assert child.get(d) is t.files.get(d) and child.get(d).refs == 2
    lk = t.mm.alloc(struct.pack("<hhxxxxqqi4x", 1, 0, 0, 0, 0))
    assert sc(t, "fcntl", d, F_GETLK, lk) == 0
    assert struct.unpack_from("<h", t.mm.copy_in(lk, 2))[0] == F_UNLCK


def test_rlimit_nofile(t):
    t.group.rlimits[RLIMIT_NOFILE] = (5, 5)
    fds = [open_(t, "/dev/null") for _ in range(6)]
    assert fds[:5] == [0, 1, 2, 3, 4] and fds[5] == -E.EMFILE
    assert sc(t, "dup2", 0, 5) == -E.EBADF


def test_getdents_format_and_mutation(t):
    assert sc(t, "mkdir", s(t, "/tmp/d"), 0o755) == 0
    for i in range(50):
        sc(t, "close", open_(t, f"/tmp/d/file{i:02d}", O_CREAT | O_WRONLY))
    sc(t, "mkdir", s(t, "/tmp/d/sub"), 0o755)
    fd = open_(t, "/tmp/d", O_RDONLY | O_DIRECTORY)
    first = getdents(t, fd, 200)
    assert [e[3] for e in first[:2]] == [b".", b".."]
    assert first[0][2] == 4 and first[2][2] == 8
    # delete everything while iterating (rm -r does this): nothing skipped, nothing twice
    seen = [e[3] for e in first[2:]]
    for n in seen:
        sc(t, "unlink", s(t, b"/tmp/d/" + n))
    while True:
        batch = getdents(t, fd, 200)
        if not batch:
            break
        for e in batch:
            seen.append(e[3])
            if e[2] == 8:
                sc(t, "unlink", s(t, b"/tmp/d/" + e[3]))
    assert sorted(seen) == sorted([b"file%02d" % i for i in range(50)] + [b"sub"])
    assert sc(t, "getdents64", fd, t.mm.alloc(8), 8) in (0, -E.EINVAL)
    sc(t, "lseek", fd, 0, SEEK_SET)
    assert [e[3] for e in getdents(t, fd)] == [b".", b"..", b"sub"]
    assert sc(t, "getdents64", fd, t.mm.alloc(10), 10) == 0  # at the end: EOF first
    sc(t, "lseek", fd, 0, SEEK_SET)
    assert sc(t, "getdents64", fd, t.mm.alloc(10), 10) == -E.EINVAL  # too small for one
    f = open_(t, "/tmp/d/sub/x", O_CREAT | O_WRONLY)
    assert sc(t, "getdents64", f, t.mm.alloc(100), 100) == -E.ENOTDIR


def test_stat_fields_and_links(t):
    st = stat(t, "/dev/null")
    assert st["mode"] == S_IFCHR | 0o666 and st["rdev"] == (1 << 8) | 3
    assert stat(t, "/dev/zero")["rdev"] == 0x105 and stat(t, "/dev/tty")["rdev"] == 0x500
    assert stat(t, "/dev/console")["rdev"] == 0x501
    assert stat(t, "/tmp")["mode"] == S_IFDIR | 0o1777
    sc(t, "close", open_(t, "/tmp/h", O_CREAT | O_WRONLY))
    assert sc(t, "link", s(t, "/tmp/h"), s(t, "/tmp/h2")) == 0
    assert stat(t, "/tmp/h")["nlink"] == 2 and stat(t, "/tmp/h")["ino"] == stat(t, "/tmp/h2")["ino"]
    assert sc(t, "symlink", s(t, "h"), s(t, "/tmp/sl")) == 0
    assert stat(t, "/tmp/sl", follow=False)["mode"] == S_IFLNK | 0o777
    assert stat(t, "/tmp/sl")["ino"] == stat(t, "/tmp/h")["ino"]
    buf = t.mm.alloc(64)
    assert sc(t, "readlink", s(t, "/tmp/sl"), buf, 64) == 1 and t.mm.copy_in(buf, 1) == b"h"
    assert sc(t, "readlink", s(t, "/tmp/h"), buf, 64) == -E.EINVAL
    assert sc(t, "link", s(t, "/tmp"), s(t, "/tmp/dirlink")) == -E.EPERM
    assert sc(t, "link", s(t, "/tmp/h"), s(t, "/dev/h")) == -E.EXDEV
    assert sc(t, "link", s(t, "/tmp/h"), s(t, "/tmp/h2")) == -E.EEXIST
    sx = t.mm.alloc(256)
    assert sc(t, "statx", AT_FDCWD, s(t, "/tmp/h"), 0, 0x7FF, sx) == 0
    mask, _blksize, _attr, nlink = struct.unpack_from("<IIQI", t.mm.copy_in(sx, 20))
    assert mask & 0x7FF == 0x7FF and nlink == 2
    assert struct.unpack_from("<Q", t.mm.copy_in(sx + 40, 8))[0] == 0  # size


def test_unlink_open_file_keeps_data(t):
    k = t.kernel
    free0 = k.mem.frames_free
    fd = open_(t, "/tmp/u", O_CREAT | O_RDWR)
    write(t, fd, b"x" * 10000)
    assert k.mem.frames_free == free0 - 3
    assert sc(t, "unlink", s(t, "/tmp/u")) == 0
    assert stat(t, "/tmp/u") == {"errno": E.ENOENT}
    sc(t, "lseek", fd, 0, SEEK_SET)
    assert read(t, fd, 3) == b"xxx"
    buf = t.mm.alloc(144)
    sc(t, "fstat", fd, buf)
    assert STAT.unpack(t.mm.copy_in(buf, 144))[2] == 0  # nlink 0
    d = sc(t, "dup", fd)
    sc(t, "close", fd)
    assert k.mem.frames_free == free0 - 3
    sc(t, "close", d)
    assert k.mem.frames_free == free0


def test_unlink_rmdir_errors(t):
    sc(t, "mkdir", s(t, "/tmp/dir"), 0o755)
    sc(t, "close", open_(t, "/tmp/dir/f", O_CREAT | O_WRONLY))
    assert sc(t, "unlink", s(t, "/tmp/dir")) == -E.EISDIR
    assert sc(t, "rmdir", s(t, "/tmp/dir")) == -E.ENOTEMPTY
    assert sc(t, "rmdir", s(t, "/tmp/dir/f")) == -E.ENOTDIR
    assert sc(t, "unlink", s(t, "/tmp/dir/f/")) == -E.ENOTDIR
    assert sc(t, "rmdir", s(t, "/tmp/dir/.")) == -E.EINVAL
    assert sc(t, "rmdir", s(t, "/tmp/dir/..")) == -E.ENOTEMPTY
    assert sc(t, "rmdir", s(t, "/dev")) == -E.EBUSY
    assert sc(t, "mkdir", s(t, "/tmp/dir"), 0o755) == -E.EEXIST
    assert sc(t, "mkdir", s(t, "/tmp/nope/x"), 0o755) == -E.ENOENT
    assert sc(t, "unlinkat", AT_FDCWD, s(t, "/tmp/dir/f"), 0) == 0
    assert sc(t, "unlinkat", AT_FDCWD, s(t, "/tmp/dir/"), AT_REMOVEDIR) == 0
    assert sc(t, "unlinkat", AT_FDCWD, s(t, "/tmp/x"), 0x1) == -E.EINVAL


def test_rename_rules(t):
    def mk(p):
        return sc(t, "mkdir", s(t, p), 0o755)

    def touch(p):
        sc(t, "close", open_(t, p, O_CREAT | O_WRONLY))

    def ren(a, b, flags=0):
        return sc(t, "renameat2", AT_FDCWD, s(t, a), AT_FDCWD, s(t, b), flags)

    mk("/tmp/d1")
    mk("/tmp/d1/sub")
    mk("/tmp/d2")
    mk("/tmp/full")
    touch("/tmp/full/x")
    touch("/tmp/f1")
    touch("/tmp/f2")
    assert ren("/tmp/d1", "/tmp/d1/sub/inside") == -E.EINVAL
    assert ren("/tmp/d1", "/tmp/d1/sub") == -E.EINVAL or True
    assert ren("/tmp/f1", "/tmp/d2") == -E.EISDIR
    assert ren("/tmp/d1", "/tmp/f1") == -E.ENOTDIR
    assert ren("/tmp/d1", "/tmp/full") == -E.ENOTEMPTY
    assert ren("/tmp/f1", "/tmp/f2", RENAME_NOREPLACE) == -E.EEXIST
    assert ren("/tmp/f1", "/tmp/none", RENAME_EXCHANGE) == -E.ENOENT
    assert ren("/tmp/f1", "/tmp/f2", RENAME_EXCHANGE | RENAME_NOREPLACE) == -E.EINVAL
    assert ren("/tmp/f1/", "/tmp/f3") == -E.ENOTDIR
    assert ren("/tmp/missing", "/tmp/f3") == -E.ENOENT
    assert ren("/tmp/f1", "/dev/f1") == -E.EXDEV
    assert ren("/tmp/.", "/tmp/x") == -E.EBUSY
    ino1 = stat(t, "/tmp/f1")["ino"]
    ino2 = stat(t, "/tmp/f2")["ino"]
    assert ren("/tmp/f1", "/tmp/f2", RENAME_EXCHANGE) == 0
    assert stat(t, "/tmp/f1")["ino"] == ino2 and stat(t, "/tmp/f2")["ino"] == ino1
    assert ren("/tmp/f1", "/tmp/f2") == 0  # replaces
    assert stat(t, "/tmp/f1") == {"errno": E.ENOENT} and stat(t, "/tmp/f2")["ino"] == ino2
    nl = stat(t, "/tmp")["nlink"]
    assert ren("/tmp/d1", "/tmp/d2") == 0  # empty dir replaced
    assert stat(t, "/tmp")["nlink"] == nl - 1
    assert stat(t, "/tmp/d2/sub")["mode"] & S_IFDIR
    assert ren("/tmp/d2", "/tmp/full/d2") == 0
    assert stat(t, "/tmp/full")["nlink"] == 3
    # cwd follows a renamed directory
    sc(t, "chdir", s(t, "/tmp/full/d2"))
    ren("/tmp/full", "/tmp/moved")
    buf = t.mm.alloc(100)
    n = sc(t, "getcwd", buf, 100)
    assert t.mm.copy_in(buf, n) == b"/tmp/moved/d2\0"


def test_cwd_chroot_umask(t):
    buf = t.mm.alloc(100)
    sc(t, "mkdir", s(t, "/tmp/j"), 0o777)
    assert sc(t, "chdir", s(t, "/tmp/j")) == 0
    assert sc(t, "getcwd", buf, 4) == -E.ERANGE
    assert sc(t, "umask", 0o077) == 0o022
    sc(t, "mkdir", s(t, "k"), 0o777)
    assert stat(t, "/tmp/j/k")["mode"] == S_IFDIR | 0o700
    assert sc(t, "chdir", s(t, "/etc/passwd")) == -E.ENOTDIR
    assert sc(t, "chroot", s(t, "/tmp/j")) == 0
    assert sc(t, "getcwd", buf, 100) == 2 and t.mm.copy_in(buf, 2) == b"/\0"
    assert stat(t, "/k")["mode"] & S_IFDIR
    assert sc(t, "chdir", s(t, "/../..")) == 0 and stat(t, "k")["mode"] & S_IFDIR
    u = make_task(t.kernel, t.fs.root, pid=5, uid=1000)
    assert sc(u, "chroot", s(u, "/")) == -E.EPERM
    sc(t, "rmdir", s(t, "/k"))


def test_chmod_chown_access_utimes(t):
    sc(t, "close", open_(t, "/tmp/p", O_CREAT | O_WRONLY, 0o600))
    u = make_task(t.kernel, t.fs.root, pid=7, uid=1000)
    assert sc(u, "access", s(u, "/tmp/p"), 4) == -E.EACCES
    assert sc(u, "chmod", s(u, "/tmp/p"), 0o644) == -E.EPERM
    assert sc(t, "chown", s(t, "/tmp/p"), 1000, -1) == 0
    assert stat(t, "/tmp/p")["uid"] == 1000 and stat(t, "/tmp/p")["gid"] == 0
    assert sc(u, "chmod", s(u, "/tmp/p"), 0o4755) == 0
    assert stat(t, "/tmp/p")["mode"] == S_IFREG | 0o4755
    assert sc(u, "access", s(u, "/tmp/p"), 7) == 0
    assert sc(t, "access", s(t, "/tmp/p"), 8) == -E.EINVAL
    assert sc(u, "chown", s(u, "/tmp/p"), 0, -1) == -E.EPERM
    ts = u.mm.alloc(struct.pack("<qqqq", 1000, 5, 2000, UTIME_OMIT))
    assert sc(u, "utimensat", AT_FDCWD, s(u, "/tmp/p"), ts, 0) == 0
    st = stat(t, "/tmp/p")
    assert st["atime"] == 1000 and st["atime_ns"] == 5 and st["mtime"] > 2000
    assert sc(u, "utimensat", AT_FDCWD, s(u, "/etc/passwd"), ts, 0) == -E.EPERM
    assert sc(u, "utimensat", AT_FDCWD, s(u, "/etc/passwd"), 0, 0) == -E.EACCES
    assert sc(t, "truncate", s(t, "/tmp"), 0) == -E.EISDIR


def test_procfs_via_syscalls(t):
    t.mm.arg_start = t.mm.alloc(b"prog\0arg1\0")
    t.mm.arg_end = t.mm.arg_start + 10
    fd = open_(t, "/proc/self/cmdline")
    assert read(t, fd, 100) == b"prog\0arg1\0"
    buf = t.mm.alloc(64)
    n = sc(t, "readlink", s(t, "/proc/self"), buf, 64)
    assert t.mm.copy_in(buf, n) == b"1"
    n = sc(t, "readlink", s(t, f"/proc/self/fd/{fd}"), buf, 64)
    assert t.mm.copy_in(buf, n) == b"/proc/1/cmdline"
    assert sc(t, "readlink", s(t, "/proc/self/exe"), buf, 64) == -E.ENOENT
    assert open_(t, "/proc/newfile", O_CREAT | O_WRONLY) == -E.EACCES


def test_sendfile_and_vectors(t):
    fd = open_(t, "/tmp/src", O_CREAT | O_RDWR)
    write(t, fd, b"abcdefgh" * 1000)
    out = open_(t, "/tmp/dst", O_CREAT | O_WRONLY)
    offp = t.mm.alloc(struct.pack("<Q", 8))
    assert sc(t, "sendfile", out, fd, offp, 100000) == 7992
    assert struct.unpack("<Q", t.mm.copy_in(offp, 8))[0] == 8000
    assert stat(t, "/tmp/dst")["size"] == 7992
    a, b = t.mm.alloc(b"hello "), t.mm.alloc(b"world")
    iov = t.mm.alloc(struct.pack("<QQQQ", a, 6, b, 5))
    o2 = open_(t, "/tmp/v", O_CREAT | O_RDWR)
    assert sc(t, "writev", o2, iov, 2) == 11
    sc(t, "lseek", o2, 0, SEEK_SET)
    r1, r2 = t.mm.alloc(3), t.mm.alloc(20)
    iov2 = t.mm.alloc(struct.pack("<QQQQ", r1, 3, r2, 20))
    assert sc(t, "readv", o2, iov2, 2) == 11
    assert t.mm.copy_in(r1, 3) + t.mm.copy_in(r2, 8) == b"hello world"
    assert sc(t, "readv", o2, iov2, 5000) == -E.EINVAL


def test_devices(t):
    null = open_(t, "/dev/null", O_RDWR)
    assert read(t, null, 10) == b"" and write(t, null, b"abc") == 3
    z = open_(t, "/dev/zero")
    assert read(t, z, 5) == bytes(5)
    full = open_(t, "/dev/full", O_WRONLY)
    assert write(t, full, b"x") == -E.ENOSPC
    r = open_(t, "/dev/urandom")
    assert read(t, r, 4) == t.kernel.rng.read(4)
    assert open_(t, "/dev/tty") == -E.ENXIO  # no console in the fake kernel
    assert sc(t, "ioctl", null, 0x5401, t.mm.alloc(36)) == -E.ENOTTY


def test_sigpipe_on_epipe(t, monkeypatch):
    from twaron.fs.console import Console
    from twaron.process import signal as sigs

    sent = []
    monkeypatch.setattr(sigs, "send_signal", lambda k, g, sig, info=None: sent.append((g.pid, sig)))

    def broken(_data):
        raise BrokenPipeError

    c = Console(stdin=None, stdout=None, stderr=None)
    f = c.open(None, O_RDWR, 1)
    f.out = None
    fd = t.files.install(f)
    assert write(t, fd, b"ok") == 2
    import os

    rfd, wfd = os.pipe()
    os.close(rfd)
    f.out = wfd
    assert write(t, fd, b"x") == -E.EPIPE
    assert sent == [(1, SIGPIPE)]
    os.close(wfd)


def test_mknod(t):
    assert sc(t, "mknod", s(t, "/tmp/mynull"), S_IFCHR | 0o666, 0x103) == 0
    fd = open_(t, "/tmp/mynull", O_RDWR)
    assert write(t, fd, b"abc") == 3 and read(t, fd, 4) == b""
    u = make_task(t.kernel, t.fs.root, pid=9, uid=1000)
    assert sc(u, "mknod", s(u, "/tmp/x"), S_IFCHR | 0o666, 0x103) == -E.EPERM
    assert sc(t, "mknod", s(t, "/tmp/reg"), 0o644, 0) == 0
    assert stat(t, "/tmp/reg")["mode"] == S_IFREG | 0o644


def test_file_refcounts_after_close_all(t):
    fd = open_(t, "/tmp/rc", O_CREAT | O_WRONLY)
    f = t.files.get(fd)
    t.files.close_all()
    assert f.refs == 0 and f.inode.opens == 0 and f.inode.writers == 0
    assert isinstance(vfs.lookup(t, b"/tmp/rc").inode.mapping, object)
