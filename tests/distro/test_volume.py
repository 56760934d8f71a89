"""--volume HOST:GUEST[:ro] (fs/volume.py): the guest's changes reach the host directory,
a read-only volume refuses them with EROFS, and nothing outside the directory is reachable
(`..`, symlinks and renames stay in the guest); /proc/mounts and mountinfo list volumes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import twaron
from twaron.config import Volume
from twaron.fs.hostfs import HostTree, host_fstype

import harness
from .conftest import HERE_C, snapshot


def _sh(script, **kw):
    r = twaron.run(["/bin/sh", "-c", script], timeout=60, **kw)
    assert not r.oopses
    return r


@pytest.fixture
def host(tmp_path):
    """vol/ (the volume: a file, a subdirectory, symlinks pointing out of it) and outside/
    (a sibling with a secret) in tmp_path."""
    vol, outside = tmp_path / "vol", tmp_path / "outside"
    (vol / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("host secret\n")
    (vol / "f").write_text("one\n")
    (vol / "sub" / "g").write_text("two\n")
    os.symlink(str(outside), vol / "abs")  # a host path: means nothing in the guest
    os.symlink("../outside", vol / "rel")  # climbs out of the volume on the host
    return vol, outside


def test_writes_reach_the_host(host):
    vol, outside = host
    r = _sh("cd /data && cat f sub/g && echo new > n && echo more >> f && mkdir d && "
            "mv sub/g d/g2 && ln n n2 && chmod 600 n && truncate -s 2 d/g2 && rm -r sub && "
            "ln -s f lnk && touch -d @7 f && stat -c '%h %a' n && ls",
            volumes=[f"{vol}:/data"])  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "one", "two", "2 600", "abs", "d", "f", "lnk", "n", "n2", "rel"]  # fmt: skip
    assert (vol / "f").read_text() == "one\nmore\n"
    assert (vol / "n").read_text() == "new\n" and (vol / "n").stat().st_nlink == 2
    assert (vol / "n").stat().st_mode & 0o777 == 0o600
    assert (vol / "d" / "g2").read_text() == "tw"
    assert not (vol / "sub").exists()
    assert os.readlink(vol / "lnk") == "f" and (vol / "f").stat().st_mtime == 7
    assert sorted(os.listdir(outside)) == ["secret"]


def test_read_only_volume_refuses_changes(host):
    vol, _ = host
    before = snapshot(vol)
    script = ("cd /data; cat f; for c in 'echo x > f' 'echo x > new' 'mkdir d' 'rm f' "
              "'mv f g' 'chmod 0 f' 'touch f' 'ln f h' 'ln -s f s' 'rmdir sub' "
              "': > sub/g'; do sh -c \"$c\" 2>&1 | sed 's/.*: //'; done")  # fmt: skip
    r = _sh(script, volumes=[f"{vol}:/data:ro"])
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "one"
    assert lines[1:] == ["Read-only file system"] * 11, lines
    assert snapshot(vol) == before


def test_no_escape_by_dotdot_symlink_or_rename(host):
    vol, outside = host
    r = _sh("cd /data; cat abs/secret rel/secret 2>&1 | sed 's/.*: //'; "
            "echo pwn > rel/p1 2>&1 | sed 's/.*: //'; cd /data/../..; pwd; ls /data/../ | "
            "grep -c outside; mv /data/f /f2 && cat /f2; ln /data/sub/g /g3 2>&1 | "
            "sed 's/.*: //'; mv /data/sub /sub2 2>&1 | tail -1; ls /data",
            volumes=[f"{vol}:/data"])  # fmt: skip
    out = r.stdout.decode().splitlines()
    assert "host secret" not in r.stdout.decode()
    assert out[:2] == ["No such file or directory"] * 2, out
    assert out[2] == "/" and out[3] == "0" and out[4] == "one", (out, r.stderr)
    assert "Invalid cross-device link" in out[5]
    assert out[6:] == ["abs", "rel"]  # sub moved out by copying (EXDEV), inside the guest
    assert sorted(os.listdir(outside)) == ["secret"]  # nothing written beside the volume
    assert not (vol / "f").exists()  # mv across mounts copied and removed, inside the guest
    assert sorted(os.listdir(vol.parent)) == ["outside", "vol"]


def test_host_symlink_swapped_in_is_not_followed(host):
    """A host directory replaced by a symlink after the guest saw it: the walk beneath the
    volume's root (O_NOFOLLOW per component) refuses it instead of leaving the tree."""
    vol, outside = host
    tree = HostTree(str(vol))
    try:
        assert tree.lstat(b"sub/g").st_size == 4
        tree.forget_dirs()
        (vol / "sub" / "g").unlink()
        (vol / "sub").rmdir()
        os.symlink(str(outside), vol / "sub")
        with pytest.raises(OSError):
            tree.lstat(b"sub/secret")
        with pytest.raises(OSError):
            tree.open(b"sub/secret", os.O_RDONLY)
    finally:
        tree.close()


def test_mounts_listed():
    r = _sh("cat /proc/mounts; cat /proc/self/mountinfo", volumes=["/tmp:/mnt/a:ro", "/tmp:/b"])
    out = r.stdout.decode()
    mounts = [line.split() for line in out.splitlines() if line.split()[0] == "/tmp"]
    assert [(m[1], m[3].split(",")[0]) for m in mounts] == [("/mnt/a", "ro"), ("/b", "rw")]
    info = [line.split() for line in out.splitlines() if " - " in line]
    assert {i[4] for i in info} >= {"/", "/dev", "/proc", "/mnt/a", "/b"}
    ids = {i[0] for i in info}
    assert all(i[1] in ids for i in info[1:])  # every mount's parent is listed


def test_volume_syntax():
    assert Volume.parse("/a:/b:ro") == Volume("/a", "/b", True)
    assert Volume.parse("/a:/b/") == Volume("/a", "/b", False)
    for bad in ("a:/b", "/a:b", "/a", "/a:/b:rx", "/a:/b/../c"):
        with pytest.raises(ValueError):
            Volume.parse(bad)


def test_missing_host_dir_is_an_error(tmp_path):
    with pytest.raises(OSError):
        twaron.run(["true"], volumes=[f"{tmp_path}/nope:/x"])


def test_xattrs_reach_the_host(tmp_path):
    prog = harness.build_or_skip("volume_xattr", HERE_C / "volume_xattr.c", 60.0)
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    for d in (rw, ro):
        d.mkdir()
        (d / "f").write_text("x")
        os.setxattr(d / "f", "user.host", b"h")
    r = twaron.run(["/prog", "/rw", "/ro"], files={"/prog": str(prog)},
                   volumes=[f"{rw}:/rw", f"{ro}:/ro:ro"], timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "host attr: 1 h", "set: 0", "remove host attr: 0", "get removed: -1 ENODATA",
        "trusted kept in guest: 0", "trusted read: 1", "ro host attr: 1 h",
        "ro set: -1 EROFS", "ro remove: -1 EROFS"]  # fmt: skip
    assert os.listxattr(rw / "f") == ["user.guest"] and os.getxattr(rw / "f", "user.guest") == b"g1"
    assert os.listxattr(ro / "f") == ["user.host"]


def test_shared_mappings_reach_the_host(tmp_path):
    prog = harness.build_or_skip("volume_mmap", HERE_C / "volume_mmap.c", 60.0)
    (tmp_path / "a").write_bytes(b"a" * 100)
    (tmp_path / "b").write_bytes(b"b" * 100)
    r = twaron.run(["/prog", "/v"], files={"/prog": str(prog)}, volumes=[f"{tmp_path}:/v"],
                   timeout=60)  # fmt: skip
    assert r.stdout == b"msync: 0\nread back: MAPPED-B\n", r.stderr
    assert (tmp_path / "a").read_bytes() == b"MAPPED-A" + b"a" * 92
    assert (tmp_path / "b").read_bytes() == b"MAPPED-B" + b"b" * 92


def test_fallocate_made_on_the_host(tmp_path):
    prog = harness.build_or_skip("volume_fallocate", HERE_C / "volume_fallocate.c", 60.0)
    if host_fstype(str(tmp_path)) not in ("ext4", "xfs", "btrfs", "tmpfs"):
        pytest.skip(f"the host file system under {tmp_path} may lack fallocate's modes")
    r = twaron.run(["/prog", "/v"], files={"/prog": str(prog)}, volumes=[f"{tmp_path}:/v"],
                   timeout=60)  # fmt: skip
    assert r.stdout.decode().splitlines() == [
        "allocate: 0 ", "size: 65536", "keep size: 0 ", "size: 65536", "punch: 0 ",
        "hole reads zeros: 1", "after the hole: abcdefgh",
        "collapse: -1 Not supported", "bad mode: -1 Not supported",
        "read-only fd: -1 Bad file descriptor"]  # fmt: skip
    data = (tmp_path / "f").read_bytes()
    assert len(data) == 65536 and data[:4096] == bytes(4096) and data[4096:4104] == b"abcdefgh"


def test_host_device_and_inode_numbers(tmp_path):
    """As a bind mount: st_dev and st_ino are the host's (hard links are recognised)."""
    (tmp_path / "f").write_text("x")
    os.link(tmp_path / "f", tmp_path / "g")
    r = _sh("stat -c '%d %i' /v/f /v/g /v", volumes=[f"{tmp_path}:/v"])
    st, top = os.stat(tmp_path / "f"), os.stat(tmp_path)
    assert r.stdout.decode().splitlines() == [
        f"{st.st_dev} {st.st_ino}", f"{st.st_dev} {st.st_ino}", f"{top.st_dev} {top.st_ino}"]


def _nowait_dirs(tmp_path):
    """Host directories to mount: tmp_path's file system, and a tmpfs where there is one."""
    yield tmp_path
    if host_fstype("/dev/shm") == "tmpfs" and os.access("/dev/shm", os.W_OK):
        shm = tempfile.mkdtemp(prefix="twaron-nowait-", dir="/dev/shm")
        try:
            yield Path(shm)
        finally:
            shutil.rmtree(shm, ignore_errors=True)


def test_rwf_nowait_is_the_host_file_systems(tmp_path):
    """preadv2/pwritev2's RWF_NOWAIT on a volume's files answer as the host's file system
    does on the host (a bind mount's files are its): the same program on the host directory
    natively and inside twaron on the volume. Linux 6.18's ext4 reads and refuses a buffered
    write (EOPNOTSUPP); its tmpfs refuses both."""
    prog = harness.build_or_skip("rwf_nowait_files", HERE_C / "rwf_nowait_files.c", 60.0)
    for i, d in enumerate(_nowait_dirs(tmp_path)):
        vol = d / f"vol{i}"
        vol.mkdir()
        (vol / "old").write_text("before\n")
        native = subprocess.run([str(prog), str(vol), str(vol / "old")], capture_output=True,
                                timeout=60)  # fmt: skip
        r = twaron.run(["/prog", "/v", "/v/old"], files={"/prog": str(prog)},
                       volumes=[f"{vol}:/v"], timeout=60)  # fmt: skip
        assert not r.oopses
        assert r.stdout.decode() == native.stdout.decode(), (host_fstype(str(vol)), r.stderr)
        out = r.stdout.decode().splitlines()
        if host_fstype(str(vol)) == "ext4":
            assert "new: read: 5" in out and "new: write: -1 EOPNOTSUPP" in out, out
        if host_fstype(str(vol)) == "tmpfs":
            assert "new: read: -1 EOPNOTSUPP" in out, out
        assert (vol / "nowait").read_text() == "hello world\n"  # or as the host wrote it
