"""Malformed executables: each gets the errno (or signal) Linux gives, and twaron survives.

The corpus (corpus.py) is written to /corpus/ in both roots; exec_corpus.c fork+execs every
file and prints the errno name, or how the program ended. Natively (as root) the same
driver runs in the contract harness's chroot; the outputs must be identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness
from . import corpus

HERE = Path(__file__).resolve().parent
# Every file must give exactly Linux's answer: an errno before the point of no return, or
# the signal that kills the exec after it (a PT_LOAD that cannot be mapped: SIGSEGV; one past
# the end of the file: SIGBUS when touched). Nothing is left as a known difference.
KNOWN_DIFFERENCES: set[str] = set()


def _lines(out: bytes, keep_known: bool) -> list[str]:
    lines = out.decode().splitlines()
    return [ln for ln in lines if keep_known or ln.split(":")[0] not in KNOWN_DIFFERENCES]


def _prog() -> harness.CProgram:
    return harness.CProgram("exec_corpus", HERE / "c" / "exec_corpus.c", [], b"", None, 120.0,
                            True)  # fmt: skip


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    files = {}
    for name, (data, mode) in corpus.corpus().items():
        p = d / name
        p.write_bytes(data)
        os.chmod(p, mode)
        files[f"/corpus/{name}"] = p
    return files


@pytest.fixture(scope="module")
def native_result(corpus_files, tmp_path_factory):
    ok, why = harness.native_possible()
    if not ok:
        pytest.skip(why)
    binary = harness.build_c(_prog())
    root = tmp_path_factory.mktemp("native-root")
    files = {"/prog": binary, **corpus_files}
    r = harness.run_native(root, ["/prog", *corpus_files], files=files)
    for guest, host in corpus_files.items():  # copy2 keeps modes
        assert os.stat(root / guest.lstrip("/")).st_mode & 0o777 == os.stat(host).st_mode & 0o777
    return r


def test_native_answers(native_result):
    out = native_result.stdout.decode()
    assert "valid: exit 7" in out
    assert "empty: execve ENOEXEC" in out
    assert "not_executable: execve EACCES" in out


def test_twaron_matches_linux(corpus_files, native_result, twaron_platform):
    binary = harness.build_c(_prog())
    files = {"/prog": binary, **corpus_files}
    got = harness.run_twaron(["/prog", *corpus_files], files=files, platform=twaron_platform)
    assert got.returncode == native_result.returncode == 0
    assert _lines(got.stdout, False) == _lines(native_result.stdout, False)
    # The known differences still end in an errno or a signal, never in an oops.
    assert len(_lines(got.stdout, True)) == len(corpus_files)
