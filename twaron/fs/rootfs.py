"""The root file system: the default BusyBox layout, a host directory, or single host files.

One description of the default layout (`default_layout`) has two writers: into a tmpfs
(`build_default_rootfs`, what the kernel boots) and into a real host directory
(`write_host_tree`, for the native side of tests and benchmarks: `chroot DIR ...`).
Nothing written inside the guest ever reaches the host: a host directory is the read-only
lower layer of an overlay (fs/overlayfs.py), single files are copies.
"""

from __future__ import annotations

import functools
import os
import stat as pystat
import struct
import subprocess
from dataclasses import dataclass
from typing import Any

from twaron.arch.x86_64.constants import S_IFBLK, S_IFCHR, S_IFIFO
from twaron.config import DEFAULT_HOSTNAME
from twaron.errors import KernelError
from twaron.fs import tmpfs
from twaron.fs.devfs import mount_devfs
from twaron.fs.devpts import mount_devpts
from twaron.fs.procfs import mount_procfs
from twaron.fs.vfs import Path, mkdev

HOST_BUSYBOX = "/bin/busybox"
GUEST_BUSYBOX = "/bin/busybox"
APPLET_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin")

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"
HOSTS = (b"127.0.0.1\tlocalhost\n127.0.1.1\t" + DEFAULT_HOSTNAME
         + b"\n::1\tlocalhost ip6-localhost ip6-loopback\n")


NSSWITCH = b"passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n" \
    b"protocols: files\nservices: files\n"


@dataclass(frozen=True)
class Entry:
    """One node of a layout. kind: dir | file (data) | host (copy of host file `src`) | symlink."""

    kind: str
    path: str
    mode: int = 0o755
    data: bytes = b""
    src: str = ""  # host file for kind "host", link body for kind "symlink"


@functools.lru_cache(maxsize=4)
def busybox_applets(busybox: str = HOST_BUSYBOX) -> tuple[str, ...]:
    """`busybox --list-full` (paths like usr/bin/awk), once per process."""
    try:
        out = subprocess.run([busybox, "--list-full"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line for line in out.stdout.decode().split() if line)


@functools.lru_cache(maxsize=8)
def _host_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def default_layout(busybox: str = HOST_BUSYBOX) -> list[Entry]:
    """The default root: FHS directories, /etc files, BusyBox and a symlink per applet."""
    out = [Entry("dir", d, 0o755) for d in (
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "root",
        "home", "var", "var/tmp", "run", "mnt", "lib",
    )]  # fmt: skip
    out[out.index(Entry("dir", "root", 0o755))] = Entry("dir", "root", 0o700)
    out[out.index(Entry("dir", "var/tmp", 0o755))] = Entry("dir", "var/tmp", 0o1777)
    out.append(Entry("dir", "tmp", 0o1777))
    out += [
        Entry("file", "etc/passwd", 0o644, PASSWD),
        Entry("file", "etc/group", 0o644, GROUP),
        Entry("file", "etc/hostname", 0o644, DEFAULT_HOSTNAME + b"\n"),
        Entry("file", "etc/hosts", 0o644, HOSTS),
        # no name server (--net none has no network beyond lo; --net host copies the
        # host's); glibc looks at /etc/hosts first
        Entry("file", "etc/resolv.conf", 0o644, b""),
        Entry("file", "etc/nsswitch.conf", 0o644, NSSWITCH),
        Entry("file", "etc/shells", 0o644, b"/bin/sh\n/bin/ash\n"),
        Entry("symlink", "etc/mtab", 0o777, src="../proc/self/mounts"),  # df, mount read it
    ]
    if os.path.exists(busybox):
        out.append(Entry("host", GUEST_BUSYBOX.lstrip("/"), 0o755, src=busybox))
        seen = {GUEST_BUSYBOX.lstrip("/")}
        for applet in busybox_applets(busybox):
            rel = applet.lstrip("/")
            if rel in seen or not rel.startswith(tuple(d + "/" for d in APPLET_DIRS)):
                continue
            seen.add(rel)
            out.append(Entry("symlink", rel, 0o777, src=GUEST_BUSYBOX))
        if "bin/sh" not in seen:
            out.append(Entry("symlink", "bin/sh", 0o777, src=GUEST_BUSYBOX))
    return out


def _tmpfs_size(kernel: Any) -> int | None:
    """--tmpfs-size (None: Linux's default, half of guest memory)."""
    return getattr(getattr(kernel, "config", None), "tmpfs_size", None)


def _clock(kernel: Any) -> Any:
    return kernel.clock.realtime_ns


def _write_layout(root: Path, layout: list[Entry]) -> None:
    for e in layout:
        p = e.path.encode()
        if e.kind == "dir":
            tmpfs.mkdir_p(root, p, e.mode)
        elif e.kind == "file":
            tmpfs.add_file(root, p, e.data, e.mode)
        elif e.kind == "host":
            tmpfs.add_file(root, p, _host_bytes(e.src), e.mode)
        elif e.kind == "symlink":
            tmpfs.add_symlink(root, p, e.src.encode())


def mount_pseudo(kernel: Any, root: Path) -> None:
    """devtmpfs on /dev (devpts on /dev/pts) and proc on /proc (creating the directories if
    missing)."""
    clock = _clock(kernel)
    mount_devfs(tmpfs.mkdir_p(root, b"dev"), kernel.mem, clock)
    mount_devpts(tmpfs.mkdir_p(root, b"dev/pts"), kernel)
    mount_procfs(tmpfs.mkdir_p(root, b"proc"), kernel)


def build_default_rootfs(kernel: Any, busybox: str = HOST_BUSYBOX) -> Path:
    """A tmpfs root with the default layout, /dev and /proc mounted. Returns its root Path."""
    root = tmpfs.tmpfs_root(kernel.mem, _clock(kernel), size=_tmpfs_size(kernel))
    _write_layout(root, default_layout(busybox))
    mount_pseudo(kernel, root)
    return root


def write_host_tree(dest_dir: str, busybox: str = HOST_BUSYBOX) -> None:
    """Write the default layout as a real directory (for `chroot dest_dir` on the host)."""
    os.makedirs(dest_dir, exist_ok=True)
    for e in default_layout(busybox):
        p = os.path.join(dest_dir, e.path)
        if e.kind == "dir":
            os.makedirs(p, exist_ok=True)
            os.chmod(p, e.mode)
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        if e.kind == "symlink":
            os.symlink(e.src, p)
        else:
            with open(p, "wb") as f:
                f.write(e.data if e.kind == "file" else _host_bytes(e.src))
            os.chmod(p, e.mode)


def set_hostname_files(root: Path, hostname: bytes, default_root: bool) -> None:
    """--hostname: /etc/hostname says it (as docker writes it); the default root's /etc/hosts
    names it too (a --rootfs keeps its own /etc/hosts)."""
    tmpfs.add_file(root, b"etc/hostname", hostname + b"\n", 0o644)
    if default_root:
        hosts = HOSTS.replace(b"\t" + DEFAULT_HOSTNAME, b"\t" + hostname)
        tmpfs.add_file(root, b"etc/hosts", hosts, 0o644)


def import_host_dir(kernel: Any, host_dir: str) -> Path:
    """A host directory as `/`: the lower layer of an overlay whose upper layer is guest
    memory (fs/overlayfs.py; nothing is copied, the host tree is never written); then /dev
    and /proc mounted on it, and a /tmp if the tree has none."""
    from twaron.fs.overlayfs import overlay_root

    root = overlay_root(kernel.mem, _clock(kernel), host_dir, size=_tmpfs_size(kernel))
    mount_pseudo(kernel, root)
    tmpfs.mkdir_p(root, b"tmp", 0o1777)
    return root


def copy_host_tree(root: Path, host_dir: str, guest_prefix: bytes = b"") -> None:
    links: dict[tuple[int, int], Path] = {}
    base = os.fsencode(host_dir.rstrip("/") or "/")
    for dirpath, dirnames, filenames in os.walk(base):
        rel = os.path.relpath(dirpath, base)
        grel = guest_prefix + (b"" if rel == b"." else b"/" + rel)
        for name in sorted(dirnames) + sorted(filenames):
            hp = os.path.join(dirpath, name)
            gp = grel + b"/" + name
            try:
                st = os.lstat(hp)
                _copy_one(root, hp, gp, st, links)
            except (OSError, KernelError):
                continue  # unreadable or odd entries are skipped, as cp -a would report


def _copy_one(
    root: Path, hp: bytes, gp: bytes, st: os.stat_result, links: dict[tuple[int, int], Path]
) -> None:
    mode = st.st_mode
    perm = mode & 0o7777
    if pystat.S_ISDIR(mode):
        tmpfs.mkdir_p(root, gp, perm).inode.mode = pystat.S_IFDIR | perm
    elif pystat.S_ISLNK(mode):
        tmpfs.add_symlink(root, gp, os.readlink(hp))
    elif pystat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            tmpfs.add_hardlink(root, links[key], gp)
            return
        with open(hp, "rb") as f:
            p = tmpfs.add_file(root, gp, f.read(), perm)
        if st.st_nlink > 1:
            links[key] = p
    elif pystat.S_ISCHR(mode) or pystat.S_ISBLK(mode):
        kind = S_IFCHR if pystat.S_ISCHR(mode) else S_IFBLK
        rdev = mkdev(os.major(st.st_rdev), os.minor(st.st_rdev))
        tmpfs.add_node(root, gp, kind | perm, rdev=rdev)
    elif pystat.S_ISFIFO(mode):
        tmpfs.add_node(root, gp, S_IFIFO | perm)


def add_host_file(
    kernel: Any, root: Path, host_path: str, guest_path: str, mode: int | None = None
) -> Path:
    """Copy one host file (or a whole directory) into the guest tree at guest_path
    (`twaron run --add HOST:GUEST`); parents are created."""
    del kernel  # the tree's superblock already knows its memory and clock
    gp = guest_path.encode()
    st = os.stat(host_path)
    if pystat.S_ISDIR(st.st_mode):
        tmpfs.mkdir_p(root, gp, st.st_mode & 0o7777)
        copy_host_tree(root, host_path, gp.rstrip(b"/"))
        return tmpfs.mkdir_p(root, gp)
    with open(host_path, "rb") as f:
        data = f.read()
    return tmpfs.add_file(root, gp, data, (st.st_mode & 0o7777) if mode is None else mode)


def elf_interpreter(host_path: str) -> str | None:
    """The PT_INTERP path of a host ELF file (None for a static program or a non-ELF)."""
    with open(host_path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF":
            return None
        (phoff,) = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        for off in range(0, len(phdrs) - 55, max(phentsize, 56)):
            ptype, _flags, p_off, _va, _pa, filesz = struct.unpack_from("<IIQQQQ", phdrs, off)
            if ptype == 3:  # PT_INTERP
                f.seek(p_off)
                return f.read(filesz).rstrip(b"\0").decode()
    return None


def host_program_files(host_path: str) -> dict[str, str]:
    """guest path -> host file for a dynamic program's interpreter and the libraries the
    host's interpreter finds for it (`ld.so --list`), at the same paths in the guest, so the
    guest's ld.so finds them in its default directories. Empty for a static program. Raises
    OSError when the interpreter is missing or cannot list the program."""
    interp = elf_interpreter(host_path)
    if interp is None:
        return {}
    p = subprocess.run([interp, "--list", host_path], capture_output=True, text=True,
                       timeout=30)  # fmt: skip
    if p.returncode != 0:
        raise OSError(f"{interp} --list {host_path}: {p.stderr.strip()[:300]}")
    files = {interp: interp}
    for line in p.stdout.splitlines():
        _name, arrow, rest = line.partition("=> ")
        path = rest.split(" (", 1)[0].strip() if arrow else ""
        if path.startswith("/"):
            files[path] = path
    return files
