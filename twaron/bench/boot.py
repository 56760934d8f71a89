"""`twaron bench --boot [--rootfs DIR ...]`: what a user waits for before a program runs,
for the built-in BusyBox root and for host-backed roots (a Debian root, an image).

Each figure is a fresh `python -m twaron.bench.boot --child` process, as `twaron run` is:
- **boot to the first instruction**: from the moment the process is started to the moment
  the kernel is about to run the program's first instruction (Python's start and imports,
  the kernel's boot, mounting the root, loading the program);
- **`true`**: the whole process, `twaron run -- true` from start to exit.
Rounds alternate between the roots; the table has the medians and each root's ratio to the
built-in one. CLOCK_MONOTONIC is one clock for the parent and the child, so the child only
reports when it reached the first instruction.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_ROOT = "built-in"


@dataclass
class BootFigures:
    """One root's samples, in seconds."""

    root: str
    first_insn: list[float] = field(default_factory=list)
    true_run: list[float] = field(default_factory=list)


def child(rootfs: str | None, platform: str) -> int:
    """The measured process: boot, load /bin/true, say when its first instruction is
    next, run it."""
    from twaron.api import boot, start
    from twaron.config import Config
    from twaron.fs.console import Console

    config = Config(argv=["true"], rootfs=rootfs, platform=platform)
    out = bytearray()
    kernel = boot(config, Console(lambda n: b"", out.extend, out.extend))
    status = start(kernel, config)
    print(f"first-insn {time.monotonic():.9f}", flush=True)
    if status is None:
        status = kernel.run() >> 8
    return status


def _sample(rootfs: str | None, platform: str) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "twaron.bench.boot", "--child", platform]
    if rootfs:
        cmd.append(rootfs)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    t1 = time.monotonic()
    marks = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("first-insn")]
    if proc.returncode != 0 or not marks:
        raise RuntimeError(f"boot of {rootfs or DEFAULT_ROOT} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")  # fmt: skip
    return float(marks[0]) - t0, t1 - t0


def measure(roots: Sequence[str | None], rounds: int, platform: str) -> list[BootFigures]:
    figures = [BootFigures(r or DEFAULT_ROOT) for r in roots]
    for _ in range(rounds):
        for root, fig in zip(roots, figures, strict=True):
            first, whole = _sample(root, platform)
            fig.first_insn.append(first)
            fig.true_run.append(whole)
    return figures


def render(figures: list[BootFigures], markdown: bool = False) -> str:
    base = statistics.median(figures[0].true_run)
    rows = [("root", "boot to first instruction ms", "`true` ms", "ratio to built-in")]
    for f in figures:
        whole = statistics.median(f.true_run)
        rows.append((f.root, f"{statistics.median(f.first_insn) * 1000:,.0f}",
                     f"{whole * 1000:,.0f}", f"{whole / base:.2f}"))  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|---|---:|---:|---:|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in rows)  # fmt: skip


def debian_root() -> str | None:
    """The cached bookworm root if it has been built (twaron test python builds it); never
    builds it."""
    from twaron.build import build_dir
    from twaron.image_build import BOOKWORM_PACKAGES, DONE, cache_key

    home = build_dir("distro") / f"bookworm-{cache_key('bookworm', BOOKWORM_PACKAGES)}"
    return str(home / "rootfs") if (home / DONE).exists() else None


def main(rootfs: Sequence[str], platform: str, rounds: int, markdown: bool = False) -> int:
    roots: list[str | None] = [None, *rootfs]
    if not rootfs:
        found = debian_root()
        if found is None:
            print("bench --boot: no --rootfs given and no cached Debian root "
                  "(twaron image build --debian bookworm -o DIR, then --rootfs DIR)",
                  file=sys.stderr)  # fmt: skip
        else:
            roots.append(found)
    for root in rootfs:
        if not os.path.isdir(root):
            raise ValueError(f"--rootfs {root}: not a directory")
    print(f"boot to the first instruction and `twaron run -- true`, fresh processes, median "
          f"of {rounds} rounds, {platform}")  # fmt: skip
    print(render(measure(roots, rounds, platform), markdown))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        raise SystemExit(child(sys.argv[3] if len(sys.argv) > 3 else None, sys.argv[2]))
    raise SystemExit(main(sys.argv[1:], "auto", 5))
