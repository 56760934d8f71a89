"""procfs contents and devfs/console behaviour."""

from __future__ import annotations

import os

from fs_fakes import boot, make_task

from twaron.arch.x86_64.constants import O_RDONLY, O_RDWR, TCGETS
from twaron.arch.x86_64.errno import ENOTTY
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
    f = vfs.open_at(t, -100, b"/dev/tty", O_RDWR)
    f.write(b"tty")
    assert out[-1] == b"tty"


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
