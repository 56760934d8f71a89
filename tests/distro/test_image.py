"""--image TARBALL: a root filesystem tarball unpacked once into a cache keyed by its
digest, then used as --rootfs; unsafe members refused."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

import twaron
from twaron.image import ImageError, rootfs_of

from .conftest import ENV, make_tree

SCRIPT = "ls -l /data | sed 's/  */ /g'; cat /data/sub/c.txt; stat -c '%a %u %g' /data/b.txt; id"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWARON_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path / "build" / "images"


@pytest.mark.parametrize("mode", ["w:gz", "w:xz"])
def test_image_runs_as_its_rootfs(tmp_path, cache, mode):
    tree = make_tree(tmp_path / "tree")
    ball = tmp_path / "root.tar"
    with tarfile.open(ball, mode) as tar:
        tar.add(tree, arcname=".")
    want = twaron.run(["/bin/sh", "-c", SCRIPT], rootfs=str(tree), env=ENV, timeout=60)
    got = twaron.run(["/bin/sh", "-c", SCRIPT], image=str(ball), env=ENV, timeout=60)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout), got.stderr
    assert b"640 1000 100" in got.stdout
    (entry,) = [p for p in cache.glob("sha256-*") if p.is_dir()]
    stamp = (entry / ".twaron-unpacked").stat().st_mtime_ns
    assert rootfs_of(str(ball)) == str(entry / "rootfs")  # cached: not unpacked again
    assert (entry / ".twaron-unpacked").stat().st_mtime_ns == stamp


def _ball(path, members):
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _symlink(name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


@pytest.mark.parametrize("members", [
    [_file("../evil")],
    [_file("/abs/../../evil")],
    [_symlink("etc", "/"), _file("etc/evil")],  # a file through a symlink the archive made
    [_symlink("up", ".."), _file("up/evil")],
], ids=["dotdot", "absolute-dotdot", "abs-symlink", "rel-symlink"])  # fmt: skip
def test_unsafe_members_refused(tmp_path, cache, members):
    ball = tmp_path / "bad.tar"
    _ball(ball, members)
    before = sorted(os.listdir(tmp_path)) + ["build"]
    with pytest.raises(ImageError):
        rootfs_of(str(ball))
    assert sorted(os.listdir(tmp_path)) == before
    assert not os.path.exists("/evil") and not [p for p in cache.glob("sha256-*") if p.is_dir()]


def test_not_a_tarball(tmp_path, cache):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ImageError):
        rootfs_of(str(junk))
