"""Contract-test harness: the same program natively (in a chroot with twaron's root layout)
and inside twaron; stdout, exit status and (where deterministic) stderr must be identical.

Natively a program runs as root, as pid 1 of a new pid namespace, in a private mount + UTS + IPC
namespace (``unshare --mount --uts --ipc --pid --fork``), chrooted into a directory
that has the layout of twaron's default root filesystem (``twaron.fs.rootfs.write_host_tree``,
or a small fallback until that exists), with /proc mounted and /dev/null, /dev/zero,
/dev/urandom, /dev/random, /dev/full bound in
(and /dev/fd, /dev/std{in,out,err} links). The namespace dies with the process, so nothing needs
unmounting. Without root, native runs are skipped and twaron is compared with the outputs
recorded in ``expected/*.json`` (refresh them with ``python tests/contract/regen.py``).
"""

from __future__ import annotations

import dataclasses
import difflib
import fcntl
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from twaron import native
from twaron.build import build_static

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
C_DIR = HERE / "c"
EXPECTED_DIR = HERE / "expected"
BUILD_DIR = Path(os.environ.get("TWARON_BUILD_DIR", REPO / ".build")) / "contract"
CFLAGS = ["-static", "-O1", "-Wall", "-Wno-unused-function", "-Wno-unused-result"]

GUEST_PROG = "/prog"  # where a C contract program is placed in both roots
# The environment both sides get. twaron.run gets it too when it accepts ``env``.
CONTRACT_ENV = {"PATH": "/bin:/sbin:/usr/bin:/usr/sbin", "HOME": "/root"}
NATIVE_TIMEOUT = 30.0
TWARON_TIMEOUT = float(os.environ.get("TWARON_CONTRACT_TIMEOUT", "120"))
native_possible = native.native_possible


@dataclasses.dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes
    oopses: list = dataclasses.field(default_factory=list)

    def record(self) -> dict:
        return {
            "exit": self.returncode,
            "stdout": self.stdout.decode("utf-8", "surrogateescape"),
            "stderr": self.stderr.decode("utf-8", "surrogateescape"),
        }

    @classmethod
    def from_record(cls, rec: dict) -> Result:
        return cls(
            rec["exit"],
            rec["stdout"].encode("utf-8", "surrogateescape"),
            rec["stderr"].encode("utf-8", "surrogateescape"),
        )


# --------------------------------------------------------------------------- C programs


@dataclasses.dataclass
class CProgram:
    name: str
    source: Path
    args: list[str]
    stdin: bytes
    xfail: str | None
    timeout: float
    compare_stderr: bool


_DIRECTIVE = re.compile(r"^\s*//\s*contract:\s*(\w+)=(.*)$", re.M)


def c_programs() -> list[CProgram]:
    progs = []
    for src in sorted(C_DIR.glob("*.c")):
        d = dict(_DIRECTIVE.findall(src.read_text()))
        stdin = d.get("stdin", "")
        progs.append(
            CProgram(
                name=src.stem,
                source=src,
                args=d.get("args", "").split(),
                stdin=stdin.encode("latin-1").decode("unicode_escape").encode("latin-1"),
                xfail=d.get("xfail"),
                timeout=float(d.get("timeout", TWARON_TIMEOUT)),
                compare_stderr=d.get("stderr", "compare") != "ignore",
            )
        )
    return progs


def musl_gcc() -> str | None:
    return shutil.which("musl-gcc")


def build_or_skip(name: str, source: Path, timeout: float) -> Path:
    """A test's own guest program (not a contract case), built, or the test skipped."""
    import pytest

    try:
        return build_c(CProgram(name, source, [], b"", None, timeout, True))
    except RuntimeError as e:
        pytest.skip(str(e))


def build_c(prog: CProgram) -> Path:
    """Compile with musl-gcc -static, cached under .build/contract/ by content hash (safe
    under xdist: twaron.build locks per program and renames atomically)."""
    return build_static(prog.source, prog.name, "contract", cflags=CFLAGS, include=[C_DIR],
                        inputs=sorted(C_DIR.glob("*.h")), out_dir=BUILD_DIR)  # fmt: skip


# --------------------------------------------------------------------------- root trees


def write_root_tree(dest: Path) -> str:
    """Write twaron's default root layout into ``dest``; return which writer was used."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        from twaron.fs.rootfs import write_host_tree  # provided by the fs engineer
    except Exception:  # noqa: BLE001 - not there yet, or broken: use the fallback
        _fallback_tree(dest)
        return "fallback"
    write_host_tree(str(dest))
    return "twaron.fs.rootfs"


def _fallback_tree(dest: Path) -> None:
    """bin/busybox + applet links (not /linuxrc), etc/passwd, etc/group, empty mount points."""
    busybox = shutil.which("busybox", path="/bin:/usr/bin") or "/bin/busybox"
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "dev", "root"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(busybox, dest / "bin/busybox")
    listing = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True)
    for rel in listing.stdout.split():
        link = dest / rel
        if "/" not in rel or rel == "bin/busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc/group").write_text("root:x:0:\n")


# --------------------------------------------------------------------------- native side


def _prepare_native_root(root: Path, files: dict[str, str | Path]) -> None:
    write_root_tree(root)
    native.prepare_dev(root)
    native.copy_files(root, files)


def run_native(root: Path, argv: list[str], *, input: bytes = b"",
               files: dict[str, str | Path] | None = None,
               timeout: float = NATIVE_TIMEOUT) -> Result:
    """Run argv (a guest path or a name found in CONTRACT_ENV's PATH) chrooted at root."""
    _prepare_native_root(root, files or {})
    try:
        r = native.run_chrooted(root, argv, env=CONTRACT_ENV, input=input, timeout=timeout,
                                path=CONTRACT_ENV["PATH"])  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AssertionError(f"native run timed out after {timeout}s: {argv}") from None
    return Result(r.returncode, r.stdout, r.stderr)


# --------------------------------------------------------------------------- twaron side

OOPS_MARK = b"twaron: oops"


def _api_run():
    import twaron  # noqa: PLC0415

    run = getattr(twaron, "run", None)
    if run is None:
        from twaron.api import run  # noqa: PLC0415
    return run


def run_twaron(argv: list[str], *, input: bytes = b"",
               files: dict[str, str | Path] | None = None, platform: str = "auto",
               timeout: float = TWARON_TIMEOUT) -> Result:
    """Run argv inside twaron through ``twaron.run`` (or the CLI when
    TWARON_CONTRACT_VIA=cli). Raises AssertionError if the kernel reported an oops."""
    files = {g: str(h) for g, h in (files or {}).items()}
    if os.environ.get("TWARON_CONTRACT_VIA") == "cli":
        res = _run_cli(argv, input, files, platform, timeout)
    else:
        run = _api_run()
        kwargs = dict(input=input, files=files, platform=platform, timeout=timeout)
        try:
            if "env" in inspect.signature(run).parameters:
                kwargs["env"] = dict(CONTRACT_ENV)
        except (TypeError, ValueError):
            pass
        r = run(list(argv), **kwargs)
        res = Result(r.returncode, bytes(r.stdout), bytes(r.stderr),
                     list(getattr(r, "oopses", None) or []))
    # This call reports its own oopses by failing here; keep the teardown check (conftest)
    # from reporting them a second time.
    for o in res.oopses:
        if any(o is seen for seen in _seen_oopses):
            _seen_oopses[:] = [seen for seen in _seen_oopses if seen is not o]
    if res.oopses:
        reports = "\n\n".join(str(o) for o in res.oopses)
        raise AssertionError(f"twaron oops while running {argv}:\n{reports}")
    return res


def _run_cli(argv, input, files, platform, timeout) -> Result:
    cmd = [sys.executable, "-m", "twaron", "run", "--timeout", str(timeout)]
    if platform != "auto":
        cmd += ["--platform", platform]
    for guest, host in files.items():
        cmd += ["--add", f"{host}:{guest}"]
    cmd += ["--", *argv]
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout + 30)
    oopses = [line for line in p.stderr.splitlines() if OOPS_MARK in line]
    return Result(p.returncode, p.stdout, p.stderr, oopses)


# Oopses seen during the current test (conftest checks this list at teardown, so a test
# that calls twaron.run directly is covered too: conftest wraps twaron.run).
_seen_oopses: list = []


def record_oopses(oopses) -> None:
    _seen_oopses.extend(oopses or [])


def take_oopses() -> list:
    out = list(_seen_oopses)
    _seen_oopses.clear()
    return out


# --------------------------------------------------------------------------- platforms


def kvm_can_create_vm() -> tuple[bool, str]:
    KVM_GET_API_VERSION, KVM_CREATE_VM = 0xAE00, 0xAE01
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, f"/dev/kvm: {e.strerror}"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION, 0) != 12:
            return False, "/dev/kvm: unexpected API version"
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
        return True, ""
    except OSError as e:
        return False, f"KVM_CREATE_VM failed: {e.strerror}"
    finally:
        os.close(fd)


def twaron_platforms() -> list[tuple[str, str | None]]:
    """[(name, skip_reason or None)] for every platform the tests parametrize over."""
    out: list[tuple[str, str | None]] = [("unicorn", None)]
    ok, why = kvm_can_create_vm()
    if ok:
        try:
            from twaron.platform import available  # noqa: PLC0415

            names = available()
            names = names.keys() if isinstance(names, dict) else names
            if "kvm" not in names:
                why = "twaron.platform.available() does not offer kvm"
        except Exception as e:  # noqa: BLE001
            why = f"twaron.platform.available() unusable: {type(e).__name__}: {e}"
    out.append(("kvm", None if ok and not why else why))
    return out


def tiered_platform() -> list[tuple[str, str | None]]:
    """[("auto", skip_reason or None)]: the contract suites also run on `auto` where it is
    the tiered CPU (a PVM host); elsewhere auto is unicorn or kvm, already run."""
    try:
        from twaron.platform.base import auto_choice  # noqa: PLC0415

        choice = auto_choice()
    except Exception as e:  # noqa: BLE001
        return [("auto", f"auto_choice() unusable: {type(e).__name__}: {e}")]
    return [("auto", None if choice == "tiered" else f"auto is {choice} on this host")]


# --------------------------------------------------------------------------- comparing


def known_failures() -> dict[str, str]:
    """{"c/NAME" or "sh/ID": reason} from known_failures.txt."""
    out = {}
    p = HERE / "known_failures.txt"
    if p.exists():
        for line in p.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                key, _, reason = line.partition(" ")
                out[key] = reason.strip() or "known failure"
    return out


def xfail_reason(suite: str, name: str, declared: str | None) -> str | None:
    if declared:
        return f"until {declared}"
    return known_failures().get(f"{suite}/{name}")


def load_expected(suite: str) -> dict:
    p = EXPECTED_DIR / f"{suite}.json"
    return json.loads(p.read_text()) if p.exists() else {}


def save_expected(suite: str, data: dict) -> None:
    EXPECTED_DIR.mkdir(parents=True, exist_ok=True)
    p = EXPECTED_DIR / f"{suite}.json"
    p.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")


def _show(b: bytes) -> list[str]:
    return b.decode("utf-8", "backslashreplace").splitlines(keepends=True) or [""]


def assert_same(expected: Result, actual: Result, *, compare_stderr: bool = True,
                what: tuple[str, str] = ("native", "twaron")) -> None:
    problems = []
    if expected.returncode != actual.returncode:
        problems.append(f"exit status: {what[0]} {expected.returncode}, "
                        f"{what[1]} {actual.returncode}")
    streams = [("stdout", expected.stdout, actual.stdout)]
    if compare_stderr:
        streams.append(("stderr", expected.stderr, actual.stderr))
    for name, a, b in streams:
        if a != b:
            diff = "".join(difflib.unified_diff(_show(a), _show(b), f"{what[0]} {name}",
                                                f"{what[1]} {name}"))
            problems.append(f"{name} differs:\n{diff}")
    if problems:
        if not compare_stderr and actual.stderr:
            problems.append("(stderr not compared) " + what[1] + " stderr:\n"
                            + actual.stderr.decode("utf-8", "backslashreplace")[-2000:])
        raise AssertionError("\n".join(problems))
