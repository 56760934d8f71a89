"""Units of the internet side: --publish's syntax, the config's checks, the host poller's
one-shot interest, the strace names of the IP/TCP option levels, the CLI options."""

from __future__ import annotations

import os

import pytest

from twaron.cli import build_parser, config_from_args
from twaron.config import Config, Publish
from twaron.hostpoll import HostPoller
from twaron.syscalls import trace

POLLIN, POLLOUT = 0x1, 0x4


@pytest.mark.parametrize("spec, want", [
    ("8080:80", Publish("127.0.0.1", 8080, 80, "tcp")),
    ("0.0.0.0:8080:80", Publish("0.0.0.0", 8080, 80, "tcp")),
    ("5353:53/udp", Publish("127.0.0.1", 5353, 53, "udp")),
    ("[::1]:8080:80/tcp", Publish("::1", 8080, 80, "tcp")),
    (":9000:90", Publish("127.0.0.1", 9000, 90, "tcp")),
])  # fmt: skip
def test_publish_parse(spec: str, want: Publish) -> None:
    assert Publish.parse(spec) == want


@pytest.mark.parametrize("spec", ["80", "a:b", "1:2:3:4", "70000:80", "80:0", "80:80/sctp",
                                  "[::1:80:80"])  # fmt: skip
def test_publish_parse_errors(spec: str) -> None:
    with pytest.raises(ValueError):
        Publish.parse(spec)


def test_config_net_checks() -> None:
    assert Config(argv=["true"]).net == "none"
    assert Config(argv=["true"], publish=["8080:80"]).publish == [Publish("127.0.0.1", 8080, 80)]
    with pytest.raises(ValueError):
        Config(argv=["true"], net="bridge")
    with pytest.raises(ValueError):
        Config(argv=["true"], net="host", publish=["8080:80"])


def test_cli_net_and_publish() -> None:
    args = build_parser().parse_args(["run", "--net", "none", "-p", "8080:80", "--publish",
                                      "127.0.0.1:5353:53/udp", "--", "true"])  # fmt: skip
    cfg = config_from_args(args)
    assert cfg.net == "none"
    assert cfg.publish == [Publish("127.0.0.1", 8080, 80), Publish("127.0.0.1", 5353, 53, "udp")]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "-p", "nope", "--", "true"])


def test_host_poller_one_shot() -> None:
    poller = HostPoller()
    assert not poller and poller.poll(0) == 0
    r, w = os.pipe()
    try:
        seen: list[int] = []
        poller.want(w, POLLOUT, seen.append)
        assert poller
        assert poller.poll(0) == 1 and seen == [POLLOUT]
        assert not poller  # one-shot: a writable pipe does not keep reporting
        assert poller.poll(0) == 0
        poller.want(r, POLLIN, seen.append)
        assert poller.poll(0) == 0
        os.write(w, b"x")
        assert poller.poll(0) == 1 and seen[-1] & POLLIN
        persistent: list[int] = []
        poller.watch(r, POLLIN, persistent.append, persistent=True)
        poller.poll(0)
        poller.poll(0)
        assert len(persistent) == 2
        poller.forget(r)
        assert not poller
    finally:
        os.close(r)
        os.close(w)


def test_option_names() -> None:
    assert trace.TCP_OPT_NAMES[1][1] == "TCP_NODELAY"
    assert trace.TCP_OPT_NAMES[1][11] == "TCP_INFO"
    assert trace.IP_OPT_NAMES[1][2] == "IP_TTL"
    assert trace.IPV6_OPT_NAMES[1][26] == "IPV6_V6ONLY"


def test_trace_shows_inet_calls() -> None:
    """--trace prints internet addresses and option levels as strace does."""
    import re

    import twaron

    r = twaron.run(["sh", "-c", "nc 127.0.0.1 9 </dev/null; nc ::1 9 </dev/null; true"],
                   trace=True, timeout=60)  # fmt: skip
    err = r.stderr.decode()
    assert re.search(r'socket\(AF_INET, SOCK_STREAM, 0\) = \d+', err), err[-2000:]
    assert re.search(r'connect\(\d+, \{sa_family=AF_INET, sin_port=htons\(9\), '
                     r'sin_addr=inet_addr\("127\.0\.0\.1"\)\}, 16\) = -1 ECONNREFUSED', err)
    assert re.search(r'connect\(\d+, \{sa_family=AF_INET6, sin6_port=htons\(9\), '
                     r'sin6_flowinfo=htonl\(0\), inet_pton\(AF_INET6, "::1", &sin6_addr\), '
                     r'sin6_scope_id=0\}, 28\) = -1 ECONNREFUSED', err)
    assert r.oopses == []


def test_publish_port_taken() -> None:
    """A host port that cannot be bound fails the boot (OSError), and the ports published
    before it are closed again."""
    import socket

    import twaron

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    free_port = free.getsockname()[1]
    free.close()
    try:
        with pytest.raises(OSError):
            twaron.run(["true"], publish=[f"{free_port}:80", f"{taken.getsockname()[1]}:81"])
        again = socket.socket()
        again.bind(("127.0.0.1", free_port))  # the first one was let go
        again.close()
    finally:
        taken.close()
