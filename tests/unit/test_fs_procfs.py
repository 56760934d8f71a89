"""procfs contents and devfs/console behaviour."""

from __future__ import annotations

import os

from fs_fakes import boot, make_task

from twaron.arch.x86_64.constants import O_RDONLY, O_RDWR, TCGETS
from twaron.arch.x86_64.errno import ENOTTY, ENXIO
from twaron.errors import KernelError
from twaron.fs import vfs
from twaron.fs.console import Console


def cat(t, path: bytes) -> bytes:
    f = vfs.open_at(t, -100, path, O_RDONLY)
    out = b""
    while chunk := f.read(7):  # small reads: content must be stable across calls
        out += chunk
    f.put()
    return out


def test_global_files_readable():
    _, _, t = boot()
    assert cat(t, b"/proc/version").startswith(b"Linux version 6.1.0-twaron (twaron@python)")
    assert b"MemTotal:" in cat(t, b"/proc/meminfo")
    up = cat(t, b"/proc/uptime").split()
    assert len(up) == 2 and float(up[0]) >= 0
    assert cat(t, b"/proc/cpuinfo").startswith(b"processor\t: 0\n")
    assert cat(t, b"/proc/loadavg").count(b" ") == 4
    assert b"\ttmpfs\n" in cat(t, b"/proc/filesystems")
    assert cat(t, b"/proc/sys/kernel/ostype") == b"Linux\n"
    assert cat(t, b"/proc/sys/kernel/osrelease") == b"6.1.0-twaron\n"
    assert cat(t, b"/proc/sys/kernel/hostname") == b"twaron\n"
    assert cat(t, b"/proc/sys/kernel/pid_max") == b"4194304\n"
    mounts = cat(t, b"/proc/mounts").decode().splitlines()
    assert [m.split()[1:3] for m in mounts] == [
        ["/", "tmpfs"],
        ["/dev", "devtmpfs"],
        ["/dev/pts", "devpts"],
        ["/proc", "proc"],
    ]


def test_pid_files():
    k, root, t = boot()
    t.comm = b"sh"
    child = make_task(k, root, pid=42, parent=t.group)
    child.comm = b"child"
    assert cat(t, b"/proc/self/comm") == b"sh\n"
    assert cat(t, b"/proc/42/comm") == b"child\n"
    stat = cat(t, b"/proc/42/stat")
    assert stat.startswith(b"42 (child) ") and stat.split()[3] == b"1"  # ppid
    assert len(stat.split()) == 52
    status = cat(t, b"/proc/42/status").decode()
    assert "Name:\tchild" in status and "PPid:\t1" in status
    assert vfs.lookup(t, b"/proc/thread-self/comm")
    names = sorted(d[3] for d in _listdir(t, b"/proc"))
    assert b"1" in names and b"42" in names and b"self" in names
    fdnames = [d[3] for d in _listdir(t, b"/proc/self/fd")]
    assert fdnames[:2] == [b".", b".."]
    del k.pids.groups[42]
    try:
        vfs.lookup(t, b"/proc/42/comm")
        raise AssertionError("a gone process must vanish from /proc")
    except KernelError:
        pass


def _listdir(t, path: bytes):
    f = vfs.open_at(t, -100, path, O_RDONLY)
    import struct

    raw = f.getdents64(65536)
    out, off = [], 0
    while off < len(raw):
        ino, d_off, reclen, dtype = struct.unpack_from("<QqHB", raw, off)
        out.append((ino, d_off, dtype, raw[off + 19 : off + reclen].split(b"\0")[0]))
        off += reclen
    return out


def test_maps_from_vmas():
    k, root, t = boot()

    class V:
        def __init__(self, start, end, prot, name="", file=None):
            self.start, self.end, self.prot, self.flags, self.pgoff = start, end, prot, 2, 0
            self.name, self.file = name, file

    exe = vfs.lookup(t, b"/etc/passwd")
    t.mm.vmas = [V(0x400000, 0x401000, 5, file=exe), V(0x7FFF0000, 0x7FFF1000, 3, "[stack]")]
    lines = cat(t, b"/proc/self/maps").decode().splitlines()
    assert lines[0].startswith("00400000-00401000 r-xp 00000000 ") and lines[0].endswith(
        "/etc/passwd"
    )
    assert lines[1].startswith("7fff0000-7fff1000 rw-p") and lines[1].endswith("[stack]")


def test_console_callables_and_notty():
    _, root, t = boot()
    out, err = [], []
    c = Console(stdin=lambda n: b"input"[:n], stdout=out.append, stderr=err.append)
    files = c.stdio_files(vfs.lookup(t, b"/dev/console"))
    assert files[0].read(100) == b"input"
    files[1].write(b"to out")
    files[2].write(b"to err")
    assert out == [b"to out"] and err == [b"to err"]
    try:
        files[1].ioctl(t, TCGETS, 0)
        raise AssertionError
    except KernelError as e:
        assert e.errno == ENOTTY
    t.kernel.console = c
    try:  # no stream is a terminal: no controlling terminal (Linux: ENXIO)
        vfs.open_at(t, -100, b"/dev/tty", O_RDWR)
        raise AssertionError
    except KernelError as e:
        assert e.errno == ENXIO


def test_console_on_a_pty():
    import pty

    master, slave = pty.openpty()
    try:
        _, _, t = boot()
        c = Console(stdin=slave, stdout=slave, stderr=slave)
        f = c.open(None, O_RDWR, 1)
        buf = t.mm.alloc(36)
        assert f.ioctl(t, TCGETS, buf) == 0
        assert t.mm.copy_in(buf, 36) != bytes(36)
        f.write(b"ping")
        assert os.read(master, 10) == b"ping"
    finally:
        os.close(master)
        os.close(slave)


# --- readdir positions that hold while a directory changes ---


def _entries(raw: bytes):
    """(d_off, name) of each linux_dirent64 record in raw."""
    import struct

    out, off = [], 0
    while off < len(raw):
        _ino, d_off, reclen, _dtype = struct.unpack_from("<QqHB", raw, off)
        out.append((d_off, raw[off + 19 : off + reclen].split(b"\0")[0]))
        off += reclen
    return out


def _listing_while(f, change, size: int = 72):
    """Read f a few entries per call (72 bytes: three short names), calling change(names read
    so far) between calls; return every name read, in order."""
    names: list[bytes] = []
    while raw := f.getdents64(size):
        names += [name for _, name in _entries(raw)]
        change(names)
    return names


def test_proc_fd_offsets_survive_close():
    _, _, t = boot()
    f = vfs.open_at(t, -100, b"/proc/self/fd", O_RDONLY)
    dirfd = t.files.install(f)
    fds = [t.files.install(vfs.open_at(t, -100, b"/etc/passwd", O_RDONLY)) for _ in range(40)]
    kept = {dirfd} | set(fds[::4])

    def close_some(names):  # the listed ones not kept (later fds move down by index), and
        listed = {int(n) for n in names if n.isdigit()}  # the highest one not listed yet
        for fd in [fd for fd in fds if fd not in kept and fd in t.files.open_fds()]:
            if fd in listed:
                t.files.close(fd)
        rest = [fd for fd in fds if fd not in kept and fd not in listed]
        if rest and rest[-1] in t.files.open_fds():
            t.files.close(rest[-1])

    names = _listing_while(f, close_some)
    assert names[:2] == [b".", b".."]
    for fd in kept:
        assert names.count(b"%d" % fd) == 1, fd
    assert len(names) == len(set(names))

    # the position of fd N is N + 2 (Linux's): the d_off of an entry is where the next begins
    f.lseek(0, 0)
    ents = _entries(f.getdents64(65536))
    assert [(off, name) for off, name in ents if name.isdigit()] == [
        (fd + 3, b"%d" % fd) for fd in t.files.open_fds()
    ]
    # resuming at a saved d_off after every lower fd was closed and a new one opened
    mid = sorted(kept)[4]
    saved = dict((name, off) for off, name in ents)[b"%d" % mid]
    for fd in t.files.open_fds():
        if fd < mid and fd != dirfd:
            t.files.close(fd)
    t.files.install(vfs.open_at(t, -100, b"/etc/passwd", O_RDONLY))  # a low, free fd
    f.lseek(saved, 0)
    after = min(fd for fd in t.files.open_fds() if fd > mid)
    assert _entries(f.getdents64(65536))[0][1] == b"%d" % after


def test_proc_root_offsets_survive_exit():
    k, root, t = boot()
    for pid in range(40, 80):
        make_task(k, root, pid=pid, parent=t.group)
    kept = {1} | set(range(40, 80, 3))
    f = vfs.open_at(t, -100, b"/proc", O_RDONLY)

    def reap_some(names):
        listed = {int(n) for n in names if n.isdigit()}
        for pid in [p for p in k.pids.groups if p not in kept]:
            if pid in listed:
                del k.pids.groups[pid]
        rest = [p for p in sorted(k.pids.groups) if p not in kept and p not in listed]
        if rest:
            del k.pids.groups[rest[-1]]

    names = _listing_while(f, reap_some)
    for pid in kept:
        assert names.count(b"%d" % pid) == 1, pid
    assert len(names) == len(set(names))
    assert names[:2] == [b".", b".."]
    # positions: the static entries first, then each pid at TGID_OFFSET + pid
    from twaron.fs.procfs import TGID_OFFSET

    f.lseek(0, 0)
    ents = _entries(f.getdents64(65536))
    assert [(off, n) for off, n in ents if n.isdigit()] == [
        (TGID_OFFSET + p + 1, b"%d" % p) for p in sorted(k.pids.groups)
    ]


def test_proc_listing_order_unchanged():
    """Static entries first in their order, then the pids ascending; /proc/PID in its fixed
    order; the task directory by tid (what `ls -f` showed before positions were stable)."""
    k, root, t = boot()
    for pid in (7, 300, 12):
        make_task(k, root, pid=pid, parent=t.group)
    names = [d[3] for d in _listdir(t, b"/proc")]
    static = [n for n in names[2:] if not n.isdigit()]
    assert names == [b".", b"..", *static, b"1", b"7", b"12", b"300"]
    assert static[:2] == [b"self", b"thread-self"] and b"sys" in static
    pid_dir = [d[3] for d in _listdir(t, b"/proc/self")]
    assert pid_dir[:5] == [b".", b"..", b"cmdline", b"environ", b"comm"]
    assert pid_dir[-3:] == [b"fd", b"net", b"task"]
    assert [d[3] for d in _listdir(t, b"/proc/self/task")] == [b".", b"..", b"1"]


def test_tmpfs_listing_under_unlink_and_create():
    """tmpfs positions are Dentry.seq: unlinking entries already read or not yet read moves
    no other one; entries made after the listing began are not returned, so a listing that
    creates one entry per call still ends."""
    from twaron.arch.x86_64.constants import O_CREAT, O_WRONLY

    _, _, t = boot()
    d = vfs.lookup(t, b"/tmp")
    for i in range(60):
        vfs.open_at(t, -100, b"/tmp/f%02d" % i, O_WRONLY | O_CREAT, 0o644).put()
    kept = {b"f%02d" % i for i in range(0, 60, 3)}
    f = vfs.open_at(t, -100, b"/tmp", O_RDONLY)
    made = []

    def change(names):
        live = set(d.dentry.children)
        for n in names:
            if n.startswith(b"f") and n not in kept and n in live:
                vfs.vfs_unlink(t, d, n)
        rest = sorted(
            n for n in d.dentry.children if n.startswith(b"f") and n not in kept and n not in names
        )
        if rest:
            vfs.vfs_unlink(t, d, rest[-1])
        made.append(b"n%02d" % len(made))
        vfs.open_at(t, -100, b"/tmp/" + made[-1], O_WRONLY | O_CREAT, 0o644).put()
        assert len(made) < 100, "the listing does not end"

    names = _listing_while(f, change)
    assert names[:2] == [b".", b".."]
    for n in kept:
        assert names.count(n) == 1, n
    assert not any(n.startswith(b"n") for n in names)
    f.lseek(0, 0)  # a new listing sees what is there now
    again = [n for _, n in _entries(f.getdents64(65536))]
    assert sorted(again[2:]) == sorted(d.dentry.children)


def test_proc_self_exe_reuses_its_objects_and_forgets_gone_processes():
    """Every BusyBox start reads /proc/self/exe: the second walk makes no new inode or
    dentry, and the entries of processes that went are dropped as others come."""
    k, root, t = boot()
    t.group.exe = vfs.lookup(t, b"/etc/passwd")
    first = vfs.lookup(t, b"/proc/self/exe", follow=False)
    again = vfs.lookup(t, b"/proc/self/exe", follow=False)
    assert again.dentry is first.dentry and again.inode is first.inode
    assert first.inode.readlink(t) == b"/etc/passwd"
    assert vfs.lookup(t, b"/proc/self/exe").inode is t.group.exe.inode
    procfs = vfs.lookup(t, b"/proc").inode
    for pid in range(100, 400):  # processes that read /proc/self/exe and are reaped
        child = make_task(k, root, pid=pid, parent=t.group)
        child.group.exe = t.group.exe
        assert vfs.lookup(child, b"/proc/self/exe").inode is t.group.exe.inode
        del k.pids.groups[pid]
    assert vfs.lookup(t, b"/proc/self/exe", follow=False).dentry is first.dentry
    names = sorted(d[3] for d in _listdir(t, b"/proc/self"))
    assert {b"exe", b"fd", b"task", b"maps", b"status", b"cwd"} <= set(names)
    cache = procfs.dcache
    assert len([n for n in cache if n.isdigit()]) < 150
