"""Python hooks: refusing and rewriting calls, after-hooks, exec/exit/signal events, a hook
that raises (its traceback, no oops), the Kernel-level API."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

import twaron
from twaron import api
from twaron.config import Config
from twaron.fs.console import Console


def test_refused_unlink_keeps_the_file(twaron_platform):
    """BusyBox's rm calls unlink, GNU rm unlinkat: the strace set names both."""
    hooks = twaron.Hooks()
    refused = []

    @hooks.before("unlink,unlinkat")
    def keep(call):
        refused.append(call.string(1 if call.name == "unlinkat" else 0))
        call.fail(errno.EPERM)

    r = twaron.run(["sh", "-c", "echo alive > /tmp/f; rm -f /tmp/f; echo rm=$?; cat /tmp/f"],
                   hooks=hooks, platform=twaron_platform)
    assert r.stdout == b"rm=1\nalive\n"
    assert b"Operation not permitted" in r.stderr
    assert refused == [b"/tmp/f"] and not r.hook_errors


def test_rewritten_write_buffer_reaches_stdout(twaron_platform):
    hooks = twaron.Hooks()

    @hooks.before("write")
    def shout(call):
        fd, buf, n = call.args[:3]
        if fd == 1:
            call.write(buf, call.read(buf, n).upper())

    r = twaron.run(["sh", "-c", "echo hello; ls /nowhere"], hooks=hooks,
                   platform=twaron_platform)
    assert (r.stdout, r.stderr) == (b"HELLO\n", b"ls: /nowhere: No such file or directory\n")


def test_changed_arguments_and_results():
    hooks = twaron.Hooks()

    @hooks.before("write")
    def elsewhere(call):
        if call.args[0] == 1:
            call.args[0] = 2  # the call runs with the new fd: stderr

    @hooks.after(39)  # getpid, by number
    def pid(call):
        call.succeed(4242)

    r = twaron.run(["sh", "-c", "echo $$"], hooks=hooks)
    assert (r.stdout, r.stderr) == (b"", b"4242\n")


def test_after_hook_of_a_call_that_slept():
    """The read of an empty pipe sleeps; its after-hook runs when it returns."""
    hooks = twaron.Hooks()
    reads = []

    @hooks.after("read")
    def seen(call):
        if call.comm == "cat":
            reads.append((call.result, call.decoded[1]))

    r = twaron.run(["sh", "-c", "{ sleep 0.3; echo a; } | cat"], hooks=hooks)
    assert r.stdout == b"a\n"
    assert reads == [(2, '"a\\n"'), (0, '""')]


def test_refuse_connect_and_log_writes():
    """The README's example."""
    hooks = twaron.Hooks()
    written = []

    @hooks.before("connect")
    def refuse(call):
        call.fail(errno.ECONNREFUSED)

    @hooks.after("open,openat,creat")
    def opened(call):
        flags = call.args[1] if call.name == "open" else call.args[2]
        if call.result >= 0 and (call.name == "creat" or flags & (os.O_WRONLY | os.O_RDWR)):
            written.append(call.string(0 if call.name != "openat" else 1))

    r = twaron.run(["sh", "-c", "echo x > /tmp/a; cat /tmp/a > /tmp/b; cat /tmp/b"], hooks=hooks)
    assert r.stdout == b"x\n" and written == [b"/tmp/a", b"/tmp/b"]


def test_exec_exit_and_signal_events():
    hooks = twaron.Hooks()
    execs, exits, signals = [], [], []
    hooks.on_exec(lambda e: execs.append((e.pid, e.path, e.argv)))
    hooks.on_exit(lambda e: exits.append((e.comm, e.exit_code, e.signal)))
    hooks.on_signal(lambda e: signals.append((e.signal, e.action)))
    script = "trap 'echo got' USR1; kill -USR1 $$; sh -c 'exit 3'; sh -c 'kill -9 $$'; echo end"
    r = twaron.run(["sh", "-c", script], hooks=hooks)
    assert r.stdout == b"got\nend\n"
    assert execs[0] == (1, b"/bin/sh", [b"sh", b"-c", script.encode()])
    assert [x for x in exits if x[1] == 3] == [("sh", 3, None)]
    assert ("sh", None, 9) in exits and exits[-1] == ("sh", 0, None)
    assert (10, "handler") in signals and (17, "handler") in signals


def test_guest_memory_is_checked():
    hooks = twaron.Hooks()
    seen = []

    @hooks.before("getppid")
    def probe(call):
        try:
            call.read(0, 8)
        except twaron.GuestMemoryError as e:
            seen.append(str(e))

    twaron.run(["sh", "-c", "true"], hooks=hooks)
    assert seen == ["cannot read 8 bytes at 0x0"]


def test_a_raising_hook_ends_the_run_with_its_traceback():
    hooks = twaron.Hooks()

    @hooks.before("openat")
    def broken(call):
        return 1 // 0

    r = twaron.run(["sh", "-c", "cat /etc/hostname; echo never"], hooks=hooks)
    assert r.oopses == [] and r.returncode == -9 and b"never" not in r.stdout
    [report] = r.hook_errors
    assert "before('openat') hook test_a_raising_hook_ends_the_run_with_its_traceback." \
           "<locals>.broken" in report
    assert "ZeroDivisionError" in report and "1 // 0" in report


def test_kernel_level_hooks_registered_after_boot():
    """kernel.hooks on a booted Kernel: the watch is put in place when the first hook comes,
    and a hook may add hooks while the run goes on."""
    out = bytearray()
    config = Config(argv=["sh", "-c", "echo one; echo two; echo three"])
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert kernel.watch is None
    writes = []

    def count(call):
        writes.append(call.result)
        if len(writes) == 1:
            kernel.hooks.before("write", lambda c: c.fail(errno.EIO))

    kernel.hooks.after("write", count)
    assert kernel.watch is not None
    assert api.start(kernel, config) is None
    kernel.run()
    assert out.startswith(b"one\n") and b"two" not in out and writes[0] == 4


def test_cli_hooks_file(tmp_path):
    script = tmp_path / "h.py"
    script.write_text("import errno, twaron\nhooks = twaron.Hooks()\n"
                      "hooks.before('unlink', lambda c: c.fail(errno.EPERM))\n")
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--quiet", "--hooks", str(script),
                        "--", "sh", "-c", "echo k > /tmp/f; rm -f /tmp/f; cat /tmp/f"],
                       capture_output=True, timeout=120)  # fmt: skip
    assert p.stdout == b"k\n" and p.returncode == 0


def test_cli_raising_hook(tmp_path):
    script = tmp_path / "h.py"
    script.write_text("import twaron\nhooks = twaron.Hooks()\n"
                      "@hooks.on_exec\ndef boom(event):\n    raise RuntimeError('no exec')\n")
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--hooks", str(script), "--",
                        "true"], capture_output=True, timeout=120)  # fmt: skip
    err = p.stderr.decode()
    assert p.returncode == 1 and "RuntimeError: no exec" in err and "oops" not in err
    assert "twaron: hook error in on_exec hook boom" in err


def test_bad_hook_key():
    with pytest.raises(ValueError):
        twaron.run(["true"], hooks=_hooks_on("nosuchcall"))


def _hooks_on(key):
    hooks = twaron.Hooks()
    hooks.before(key, lambda c: None)
    return hooks
