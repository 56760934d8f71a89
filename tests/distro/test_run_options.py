"""docker run's options on `twaron run` and twaron.run(): -e, --env-file, -w, -u,
--hostname (and -v's parsing); every run is fresh."""

from __future__ import annotations

import sys
import types

import pytest

import twaron
from twaron.cli import main
from twaron.config import Config, default_env, read_env_file


@pytest.fixture
def calls(monkeypatch):
    """twaron.api replaced by a recorder of the configs the CLI makes."""
    seen: list[Config] = []
    fake = types.ModuleType("twaron.api")
    fake.run_console = lambda config: seen.append(config) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "twaron.api", fake)
    return seen


def test_cli_container_options(calls, tmp_path, monkeypatch):
    envf = tmp_path / "env"
    envf.write_text("# comment\n\nA=1\nB= spaced = \nFROM_HOST\nC=from-file\n")
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.setenv("BARE", "b")
    assert main(["run", "-v", "/srv:/data:ro", "--volume", "/tmp:/t", "-e", "C=cli",
                 "--env", "BARE", "-e", "UNSET_ON_HOST_XYZ", "--env-file", str(envf),
                 "-w", "/data", "-u", "1000:100", "--hostname", "box", "sh"]) == 0  # fmt: skip
    (c,) = calls
    assert [(v.host, v.guest, v.readonly) for v in c.volumes] == [
        ("/srv", "/data", True), ("/tmp", "/t", False)]  # fmt: skip
    assert c.env == {**default_env(), "A": "1", "B": " spaced = ", "FROM_HOST": "h",
                     "C": "cli", "BARE": "b"}  # fmt: skip
    assert (c.workdir, c.user, c.hostname, c.argv) == ("/data", "1000:100", "box", ["sh"])


@pytest.mark.parametrize("bad", [["-v", "rel:/x"], ["-w", "rel"], ["-u", ":5"],
                                 ["--env-file", "/nonexistent/env"], ["-e", "=x"]])
def test_cli_refuses_bad_options(calls, bad, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", *bad, "true"])
    assert e.value.code == 2 and not calls


def test_env_file_format(tmp_path):
    f = tmp_path / "e"
    f.write_text("X=a b\n  # indented comment\nY=\nZ='q'\n")
    assert read_env_file(str(f), {}) == {"X": "a b", "Y": "", "Z": "'q'"}


def test_options_in_the_guest():
    r = twaron.run(
        ["/bin/sh", "-c", "id; pwd; echo $HOME $A $B; hostname; uname -n; cat /etc/hostname; "
         "grep -c box /etc/hosts; touch f 2>&1 | sed 's/.*: //'"],
        environment=["A=1"], working_dir="/new/dir", user="65534:65534", hostname="box",
        timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and not r.oopses, r.stderr
    assert r.stdout.decode().splitlines() == [
        "uid=65534(nobody) gid=65534(nogroup)", "/new/dir",
        "/nonexistent 1", "box", "box", "box", "1", "Permission denied"]  # fmt: skip


def test_user_by_name_and_unknown_user():
    r = twaron.run(["/bin/sh", "-c", "id -u; id -g"], user="nobody", timeout=60)
    assert r.stdout == b"65534\n65534\n", r.stderr
    r = twaron.run(["/bin/sh", "-c", "id -u; id -g; echo $HOME"], user=1234, timeout=60)
    assert r.stdout == b"1234\n0\n/\n", r.stderr
    r = twaron.run(["true"], user="nosuchuser", timeout=60)
    assert r.returncode == 125 and b"unable to find user nosuchuser" in r.stderr


def test_every_run_is_fresh():
    r1 = twaron.run(["/bin/sh", "-c", "echo x > /root/kept; ls /root"], timeout=60)
    r2 = twaron.run(["/bin/sh", "-c", "ls /root"], timeout=60)
    assert r1.stdout == b"kept\n" and r2.stdout == b""
