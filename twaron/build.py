"""Build a static guest program with musl-gcc, cached by content hash.

The benchmark program, the fuzzer and the contract tests' C programs all come through here,
and twaron's own host-side C helpers (platform/uc_shim.c, mm/pte_loops.c) through
load_helper and load_module.
Binaries land in the project's .build/<kind>/ (or $TWARON_BUILD_DIR/<kind>/, or
~/.cache/twaron/<kind>/ when twaron is installed outside a source tree). Safe when several
processes build at once: a file lock per program, and the binary appears by atomic rename.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

STATIC_CFLAGS = ["-static", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]


class BuildError(RuntimeError):
    """musl-gcc is missing or failed; the message says what to do."""


def build_dir(kind: str) -> Path:
    env = os.environ.get("TWARON_BUILD_DIR")
    if env:
        return Path(env) / kind
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / ".build" / kind
    return Path.home() / ".cache" / "twaron" / kind


def build_static(source: Path, name: str, kind: str, *, cflags: Sequence[str] = STATIC_CFLAGS,
                 include: Sequence[Path] = (), inputs: Sequence[Path] = (),
                 out_dir: Path | None = None) -> Path:  # fmt: skip
    """The path of `name` built from source (built now unless this exact build exists).

    inputs are further files the build depends on (headers), part of the cache key."""
    cc = shutil.which("musl-gcc")
    if cc is None:
        raise BuildError("musl-gcc not found (apt-get install musl-tools, or make install)")
    return _build(cc, source, name, kind, cflags, include, inputs, out_dir)


SHARED_CFLAGS = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra"]


def build_shared(source: Path, name: str, kind: str,
                 include: Sequence[Path] = ()) -> Path:  # fmt: skip
    """A host shared library built from source with the host's cc (twaron's own C helpers
    that run in the twaron process, loaded with ctypes), cached like build_static's."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise BuildError("no C compiler (apt-get install gcc, or make install)")
    return _build(cc, source, name, kind, SHARED_CFLAGS, include, (), None)


def load_helper(source: Path, name: str, python: bool = False) -> ctypes.CDLL | None:
    """One of twaron's C helpers (hot loops of the kernel, built with the host's cc and loaded
    with ctypes); None where it cannot be built or with TWARON_C_HELPERS=0, and the caller
    does the same work in Python. python: it calls Python's C API (the running
    interpreter's headers, one build per interpreter version; its symbols resolve against
    the interpreter itself)."""
    path = _helper(source, name, python)
    try:
        return ctypes.CDLL(str(path)) if path is not None else None
    except OSError:
        return None


def load_module(source: Path, name: str) -> ModuleType | None:
    """A C helper that is also a CPython extension module (it defines PyInit_<name>): its
    functions are called like builtins (~0.1 us) rather than through ctypes (~0.5-1 us with
    argument conversion). The same build as load_helper(python=True); None where it cannot
    be built or loaded."""
    path = _helper(source, name, True)
    if path is None:
        return None
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    if spec is None:
        return None
    try:
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except (ImportError, OSError):
        return None
    return module


def _helper(source: Path, name: str, python: bool) -> Path | None:
    """The built helper library (None: TWARON_C_HELPERS=0, no compiler, no Python.h)."""
    if os.environ.get("TWARON_C_HELPERS", "1") == "0":
        return None
    include: list[Path] = []
    if python:
        headers = Path(sysconfig.get_paths()["include"])
        if not (headers / "Python.h").exists():
            return None
        include.append(headers)
        name = f"{name}_{sys.implementation.cache_tag}"
    try:
        return build_shared(source, name, "host", include)
    except BuildError:
        return None


def _build(cc: str, source: Path, name: str, kind: str, cflags: Sequence[str],
           include: Sequence[Path], inputs: Sequence[Path],
           out_dir: Path | None) -> Path:  # fmt: skip
    h = hashlib.sha256()
    for part in (source.read_bytes(), *(p.read_bytes() for p in inputs),
                 " ".join(cflags).encode(), cc.encode()):  # fmt: skip
        h.update(part)
        h.update(b"\0")
    out_dir = out_dir or build_dir(kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    with open(out_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        args = [cc, *cflags, *(f"-I{d}" for d in include), "-o", str(tmp), str(source)]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BuildError(f"{Path(cc).name} failed for {source.name}:\n{proc.stderr}")
        os.replace(tmp, out)
        for old in out_dir.glob(f"{name}-*"):  # stale builds of this program
            if old != out and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}", old.name):
                old.unlink(missing_ok=True)
    return out
