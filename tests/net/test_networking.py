"""Networking from the outside: --publish (a guest server reached from the host), --net
host (the guest reaching a server on the host's loopback), and load (many concurrent
connections, every byte checked). Host traffic stays on 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import sys
import threading
import urllib.request
from pathlib import Path

import twaron

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
import harness  # noqa: E402

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target() -> None:
        try:
            out["result"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            out["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, out


def host_connection(port: int) -> socket.socket:
    """A connection to twaron's listener on the host, once twaron has booted."""
    for _ in range(600):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            threading.Event().wait(0.1)
    raise AssertionError(f"nothing listens on host port {port}")


def connect_retrying(port: int, attempts: int = 200) -> socket.socket:
    """A connection to the published port once the guest listens (before, twaron closes
    connections at once, as docker does)."""
    for _ in range(attempts):
        s = host_connection(port)
        s.settimeout(30)
        try:
            s.sendall(b"?")
            if s.recv(1) == b"?":
                return s
        except OSError:
            pass
        s.close()
        threading.Event().wait(0.1)
    raise AssertionError("the guest never answered on the published port")


def fetch_retrying(url: str, attempts: int = 200) -> bytes:
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return urllib.request.urlopen(url, timeout=30).read()
        except OSError as e:
            last = e
            threading.Event().wait(0.1)
    raise AssertionError(f"{url}: {last}")


def test_publish_httpd_to_urllib() -> None:
    """BusyBox httpd in the guest, published with -p HOST:8080, fetched by urllib; a CGI
    request ends the guest."""
    port = free_port()
    script = ("mkdir -p /www/cgi-bin && echo '<h1>published</h1>' > /www/index.html && "
              "seq 200000 > /www/big && printf '#!/bin/sh\\necho Content-Type: text/plain\\n"
              "echo\\necho bye\\nkillall httpd\\n' > /www/cgi-bin/stop && "
              "chmod +x /www/cgi-bin/stop && httpd -f -p 8080 -h /www; echo httpd ended")

    def client() -> tuple[bytes, bytes]:
        first = fetch_retrying(f"http://127.0.0.1:{port}/index.html")
        big = urllib.request.urlopen(f"http://127.0.0.1:{port}/big", timeout=30).read()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/cgi-bin/stop", timeout=30).read()
        except OSError:
            pass  # httpd may be gone before the answer is complete
        return first, big

    t, out = run_in_thread(client)
    r = twaron.run(["sh", "-c", script], publish=[f"{port}:8080"], timeout=120)
    t.join(60)
    assert "error" not in out, out.get("error")
    first, big = out["result"]
    assert first == b"<h1>published</h1>\n"
    assert big == b"".join(b"%d\n" % i for i in range(1, 200001))
    assert r.stdout == b"httpd ended\n", r.stderr
    assert r.oopses == []


def test_publish_refused_before_listen_and_udp() -> None:
    """A connection before the guest listens is closed at once; UDP datagrams reach the
    guest's socket and its replies come back."""
    tport, uport = free_port(), free_port()
    prog = harness.build_or_skip("udp_echo", HERE / "c" / "udp_echo.c", 60)

    def client() -> tuple[bytes, bytes]:
        with host_connection(tport) as s:
            s.settimeout(10)
            early = s.recv(10)  # closed at once: nobody listens in the guest on port 80
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(0.5)
        reply = b""
        for _ in range(100):
            u.sendto(b"ping", ("127.0.0.1", uport))
            try:
                reply = u.recv(100)
                break
            except TimeoutError:
                continue
        u.sendto(b"quit", ("127.0.0.1", uport))
        return early, reply

    t, out = run_in_thread(client)
    r = twaron.run(["/udp_echo", "5353"], files={"/udp_echo": str(prog)},
                   publish=[f"{tport}:80", f"127.0.0.1:{uport}:5353/udp"], timeout=60)
    t.join(60)
    assert "error" not in out, out.get("error")
    early, reply = out["result"]
    assert early == b""
    assert reply == b"echo:ping"
    assert r.returncode == 0, r.stderr
    assert r.oopses == []


def test_net_host_reaches_host_server(tmp_path: Path) -> None:
    """--net host: wget in the guest fetches from a server this test runs on 127.0.0.1."""
    (tmp_path / "hello.txt").write_bytes(b"from the host\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = lambda *a, **k: Quiet(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        r = twaron.run(["sh", "-c", f"wget -q -O - http://127.0.0.1:{port}/hello.txt; "
                        f"wget -q -O /dev/null http://127.0.0.1:{port}/missing; echo rc=$?"],
                       net="host", timeout=60)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert r.stdout == b"from the host\nrc=1\n", r.stderr
    assert r.oopses == []


def test_load_guest_echo_200_clients() -> None:
    """A guest echo server and 200 concurrent guest clients moving 64 MiB in all."""
    prog = harness.build_or_skip("echo_load", HERE / "c" / "echo_load.c", 60)
    per_client = (64 << 20) // 200
    r = twaron.run(["/echo_load", "load", "7700", "200", str(per_client)],
                   files={"/echo_load": str(prog)}, timeout=900, memory="1G")  # fmt: skip
    assert r.stdout.decode() == f"clients=200 bytes={per_client * 200} bad=0 failed=0\n", \
        r.stderr[-2000:]  # fmt: skip
    assert r.returncode == 0
    assert r.oopses == []


def test_load_published_echo_50_host_threads() -> None:
    """The guest echo server published on the host, 50 host threads, 64 MiB in all, every
    byte checked."""
    prog = harness.build_or_skip("echo_load", HERE / "c" / "echo_load.c", 60)
    port = free_port()
    per_thread = (64 << 20) // 50
    results: list[int] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        s = connect_retrying(port)
        sent = 0
        bad = 0
        while sent < per_thread:
            n = min(65536, per_thread - sent)
            chunk = bytes((i * 131 + (sent + k) * 7) & 0xFF for k in range(min(n, 251)))
            chunk = (chunk * (n // len(chunk) + 1))[:n]
            s.sendall(chunk)
            got = bytearray()
            while len(got) < n:
                part = s.recv(n - len(got))
                if not part:
                    raise AssertionError("echo closed early")
                got += part
            bad += bytes(got) != chunk
            sent += n
        s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == b""
        s.close()
        with lock:
            results.append(bad)

    def clients() -> None:
        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(50)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(600)

    t, out = run_in_thread(clients)
    guest = threading.Thread(target=lambda: out.setdefault("run", twaron.run(
        ["/echo_load", "serve", "9000", "50"], files={"/echo_load": str(prog)},
        publish={port: 9000}, timeout=700)), daemon=True)  # fmt: skip
    guest.start()
    t.join(700)
    assert "error" not in out, out.get("error")
    assert results == [0] * 50
    guest.join(720)
    assert out["run"].returncode == 0
    assert out["run"].oopses == []


def test_net_host_guest_servers_listen_on_the_host() -> None:
    """--net host: a guest TCP echo server and a guest UDP echo server, reached from the
    host; the guest sleeps in accept, poll and recvfrom on host sockets."""
    prog = harness.build_or_skip("echo_load", HERE / "c" / "echo_load.c", 60)
    udp = harness.build_or_skip("udp_echo", HERE / "c" / "udp_echo.c", 60)
    tport, uport = free_port(), free_port()

    def client() -> tuple[bytes, bytes]:
        s = connect_retrying(tport)
        s.sendall(b"x" * 100000)
        got = b""
        while len(got) < 100000:
            got += s.recv(65536)
        s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(0.5)
        reply = b""
        for _ in range(200):
            u.sendto(b"ping", ("127.0.0.1", uport))
            try:
                reply = u.recv(100)
                break
            except TimeoutError:
                continue
        u.sendto(b"quit", ("127.0.0.1", uport))
        return got, reply

    t, out = run_in_thread(client)
    r = twaron.run(["sh", "-c", f"/udp_echo {uport} & /echo_load serve {tport} 1; wait"],
                   files={"/echo_load": str(prog), "/udp_echo": str(udp)}, net="host",
                   timeout=120)  # fmt: skip
    t.join(60)
    assert "error" not in out, out.get("error")
    got, reply = out["result"]
    assert got == b"x" * 100000
    assert reply == b"echo:ping"
    assert r.returncode == 0, r.stderr
    assert r.oopses == []
