"""BusyBox shell contract cases: ``sh -c SCRIPT`` natively (chroot) and inside twaron."""

from __future__ import annotations

import pytest

import harness
from shell_cases import CASES

EXPECTED = harness.load_expected("sh")
TIERED_TOO = True  # also on auto where it is the tiered CPU (conftest.py)
_native_cache: dict[str, harness.Result] = {}


def _native(case, root) -> harness.Result:
    if case.id not in _native_cache:
        _native_cache[case.id] = harness.run_native(root, ["sh", "-c", case.script],
                                                    input=case.stdin)
    return _native_cache[case.id]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_native(case, native_root):
    got = _native(case, native_root)
    if case.id not in EXPECTED:
        pytest.fail(f"no recorded output for {case.id}: run python tests/contract/regen.py "
                    f"{case.id}\nnative stdout:\n{got.stdout.decode(errors='replace')}")
    harness.assert_same(harness.Result.from_record(EXPECTED[case.id]), got,
                        compare_stderr=case.compare_stderr, what=("recorded", "native"))


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=[pytest.mark.xfail(reason=r, strict=False)]
                  if (r := harness.xfail_reason("sh", c.id, c.xfail)) else []) for c in CASES],
    ids=[c.id for c in CASES],
)
def test_twaron(case, twaron_platform, tmp_path):
    ok, why = harness.native_possible()
    if ok:
        want = _native(case, tmp_path / "native-root")
        what = ("native", f"twaron/{twaron_platform}")
    elif case.id in EXPECTED:
        want = harness.Result.from_record(EXPECTED[case.id])
        what = ("recorded", f"twaron/{twaron_platform}")
    else:
        pytest.skip(f"{why}, and no recorded output for {case.id}")
    got = harness.run_twaron(["sh", "-c", case.script], input=case.stdin,
                             platform=twaron_platform,
                             timeout=case.timeout or harness.TWARON_TIMEOUT)
    harness.assert_same(want, got, compare_stderr=case.compare_stderr, what=what)
