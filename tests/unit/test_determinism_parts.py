"""The parts of --deterministic: the virtual clock, the block hook's machine code, which
instructions may run under the trap flag, the record format, the deterministic console."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from twaron.clock import CODE_BYTES_PER_NS, NSEC, TSC_HZ, VirtualClock
from twaron.fs.vconsole import VirtualConsole
from twaron.platform.uc_determinism import (
    BLOCK_HOOK,
    BLOCK_HOOK_ASM,
    RDTSCP_ENTRY,
    TSC_HOOK,
    TSC_HOOK_ASM,
)
from twaron.platform.unicorn import _steppable
from twaron.process.record import EventStream, InputEvent, RecordError, read_record


def test_virtual_clock_follows_code_and_sleeps():
    clock = VirtualClock(epoch=1_000)
    executed = [0]
    clock.executed = lambda: executed[0]
    assert clock.monotonic_ns() == 0 and clock.realtime_ns() == 1_000 * NSEC
    executed[0] = 4_000 * CODE_BYTES_PER_NS
    assert clock.monotonic_ns() == 4_000
    clock.advance_to(0.5)  # a timer at 0.5 s: the sleep ends at once, exactly there
    assert clock.monotonic() >= 0.5 and clock.monotonic_ns() == NSEC // 2
    clock.advance_to(0.1)  # never backwards
    assert clock.monotonic_ns() == NSEC // 2
    clock.sleep(1.25)
    assert clock.monotonic_ns() == NSEC // 2 + 1_250_000_000
    assert clock.realtime() == pytest.approx(1_001.75)
    a, b = clock.rdtsc(), clock.rdtsc()
    assert b > a  # two reads in one block still see the counter move


@pytest.mark.parametrize(("asm", "code"), [(BLOCK_HOOK_ASM, BLOCK_HOOK), (TSC_HOOK_ASM, TSC_HOOK)],
                         ids=["block", "tsc"])  # fmt: skip
def test_hooks_are_their_assembly(asm, code):
    if not (shutil.which("as") and shutil.which("objcopy") and shutil.which("nm")):
        pytest.skip("binutils (as, objcopy, nm) are not installed")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        src, obj, out = Path(tmp, "h.S"), Path(tmp, "h.o"), Path(tmp, "h.bin")
        src.write_text(asm)
        subprocess.run(["as", "--64", "-o", str(obj), str(src)], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(out)],
                       check=True)  # fmt: skip
        assert out.read_bytes() == code
        if code is TSC_HOOK:
            syms = subprocess.run(["nm", str(obj)], capture_output=True, text=True).stdout
            assert f"{RDTSCP_ENTRY:016x} t rdtscp_hook" in syms


def test_tsc_hook_arithmetic_matches_the_clock():
    """The hook divides by 4 with a shift and counts one TSC tick a nanosecond."""
    assert CODE_BYTES_PER_NS == 4 and TSC_HZ == NSEC


@pytest.mark.parametrize(("code", "ok"), [
    ("90", True), ("488b0500000000", True), ("f348a5", True), ("0fa2", True),
    ("9c", False), ("669d", False), ("0f05", False), ("480f05", False), ("cc", False),
    ("cd80", False), ("48cf", False), ("0f01d0", False), ("", False), ("66", False),
])  # fmt: skip
def test_what_may_be_single_stepped(code, ok):
    assert _steppable(bytes.fromhex(code)) is ok


def test_event_stream_checks_every_n():
    seen = []
    stream = EventStream(3, lambda n, h: seen.append((n, h)))
    for i in range(7):
        stream.syscall(1, i, (0, 1, 2, 3, 4, 5))
    assert [n for n, _ in seen] == [3, 6]
    other = EventStream(3, lambda n, h: None)
    for i in range(6):
        other.syscall(1, i, (0, 1, 2, 3, 4, 5))
    assert other.digest() == seen[1][1]


def _write(tmp_path, *lines):
    p = tmp_path / "r.rec"
    p.write_text("\n".join(lines) + "\n")
    return str(p)


HEADER = '{"twaron_record": 1, "config": {"argv": ["true"]}}'


def test_record_round_trip(tmp_path):
    events = [InputEvent("stdin", b"ls\n"), InputEvent("signal", sig=2),
              InputEvent("winsize", bytes(8)), InputEvent("timeout"), InputEvent("stdin", b"")]
    import json

    lines = [HEADER] + [json.dumps(e.to_json(4, 99)) for e in events]
    lines.append('{"check": 1000, "t": 5, "hash": "ab"}')
    lines.append('{"end": true, "events": 1200, "hash": "cd", "status": 0}')
    rec = read_record(_write(tmp_path, *lines))
    assert rec.inputs == {4: events}
    assert rec.checks == {1000: "ab"} and rec.end["events"] == 1200


@pytest.mark.parametrize("bad", [
    "{", "[]", '{"in": 1}', '{"in": -1, "signal": 99}', '{"in": "1", "stdin": ""}',
    '{"in": 1, "stdin": "***"}', '{"check": 5}', '{"what": 1}', '{"end": true}',
])  # fmt: skip
def test_record_damage_is_a_record_error(tmp_path, bad):
    with pytest.raises(RecordError):
        read_record(_write(tmp_path, HEADER, bad))


def test_record_header_must_be_one(tmp_path):
    with pytest.raises(RecordError, match="not a twaron record"):
        read_record(_write(tmp_path, '{"twaron_record": 7, "config": {}}'))
    with pytest.raises(RecordError):
        read_record(str(tmp_path / "missing.rec"))


def test_console_chunks_and_end_of_file():
    pipe = VirtualConsole(None, None, None, replay_ttys={})
    assert pipe.must_wait()
    pipe.feed(b"abcdef")
    assert not pipe.must_wait() and pipe.read(4) == b"abcd" and pipe.read(10) == b"ef"
    pipe.feed(b"")  # not a terminal: end of file for good
    assert pipe.read(5) == b"" and pipe.read(5) == b"" and not pipe.must_wait()
    tty = VirtualConsole(None, None, None, replay_ttys={0: (bytes(60), bytes(8))})
    tty.feed(b"line\n")
    tty.feed(b"")  # a terminal's Ctrl-D: one read of 0, then input again
    assert tty.read(100) == b"line\n" and tty.read(100) == b"" and tty.must_wait()
    assert tty.tty_of(0) == 0 and tty.tty_of(1) is None
    tty.set_winsize(0, bytes.fromhex("1800500000000000"))
    assert tty.winsize(0) == bytes.fromhex("1800500000000000")


def test_deterministic_cost_table():
    from twaron.bench.detcost import CostRow, markdown

    ok = CostRow("fork_exit", 100, [400.0, 500.0, 450.0], [900.0, 1000.0, 950.0])
    failed = CostRow("exec_true", 50, error="deterministic: kernel oops")
    assert ok.ratio == pytest.approx(950.0 / 450.0)
    table = markdown([ok, failed]).splitlines()
    assert table[2] == "| fork_exit | 100 | 450 | 950 | 2.11 |"
    assert table[3].startswith("| exec_true | 50 | FAILED: deterministic: kernel oops")
