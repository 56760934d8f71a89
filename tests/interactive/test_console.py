"""`twaron run -- sh` driven through a pseudo-terminal, as a person would use it: a prompt, a
command and its output, Ctrl-C interrupting the foreground `sleep 100` (not twaron), the
prompt coming back, `exit`."""

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
