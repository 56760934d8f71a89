"""The benchmark program (bench.c), built by twaron.build with musl-gcc -static -O2."""

from __future__ import annotations

from pathlib import Path

from twaron.build import BuildError, build_dir, build_static

SOURCE = Path(__file__).resolve().parent / "bench.c"

__all__ = ["BuildError", "build", "build_dir"]


def build(source: Path = SOURCE, name: str = "bench") -> Path:
    """The path of the built program (built now unless a build of this source exists)."""
    return build_static(source, name, "bench")
