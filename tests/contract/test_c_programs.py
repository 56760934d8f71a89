"""C contract programs: the same static binary natively and inside twaron.

``test_native`` checks that a program says natively what ``expected/c.json`` recorded (so
the programs themselves stay deterministic); ``test_twaron`` runs it in twaron and compares
with a live native run (as root) or with the recording.
"""

from __future__ import annotations

import pytest

import harness

PROGRAMS = harness.c_programs()
EXPECTED = harness.load_expected("c")
TIERED_TOO = True  # also on auto where it is the tiered CPU (conftest.py)
_native_cache: dict[str, harness.Result] = {}


def _argv(prog):
    return [harness.GUEST_PROG, *prog.args]


def _native(prog, binary, root) -> harness.Result:
    if prog.name not in _native_cache:
        _native_cache[prog.name] = harness.run_native(
            root, _argv(prog), input=prog.stdin, files={harness.GUEST_PROG: binary})
    return _native_cache[prog.name]


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_native(prog, build_c, native_root):
    binary = build_c(prog)
    got = _native(prog, binary, native_root)
    if prog.name not in EXPECTED:
        pytest.fail(f"no recorded output for {prog.name}: run python tests/contract/regen.py "
                    f"{prog.name}\nnative stdout:\n{got.stdout.decode(errors='replace')}")
    harness.assert_same(harness.Result.from_record(EXPECTED[prog.name]), got,
                        compare_stderr=prog.compare_stderr, what=("recorded", "native"))


@pytest.mark.parametrize(
    "prog",
    [pytest.param(p, marks=[pytest.mark.xfail(reason=r, strict=False)]
                  if (r := harness.xfail_reason("c", p.name, p.xfail)) else []) for p in PROGRAMS],
    ids=[p.name for p in PROGRAMS],
)
def test_twaron(prog, build_c, twaron_platform, tmp_path):
    binary = build_c(prog)
    ok, why = harness.native_possible()
    if ok:
        want = _native(prog, binary, tmp_path / "native-root")
        what = ("native", f"twaron/{twaron_platform}")
    elif prog.name in EXPECTED:
        want = harness.Result.from_record(EXPECTED[prog.name])
        what = ("recorded", f"twaron/{twaron_platform}")
    else:
        pytest.skip(f"{why}, and no recorded output for {prog.name}")
    got = harness.run_twaron(_argv(prog), input=prog.stdin, files={harness.GUEST_PROG: binary},
                             platform=twaron_platform, timeout=prog.timeout)
    harness.assert_same(want, got, compare_stderr=prog.compare_stderr, what=what)
