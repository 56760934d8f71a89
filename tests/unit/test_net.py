"""The socket layer's pieces that need no guest: --trace's socket formats, the AF_UNIX
address rules, SOL_SOCKET values kept as Linux keeps them, each kernel's own tables."""

from __future__ import annotations

import struct

import pytest

from twaron.arch.x86_64.errno import EDOM, EINVAL
from twaron.errors import KernelError
from twaron.net import unix
from twaron.net.socket import FAMILIES, Sink, Sock, _timeval
from twaron.syscalls import trace


def test_sockaddr_formats() -> None:
    f = trace.sockaddr_str
    assert f(b"\x01\x00/tmp/s\x00junk") == '{sa_family=AF_UNIX, sun_path="/tmp/s"}'
    assert f(b"\x01\x00\x00name") == '{sa_family=AF_UNIX, sun_path=@"name"}'
    assert f(b"\x01\x00") == "{sa_family=AF_UNIX}"
    inet = struct.pack("<H", 2) + struct.pack(">H", 80) + bytes([127, 0, 0, 1]) + bytes(8)
    assert f(inet) == '{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}'
    assert trace._sock_type(0o2004001) == "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"
    assert trace.flags_str(trace.MSG_FLAGS, 0x4040) == "MSG_DONTWAIT|MSG_NOSIGNAL"


def test_unix_address_rules() -> None:
    for bad in (b"", b"\x01", b"\x02\x00/x", b"\x01\x00" + b"x" * 109):
        with pytest.raises(KernelError) as e:
            unix.validate_addr(bad)
        assert e.value.errno == EINVAL
    unix.validate_addr(b"\x01\x00" + b"x" * 108)
    assert unix._sun_path(b"\x01\x00abc\x00def") == b"abc"
    assert unix._sun_path(b"\x01\x00abc") == b"abc"
    assert FAMILIES[1] is unix.UNIX


class _Net:
    def monotonic(self) -> float:
        return 0.0


def test_timeouts_kept_in_jiffies() -> None:
    sk = Sock.__new__(Sock)
    sk.__init__(_Net(), 1, 0)  # type: ignore[arg-type]
    sk._set_timeout(20, struct.pack("<qq", 1, 500000))
    assert _timeval(sk.rcvtimeo) == struct.pack("<qq", 1, 500000)
    with pytest.raises(KernelError) as e:
        sk._set_timeout(20, struct.pack("<qq", 0, 1_000_000))
    assert e.value.errno == EDOM
    sk._set_timeout(21, struct.pack("<qq", -1, 0))  # negative: no wait at all, shown as 0
    assert _timeval(sk.sndtimeo) == bytes(16)


def test_sink_collects_or_scatters() -> None:
    s = Sink(5)
    s.put(b"ab")
    s.put(b"cde")
    assert s.data() == b"abcde" and s.left == 0
