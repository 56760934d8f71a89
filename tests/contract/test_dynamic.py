"""Dynamically linked programs: built with the host's gcc (glibc) or musl-gcc, run through
the host's dynamic linker.

The program (dynamic/main.c; glibc PIE and non-PIE, musl) needs a library of its own
through $ORIGIN, dlopens a plugin and uses TLS in a shared library; ld.so and libc are the
host's, copied to the same paths in both roots. Natively (as root) it runs chrooted like every
contract case; without root twaron is compared with EXPECTED. The error paths of PT_INTERP
(missing, not ELF, not executable, an interpreter with its own PT_INTERP...) are in the
malformed-ELF corpus (tests/hostile), compared with Linux there. The pty contract
programs are also built against glibc.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from twaron.fs import rootfs

import harness

SRC = harness.HERE / "dynamic"
GUEST_DIR = "/dyn"
ARGV = [f"{GUEST_DIR}/main", "one", f"{GUEST_DIR}/plugin.so"]
EXPECTED = b"""\
hello from a dynamic program, argc=3 argv[1]=one
AT_ENTRY is _start: 1
AT_BASE is ld.so's load address: 1
AT_PHDR in the program: 1
constructor in libtwarondyn ran: 1
lib_add(2, 3) = 5
tls in main thread: 1 2
plugin_value() = 42
dlclose: 0
dlopen of a missing library fails: 1
big malloc sum: 245760
floats: 6.283 1.000000e-07
atexit handler ran
"""
EXPECTED_EXIT = 3
# zip (Info-ZIP, dynamic) makes an archive of a directory and a file; BusyBox unzip lists
# it (names and sizes only: the dates are the files' own) and extracts it.
ZIP_SCRIPT = (
    "cd /tmp && mkdir foo && echo hello > foo/bar && zip -q foo.zip foo foo/bar; echo zip $?; "
    "unzip -l foo.zip | awk '{print $1, $NF}'; rm -r foo; unzip -q foo.zip && cat foo/bar"
)

ZIP_EXPECTED = ["zip 0", "Archive: foo.zip", "Length Name", "--------- ----", "0 foo/", "6 foo/bar"]
ZIP_EXPECTED += ["-------- -------", "6 files", "hello"]


KINDS = ["glibc-pie", "glibc-no-pie", "musl"]


def _compiler(kind: str) -> str:
    name = "musl-gcc" if kind == "musl" else "gcc"
    cc = shutil.which(name)
    if cc is None:
        pytest.skip(f"{name} not found: the {kind} program is built with the host's {name}")
    return cc


def _build(kind: str) -> Path:
    """main (glibc PIE or not, or musl), libtwarondyn.so and plugin.so in one directory,
    cached by hash."""
    gcc = _compiler(kind)
    flags = ["-O1", "-Wall"] + (["-no-pie"] if kind == "glibc-no-pie" else [])
    h = hashlib.sha256()
    for src in sorted(SRC.glob("*.c")):
        h.update(src.read_bytes() + b"\0")
    h.update(" ".join([gcc, *flags]).encode())
    out = harness.BUILD_DIR / f"dynamic-{kind}-{h.hexdigest()[:16]}"
    if (out / "main").exists():
        return out
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    rpath = "-Wl,-rpath,$ORIGIN"  # libtwarondyn.so is found next to main
    shared = [gcc, "-O1", "-Wall", "-shared", "-fPIC", "-o"]
    steps = [
        [*shared, "libtwarondyn.so", str(SRC / "lib.c")],
        [*shared, "plugin.so", str(SRC / "plugin.c")],
        [gcc, *flags, "-o", "main", str(SRC / "main.c"), "-L.", "-ltwarondyn", rpath],
    ]
    for args in steps:
        p = subprocess.run(args, cwd=tmp, capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip(f"gcc could not build a dynamic program: {p.stderr.strip()[:500]}")
    try:
        os.replace(tmp, out)
    except OSError:  # another worker built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _host_libs(binary: Path, skip_dir: Path | None = None) -> dict[str, str]:
    """ld.so and the libraries it finds for binary, at the same paths in the guest (but not
    those of skip_dir: the build's own)."""
    try:
        files = rootfs.host_program_files(str(binary))
    except OSError as e:
        pytest.skip(f"the host cannot run {binary} dynamically: {e}")
    assert files, f"{binary} has no PT_INTERP"
    return {g: h for g, h in files.items() if skip_dir is None or Path(h).parent != skip_dir}


def _files(build: Path) -> dict[str, str | Path]:
    files: dict[str, str | Path] = dict(_host_libs(build / "main", build))
    for name in ("main", "libtwarondyn.so", "plugin.so"):
        files[f"{GUEST_DIR}/{name}"] = build / name
    return files


def _want(root: Path, argv: list[str], files: dict, input: bytes = b"") -> harness.Result | None:
    ok, _why = harness.native_possible()
    return harness.run_native(root, argv, files=files, input=input) if ok else None


@pytest.mark.parametrize("kind", KINDS)
def test_native(kind, native_root):
    build = _build(kind)
    got = harness.run_native(native_root, ARGV, files=_files(build))
    assert (got.returncode, got.stdout) == (EXPECTED_EXIT, EXPECTED), got


@pytest.mark.parametrize("kind", KINDS)
def test_twaron(kind, twaron_platform, tmp_path):
    build = _build(kind)
    files = _files(build)
    want = _want(tmp_path / "native-root", ARGV, files)
    got = harness.run_twaron(ARGV, files=files, platform=twaron_platform)
    if want is not None:
        harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
    assert (got.returncode, got.stdout, got.stderr) == (EXPECTED_EXIT, EXPECTED, b"")


def test_zip(twaron_platform, tmp_path):
    """Info-ZIP's zip (glibc, libbz2) inside twaron: what BusyBox's 'unzip (subdir only)'
    test needs."""
    zip_bin = shutil.which("zip", path="/usr/bin:/bin")
    if zip_bin is None:
        pytest.skip("zip not installed on the host (apt-get install zip)")
    files: dict[str, str | Path] = dict(_host_libs(Path(zip_bin)))
    files["/usr/bin/zip"] = zip_bin
    argv = ["sh", "-c", ZIP_SCRIPT]
    want = _want(tmp_path / "native-root", argv, files)
    got = harness.run_twaron(argv, files=files, platform=twaron_platform)
    if want is not None:
        harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
    assert got.returncode == 0
    assert got.stdout.decode().splitlines() == ZIP_EXPECTED


def _build_glibc_threads() -> Path:
    """c/threads_basic.c built with the host's gcc against glibc's libpthread, dynamic."""
    gcc = _compiler("glibc-pie")
    src = harness.HERE / "c" / "threads_basic.c"
    h = hashlib.sha256(src.read_bytes() + (harness.HERE / "c" / "contract.h").read_bytes())
    out = harness.BUILD_DIR / f"dynamic-threads-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    p = subprocess.run([gcc, "-O1", "-pthread", "-o", str(tmp), str(src)], capture_output=True,
                       text=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"gcc could not build the glibc thread program: {p.stderr.strip()[:500]}")
    os.replace(tmp, out)
    return out


def test_glibc_threads(twaron_platform, tmp_path):
    """pthreads in glibc (clone3, its futex-based mutexes, condition variables, barriers,
    TLS in the dynamic TLS model of ld.so): the output of the musl build of the program."""
    binary = _build_glibc_threads()
    files: dict[str, str | Path] = dict(_host_libs(binary))
    files["/threads"] = binary
    want = _want(tmp_path / "native-root", ["/threads"], files)
    got = harness.run_twaron(["/threads"], files=files, platform=twaron_platform)
    if want is not None:
        harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
    expected = harness.load_expected("c")["threads_basic"]
    assert (got.returncode, got.stdout.decode()) == (expected["exit"], expected["stdout"])


def _build_glibc_unix() -> Path:
    """dynamic/unix_client_server.c built with the host's gcc against glibc, dynamic."""
    gcc = _compiler("glibc-pie")
    src = SRC / "unix_client_server.c"
    h = hashlib.sha256(src.read_bytes())
    out = harness.BUILD_DIR / f"dynamic-unix-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    p = subprocess.run([gcc, "-O1", "-Wall", "-o", str(tmp), str(src)], capture_output=True,
                       text=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"gcc could not build the glibc AF_UNIX program: {p.stderr.strip()[:500]}")
    os.replace(tmp, out)
    return out


UNIX_EXPECTED = "".join(f"""\
client got: echo: hello {kind}
client EOF: 0
server: peer uid 0 gid 0
server got: hello {kind}
server pipe: written by the client through a passed fd
server poll: in 1 rdhup 1
server EOF: 0
client exit: 0
""" for kind in ("path", "abstract"))  # each process's stdout is flushed when it is done


def test_glibc_unix_sockets(twaron_platform, tmp_path):
    """A glibc client and server over AF_UNIX (a path and an abstract name): connect,
    accept4, a request and its answer, SCM_RIGHTS, SO_PEERCRED, poll, shutdown."""
    binary = _build_glibc_unix()
    files: dict[str, str | Path] = dict(_host_libs(binary))
    files["/unix_client_server"] = binary
    want = _want(tmp_path / "native-root", ["/unix_client_server"], files)
    got = harness.run_twaron(["/unix_client_server"], files=files, platform=twaron_platform)
    if want is not None:
        harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
    assert (got.returncode, got.stdout.decode()) == (0, UNIX_EXPECTED)


def _build_glibc(name: str) -> Path:
    """dynamic/NAME.c built with the host's gcc against glibc, dynamic."""
    gcc = _compiler("glibc-pie")
    src = SRC / f"{name}.c"
    h = hashlib.sha256(src.read_bytes())
    out = harness.BUILD_DIR / f"dynamic-{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    p = subprocess.run([gcc, "-O1", "-Wall", "-o", str(tmp), str(src)], capture_output=True,
                       text=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"gcc could not build {name}: {p.stderr.strip()[:500]}")
    os.replace(tmp, out)
    return out


def test_glibc_tcp_sockets(twaron_platform, tmp_path):
    """A glibc client and server over TCP on lo: getifaddrs and getaddrinfo's AI_ADDRCONFIG
    (netlink dumps), /etc/hosts through nsswitch, an IPv6 wildcard server taking an IPv4
    and an IPv6 client. Natively the program runs in a network namespace with lo only."""
    binary = _build_glibc("tcp_client_server")
    files: dict[str, str | Path] = dict(_host_libs(binary))
    files["/tcp_client_server"] = binary
    want = _want(tmp_path / "native-root", ["/tcp_client_server"], files)
    got = harness.run_twaron(["/tcp_client_server"], files=files, platform=twaron_platform)
    if want is not None:
        harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
    assert got.returncode == 0
    assert b"server: from ::ffff:127.0.0.1: hello from 127.0.0.1" in got.stdout
    assert b"client ::1 got: echo: hello from ::1" in got.stdout


def _build_glibc_contract(name: str) -> Path:
    """c/NAME.c (a contract program) built with the host's gcc against glibc, dynamic."""
    gcc = _compiler("glibc-pie")
    src = harness.HERE / "c" / f"{name}.c"
    h = hashlib.sha256(src.read_bytes() + (harness.HERE / "c" / "contract.h").read_bytes())
    out = harness.BUILD_DIR / f"dynamic-contract-{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    p = subprocess.run([gcc, "-O1", "-I", str(harness.C_DIR), "-o", str(tmp), str(src)],
                       capture_output=True, text=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"gcc could not build {name} with glibc: {p.stderr.strip()[:500]}")
    os.replace(tmp, out)
    return out


@pytest.mark.parametrize("name", ["pty_basic", "pty_jobctl"])
def test_glibc_ptys(name, twaron_platform, tmp_path):
    """The pty programs through glibc's posix_openpt, grantpt (TIOCGPTN), unlockpt
    (TIOCSPTLCK), ptsname (TIOCGPTN), ttyname (/proc/self/fd and stat) and tc*: as natively."""
    if not harness.native_possible()[0]:
        pytest.skip("compared with a native run only (glibc's output is not recorded)")
    binary = _build_glibc_contract(name)
    files: dict[str, str | Path] = dict(_host_libs(binary))
    files["/prog"] = binary
    want = _want(tmp_path / "native-root", ["/prog"], files)
    got = harness.run_twaron(["/prog"], files=files, platform=twaron_platform)
    assert want is not None
    harness.assert_same(want, got, what=("native", f"twaron/{twaron_platform}"))
