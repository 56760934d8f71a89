"""--image REF: a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.bz2: an Alpine
minirootfs, `docker export` output) as the lower layer of the overlay root.

The tarball is unpacked once into a cache keyed by the SHA-256 of its bytes
(.build/images/sha256-HEX/rootfs, or $TWARON_BUILD_DIR/images/...), then used as
`--rootfs` would use a directory: read from the host when first used, never written. Owners,
modes (setuid bits included), symlinks, hard links and device nodes are kept as the archive
says (twaron runs as root); a member that would land outside the cache directory (an
absolute or `..` path, or a path through a symlink the archive made) is refused and the
image is not used. Several twaron processes may unpack the same image at once: a lock per
image, and the directory appears by atomic rename.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tarfile
from pathlib import Path

from twaron.build import build_dir

DONE = ".twaron-unpacked"  # written last: an interrupted unpack is started over


class ImageError(ValueError):
    """The image cannot be used (the message says why)."""


def digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def rootfs_of(ref: str) -> str:
    """The unpacked root directory of image ref (unpacked now unless cached).
    OSError if ref cannot be read; ImageError if it is not a usable root tarball."""
    if os.path.isdir(ref):
        raise ImageError(f"--image {ref}: a directory (OCI layouts are not supported yet; "
                         "use --rootfs for an unpacked root)")  # fmt: skip
    key = "sha256-" + digest(ref)
    cache = build_dir("images")
    cache.mkdir(parents=True, exist_ok=True)
    dest = cache / key
    if (dest / DONE).exists():
        return str(dest / "rootfs")
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (dest / DONE).exists():
            _unpack(ref, dest)
    return str(dest / "rootfs")


def _unpack(ref: str, dest: Path) -> None:
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    (tmp / "rootfs").mkdir(parents=True)
    try:
        try:
            with tarfile.open(ref, "r:*") as tar:
                if _is_docker_save(tar):
                    raise ImageError(f"--image {ref}: a `docker save` archive (not supported "
                                     "yet: `docker export` a container instead)")  # fmt: skip
                tar.extractall(tmp / "rootfs", numeric_owner=True, filter=_rootfs_filter)
                _symlink_times(tar, tmp / "rootfs")
        except (tarfile.TarError, EOFError) as e:
            raise ImageError(f"--image {ref}: {e}") from None
        (tmp / DONE).write_text(ref + "\n")
        os.rename(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _symlink_times(tar: tarfile.TarFile, root: Path) -> None:
    """Symlinks get the archive's mtime too (tarfile leaves them at the time of unpacking;
    GNU tar sets them with lutimes)."""
    for m in tar.getmembers():
        if m.issym():
            t = int(m.mtime * 1_000_000_000)
            try:
                os.utime(root / m.name.lstrip("/"), ns=(t, t), follow_symlinks=False)
            except OSError:
                pass


def _is_docker_save(tar: tarfile.TarFile) -> bool:
    try:
        tar.getmember("manifest.json")
    except KeyError:
        return False
    return True


def _rootfs_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "tar" filter's refusals (paths outside the destination, through symlinks
    included) with the member's own mode bits kept (a root has setuid programs and /tmp's
    sticky bit)."""
    try:
        checked = tarfile.tar_filter(member, path)
    except tarfile.FilterError as e:
        raise ImageError(f"unsafe member in the image: {e}") from None
    return checked.replace(mode=member.mode, deep=False)
