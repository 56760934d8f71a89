"""Build the benchmark program (bench.c) with musl-gcc -static -O2, cached by content hash.

The binary lands in the project's .build/bench/ (or $TWARON_BUILD_DIR/bench/, or
~/.cache/twaron/bench/ when twaron is installed outside a source tree). Safe when several
processes build at once: a file lock, and the binary appears by atomic rename.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "bench.c"
CFLAGS = ["-static", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]


class BuildError(RuntimeError):
    """musl-gcc is missing or failed; the message says what to do."""


def build_dir() -> Path:
    env = os.environ.get("TWARON_BUILD_DIR")
    if env:
        return Path(env) / "bench"
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists():
        return repo / ".build" / "bench"
    return Path.home() / ".cache" / "twaron" / "bench"


def build(source: Path = SOURCE, name: str = "bench") -> Path:
    """The path of the built program (built now unless a build of this source exists)."""
    cc = shutil.which("musl-gcc")
    if cc is None:
        raise BuildError("musl-gcc not found (apt-get install musl-tools, or make install)")
    h = hashlib.sha256()
    for part in (source.read_bytes(), " ".join(CFLAGS).encode(), cc.encode()):
        h.update(part)
        h.update(b"\0")
    out_dir = build_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    with open(out_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        proc = subprocess.run([cc, *CFLAGS, "-o", str(tmp), str(source)],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BuildError(f"musl-gcc failed for {source.name}:\n{proc.stderr}")
        os.replace(tmp, out)
        for old in out_dir.glob(f"{name}-*"):  # stale builds of this program
            if old != out and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}", old.name):
                old.unlink(missing_ok=True)
    return out
