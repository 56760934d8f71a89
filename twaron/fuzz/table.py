"""The fuzzer's table of calls, generated from the syscall registry.

fuzzer.c includes it as `fuzz_table.inc`: one `{nr, "codes"}` per call its table mode draws,
a code per argument for the generator of fuzzer.c's arg() switch. The codes come from each
call's trace formats (Syscall.fuzz_codes: every trace.Arg carries its code) or from the
registry's explicit `fuzz` where the formats do not say enough; calls marked `nofuzz` (exit,
pause, ...) stay out. So a call that gains a handler or a format enters the fuzzer's table
with nothing else to edit.
"""

from __future__ import annotations

import os
from pathlib import Path

from twaron.syscalls import registry

INCLUDE_NAME = "fuzz_table.inc"
# The generators fuzzer.c's arg() knows (anything else would silently draw an integer).
CODES = frozenset("fdpslvxiomcFankguwzL")


def entries() -> list[tuple[int, str, str]]:
    """(number, codes, name) of every call in the table, by number."""
    out = []
    for e in registry.load():
        codes = e.fuzz_codes
        if codes is None:
            continue
        if len(codes) > 6 or not set(codes) <= CODES:
            raise ValueError(f"{e.name}: fuzz codes {codes!r} are not fuzzer.c's")
        out.append((e.nr, codes, e.name))
    return out


def source() -> str:
    lines = ["/* Generated from twaron's syscall registry (twaron/syscalls/facts.py) by",
             " * twaron.fuzz.table: do not edit. {nr, argument codes of fuzzer.c's arg()} */"]
    lines += [f'    {{{nr}, "{codes}"}}, /* {name} */' for nr, codes, name in entries()]
    return "\n".join(lines) + "\n"


def write(directory: Path) -> Path:
    """Write the table as directory/fuzz_table.inc (when its text changed) and return its path.

    Replaced atomically: several test workers may build the fuzzer at once."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / INCLUDE_NAME
    text = source()
    if path.exists() and path.read_text() == text:
        return path
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
