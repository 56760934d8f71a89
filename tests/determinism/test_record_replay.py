"""`twaron run --record FILE` and `twaron replay FILE`: an interactive shell session driven
through a pseudo-terminal (Ctrl-C, a job stopped with Ctrl-Z and resumed with fg, Ctrl-D) is
recorded and replays without the terminal to the same guest output, trace and status; input
piped into a run replays too; a record that was tampered with is reported as diverging,
never with a traceback."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROMPT = "twaron-test# "
DIVERGED = 125


def _spawn_recorded(pexpect, record: Path, trace: Path):
    env = dict(os.environ, PS1=PROMPT, TERM="dumb", PYTHONPATH=str(REPO))
    args = ["-m", "twaron", "run", "--record", str(record), "--trace", "--trace-file",
            str(trace), "--", "sh"]  # fmt: skip
    return pexpect.spawn(sys.executable, args, env=env, cwd=str(REPO), encoding="utf-8",
                         timeout=30, dimensions=(24, 100))  # fmt: skip


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A recorded interactive session: (record, its trace, what the terminal showed)."""
    pexpect = pytest.importorskip("pexpect")
    tmp = tmp_path_factory.mktemp("session")
    record, trace = tmp / "session.rec", tmp / "session.trace"
    child = _spawn_recorded(pexpect, record, trace)
    try:
        child.expect_exact("# ")
        child.sendline(f"PS1='{PROMPT}'")
        child.expect_exact(PROMPT)
        child.sendline("echo hello $((6 * 7))")
        child.expect_exact("hello 42")
        child.expect_exact(PROMPT)
        child.sendline("cat")  # waits for the terminal: Ctrl-C ends it
        time.sleep(0.5)
        child.sendintr()
        child.expect_exact(PROMPT)
        child.sendline("echo status=$?")
        child.expect_exact("status=130")
        child.expect_exact(PROMPT)
        child.sendline("cat")
        time.sleep(0.5)
        child.sendcontrol("z")  # the job stops; the shell takes the terminal back
        child.expect("Stopped")
        child.expect_exact(PROMPT)
        child.sendline("fg")  # and resumes it
        time.sleep(0.5)
        child.sendline("resumed line")
        child.expect_exact("resumed line\r\nresumed line")
        child.sendcontrol("d")
        child.expect_exact(PROMPT)
        child.sendline("sleep 3; date -u")  # virtual time: the sleep ends at once
        child.expect_exact("UTC 2000")
        child.expect_exact(PROMPT)
        child.sendline("exit 3")
        child.expect(pexpect.EOF, timeout=15)
        shown = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 3, (child.exitstatus, child.signalstatus)
    return record, trace, shown


def test_interactive_session_replays(session, cli, tmp_path):
    record, trace, _ = session
    kinds = [next(k for k in ("stdin", "signal", "winsize", "timeout") if k in e)
             for e in map(json.loads, record.read_text().splitlines()[1:]) if "in" in e]
    assert "stdin" in kinds and "signal" in kinds  # Ctrl-C and Ctrl-Z came as signals
    replay_trace = tmp_path / "replay.trace"
    r = cli("replay", "--trace", "--trace-file", str(replay_trace), str(record))
    assert r.returncode == 3, r.stderr.decode()[-2000:]
    assert b"diverged" not in r.stderr and b"Traceback" not in r.stderr
    out = r.stdout.decode()
    for text in ("hello 42", "status=130", "resumed line", "Sat Jan  1 00:00:03 UTC 2000"):
        assert text in out
    assert b"Stopped" in r.stderr
    assert replay_trace.read_bytes() == trace.read_bytes()  # every call, every result


def test_replay_twice_is_the_same(session, cli):
    record = session[0]
    a, b = cli("replay", str(record)), cli("replay", str(record))
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


def test_piped_input_records_and_replays(cli, tmp_path):
    record = tmp_path / "piped.rec"
    script = "read a; echo got $a; sleep 1; read b; echo got $b; head -c 8 /dev/urandom | od -x"
    first = cli("run", "--record", str(record), "--", "sh", "-c", script,
                input=b"hello\nworld\n")  # fmt: skip
    assert first.returncode == 0 and first.stdout.startswith(b"got hello\ngot world\n")
    again = cli("replay", str(record))
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, first.stderr)


def _tampered(record: Path, tmp_path: Path, change) -> Path:
    lines = record.read_text().splitlines()
    out = tmp_path / "tampered.rec"
    out.write_text("\n".join(change(lines)) + "\n")
    return out


def _stdin_line(lines):
    return next(i for i, line in enumerate(lines) if '"stdin"' in line and '"stdin":""' not in line)


def _set(lines, i, obj):
    lines = list(lines)
    lines[i] = json.dumps(obj)
    return lines


TAMPERINGS = {
    "stdin bytes": lambda ls: _set(ls, _stdin_line(ls),
                                   {**json.loads(ls[_stdin_line(ls)]), "stdin": "ZXhpdCA3Cg=="}),
    "a check's hash": lambda ls: _set(ls, next(i for i, x in enumerate(ls) if '"check"' in x),
                                      {**json.loads(next(x for x in ls if '"check"' in x)),
                                       "hash": "0" * 32}),
    "the seed": lambda ls: _set(ls, 0, {**json.loads(ls[0]), "config": {
        **json.loads(ls[0])["config"], "seed": 99}}),
    "a signal dropped": lambda ls: [x for x in ls if '"signal":2' not in x],
    "cut short": lambda ls: ls[: len(ls) // 2],
    "the end": lambda ls: ls[:-1],
    "garbage": lambda ls: [*ls[:3], "{not json", *ls[3:]],
    "a wrong type": lambda ls: _set(ls, 1, {"in": "x", "stdin": 5}),
    "not a record": lambda ls: ["[1, 2, 3]"],
}


@pytest.mark.parametrize("what", sorted(TAMPERINGS))
def test_tampered_record_is_reported_as_diverging(session, cli, tmp_path, what):
    tampered = _tampered(session[0], tmp_path, TAMPERINGS[what])
    r = cli("replay", str(tampered))
    err = r.stderr.decode()
    assert r.returncode == DIVERGED, (what, err[-1500:])
    assert "twaron replay: diverged" in err
    assert "Traceback" not in err


def test_record_refuses_hooks(cli, tmp_path):
    hooks = tmp_path / "hooks.py"
    hooks.write_text("import twaron\nhooks = twaron.Hooks()\n")
    r = cli("run", "--record", str(tmp_path / "r.rec"), "--hooks", str(hooks), "--", "true")
    assert r.returncode == 2 and b"--record cannot record Python hooks" in r.stderr
