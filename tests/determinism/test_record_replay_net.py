"""`--record` of runs that talk to the outside world (`--net host`, `--publish`): what the host
sockets brought in is in the record, so `twaron replay` gives the same output with the host
peer gone and opens no host socket; a record that was tampered with is reported as
diverging, never with a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

DIVERGED = 125
REPO = Path(__file__).resolve().parents[2]


class HostServer:
    """A TCP server on 127.0.0.1 (a thread): each connection's first line gets
    "pong: LINE" back, then the server closes it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # stopped
            with conn:
                conn.settimeout(30)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(100)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(b"pong: " + data)
            self.served += 1

    def stop(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


class HostClient:
    """A TCP client (a thread) of a published port: sends a line, reads the reply to the end;
    tries again while nothing in the guest listens yet (the connection is closed at once)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reply = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set() and not self.reply:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=30) as c:
                    c.sendall(b"hello from the host\n")
                    c.shutdown(socket.SHUT_WR)
                    while chunk := c.recv(100):
                        self.reply += chunk
            except OSError:
                pass
            self.stop.wait(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _twaron(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m twaron ARGS` from this tree (as conftest's cli, for a module fixture)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "twaron", *args], env=env, capture_output=True,
                          timeout=300, cwd=str(REPO), stdin=subprocess.DEVNULL)  # fmt: skip


def _lines(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


@pytest.fixture(scope="module")
def client_record(tmp_path_factory):
    """A recorded --net host run whose guest asks a host server: (record, its run)."""
    record = tmp_path_factory.mktemp("net") / "client.rec"
    server = HostServer()
    try:
        run = _twaron("run", "--net", "host", "--record", str(record), "--", "sh", "-c",
                         f"echo request | nc 127.0.0.1 {server.port}; echo status=$?")  # fmt: skip
    finally:
        server.stop()
    assert server.served == 1
    return record, run


def test_net_host_client_replays_without_the_server(client_record, cli):
    record, run = client_record
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"pong: request\nstatus=0\n"
    nets = [e["net"] for e in _lines(record) if "net" in e]
    assert nets[:1] == ["connected"] and "data" in nets and nets[-1] == "eof"
    assert any(e.get("op") == "connect" for e in _lines(record))  # a host call, recorded
    replay = cli("replay", str(record))  # the server is stopped: nothing listens there now
    assert replay.stderr == b""
    assert replay.returncode == 0 and replay.stdout == run.stdout


def test_published_server_replays_without_the_client(cli, tmp_path):
    record = tmp_path / "server.rec"
    port = _free_port()
    client = HostClient(port)
    try:
        run = cli("run", "-p", f"{port}:8080", "--record", str(record), "--", "sh", "-c",
                  "echo reply-from-guest | nc -l -p 8080; echo status=$?")  # fmt: skip
    finally:
        client.stop.set()
        client.thread.join(30)
    assert run.returncode == 0, run.stderr
    assert client.reply == b"reply-from-guest\n"
    assert run.stdout == b"hello from the host\nstatus=0\n"
    assert "pub_accept" in [e.get("net") for e in _lines(record)]
    # No client now, and the host port is free: the replay must not listen there.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        replay = cli("replay", str(record))
    assert replay.stderr == b""
    assert replay.returncode == 0 and replay.stdout == run.stdout


def _tampered(record: Path, dest: Path, change) -> Path:
    lines = _lines(record)
    change(lines)
    dest.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return dest


def _other_data(lines: list[dict]) -> None:
    event = next(e for e in lines if e.get("net") == "data")
    event["data"] = "cG9uZzogUkVRVUVTVAo="  # "pong: REQUEST\n"


def _refused(lines: list[dict]) -> None:
    call = next(e for e in lines if e.get("op") == "connect")
    call.pop("ret", None)
    call["err"] = 111  # ECONNREFUSED


def _no_eof(lines: list[dict]) -> None:
    lines.remove(next(e for e in lines if e.get("net") == "eof"))


def _other_socket(lines: list[dict]) -> None:
    next(e for e in lines if e.get("net") == "data")["sock"] = 99


def _other_call(lines: list[dict]) -> None:
    next(e for e in lines if e.get("op") == "connect")["op"] = "bind"


def _bad_base64(lines: list[dict]) -> None:
    next(e for e in lines if e.get("net") == "data")["data"] = "%%%"


@pytest.mark.parametrize("change", [_other_data, _refused, _no_eof, _other_socket, _other_call,
                                    _bad_base64])  # fmt: skip
def test_tampered_net_record_diverges(client_record, cli, tmp_path, change):
    record, _ = client_record
    replay = cli("replay", str(_tampered(record, tmp_path / "t.rec", change)))
    assert replay.returncode == DIVERGED
    assert b"twaron replay: diverged:" in replay.stderr
    assert b"Traceback" not in replay.stderr


def test_deterministic_net_host_run(cli):
    """--deterministic with --net host (no record): allowed, and it talks to the host."""
    server = HostServer()
    try:
        r = cli("run", "--deterministic", "--net", "host", "--", "sh", "-c",
                f"echo again | nc 127.0.0.1 {server.port}")  # fmt: skip
    finally:
        server.stop()
    assert r.returncode == 0 and r.stdout == b"pong: again\n", r.stderr


class UdpEcho:
    """A UDP echo server on 127.0.0.1 (a thread): "echo: " and the datagram back."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(1000)
                self.sock.sendto(b"echo: " + data, peer)
            except OSError:
                return

    def stop(self) -> None:
        self.sock.close()
        self.thread.join(10)


def test_udp_poll_and_nonblocking_connect_replay(host_peer, cli, tmp_path):
    """A datagram's answer waited for with poll's timeout, a non-blocking connect, a refused
    one: recorded, and replayed with every host server gone."""
    record = tmp_path / "peer.rec"
    udp, tcp, closed = UdpEcho(), HostServer(), _free_port()
    try:
        run = cli("run", "--net", "host", "--record", str(record), "--add",
                  f"{host_peer}:/host_peer", "--", "/host_peer", str(udp.port), str(tcp.port),
                  str(closed))  # fmt: skip
    finally:
        udp.stop()
        tcp.stop()
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().splitlines() == [
        "udp poll=1 revents=1",
        "udp got 10 'echo: ping' from the port asked: 1",
        "tcp connect=-1 Operation in progress",
        "tcp poll=1",
        "tcp SO_ERROR=0",
        "tcp send=8",
        "tcp reply 'pong: request",
        "' then 0",
        "closed port connect=-1 Connection refused",
    ]
    replay = cli("replay", str(record))
    assert replay.stderr == b""
    assert replay.returncode == 0 and replay.stdout == run.stdout
