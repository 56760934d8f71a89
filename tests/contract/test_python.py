"""Python inside twaron: the host's Debian python3 (dynamic, glibc) with the stdlib modules
an event loop and a terminal program use, compared with the same root run natively.

One program per test, so the interpreter's start (a few seconds on Unicorn) is paid once:
- asyncio: a TCP server and five clients, a UNIX-socket server, timers, and a subprocess
  with pipes (epoll, eventfd-free self-pipes, socketpair, pidfd-less child watching);
- pty: os.openpty's ends, then `pty.spawn` of a shell that reads a line typed through the
  pty (the line discipline echoes it, ONLCR turns the shell's newline into CR LF).

python3 is a Debian package of the Makefile's DEB_PACKAGES; the test skips only where the
host has no /usr/bin/python3.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twaron.fs import rootfs

import harness

PYTHON = Path("/usr/bin/python3")
# What neither program imports: the stdlib's own tests, GUIs, the packaging tools.
UNUSED = {"test", "idlelib", "tkinter", "lib2to3", "ensurepip", "pydoc_data", "turtledemo",
          "distutils", "site-packages", "dist-packages", "unittest", "email", "xml", "http",
          "urllib", "xmlrpc", "sqlite3", "dbm", "wsgiref", "curses", "ctypes", "venv",
          "multiprocessing", "lib-dynload-unused"}  # fmt: skip
UNUSED_PREFIX = ("config-",)

ASYNCIO = r"""
import asyncio, os, socket, sys

async def upper(reader, writer):
    line = await reader.readline()
    writer.write(b"echo:" + line.upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()

async def client(connect, i):
    reader, writer = await connect()
    writer.write(f"client {i}\n".encode())
    await writer.drain()
    line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return line.decode().strip()

async def main():
    loop = asyncio.get_running_loop()
    fired = []
    for delay, name in ((0.03, "second"), (0.01, "first"), (0.05, "third")):
        loop.call_later(delay, fired.append, name)
    tcp = await asyncio.start_server(upper, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    got = await asyncio.gather(*(client(lambda: asyncio.open_connection("127.0.0.1", port), i)
                                 for i in range(5)))
    print("tcp:", got)
    unix = await asyncio.start_unix_server(upper, "/tmp/sock")
    got = await asyncio.gather(*(client(lambda: asyncio.open_unix_connection("/tmp/sock"), i)
                                 for i in range(2)))
    print("unix:", got)
    proc = await asyncio.create_subprocess_exec(
        "tr", "a-z", "A-Z", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate(b"through a subprocess\n")
    print("subprocess:", out.decode().strip(), proc.returncode)
    try:
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.05)
    except asyncio.TimeoutError:
        print("wait_for timed out")
    await asyncio.sleep(0.1)
    print("timers:", fired)
    for server in (tcp, unix):
        server.close()
        await server.wait_closed()

asyncio.run(main())
print("loop closed")
"""

ASYNCIO_OUT = """\
tcp: ['echo:CLIENT 0', 'echo:CLIENT 1', 'echo:CLIENT 2', 'echo:CLIENT 3', 'echo:CLIENT 4']
unix: ['echo:CLIENT 0', 'echo:CLIENT 1']
subprocess: THROUGH A SUBPROCESS 0
wait_for timed out
timers: ['first', 'second', 'third']
loop closed
"""

PTY = r"""
import os, pty, sys, termios, tty

master, slave = os.openpty()
print("openpty:", os.isatty(master), os.isatty(slave), os.ttyname(slave).startswith("/dev/pts/"))
attrs = termios.tcgetattr(slave)
print("echo on:", bool(attrs[3] & termios.ECHO), "icanon:", bool(attrs[3] & termios.ICANON))
os.write(master, b"abc\x7fd\n")  # a backspace erases c
print("slave reads:", os.read(slave, 100))
print("master sees the echo:", os.read(master, 100))
tty.setraw(slave)
os.write(master, b"x")
print("raw read:", os.read(slave, 100))
os.close(slave)
os.close(master)
sys.stdout.flush()

status = pty.spawn(["sh", "-c", "read line; echo got: $line; exit 3"])
print()
print("status:", os.waitstatus_to_exitcode(status))
"""

PTY_OUT = b"""\
openpty: True True True
echo on: True icanon: True
slave reads: b'abd\\n'
master sees the echo: b'abc\\x08 \\x08d\\r\\n'
raw read: b'x'
typed line\r
got: typed line\r

status: 3
"""


def _stdlib() -> dict[str, str]:
    base = PYTHON.resolve().parent.parent / "lib" / PYTHON.resolve().name
    files = {}
    for dirpath, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if d not in UNUSED and not d.startswith(UNUSED_PREFIX)]
        for name in names:
            p = Path(dirpath, name)
            if p.is_file() and not p.is_symlink():
                files[str(p)] = str(p)
    return files


@pytest.fixture(scope="module")
def python_files() -> dict[str, str]:
    if not PYTHON.exists():
        pytest.skip(f"{PYTHON} missing (the Makefile's DEB_PACKAGES install python3)")
    try:
        files = rootfs.host_program_files(str(PYTHON.resolve()))
    except OSError as e:
        pytest.skip(f"the host cannot list {PYTHON}'s libraries: {e}")
    files[str(PYTHON)] = str(PYTHON.resolve())
    files.update(_stdlib())
    return files


def _compare(argv: list[str], files: dict, platform: str, tmp_path: Path, input: bytes,
             expected: bytes) -> None:  # fmt: skip
    ok, _why = harness.native_possible()
    if ok:
        want = harness.run_native(tmp_path / "native-root", argv, files=files, input=input)
        assert (want.returncode, want.stdout) == (0, expected), want
    got = harness.run_twaron(argv, files=files, platform=platform, input=input, timeout=600)
    assert (got.returncode, got.stdout, got.stderr) == (0, expected, b"")


def test_asyncio(python_files, twaron_platform, tmp_path):
    argv = [str(PYTHON), "-c", ASYNCIO]
    _compare(argv, python_files, twaron_platform, tmp_path, b"", ASYNCIO_OUT.encode())


def test_pty_spawn(python_files, twaron_platform, tmp_path):
    argv = [str(PYTHON), "-c", PTY]
    _compare(argv, python_files, twaron_platform, tmp_path, b"typed line\n", PTY_OUT)
