"""`twaron explore`: run one program under many seeded schedules and group the outcomes.

Each run is `twaron run --deterministic --seed X` with stdin from /dev/null and stdout and
stderr captured (the process's fds 0, 1, 2 are pointed at them for the run, so the run is the
CLI's, byte for byte, reports included): the seed fixes the schedule, so the seed printed
next to an outcome reproduces it. An outcome is (exit status, SHA-256 of stdout then stderr,
number of oopses). Runs go in parallel in worker processes (--jobs).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from twaron.config import Config, parse_size

KEEP_OUTPUT = 4096  # bytes of an outcome's stdout and stderr kept to show


@dataclass
class RunResult:
    seed: int
    exit_status: int
    output_sha256: str
    oopses: int
    stdout: bytes
    stderr: bytes

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.exit_status, self.output_sha256, self.oopses)


@dataclass
class Outcome:
    """One distinct outcome: how many runs had it, and the first seed that gave it."""

    exit_status: int
    output_sha256: str
    oopses: int
    count: int
    seed: int
    stdout: bytes = b""  # the beginning of that run's output
    stderr: bytes = b""


@dataclass
class Exploration:
    runs: int
    first_seed: int
    outcomes: list[Outcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "first_seed": self.first_seed,
                "outcomes": [{"exit_status": o.exit_status, "output_sha256": o.output_sha256,
                              "count": o.count, "seed": o.seed, "oopses": o.oopses}
                             for o in self.outcomes]}  # fmt: skip


def run_one(config: Config, seed: int) -> RunResult:
    """One deterministic run of config with seed, as `twaron run` would do it with
    `</dev/null >OUT 2>ERR`."""
    from twaron import api

    config = dataclasses.replace(config, seed=seed, deterministic=True)
    kernels: list[Any] = []  # the run's kernel, for its oopses
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(os.devnull, "rb") as null:  # fmt: skip
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(fd) for fd in (0, 1, 2)]
        try:
            for fd, f in ((0, null), (1, out), (2, err)):
                os.dup2(f.fileno(), fd)
            status = api.run_console(config, on_kernel=kernels.append)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, s in enumerate(saved):
                os.dup2(s, fd)
                os.close(s)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    n_oopses = len(kernels[0].oopses) if kernels else 0
    kernels.clear()
    gc.collect()  # the kernel's Unicorn instance and guest memory go now, not later
    digest = hashlib.sha256(stdout + stderr).hexdigest()
    return RunResult(seed, status, digest, n_oopses, stdout[:KEEP_OUTPUT], stderr[:KEEP_OUTPUT])


def _seed_from_host() -> int:
    return int.from_bytes(os.urandom(4), "little")


def explore(
    argv: Sequence[str] | None = None,
    *,
    runs: int = 100,
    seed: int | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    config: Config | None = None,
    files: dict[str, str] | None = None,
    **options: Any,
) -> Exploration:
    """Run argv `runs` times with seeds seed, seed+1, ... (seed: random when None) under
    `twaron run --deterministic`, `jobs` at a time (default: the number of CPUs), and group
    the outcomes, most frequent first. options are twaron.run's (rootfs, memory, env, rng,
    timeout, init, tmpfs_size, epoch, inject, fault, fail_mem); files maps guest paths to
    host paths. progress(done, runs, outcomes) is called as runs finish."""
    if config is None:
        if not argv:
            raise ValueError("no program given")
        if isinstance(options.get("memory"), str):
            options["memory"] = parse_size(options["memory"])
        if isinstance(options.get("tmpfs_size"), str):
            options["tmpfs_size"] = parse_size(options["tmpfs_size"])
        config = Config(argv=list(argv), deterministic=True, quiet=options.pop("quiet", True),
                        add_files=[(host, guest) for guest, host in (files or {}).items()],
                        **options)  # fmt: skip
    if runs <= 0:
        raise ValueError("runs must be positive")
    first = _seed_from_host() if seed is None else seed
    seeds = [first + i for i in range(runs)]
    results = _run_all(config, seeds, jobs or os.cpu_count() or 1, progress)
    return Exploration(runs, first, group(results))


def group(results: list[RunResult]) -> list[Outcome]:
    """Distinct outcomes, most frequent first; each with the lowest seed that gave it."""
    outcomes: dict[tuple[int, str, int], Outcome] = {}
    for r in sorted(results, key=lambda r: r.seed):
        o = outcomes.get(r.key)
        if o is None:
            outcomes[r.key] = Outcome(r.exit_status, r.output_sha256, r.oopses, 1, r.seed,
                                      r.stdout, r.stderr)  # fmt: skip
        else:
            o.count += 1
    return sorted(outcomes.values(), key=lambda o: (-o.count, o.seed))


def _run_all(config: Config, seeds: list[int], jobs: int,
             progress: Callable[[int, int, int], None] | None) -> list[RunResult]:  # fmt: skip
    results: list[RunResult] = []
    keys: set[tuple[int, str, int]] = set()

    def done(r: RunResult) -> None:
        results.append(r)
        keys.add(r.key)
        if progress is not None:
            progress(len(results), len(seeds), len(keys))

    if jobs <= 1 or len(seeds) == 1:
        for s in seeds:
            done(run_one(config, s))
        return results
    ctx = multiprocessing.get_context("fork")  # the workers start with twaron imported
    with ProcessPoolExecutor(max_workers=min(jobs, len(seeds)), mp_context=ctx) as pool:
        pending: set[Future[RunResult]] = {pool.submit(run_one, config, s) for s in seeds}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(fut.result())
    return results
