#!/usr/bin/env python3
"""Re-record tests/contract/expected/*.json from native runs (needs root and musl-gcc).

    python tests/contract/regen.py            # all cases
    python tests/contract/regen.py NAME...    # only these C programs / shell case ids

The recorded outputs are what twaron is compared with when native runs are impossible.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # twaron, uninstalled
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from shell_cases import CASES  # noqa: E402


def main(argv: list[str]) -> int:
    ok, why = harness.native_possible()
    if not ok:
        print(why, file=sys.stderr)
        return 1
    only = set(argv)
    with tempfile.TemporaryDirectory() as d:
        print("root tree from:", harness.write_root_tree(Path(d)))
    c = harness.load_expected("c")
    sh = harness.load_expected("sh")
    for prog in harness.c_programs():
        if only and prog.name not in only:
            continue
        binary = harness.build_c(prog)
        with tempfile.TemporaryDirectory(prefix="twaron-regen-") as d:
            r = harness.run_native(Path(d) / "root", [harness.GUEST_PROG, *prog.args],
                                   input=prog.stdin, files={harness.GUEST_PROG: binary})
        c[prog.name] = r.record()
        print(f"c/{prog.name}: exit {r.returncode}")
    for case in CASES:
        if only and case.id not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="twaron-regen-") as d:
            r = harness.run_native(Path(d) / "root", ["sh", "-c", case.script], input=case.stdin)
        sh[case.id] = r.record()
        print(f"sh/{case.id}: exit {r.returncode}")
    names = {p.name for p in harness.c_programs()}
    ids = {case.id for case in CASES}
    harness.save_expected("c", {k: v for k, v in c.items() if k in names})
    harness.save_expected("sh", {k: v for k, v in sh.items() if k in ids})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
