"""Shared helpers of the distribution tests: a small host tree used as --rootfs (twaron's
default layout written to disk, with BusyBox, plus /data with every kind of file), the same
tree copied for a native chroot, and a snapshot of a tree to check it was not changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from twaron.native import prepare_root

import harness

ENV = {"PATH": "/bin:/sbin:/usr/bin:/usr/sbin", "HOME": "/root"}


def make_tree(root: Path) -> Path:
    """twaron's layout (BusyBox) and /data: files, a hard link, a symlink, a device node,
    a subtree, host times, owners, modes and a user.* attribute."""
    prepare_root(root)
    d = root / "data"
    (d / "sub" / "deep").mkdir(parents=True)
    (d / "a.txt").write_text("alpha\n")
    (d / "b.txt").write_text("beta\n")
    (d / "sub" / "c.txt").write_text("gamma\n")
    (d / "sub" / "deep" / "d.txt").write_text("delta\n")
    os.link(d / "a.txt", d / "a.link")
    os.symlink("a.txt", d / "sym")
    os.mknod(d / "null2", 0o20666, os.makedev(1, 3))
    os.setxattr(d / "a.txt", "user.color", b"blue")
    os.setxattr(d / "sub", "user.dir", b"yes")
    os.chown(d / "b.txt", 1000, 100)
    os.chmod(d / "b.txt", 0o640)
    os.utime(d / "b.txt", ns=(1_000_000_000_123, 2_000_000_000_456))
    return root


def snapshot(root: Path) -> list[tuple]:
    """Everything of a tree that a write would change (names, types, modes, owners, times,
    link counts, contents, user.* attributes)."""
    out = []
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            data = b""
            if os.path.isfile(p) and not os.path.islink(p):
                data = hashlib.sha256(Path(p).read_bytes()).digest()
            xattrs = () if os.path.islink(p) else tuple(sorted(os.listxattr(p)))
            out.append((p, st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size,
                        st.st_mtime_ns, st.st_ctime_ns, st.st_ino, data, xattrs))  # fmt: skip
    return out


@pytest.fixture
def trees(tmp_path):
    """(lower, native): the tree twaron uses as --rootfs and its copy for a chroot."""
    ok, why = harness.native_possible()
    if not ok:
        pytest.skip(why)
    lower = make_tree(tmp_path / "lower")
    native = tmp_path / "native"
    subprocess.run(["cp", "-a", str(lower), str(native)], check=True)  # hard links kept
    return lower, native

HERE_C = Path(__file__).resolve().parent / "c"
