"""--inject and -c against strace itself: the same program natively under
`strace -f -e inject=SPEC` and in twaron under `--inject SPEC` gives the same output and
status; `-c` lists the same syscalls with the same call and error counts as
`strace -f -c` (times aside)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import twaron

INJECTIONS = [
    "openat:error=ENOENT:when=3",  # the issue's own example
    "openat:error=EACCES:when=2+2",  # every 2nd from the 2nd
    "openat:error=ENOENT:when=2..4+2",  # 2nd and 4th only
    "write:retval=0:when=2..3",  # success injected, the call not run
    "close:error=EBADF",  # every call
    "%file:error=EPERM:when=6",  # a class: openat counts with unlink, per call
    "!write,wait4:error=ENOSYS:when=5",  # negation
    "openat:signal=SIGUSR1:when=4",  # the call runs, the signal kills
    "openat:signal=SIGKILL:when=2",  # killed on entering: the call never runs
    "openat:delay_enter=1000:delay_exit=500:when=1",  # only slower
    "openat:error=ENOENT:signal=SIGUSR1:when=5",  # both
]


def native_strace(strace: str, binary, *opts: str) -> subprocess.CompletedProcess:
    return subprocess.run([strace, "-f", *opts, str(binary)], capture_output=True, timeout=60)


@pytest.mark.parametrize("spec", INJECTIONS)
def test_inject_as_strace(spec, strace, steer, twaron_platform):
    native = native_strace(strace, steer, "-o", "/dev/null", "-e", f"inject={spec}")
    r = twaron.run(["/steer"], files={"/steer": str(steer)}, inject=[spec],
                   platform=twaron_platform, timeout=120)
    assert (r.stdout.decode(), r.returncode) == (native.stdout.decode(), native.returncode)


def test_fault_as_strace(strace, steer):
    native = native_strace(strace, steer, "-o", "/dev/null", "-e", "fault=openat:when=2")
    r = twaron.run(["/steer"], files={"/steer": str(steer)}, fault=["openat:when=2"])
    assert b"open 2: -1 ENOSYS" in r.stdout
    assert (r.stdout, r.returncode) == (native.stdout, native.returncode)


def test_cli_inject(strace, steer):
    """The CLI form, exit status as a shell sees it (128 + SIGUSR1)."""
    spec = "openat:signal=SIGUSR1:when=4"
    native = native_strace(strace, steer, "-o", "/dev/null", "-e", f"inject={spec}")
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--quiet", "--add",
                        f"{steer}:/steer", "--inject", spec, "--", "/steer"],
                       capture_output=True, timeout=120)  # fmt: skip
    assert p.returncode == 128 + 10 == 128 - native.returncode
    assert p.stdout == native.stdout


def parse_summary(text: str) -> dict[str, tuple[int, int]]:
    """strace -c's table: syscall -> (calls, errors)."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0].replace(".", "").isdigit() or parts[-1] == "total":
            continue
        errors = int(parts[4]) if len(parts) == 6 else 0
        rows[parts[-1]] = (int(parts[3]), errors)
    return rows


@pytest.mark.parametrize("inject", [None, "openat:error=ENOENT:when=3"])
def test_summary_as_strace(inject, strace, steer, twaron_platform, tmp_path):
    opts = ["-c", "-o", str(tmp_path / "c.txt")] + (["-e", f"inject={inject}"] if inject else [])
    native = native_strace(strace, steer, *opts)
    want = parse_summary((tmp_path / "c.txt").read_text())
    r = twaron.run(["/steer"], files={"/steer": str(steer)}, summary=True,
                   inject=[inject] if inject else [], platform=twaron_platform, timeout=120)
    assert r.returncode == native.returncode
    assert r.syscall_counts == want
    assert parse_summary(r.stderr.decode()) == want  # the table itself, on stderr


def test_cli_summary_and_trace_file(steer, tmp_path):
    """-C writes the trace and the table; --trace-file sends both to a file."""
    out = tmp_path / "trace.txt"
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--quiet", "-C", "--trace-file",
                        str(out), "--add", f"{steer}:/steer", "--", "/steer"],
                       capture_output=True, timeout=120)  # fmt: skip
    assert p.returncode == 0 and p.stderr == b""
    text = out.read_text()
    assert 'openat(AT_FDCWD, "/tmp/twaron-steer-1", O_RDWR|O_CREAT|O_LARGEFILE, 0600) = 3' in text
    assert parse_summary(text)["openat"] == (6, 0)


def test_trace_set_filters(steer):
    r = twaron.run(["/steer"], files={"/steer": str(steer)}, trace="%file,close")
    names = {line.split("] ", 1)[1].split("(", 1)[0] for line in r.stderr.decode().splitlines()
             if line.startswith("[pid")}  # fmt: skip
    assert names == {"execve", "openat", "unlink", "close"}
