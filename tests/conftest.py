"""Shared fixtures for the twaron test suite.

- ``twaron_platform``: parametrizes a test over the CPU platforms (unicorn always; kvm when
  /dev/kvm can create a VM and twaron offers it, otherwise skipped with the reason; and, in
  modules that set TIERED_TOO, auto where it is the tiered CPU).
- ``native_root``: a fresh directory with twaron's root layout for a native chroot run
  (skips when native runs are impossible, e.g. not root).
- ``build_c``: compiles a contract C program with musl-gcc (skips if musl-gcc is missing).
- slow tests are collected first (see pytest_collection_modifyitems).
- autouse oops check: every ``twaron.run`` result in a test is recorded; a test fails at
  teardown if the kernel reported any oops (opt out with ``@pytest.mark.allow_oops``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "contract"))

import harness  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "allow_oops: the test expects twaron to report oopses")
    _wrap_twaron_run()


def _wrap_twaron_run():
    """Record the oopses of every twaron.run call, however the test reached it."""
    try:
        import twaron
    except Exception:  # noqa: BLE001 - kernel not importable yet: tests will say so
        return
    targets = [twaron]
    try:
        import twaron.api as api

        targets.append(api)
    except Exception:  # noqa: BLE001
        pass
    for mod in targets:
        run = getattr(mod, "run", None)
        if run is None or getattr(run, "_oops_recording", False):
            continue

        @functools.wraps(run)
        def recording(*args, __run=run, **kwargs):
            result = __run(*args, **kwargs)
            harness.record_oopses(getattr(result, "oopses", None))
            return result

        recording._oops_recording = True
        mod.run = recording


@pytest.fixture(autouse=True)
def _no_oops(request):
    harness.take_oopses()
    yield
    oopses = harness.take_oopses()
    if oopses and request.node.get_closest_marker("allow_oops") is None:
        reports = "\n\n".join(str(o) for o in oopses)
        pytest.fail(f"twaron reported {len(oopses)} oops(es):\n{reports}", pytrace=False)


def pytest_collection_modifyitems(config, items):
    """Slow tests first: with pytest-xdist one worker starts the BusyBox suites (minutes)
    at once while the others share the rest, instead of finding it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@functools.cache
def _platforms():
    return harness.twaron_platforms()


@functools.cache
def _tiered():
    return harness.tiered_platform()


def pytest_generate_tests(metafunc):
    if "twaron_platform" in metafunc.fixturenames:
        params = []
        platforms = _platforms()
        if getattr(metafunc.module, "TIERED_TOO", False):  # the contract suites: auto too
            platforms = platforms + _tiered()
        for name, why in platforms:
            marks = [pytest.mark.kvm] if name in ("kvm", "auto") else []
            if why:
                marks.append(pytest.mark.skip(reason=f"{name} platform unavailable: {why}"))
            params.append(pytest.param(name, id=name, marks=marks))
        metafunc.parametrize("twaron_platform", params)


@pytest.fixture
def native_root(tmp_path):
    """A fresh, empty directory to become the root of a native chroot run."""
    ok, why = harness.native_possible()
    if not ok:
        pytest.skip(why)
    return tmp_path / "root"


@pytest.fixture
def build_source(tmp_path):
    """build_source(name, c_text): a static program built from C source text (skipped
    without musl-gcc)."""
    from twaron.build import BuildError, build_static

    def build(name: str, text: str):
        src = tmp_path / f"{name}.c"
        src.write_text(text)
        try:
            return build_static(src, name, "unit")
        except BuildError as e:
            pytest.skip(str(e))

    return build


@pytest.fixture(scope="session")
def build_c():
    if harness.musl_gcc() is None:
        pytest.skip("musl-gcc not found (apt-get install musl-tools)")
    return harness.build_c
