"""The syscall registry: complete, consistent with the handlers, and the one source of the
compatibility page, the fuzzer's table and the end-of-run list of unimplemented calls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twaron.arch.x86_64.errno import ENOSYS
from twaron.arch.x86_64.unistd import SYSCALL_NAMES
from twaron.syscalls import docs, registry
from twaron.syscalls.facts import FACTS
from twaron.syscalls.registry import HANDLERS, Level, Restart

REPO = Path(__file__).resolve().parents[2]
HOST_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
# Calls the fuzzer's table leaves out: they end the fuzzing child (or, for rt_sigreturn,
# would too often: fuzzer.c draws it rarely in its generic mode), or sleep until a signal.
NOT_FUZZED = {"exit", "exit_group", "pause", "rt_sigsuspend", "rt_sigreturn"}


@pytest.fixture(scope="module")
def reg() -> registry.Registry:
    return registry.load()


def test_docs_page_is_generated_from_the_registry() -> None:
    page = REPO / "docs" / "syscalls.md"
    assert page.read_text() == docs.markdown(), (
        f"docs/syscalls.md is out of date with the registry; regenerate it: {docs.REGENERATE}"
    )


def test_every_number_of_the_host_header_is_in_the_registry(reg: registry.Registry) -> None:
    if not HOST_HEADER.exists():
        pytest.skip(f"{HOST_HEADER} not found (linux-libc-dev is not installed)")
    defines = re.findall(r"^#define __NR_(\w+)\s+(\d+)\s*$", HOST_HEADER.read_text(), re.M)
    header = {int(nr): name for name, nr in defines}
    assert header, "no __NR_ definitions found in the header"
    for nr, name in header.items():
        assert nr in reg.entries and reg[nr].name == name, (nr, name)
    for e in reg:
        assert header.get(e.nr) == e.name, f"{e.nr} {e.name} is not in {HOST_HEADER}"


def test_every_call_has_explicit_facts(reg: registry.Registry) -> None:
    """facts.py is complete: no call falls back to the defaults of registry.load()."""
    assert sorted(SYSCALL_NAMES.values()) == sorted(FACTS)
    assert len(list(reg)) == len(SYSCALL_NAMES)


def test_levels_agree_with_the_handlers(reg: registry.Registry) -> None:
    for e in reg:
        if e.name in HANDLERS:
            assert e.handler is not None and e.level is not Level.UNSUPPORTED, e.name
        else:
            assert e.handler is None and e.level is Level.UNSUPPORTED, e.name


def test_what_is_not_full_says_why(reg: registry.Registry) -> None:
    for e in reg:
        if e.level is not Level.FULL:
            assert e.note.strip(), f"{e.name} ({e.level.value}) has no note"


def test_unsupported_calls_answer_enosys(reg: registry.Registry) -> None:
    """The kernel answers ENOSYS for a number without a handler: the registry must not claim
    another errno. Only such calls can be `linux_may` (a build without the feature)."""
    for e in reg:
        if e.level is Level.UNSUPPORTED:
            assert e.errno == ENOSYS, e.name
        assert not e.linux_may or e.level is Level.UNSUPPORTED, e.name
    assert reg.by_name["rseq"].linux_may and not reg.by_name["rseq"].unimplemented
    assert reg.by_name["mq_open"].unimplemented


def test_calls_that_sleep_have_handlers_and_their_restart_codes(reg: registry.Registry) -> None:
    sleeping = [e for e in reg if e.restart is not Restart.NEVER_SLEEPS]
    assert {"read", "wait4", "poll", "nanosleep", "pause", "restart_syscall"} <= {
        e.name for e in sleeping}  # fmt: skip
    for e in sleeping:
        assert e.handler is not None, e.name
        assert reg.interrupt_errno[e.nr] == registry.INTERRUPT_ERRNO[e.restart]
    assert reg.by_name["restart_syscall"].restart is Restart.BLOCK


def test_stubs_are_counted_and_still_answer(reg: registry.Registry) -> None:
    """A STUB handler is wrapped to count its calls for the end-of-run list."""
    from collections import Counter

    class Kernel:
        unimplemented_calls: Counter[int] = Counter()

    class Task:
        kernel = Kernel()

    flock = reg.by_name["mlockall"]
    assert flock.level is Level.STUB and flock.handler is not None
    assert flock.handler(Task(), 1, 0, 0, 0, 0, 0) == 0
    assert Kernel.unimplemented_calls == Counter({flock.nr: 1})


def test_implemented_calls_have_trace_formats(reg: registry.Registry) -> None:
    for e in reg:
        if e.handler is not None:
            assert e.args is not None, f"{e.name} has no trace formats"
        if isinstance(e.args, tuple):
            assert len(e.args) <= 6, e.name


def test_fuzz_table_covers_every_implemented_call(reg: registry.Registry) -> None:
    from twaron.fuzz import table

    entries = table.entries()
    in_table = {nr for nr, _codes, _name in entries}
    for e in reg:
        if e.handler is not None and e.name not in NOT_FUZZED:
            assert e.nr in in_table, f"{e.name} is not in the fuzzer's table"
        if e.name in NOT_FUZZED:
            assert e.nr not in in_table and e.nofuzz, e.name
    for nr, codes, _name in entries:
        e = reg[nr]
        assert set(codes) <= table.CODES and len(codes) <= 6, (e.name, codes)
        if isinstance(e.args, tuple) and e.fuzz is not None:
            # an explicit override still has one code per traced argument
            assert len(codes) == len(e.args), (e.name, codes)
    # The codes of a few calls, as fuzzer.c's hand-written table had them.
    codes = {name: c for _nr, c, name in entries}
    assert codes["read"] == "fpl" and codes["mmap"] == "alxxfo" and codes["kill"] == "kg"
    assert codes["rt_sigaction"] == "gppL" and codes["poll"] == "pvw" and codes["socket"] == "ccc"
    src = table.source()
    assert src.count("{") == len(entries) + 1  # the comment's "{nr, ...}" and one per entry
    assert '    {0, "fpl"}, /* read */' in src.splitlines()


def test_cli_prints_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    from twaron import cli

    assert cli.main(["syscalls", "--level", "stub"]) == 0
    out = capsys.readouterr().out
    assert "munlock" in out and "mlock" in out and "read " not in out
    assert cli.main(["syscalls", "--markdown"]) == 0
    assert capsys.readouterr().out == docs.markdown()
    assert cli.main(["syscalls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if re.match(r"\s*\d+\s", line)]) == len(SYSCALL_NAMES)


UNIMPLEMENTED_C = r"""
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long s1 = syscall(SYS_io_setup, 0, 0);
    long s2 = syscall(SYS_io_setup, 0, 0);
    long r = syscall(334, 0, 0, 0, 0); /* rseq: ENOSYS, as a Linux without CONFIG_RSEQ */
    int f = mlockall(MCL_CURRENT);
    printf("%ld %ld %ld %d\n", s1, s2, r, f);
    return 0;
}
"""


def test_run_lists_unimplemented_calls(build_source) -> None:
    """The end-of-run list (CompletedRun.unimplemented, and twaron's last stderr line): the
    calls without a handler and the stubs, not those that answer as Linux may (rseq)."""
    import twaron

    binary = build_source("unimplemented", UNIMPLEMENTED_C)
    r = twaron.run(["sh", "-c", "/unimplemented; /unimplemented"], platform="unicorn",
                   files={"/unimplemented": str(binary)}, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"-1 -1 -1 0\n" * 2
    assert r.unimplemented == {"io_setup": 4, "mlockall": 2}
