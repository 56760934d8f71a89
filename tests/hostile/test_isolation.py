"""Isolation: escape attempts from inside the guest (tests/hostile/c/isolation.c) each fail
with Linux's errno or stay inside the guest's tree; host files are never read or changed
unless given.

Decisions (see README, Reliability): the guest's root is root in a container without
CAP_SYS_ADMIN / CAP_SYS_PTRACE under Docker's default seccomp profile, so mount, umount2,
pivot_root and ptrace fail with EPERM (umount2 with unknown flags: EINVAL first); chroot works
and stays inside the guest; /proc/PID/mem reads the other guest process's memory for root and
is EACCES for another user (Linux's ptrace_may_access).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import twaron
from twaron.fs.rootfs import PASSWD

import harness

HERE = Path(__file__).resolve().parent
SECRET = "twaron-host-secret-4b1d"  # in the host's environment, never in the guest's


@pytest.fixture(scope="module")
def binary():
    return harness.build_or_skip("isolation", HERE / "c" / "isolation.c", 120.0)


@pytest.fixture(scope="module")
def battery(binary, request):
    """The battery's output per platform (run once per module and platform)."""
    cache: dict[str, dict[str, list[str]]] = {}

    def get(platform: str) -> dict[str, list[str]]:
        if platform not in cache:
            os.environ[SECRET] = SECRET
            try:
                r = twaron.run(["/prog"], files={"/prog": str(binary)}, platform=platform,
                               timeout=120)  # fmt: skip
            finally:
                os.environ.pop(SECRET, None)
            assert r.returncode == 0 and not r.oopses, r.stderr.decode(errors="replace")
            out = r.stdout.decode(errors="replace")
            assert out.rstrip().endswith("done"), out
            assert SECRET not in out
            lines: dict[str, list[str]] = {}
            for line in out.splitlines():
                key, sep, value = line.partition(": ") if ": " in line else line.partition("| ")
                lines.setdefault(key, []).append(value.strip() if sep else "")
            cache[platform] = lines
        return cache[platform]

    return get


def _one(out: dict[str, list[str]], key: str) -> str:
    assert key in out, f"no line {key!r}"
    return out[key][0]


def _file(out: dict[str, list[str]], key: str) -> bytes:
    """A file the guest printed with show_file: its lines (after the byte count)."""
    return "".join(line + "\n" for line in out[key][1:]).encode()


def test_no_host_fds(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _one(out, "fds 3..1023 not EBADF") == "0"
    assert _one(out, "read fd 3") == "-1 EBADF"
    assert _one(out, "dup fd 10") == "-1 EBADF"
    assert _one(out, "/proc/self/fd").split() == [".", "..", "0", "1", "2", "3"]


def test_dotdot_past_the_root(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _one(out, "/.. is /") == _one(out, "/../../.. is /") == "yes"
    assert _file(out, "/../../../etc/passwd") == PASSWD
    assert _one(out, "cwd after chdir ..") == "/"


def test_host_files_not_given_are_not_there(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _file(out, "/etc/passwd") == PASSWD
    assert _one(out, "/etc/shadow") == "-1 ENOENT"
    assert _file(out, "/etc/hostname") == b"twaron\n"
    assert _one(out, "/root") == ". .." and _one(out, "/home") == ". .."
    for key in ("/proc/1/environ", "/proc/self/environ"):
        assert _file(out, key).startswith(b"PATH=")  # the guest's environment only
    assert _file(out, "/proc/1/cmdline") == b"/prog\n"
    mounts = _file(out, "/proc/mounts").decode().split("\n")
    assert [m.split()[1] for m in mounts if m] == ["/", "/dev", "/dev/pts", "/proc"]


def test_symlinks_resolve_inside_the_guest(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _one(out, "symlink to /etc/shadow") == "ok"
    assert _one(out, "via symlink /tmp/shadow") == "-1 ENOENT"
    assert _file(out, "via symlink /tmp/passwd") == PASSWD
    assert _file(out, "via relative symlink") == PASSWD
    assert _one(out, "via symlink to a host path") == "-1 ENOENT"
    assert _one(out, "symlink /proc/1/root/../../.. is /") == "yes"


def test_proc_self_root(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _one(out, "readlink /proc/self/root") == "/"
    assert _one(out, "/proc/self/root/.. is /") == "yes"
    assert _file(out, "/proc/self/root/etc/passwd") == PASSWD
    assert "prog" in _one(out, "/proc/self/root/../..").split()


def test_proc_pid_mem(battery, twaron_platform):
    out = battery(twaron_platform)
    assert _one(out, "root child reads parent's mem") == "secret of the parent"
    assert _one(out, "unmapped address") == "EIO"
    assert _one(out, "uid 1000 opens root's mem") == "EACCES"


def test_ptrace_mount_pivot_root_chroot(battery, twaron_platform):
    out = battery(twaron_platform)
    for key in ("ptrace TRACEME", "ptrace ATTACH child", "ptrace PEEKDATA child",
                "mount tmpfs /mnt", "mount --bind / /mnt", "mount remount / ro",
                "umount2 /proc", "umount2 /proc MNT_DETACH", "pivot_root"):  # fmt: skip
        assert _one(out, key) == "-1 EPERM", key
    assert _one(out, "umount2 bad flags") == "-1 EINVAL"
    # chroot works; climbing out of it with .. (the classic escape) ends at the guest's root
    assert _one(out, "chroot /tmp/jail") == "ok"
    assert _file(out, "jail passwd") == b"jail\n"
    assert _one(out, "chroot . after climbing") == "ok"
    assert _file(out, "climbed passwd") == PASSWD
    assert "prog" in _one(out, "climbed root").split()
    assert _file(out, "/etc/passwd after chroot games") == PASSWD


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: kind, mode, size, mtime (ns), content hash or link target."""
    snap: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                body = os.readlink(p)
            elif p.is_file():
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                body = ""
            snap[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, body)
    st = root.stat()
    snap["."] = (st.st_mode, st.st_mtime_ns)
    return snap


def test_rootfs_writes_never_reach_the_host(binary, twaron_platform, tmp_path):
    root = tmp_path / "rootfs"
    (root / "sub").mkdir(parents=True)
    (root / "emptydir").mkdir()
    (root / "tmp").mkdir()
    (root / "data.txt").write_text("host\n")
    (root / "other.txt").write_text("other\n")
    (root / "sub" / "a").write_text("a\n")
    (root / "target.txt").write_text("target\n")
    os.symlink("/target.txt", root / "link")
    prog = root / "prog"
    prog.write_bytes(Path(binary).read_bytes())
    prog.chmod(0o755)
    os.utime(root / "data.txt", ns=(10**18, 10**18))  # a distinctive mtime
    before = _snapshot(root)
    r = twaron.run(["/prog", "rootfs"], rootfs=str(root), platform=twaron_platform, timeout=60)
    assert r.returncode == 0 and not r.oopses, r.stderr
    out = r.stdout.decode()
    for line in out.splitlines()[:-1]:
        assert line.endswith(": ok"), out  # every change worked inside the guest
    # Linux before 6.11 says ETXTBSY (a running executable), later ones allow it
    assert out.splitlines()[-1] in ("open /prog for writing: ETXTBSY",
                                    "open /prog for writing: ok")  # fmt: skip
    assert _snapshot(root) == before
