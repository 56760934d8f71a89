"""CPython's test suite (`python3 -m test`) inside twaron against native.

`twaron test python` in-process: the modules run inside twaron (--rootfs of the cached
Debian bookworm root) and natively in a chroot of an overlay of the same root; every case
that passes natively must pass inside twaron unless it is listed, with its reason, in
twaron/testsuite/python_known_differences.txt. Marked slow (and python_suite): the root is
built on first use and the modules take minutes under emulation. Like the BusyBox suite's
test, one test runs the modules two at a time (both CPUs).
"""

from __future__ import annotations

import os

import pytest

from twaron.testsuite import python

# The modules CI runs (see README "CPython's test suite"); TWARON_PYTHON_MODULES=all for the
# issue's whole list, or a comma-separated list.
CI_MODULES = python.CI_MODULES
TIMEOUT = float(os.environ.get("TWARON_PYTHON_TIMEOUT", "1500"))

pytestmark = [pytest.mark.python_suite, pytest.mark.slow]


def _modules() -> tuple[str, ...]:
    chosen = os.environ.get("TWARON_PYTHON_MODULES", "")
    if chosen == "all":
        return python.MODULES
    return tuple(m for m in chosen.split(",") if m) or CI_MODULES


def test_known_differences_file_parses():
    known = python.known_differences()
    assert all(reason for reason in known.values())


@pytest.mark.timeout(TIMEOUT + 900)
def test_python_suite_matches_native():
    from twaron.image_build import BuildError
    from twaron.native import native_possible

    ok, why = native_possible()
    if not ok:
        pytest.skip(why)
    platform = os.environ.get("TWARON_PYTHON_PLATFORM", "unicorn")
    try:
        report = python.run(_modules(), platform, jobs=2, progress=False, timeout=TIMEOUT,
                            log=lambda _m: None)  # fmt: skip
    except BuildError as e:
        pytest.skip(f"the bookworm root cannot be built here: {e}")
    # cases passing natively and not inside twaron, not in python_known_differences.txt;
    # module runs that did not complete (either side), oopses
    problems = [f"{name}: {native} -> {tw}" for name, native, tw in report.unexpected()]
    assert not problems, "\n".join(problems) + "\n\n" + report.text()
