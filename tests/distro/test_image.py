"""--image TARBALL: a root filesystem tarball unpacked once into a cache keyed by its
digest, then used as --rootfs; unsafe members refused."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

import pytest
import zstandard

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
    fast = {"preset": 0} if mode == "w:xz" else {"compresslevel": 1}
    with tarfile.open(ball, mode, **fast) as tar:
        tar.add(tree, arcname=".")
    want = twaron.run(["/bin/sh", "-c", SCRIPT], rootfs=str(tree), env=ENV, timeout=60)
    got = twaron.run(["/bin/sh", "-c", SCRIPT], image=str(ball), env=ENV, timeout=60)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout), got.stderr
    assert b"640 1000 100" in got.stdout
    (entry,) = [p for p in cache.glob("sha256-*") if p.is_dir()]
    stamp = (entry / ".twaron-unpacked").stat().st_mtime_ns
    assert rootfs_of(str(ball)) == str(entry / "rootfs")  # cached: not unpacked again
    assert (entry / ".twaron-unpacked").stat().st_mtime_ns == stamp


def test_zstd_tarball(tmp_path, cache):
    """.tar.zst, as `tar --zstd` and Alpine's newer minirootfs make them."""
    tree = make_tree(tmp_path / "tree")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(tree, arcname=".")
    ball = tmp_path / "root.tar.zst"
    ball.write_bytes(zstandard.ZstdCompressor(level=1).compress(buf.getvalue()))
    want = twaron.run(["/bin/sh", "-c", SCRIPT], rootfs=str(tree), env=ENV, timeout=60)
    got = twaron.run(["/bin/sh", "-c", SCRIPT], image=str(ball), env=ENV, timeout=60)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout), got.stderr


def test_truncated_zstd_refused(tmp_path, cache):
    ball = tmp_path / "cut.tar.zst"
    whole = zstandard.ZstdCompressor().compress(_layer_bytes([_file("a", b"x" * 5000)]))
    ball.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageError):
        rootfs_of(str(ball))


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


def _layer_bytes(members, compress=""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compress) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _dir(name):
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


LAYER2 = [  # on top of the tree: a whiteout, an opaque directory, a new file, a replacement
    _file("data/.wh.b.txt", b""), _dir("data/sub"), _file("data/sub/.wh..wh..opq", b""),
    _file("data/sub/new", b"layer2\n"), _file("data/a.txt", b"replaced\n"),
]  # fmt: skip
CONFIG = {"config": {"Env": ["PATH=/bin:/usr/bin", "FOO=from-image", "HOME=/root"],
                     "WorkingDir": "/data", "User": "nobody",
                     "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo default cmd"]}}  # fmt: skip
PROBE = "pwd; id -u; echo $FOO; ls -a; ls -a sub; cat a.txt a.link"


def _tree_layer(tmp_path, compress=""):
    tree = make_tree(tmp_path / "tree")
    buf = io.BytesIO()
    fast = {"compresslevel": 1} if compress else {}
    with tarfile.open(fileobj=buf, mode="w:" + compress, **fast) as tar:
        tar.add(tree, arcname=".")
    return buf.getvalue()


def _check_layered(ref):
    r = twaron.run([PROBE], image=ref, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split("\n") == [
        "/data", "65534", "from-image", ".", "..", "a.link", "a.txt", "null2", "sub", "sym",
        ".", "..", "new", "replaced", "alpha", ""]  # fmt: skip
    r = twaron.run([], image=ref, environment=["FOO=mine"], user="0", timeout=60)
    assert r.stdout == b"default cmd\n", r.stderr


def test_docker_save_layers_whiteouts_and_config(tmp_path, cache):
    ball = tmp_path / "saved.tar"
    blobs = {"l1/layer.tar": _tree_layer(tmp_path), "l2/layer.tar": _layer_bytes(LAYER2),
             "cfg.json": json.dumps(CONFIG).encode(),
             "manifest.json": json.dumps([{"Config": "cfg.json",
                                           "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode()}
    _ball(ball, [_file(name, data) for name, data in blobs.items()])
    _check_layered(str(ball))


def _zstd(data):
    return zstandard.ZstdCompressor(level=1).compress(data)


@pytest.mark.parametrize("codec", ["gz", "zstd"])
def test_oci_layout_directory(tmp_path, cache, codec):
    layout = tmp_path / "oci"
    (layout / "blobs" / "sha256").mkdir(parents=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256" / h).write_bytes(data)
        return {"digest": f"sha256:{h}", "size": len(data)}

    if codec == "gz":
        layers = [_tree_layer(tmp_path, "gz"), _layer_bytes(LAYER2, "gz")]
    else:  # OCI's application/vnd.oci.image.layer.v1.tar+zstd
        layers = [_zstd(_tree_layer(tmp_path)), _zstd(_layer_bytes(LAYER2))]
    manifest = {"config": put(json.dumps(CONFIG).encode()), "layers": [put(x) for x in layers]}
    index = {"manifests": [{**put(json.dumps(manifest).encode()),
                            "platform": {"architecture": "amd64", "os": "linux"}}]}  # fmt: skip
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    _check_layered(str(layout))


def test_whiteout_outside_refused(tmp_path, cache):
    ball = tmp_path / "saved.tar"
    layers = [_layer_bytes([_symlink("etc", "/")]), _layer_bytes([_file("etc/.wh.passwd", b"")])]
    manifest = [{"Config": "c.json", "Layers": ["1.tar", "2.tar"]}]
    blobs = {"1.tar": layers[0], "2.tar": layers[1], "c.json": b"{}",
             "manifest.json": json.dumps(manifest).encode()}
    _ball(ball, [_file(name, data) for name, data in blobs.items()])
    with pytest.raises(ImageError):
        rootfs_of(str(ball))
    assert os.path.exists("/etc/passwd")
