"""The parts of the watch: strace's syscall sets and classes, --inject's syntax and
counting, -c's table, the CLI's --trace=SET, the tmpfs quota."""

from __future__ import annotations

import pytest

from twaron.arch.x86_64.errno import EACCES, ENOENT, ENOSPC, ENOSYS
from twaron.cli import build_parser, config_from_args, split_trace_set
from twaron.errors import KernelError
from twaron.mm.page_cache import PageCache, PageQuota
from twaron.mm.physmem import PhysMem
from twaron.syscalls import registry
from twaron.syscalls.classes import SetError
from twaron.syscalls.inject import InjectError, parse_inject, parse_when
from twaron.syscalls.summary import Summary

REG = registry.load()
NR = {e.name: e.nr for e in REG}


def names(spec: str) -> set[str]:
    return {REG.name(nr) for nr in REG.select(spec)}


def test_classes_as_strace():
    assert REG.by_name["openat"].classes == {"desc", "file"}
    assert REG.by_name["connect"].classes == {"network"}
    assert REG.by_name["getpid"].classes == {"pure"}
    assert {"open", "openat", "execve", "unlink", "statfs", "getcwd"} <= names("%file")
    assert "read" not in names("%file") and "read" in names("%desc")
    assert names("%net") == names("%network") == names("network")
    assert {"clone", "fork", "execve", "exit_group", "wait4", "kill"} <= names("%process")
    assert {"mmap", "brk", "mremap", "munmap"} <= names("%memory")
    assert names("%stat") == {"stat"} and names("%%stat") == {"stat", "fstat", "lstat",
                                                              "newfstatat", "statx"}


def test_sets():
    assert names("openat,close") == {"openat", "close"}
    assert names("2") == {"open"}
    assert names("/^getp") == {"getpid", "getppid", "getpgrp", "getpgid", "getpriority",
                               "getpeername", "getpmsg"}
    every = names("all")
    assert names("!openat") == every - {"openat"}
    assert names("!%file,read") == every - names("%file") - {"read"}
    assert names("none") == set() and names("?nosuchcall,read") == {"read"}
    for bad in ("nosuchcall", "%nosuchclass", "read,,write", "/(", "999"):
        with pytest.raises(SetError):
            REG.select(bad)


def test_when():
    assert parse_when("3") == (3, None, 0)
    assert parse_when("3+") == (3, None, 1)
    assert parse_when("3+2") == (3, None, 2)
    assert parse_when("2..4") == (2, 4, 1)
    assert parse_when("2..6+2") == (2, 6, 2)
    for bad in ("0", "x", "3..2", "1..65535", "70000", "2+0x"):
        with pytest.raises(InjectError):
            parse_when(bad)


def due(spec: str) -> list[int]:
    inj = parse_inject(spec, REG.select)
    return [n for n in range(1, 13) if inj.due(n)]


def test_inject_counting():
    assert due("read:error=EIO") == list(range(1, 13))
    assert due("read:error=EIO:when=3") == [3]
    assert due("read:error=EIO:when=3+") == list(range(3, 13))
    assert due("read:error=EIO:when=3+4") == [3, 7, 11]
    assert due("read:error=EIO:when=2..5") == [2, 3, 4, 5]
    assert due("read:error=EIO:when=2..9+3") == [2, 5, 8]
    assert due("read:error=EIO:when=1:when=4") == [4]  # the last when= holds


def test_inject_options():
    inj = parse_inject("openat,close:error=ENOENT:signal=SIGUSR1:delay_exit=1ms",
                       REG.select)  # fmt: skip
    assert inj.nrs == {NR["openat"], NR["close"]} and inj.result == -ENOENT
    assert (inj.signal, inj.delay_exit, inj.replaces) == (10, 1000, True)
    assert parse_inject("read:retval=7", REG.select).result == 7
    assert parse_inject("read:error=13", REG.select).result == -EACCES
    assert not parse_inject("read:signal=9", REG.select).replaces
    assert parse_inject("read", REG.select, fault=True).result == -ENOSYS
    for bad in ("read", "read:error=ENOPE", "read:error=EIO:retval=1", "read:signal=SIGNOPE",
                "read:poke_enter=@arg1=00", "read:color=red", "nosuch:error=EIO",
                "read:syscall=write:error=EIO", "read:error=0"):
        with pytest.raises(InjectError):
            parse_inject(bad, REG.select)


def test_summary_table():
    s = Summary()
    for _ in range(3):
        s.count(NR["read"], 5, 2000)
    s.count(NR["openat"], -ENOENT, 1000)
    s.count(NR["openat"], 3, 1000)
    lines = s.table(REG.name).splitlines()
    assert lines[0] == "% time     seconds  usecs/call     calls    errors syscall"
    assert lines[1] == lines[-2] == "------ ----------- ----------- --------- --------- " \
                                    "----------------"
    assert lines[2] == " 75.00    0.000006           2         3           read"
    assert lines[3] == " 25.00    0.000002           1         2         1 openat"
    assert lines[-1] == "100.00    0.000008           1         5         1 total"


def test_cli_trace_set_and_summary():
    parse = build_parser().parse_args
    args = parse(split_trace_set(["run", "--trace=%file,!close", "--seed", "1", "sh", "-c",
                                  "x --trace=y"]))  # fmt: skip
    c = config_from_args(args)
    assert c.trace and c.trace_filter == "%file,!close" and c.argv == ["sh", "-c", "x --trace=y"]
    c = config_from_args(parse(split_trace_set(["run", "--trace", "sh"])))
    assert c.trace and c.trace_filter is None and c.argv == ["sh"]
    c = config_from_args(parse(["run", "-c", "--inject", "read:error=EIO", "--fail-mem", "5",
                                "--timeline", "t.json", "--tmpfs-size", "1G", "sh"]))
    assert c.summary and not c.trace and c.inject == ["read:error=EIO"] and c.fail_mem == 5
    assert c.timeline == "t.json" and c.tmpfs_size == 1 << 30
    c = config_from_args(parse(["run", "-C", "sh"]))
    assert c.summary and c.trace


def test_page_quota():
    mem = PhysMem(64 * 4096)
    quota = PageQuota(3)
    cache = PageCache(mem, quota)
    assert cache.write(0, b"x" * 4096 * 2) == 8192 and quota.used == 2
    assert cache.write(8192, b"y" * 8192) == 4096  # short: one page was left
    with pytest.raises(KernelError) as e:
        cache.write(3 * 4096, b"z")
    assert e.value.errno == ENOSPC
    cache.truncate(4096)
    assert quota.used == 1
    with pytest.raises(KernelError):
        cache.reserve(0, 10 * 4096)  # all or nothing
    assert quota.used == 1
    cache.reserve(0, 3 * 4096)
    assert quota.used == 3
    cache.release()
    assert quota.used == 0
