"""--image REF: a root filesystem for the overlay's lower layer, from
- a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.bz2, .tar.zst: an Alpine
  minirootfs, `docker export` output);
- a `docker save` archive (manifest.json naming the config and the layers);
- an OCI image layout, as a directory or a tar of one (index.json, blobs/sha256/...).

Compression is recognised by content, not by name: gzip, xz and bzip2 by tarfile, zstd (the
OCI `tar+zstd` layers, `.tar.zst` tarballs) through the zstandard library, decompressed to a
temporary file first because tarfile reads a layer twice (whiteouts, then members).

Layers are applied in order with the image spec's whiteouts (`.wh.NAME` removes NAME of
the layers below, `.wh..wh..opq` empties its directory of them). The result is unpacked
once into a cache keyed by the SHA-256 of the archive (of index.json for a layout
directory, whose blobs are content-addressed): .build/images/sha256-HEX/rootfs (or
$TWARON_BUILD_DIR/images/...), then used as `--rootfs` would use a directory: read from the
host when first used, never written. The image config's Env, WorkingDir, User, Entrypoint
and Cmd are used as docker run uses them (`apply_config`).

Owners, modes (setuid bits included), symlinks, hard links and device nodes are kept as the
archive says (twaron runs as root); a member or whiteout that would land outside the cache
directory (an absolute or `..` path, or a path through a symlink the image made) is refused
and the image is not used. Several twaron processes may unpack the same image at once: a
lock per image, and the directory appears by atomic rename.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zstandard

from twaron.build import build_dir

DONE = ".twaron-unpacked"  # written last: an interrupted unpack is started over
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class ImageError(ValueError):
    """The image cannot be used (the message says why)."""


@dataclass
class ImageConfig:
    """What docker run takes from an image's config (all optional)."""

    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ImageConfig:
        c = doc.get("config") or doc.get("Config") or {}
        return cls(list(c.get("Env") or []), c.get("WorkingDir") or "", c.get("User") or "",
                   list(c.get("Entrypoint") or []), list(c.get("Cmd") or []))  # fmt: skip


def digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def rootfs_of(ref: str) -> str:
    return open_image(ref)[0]


def open_image(ref: str) -> tuple[str, ImageConfig]:
    """(the unpacked root directory, the image's config) of ref, unpacked now unless cached.
    OSError if ref cannot be read; ImageError if it is not a usable image."""
    if os.path.isdir(ref):
        key = "sha256-" + digest(os.path.join(ref, "index.json"))
    else:
        key = "sha256-" + digest(ref)
    cache = build_dir("images")
    cache.mkdir(parents=True, exist_ok=True)
    dest = cache / key
    if not (dest / DONE).exists():
        with open(cache / f".{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (dest / DONE).exists():
                _unpack(ref, dest)
    doc = json.loads((dest / "config.json").read_text())
    return str(dest / "rootfs"), ImageConfig.from_json(doc)


def apply_config(config: Any, image: ImageConfig) -> None:
    """docker run's rules: the image's Env under the user's -e (a variable the user left at
    twaron's default takes the image's value), WorkingDir and User unless -w/-u were given,
    PROGRAM = Entrypoint + (the arguments given, or Cmd)."""
    from twaron.config import default_env

    defaults = default_env()
    env = config.env if config.env is not None else defaults
    for text in image.env:
        name, _, value = text.partition("=")
        if name and env.get(name) == defaults.get(name):
            env[name] = value
    config.env = env
    if not config.workdir and image.workdir:
        config.workdir = image.workdir if image.workdir.startswith("/") else "/" + image.workdir
    if not config.user and image.user:
        config.user = image.user
    config.argv = image.entrypoint + (list(config.argv) or image.cmd)
    if not config.argv:
        raise ImageError("the image has no Entrypoint or Cmd: give PROGRAM")


# ------------------------------------------------------------------------------- unpacking


def _unpack(ref: str, dest: Path) -> None:
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    root = tmp / "rootfs"
    root.mkdir(parents=True)
    try:
        try:
            with _source(ref) as (config, layers):
                for opener in layers:
                    with opener() as f:
                        _apply_layer(f, root)
        except (tarfile.TarError, EOFError, KeyError, ValueError, json.JSONDecodeError) as e:
            if isinstance(e, ImageError):
                raise
            raise ImageError(f"--image {ref}: {e}") from None
        (tmp / "config.json").write_text(json.dumps(config))
        (tmp / DONE).write_text(ref + "\n")
        os.rename(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


Opener = Callable[[], Any]  # a context manager giving a layer's (maybe compressed) tar stream


@contextmanager
def _source(ref: str) -> Iterator[tuple[dict[str, Any], list[Opener]]]:
    """(the image config, the layers in order) of any of the three kinds of image."""
    if os.path.isdir(ref):
        base = Path(ref)

        def read_dir(name: str) -> bytes:
            return (base / _inside(name)).read_bytes()

        yield _oci(read_dir, lambda name: lambda: open(base / _inside(name), "rb"))
        return
    with open(ref, "rb") as raw, _decompressed(raw) as plain, \
            tarfile.open(fileobj=plain, mode="r:*") as tar:
        names = set(tar.getnames())

        def read_tar(name: str) -> bytes:
            f = tar.extractfile(_inside(name))
            if f is None:
                raise ImageError(f"--image {ref}: {name} is not a file")
            return f.read()

        def open_tar(name: str) -> Opener:
            return lambda: _closing(tar.extractfile(_inside(name)))

        if "manifest.json" in names:  # docker save
            manifest = json.loads(read_tar("manifest.json"))[0]
            config = json.loads(read_tar(manifest["Config"]))
            yield config, [open_tar(layer) for layer in manifest["Layers"]]
        elif "index.json" in names and "oci-layout" in names:
            yield _oci(read_tar, open_tar)
        else:  # a root filesystem tarball: one layer, no config
            yield {}, [lambda: _closing(open(ref, "rb"))]


@contextmanager
def _decompressed(stream: IO[bytes]) -> Iterator[IO[bytes]]:
    """stream itself, or for zstd its decompressed bytes in a temporary file (tarfile
    handles gzip, xz and bzip2 by itself but knows no zstd before Python 3.14)."""
    if stream.read(4) != ZSTD_MAGIC:
        stream.seek(0)
        yield stream
        return
    stream.seek(0)
    scratch = build_dir("images")  # beside the cache: /tmp may be a small tmpfs
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=scratch) as plain:
        try:
            zstandard.ZstdDecompressor().copy_stream(stream, plain)
        except zstandard.ZstdError as e:
            raise ImageError(f"a zstd stream: {e}") from None
        plain.seek(0)
        yield plain


@contextmanager
def _closing(f: IO[bytes] | None) -> Iterator[IO[bytes]]:
    if f is None:
        raise ImageError("a layer is not a file")
    try:
        yield f
    finally:
        f.close()


def _inside(name: str) -> str:
    """A path named by an image's JSON, kept inside the image."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ImageError(f"a path outside the image: {name!r}")
    return "/".join(parts)


def _oci(read: Callable[[str], bytes], open_: Callable[[str], Opener]
         ) -> tuple[dict[str, Any], list[Opener]]:  # fmt: skip
    """An OCI layout: index.json -> a manifest (linux/amd64 from an index) -> config, layers."""

    def blob(desc: dict[str, Any]) -> str:
        algo, _, hexdigest = desc["digest"].partition(":")
        return f"blobs/{algo}/{hexdigest}"

    doc = json.loads(read("index.json"))
    while "manifests" in doc:  # an index (of indexes): the platform twaron runs
        found = [m for m in doc["manifests"]
                 if (m.get("platform") or {}).get("architecture", "amd64") == "amd64"]  # fmt: skip
        if not found:
            raise ImageError("no linux/amd64 image in the index")
        doc = json.loads(read(blob(found[0])))
    config = json.loads(read(blob(doc["config"])))
    return config, [open_(blob(layer)) for layer in doc["layers"]]


def _apply_layer(stream: IO[bytes], root: Path) -> None:
    """One layer onto root: its whiteouts remove what the layers below made, then its
    members are written (replacing what was there, except a directory kept as one)."""
    with _decompressed(stream) as plain, tarfile.open(fileobj=plain, mode="r:*") as layer:
        members = layer.getmembers()
        keep = []
        for m in members:
            head, _, name = m.name.rstrip("/").rpartition("/")
            if name == OPAQUE:
                d = _checked(root, head)
                for entry in os.listdir(d) if d.is_dir() and not d.is_symlink() else ():
                    _remove(d / entry)
            elif name.startswith(WHITEOUT):
                _remove(_checked(root, head) / name[len(WHITEOUT):])
            else:
                keep.append(m)
        layer.extractall(root, members=keep, numeric_owner=True,
                         filter=lambda m, path: _member_filter(root, m, path))  # fmt: skip
        _symlink_times(keep, root)


def _checked(root: Path, rel: str) -> Path:
    """root/rel, which must resolve (symlinks the image made included) inside root."""
    p = root / _inside(rel.lstrip("/"))
    real = os.path.realpath(p)
    if real != str(root) and not real.startswith(str(root) + "/"):
        raise ImageError(f"unsafe path in the image: {rel!r}")
    return p


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif os.path.lexists(p):
        p.unlink()


def _member_filter(root: Path, member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "tar" filter's refusals (paths outside the destination, through symlinks
    included) with the member's own mode bits kept (a root has setuid programs and /tmp's
    sticky bit); what a lower layer had at the path is replaced (a directory stays one)."""
    name = member.name.lstrip("/")
    head, _, last = name.rstrip("/").rpartition("/")
    if last:
        target = _checked(root, head) / last
        if os.path.lexists(target) and not (member.isdir() and target.is_dir()
                                            and not target.is_symlink()):  # fmt: skip
            _remove(target)
    try:
        checked = tarfile.tar_filter(member, path)
    except tarfile.FilterError as e:
        raise ImageError(f"unsafe member in the image: {e}") from None
    return checked.replace(mode=member.mode, deep=False)


def _symlink_times(members: list[tarfile.TarInfo], root: Path) -> None:
    """Symlinks get the archive's mtime too (tarfile leaves them at the time of unpacking;
    GNU tar sets them with lutimes)."""
    for m in members:
        if m.issym():
            t = int(m.mtime * 1_000_000_000)
            try:
                os.utime(root / m.name.lstrip("/"), ns=(t, t), follow_symlinks=False)
            except OSError:
                pass
