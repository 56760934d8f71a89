"""twaron image build's parts (no network): the host's apt sources as mmdebstrap mirrors,
the container runtime's files, the cache key; and twaron test python's parsing of
unittest's verbose output and its known-differences file."""

from __future__ import annotations

from twaron import image_build as ib
from twaron.testsuite import python as py

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Enabled: yes

Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
"""


def test_host_sources_and_mirrors(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(DEB822)
    (d / "off.sources").write_text("Types: deb\nURIs: http://x/debian\nSuites: bookworm\n"
                                   "Components: main\nEnabled: no\n")  # fmt: skip
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main\n"
        "deb-src http://mirror.example/debian bookworm main\n")  # fmt: skip
    src = ib.host_sources(d, tmp_path / "sources.list")
    assert [(s.uri, s.suite) for s in src] == [
        ("http://mirror.example/debian", "bookworm"),
        ("http://deb.debian.org/debian", "bookworm"),
        ("http://deb.debian.org/debian", "bookworm-updates"),
        ("http://deb.debian.org/debian-security", "bookworm-security"),
        ("https://deb.nodesource.com/node_20.x", "nodistro"),
    ]
    assert ib.mirrors_for("bookworm", src, "bookworm") == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm main contrib",
        "deb http://deb.debian.org/debian bookworm-updates main contrib",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    ]
    # another suite: the host's codename replaced, pockets kept
    assert ib.mirrors_for("trixie", src[3:], "bookworm") == [
        "deb http://deb.debian.org/debian-security trixie-security main"]
    assert ib.mirrors_for("trixie", [], "bookworm") == [
        "deb http://deb.debian.org/debian trixie main"]


def test_mmdebstrap_argv(tmp_path):
    argv = ib.mmdebstrap_argv("bookworm", tmp_path / "out", ["gcc", "bash", "gcc"],
                              ["deb http://m/debian bookworm main"])  # fmt: skip
    assert "--variant=minbase" in argv and "--include=bash,gcc" in argv
    assert argv[-3:] == ["bookworm", str(tmp_path / "out"), "deb http://m/debian bookworm main"]


def test_runtime_files(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "resolv.conf").symlink_to("/run/systemd/resolve/stub-resolv.conf")
    ib.runtime_files(tmp_path, "box")
    assert (etc / "hostname").read_text() == "box\n"
    assert "127.0.1.1\tbox" in (etc / "hosts").read_text()
    assert not (etc / "resolv.conf").is_symlink()
    assert all((etc / n).stat().st_mode & 0o777 == 0o644 for n in ("hostname", "hosts"))


def test_cache_key():
    a = ib.cache_key("bookworm", ["gcc", "bash"])
    assert a == ib.cache_key("bookworm", ["bash", "gcc", "bash"])
    assert a != ib.cache_key("trixie", ["gcc", "bash"])
    assert a != ib.cache_key("bookworm", ["gcc"])


VERBOSE = """\
0:00:00 load avg: 0.00 [1/1] test_x
test_a (test.test_x.T.test_a) ... ok
test_b (test.test_x.T.test_b) ... skipped 'no reason'
test_c (test.test_x.T.test_c)
A docstring line ... FAIL
test_d (test.test_x.T.test_d) ... some output
ok
test_e (test.test_x.T.test_e) ...
  test_e (test.test_x.T.test_e) (i=1) ... ERROR
test_f (test.test_x.T.test_f) ... expected failure
test_g (test.test_x.T.test_g) ... unexpected success
test_h (test.test_x.T.test_h) ... ERROR
test_i (test.test_x.T.test_i) ... 0.44s ok
0.00s test_j (test.test_x.T.test_j) ... skipped 'not here'
0.00s test_k (test.test_x.T.test_k) ... 1.25s FAIL
----------------------------------------------------------------------
Ran 11 tests in 0.1s
== Tests result: FAILURE ==
"""


def test_verbose_output_parsed():
    r = py.ModuleResult("test_x", "twaron")
    for line in VERBOSE.splitlines():
        r.feed(line)
    assert r.cases == {
        "test.test_x.T.test_a": "pass", "test.test_x.T.test_b": "skip",
        "test.test_x.T.test_c": "fail", "test.test_x.T.test_d": "pass",
        "test.test_x.T.test_e": "error", "test.test_x.T.test_f": "pass",
        "test.test_x.T.test_g": "fail", "test.test_x.T.test_h": "error",
        "test.test_x.T.test_i": "pass", "test.test_x.T.test_j": "skip",
        "test.test_x.T.test_k": "fail",
    }  # fmt: skip
    assert r.counts() == {"pass": 4, "fail": 3, "error": 2, "skip": 2, "run": 11}
    assert (r.ran, r.verdict) == (11, "FAILURE")


def test_known_differences(tmp_path):
    f = tmp_path / "known.txt"
    f.write_text("# c\n\ntest.test_s.UDPLITE -- no UDP-Lite\ntest.test_t.T.test_x -- slow\n")
    known = py.known_differences(f)
    assert py.known_reason("test.test_s.UDPLITE.testRecv", known) == "no UDP-Lite"
    assert py.known_reason("test.test_t.T.test_x", known) == "slow"
    assert py.known_reason("test.test_t.T.test_y", known) is None
    assert py.known_differences()  # the shipped file parses
