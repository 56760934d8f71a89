"""The default root file system, host imports, and the host-tree writer."""

from __future__ import annotations

import os
import shutil

import pytest
from fs_fakes import FakeKernel, make_task

from twaron.arch.x86_64.constants import O_RDONLY
from twaron.fs import rootfs, vfs

needs_busybox = pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="no /bin/busybox")


@needs_busybox
def test_default_rootfs_has_busybox_and_applets():
    k = FakeKernel()
    root = rootfs.build_default_rootfs(k)
    t = make_task(k, root)
    sh = vfs.lookup(t, b"/bin/sh", follow=False)
    assert sh.inode.is_lnk and sh.inode.target == b"/bin/busybox"
    bb = vfs.lookup(t, b"/bin/sh")
    assert bb.inode.is_reg and bb.inode.size == os.path.getsize("/bin/busybox")
    assert bb.inode.mapping.read(0, 4) == b"\x7fELF"
    for applet in (b"/bin/ls", b"/usr/bin/awk", b"/sbin/ifconfig", b"/bin/cat"):
        assert vfs.lookup(t, applet) == bb
    assert vfs.lookup(t, b"/tmp").inode.mode & 0o7777 == 0o1777
    f = vfs.open_at(t, -100, b"/etc/passwd", O_RDONLY)
    assert f.read(100).startswith(b"root:x:0:0:root:/root:/bin/sh\n")
    path, inode, head = __import__("twaron.fs.boot", fromlist=["x"]).exec_open(t, -100, b"/bin/sh")
    assert head[:4] == b"\x7fELF" and len(head) == 256 and vfs.d_path(path, root) == b"/bin/busybox"


@needs_busybox
def test_write_host_tree(tmp_path):
    rootfs.write_host_tree(str(tmp_path))
    assert os.readlink(tmp_path / "bin/sh") == "/bin/busybox"
    assert os.path.getsize(tmp_path / "bin/busybox") == os.path.getsize("/bin/busybox")
    assert (tmp_path / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (tmp_path / "etc/hostname").read_bytes() == b"twaron\n"
    rootfs.write_host_tree(str(tmp_path))  # idempotent


def test_import_host_dir_and_add_file(tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d/f").write_bytes(b"data")
    os.chmod(src / "d/f", 0o640)
    os.link(src / "d/f", src / "hard")
    os.symlink("d/f", src / "link")
    k = FakeKernel()
    root = rootfs.import_host_dir(k, str(src))
    t = make_task(k, root)
    f = vfs.lookup(t, b"/d/f")
    assert f.inode.mode & 0o777 == 0o640 and f.inode.nlink == 2
    assert vfs.lookup(t, b"/hard").inode is f.inode
    assert vfs.lookup(t, b"/link", follow=False).inode.target == b"d/f"
    assert vfs.lookup(t, b"/dev/null") and vfs.lookup(t, b"/proc/self")
    # writes in the guest never reach the host
    vfs.open_at(t, -100, b"/d/f", 0o1 | 0o1000).write(b"changed")
    assert (src / "d/f").read_bytes() == b"data"
    extra = tmp_path / "extra.sh"
    extra.write_bytes(b"#!/bin/sh\n")
    os.chmod(extra, 0o755)
    p = rootfs.add_host_file(k, root, str(extra), "/usr/local/bin/x.sh")
    assert vfs.d_path(p, root) == b"/usr/local/bin/x.sh" and p.inode.mode & 0o777 == 0o755
    shutil.rmtree(src)


def test_host_program_files(tmp_path):
    """A dynamic program's interpreter and libraries at their host paths; nothing for a
    static program or a non-ELF file."""
    elf_interpreter, host_program_files = rootfs.elf_interpreter, rootfs.host_program_files
    text = tmp_path / "text"
    text.write_bytes(b"#!/bin/sh\n" * 10)
    assert elf_interpreter(str(text)) is None and host_program_files(str(text)) == {}
    if os.path.exists("/bin/busybox"):
        assert host_program_files("/bin/busybox") == {}  # busybox-static
    dynamic = os.path.realpath("/bin/sh")
    if elf_interpreter(dynamic) is None or not os.path.exists(elf_interpreter(dynamic)):
        pytest.skip("the host's /bin/sh is not a dynamic program")
    files = host_program_files(dynamic)
    assert elf_interpreter(dynamic) in files
    assert any("libc." in g for g in files), files
    assert all(g == h and os.path.exists(h) for g, h in files.items())
