"""`twaron run -- sh` driven through a pseudo-terminal, as a person would use it: a prompt, a
command and its output, Ctrl-C interrupting the foreground `sleep 100` (not twaron), the
prompt coming back, `exit`; job control from the keyboard (Ctrl-Z, `jobs`, `fg`, Ctrl-C,
Ctrl-\\) and line editing through the console's line discipline; the host terminal's modes
as they were after twaron ends (exit, --timeout, SIGTERM)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

REPO = Path(__file__).resolve().parents[2]
PROMPT = "twaron-test# "


def _spawn():
    twaron = REPO / ".venv/bin/twaron"
    cmd, args = (str(twaron), []) if twaron.exists() else (sys.executable, ["-m", "twaron"])
    env = dict(os.environ, PS1=PROMPT, TERM="dumb")
    return pexpect.spawn(cmd, [*args, "run", "--", "sh"], env=env, cwd=str(REPO),
                         encoding="utf-8", timeout=30, dimensions=(24, 100))


def test_console_command_ctrl_c_exit():
    child = _spawn()
    try:
        child.expect_exact("# ")  # BusyBox's prompt for root (PS1 may not reach the guest)
        child.sendline(f"PS1='{PROMPT}'")
        child.expect_exact(PROMPT)
        child.sendline("echo hello $((6 * 7))")
        child.expect_exact("hello 42")
        child.expect_exact(PROMPT)
        child.sendline("sleep 100")
        time.sleep(1.0)  # let sleep start
        t0 = time.monotonic()
        child.sendintr()  # Ctrl-C: the guest's foreground process group gets SIGINT
        child.expect_exact(PROMPT, timeout=10)
        assert time.monotonic() - t0 < 10
        child.sendline("echo status=$?")
        child.expect_exact("status=130")  # sleep died of SIGINT; the shell survived
        child.expect_exact(PROMPT)
        child.sendline("exit 3")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert child.exitstatus == 3, (child.exitstatus, child.signalstatus)


def _shell_prompt(child):
    child.expect_exact("# ")
    child.sendline(f"PS1='{PROMPT}'")
    child.expect_exact(PROMPT)


def test_console_job_control_from_the_keyboard():
    """The console's line discipline turns Ctrl-Z, Ctrl-C and Ctrl-\\ into signals for the
    guest's foreground job (twaron itself is not stopped): the shell reports the stopped
    job, `jobs` lists it, `fg` resumes it; the line editor's keys reach the shell."""
    child = _spawn()
    try:
        _shell_prompt(child)
        child.sendline("sleep 30")
        time.sleep(1.0)
        child.sendcontrol("z")
        child.expect(r"\[1\]\+ +Stopped +sleep 30")
        child.expect_exact(PROMPT)
        child.sendline("jobs")
        child.expect(r"\[1\]\+ +Stopped +sleep 30")
        child.expect_exact(PROMPT)
        child.sendline("fg")
        child.expect_exact("sleep 30")
        time.sleep(0.5)
        child.sendintr()
        child.expect_exact(PROMPT, timeout=10)
        child.sendline("echo status=$?")
        child.expect_exact("status=130")
        child.expect_exact(PROMPT)
        child.sendline("sleep 30")
        time.sleep(1.0)
        child.sendcontrol("\\")
        child.expect_exact(PROMPT, timeout=10)
        child.sendline("echo status=$?")
        child.expect_exact("status=131")
        child.expect_exact(PROMPT)
        # a line edited with backspace (DEL) and Ctrl-W before Enter
        child.send("echo abx\x7fc foo bar\x17baz\r")
        child.expect_exact("abc foo baz")
        child.expect_exact(PROMPT)
        # cat reads the terminal a line at a time; Ctrl-D at a line's start ends it
        child.sendline("cat")
        time.sleep(0.5)
        child.sendline("to cat")
        child.expect_exact("to cat\r\nto cat")
        child.sendcontrol("d")
        child.expect_exact(PROMPT)
        # a background job that reads the terminal stops (SIGTTIN), then reads in front
        child.sendline("cat &")
        time.sleep(1.0)
        child.sendline("")
        child.expect(r"Stopped \(tty input\) +cat")
        child.expect_exact(PROMPT)
        child.sendline("fg")
        time.sleep(0.5)
        child.sendline("in front")
        child.expect_exact("in front\r\nin front")
        child.sendcontrol("d")
        child.expect_exact(PROMPT)
        child.sendline("exit 4")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert child.exitstatus == 4, (child.exitstatus, child.signalstatus)


def _modes_around(twaron_cmd: str, timeout: float = 40):
    """Run a host shell on a pseudo-terminal that prints `stty -g` before and after
    twaron_cmd (its terminal is twaron's): both lines, and twaron's status."""
    twaron = REPO / ".venv/bin/twaron"
    tw = str(twaron) if twaron.exists() else f"{sys.executable} -m twaron"
    script = f"stty -g; {twaron_cmd.format(twaron=tw)}; echo status=$?; stty -g"
    env = dict(os.environ, TERM="dumb")
    child = pexpect.spawn("/bin/sh", ["-c", script], env=env, cwd=str(REPO),
                          encoding="utf-8", timeout=timeout, dimensions=(24, 100))
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    lines = [ln.strip() for ln in child.before.splitlines() if ln.strip()]
    modes = [ln for ln in lines if ln.count(":") > 30]
    status = [ln for ln in lines if ln.startswith("status=")]
    return modes, status


@pytest.mark.parametrize("case,cmd,status", [
    ("exit", "{twaron} run -- sh -c 'stty raw -echo; exit 5'", "status=5"),
    ("timeout", "{twaron} run --timeout 3 -- sh -c 'stty raw; sleep 30'", "status=124"),
    ("sigterm", "{twaron} run -- sleep 30 </dev/tty & p=$!; sleep 3; kill -TERM $p; wait $p",
     "status=143"),
    ("sighup", "{twaron} run -- sleep 30 </dev/tty & p=$!; sleep 3; kill -HUP $p; wait $p",
     "status=129"),
])  # fmt: skip
def test_host_terminal_modes_restored(case, cmd, status):
    """twaron puts its terminal in raw mode for the run and back as it was whatever ends it:
    the guest's exit (after the guest changed its own modes), --timeout, SIGTERM, SIGHUP."""
    modes, got = _modes_around(cmd)
    assert got == [status], got
    assert len(modes) == 2 and modes[0] == modes[1], modes
