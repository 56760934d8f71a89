"""Argument parsing of `twaron`, with twaron.api replaced by a recorder."""

from __future__ import annotations

import sys
import types

import pytest

from twaron.cli import main
from twaron.config import DEFAULT_MEMORY, Config, default_env, parse_add, parse_size
from twaron.platform import PlatformUnavailable


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """Substitute twaron.api (the CLI looks it up in sys.modules) with a recorder."""
    seen: list[Config] = []

    def run_console(config: Config) -> int:
        seen.append(config)
        return 7

    fake = types.ModuleType("twaron.api")
    fake.run_console = run_console  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "twaron.api", fake)
    return seen


def test_run_defaults(calls: list[Config]) -> None:
    assert main(["run", "--", "/bin/busybox", "true"]) == 7
    (c,) = calls
    assert c.argv == ["/bin/busybox", "true"]
    assert (c.platform, c.rootfs, c.memory, c.rng, c.seed) == (
        "auto",
        None,
        DEFAULT_MEMORY,
        "chacha20",
        None,
    )
    assert (c.trace, c.add_files, c.init, c.timeout) == (False, [], False, None)
    assert c.env == default_env()


def test_run_all_options(calls: list[Config]) -> None:
    rc = main([
        "run", "--platform", "unicorn", "--rootfs", "/srv/root", "--memory", "1G",
        "--rng", "splitmix64", "--seed", "0x2a", "--trace", "--add", "/tmp/a.out:/bin/a",
        "--add", "hello", "--timeout", "2.5", "--init", "--", "sh", "-c", "echo hi",
    ])  # fmt: skip
    assert rc == 7
    (c,) = calls
    assert c.argv == ["sh", "-c", "echo hi"]
    assert c.platform == "unicorn" and c.rootfs == "/srv/root" and c.memory == 1 << 30
    assert c.rng == "splitmix64" and c.seed == 42 and c.trace and c.init and c.timeout == 2.5
    assert c.add_files == [("/tmp/a.out", "/bin/a"), ("hello", "/hello")]


def test_program_options_belong_to_the_guest(calls: list[Config]) -> None:
    assert main(["run", "--trace", "busybox", "ls", "--trace", "-l"]) == 7
    assert calls[0].argv == ["busybox", "ls", "--trace", "-l"] and calls[0].trace


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["run", "--"],
        ["run", "--memory", "lots", "--", "x"],
        ["run", "--platform", "qemu", "--", "x"],
        ["run", "--rng", "rdrand", "--", "x"],
        ["run", "--seed", "abc", "--", "x"],
        ["run", "--timeout", "-1", "--", "x"],
        ["run", "--add", ":/x", "--", "x"],
        [],
        ["frobnicate"],
    ],
)
def test_argument_errors_exit_2(argv: list[str], calls: list[Config]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and calls == []


def test_fuzz_rejects_bad_arguments() -> None:
    for argv in (["fuzz", "anything"], ["fuzz", "--procs", "65"], ["fuzz", "--calls", "0"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2


def test_platform_unavailable_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run_console(config: Config) -> int:
        raise PlatformUnavailable("KVM is not available here")

    fake = types.ModuleType("twaron.api")
    fake.run_console = run_console  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "twaron.api", fake)
    assert main(["run", "--platform", "kvm", "--", "/bin/true"]) == 1
    assert capsys.readouterr().err == "twaron: KVM is not available here\n"


def test_parse_size() -> None:
    assert parse_size("512M") == 512 << 20
    assert parse_size("1G") == 1 << 30
    assert parse_size("64K") == 65536
    assert parse_size("64k") == 65536
    assert parse_size("2MiB") == 2 << 20
    assert parse_size("4096") == 4096
    for bad in ("", "M", "1.5G", "-1", "0", "12X"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_parse_add() -> None:
    assert parse_add("/tmp/x") == ("/tmp/x", "/x")
    assert parse_add("/tmp/x:/usr/bin/") == ("/tmp/x", "/usr/bin/x")
    assert parse_add("a.out:/bin/prog") == ("a.out", "/bin/prog")
    with pytest.raises(ValueError):
        parse_add("a.out:relative")


def test_config_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    assert Config().env == {
        "PATH": "/sbin:/usr/sbin:/bin:/usr/bin",
        "HOME": "/root",
        "TERM": "linux",
    }
    monkeypatch.setenv("TERM", "xterm-256color")
    assert Config().env["TERM"] == "xterm-256color"  # type: ignore[index]
    assert Config(env={}).env == {}
    assert Config(env={"A": "1"}).envp() == [b"A=1"]
    with pytest.raises(ValueError):
        Config(platform="qemu")
    with pytest.raises(ValueError):
        Config(rng="rdrand")
