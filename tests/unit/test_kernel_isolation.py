"""Two kernels in one Python process share nothing: each has its own pids, device numbers,
pipe inodes, scheduler, futex queues, syscall contexts, file locks and System V IPC
namespace, so a guest sees the same thing whichever kernel of the process it runs in."""

from __future__ import annotations

from twaron import api
from twaron.config import Config
from twaron.fs.console import Console

# What a guest can see of kernel-wide numbering: its pid, device numbers of its file
# systems, the inode numbers of new pipes (pipefs), a child's pid.
PROBE = ("echo $$; stat -c '%d' / /dev /proc; echo | readlink /proc/self/fd/0; "
         "(true | readlink /proc/self/fd/0); sh -c 'echo $$'; echo end")  # fmt: skip


def _boot(out: bytearray) -> object:
    config = Config(argv=["sh", "-c", PROBE], platform="unicorn", seed=1)
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    return kernel


def test_two_kernels_share_nothing() -> None:
    out_a, out_b = bytearray(), bytearray()
    a, b = _boot(out_a), _boot(out_b)  # both booted before either runs
    for name in ("pids", "sched", "futex_queues", "contexts", "mem", "clock", "rng", "fs",
                 "platform", "syscalls", "unimplemented_calls", "net", "ipc"):  # fmt: skip
        assert getattr(a, name) is not getattr(b, name), name
    assert a.fs.pipefs is not b.fs.pipefs
    assert a.net.sockfs is not b.net.sockfs and a.net.sockfs.dev != 0
    assert a.fs.locks is not b.fs.locks
    assert a.ipc.shm_ids is not b.ipc.shm_ids and a.ipc.sem_ids is not b.ipc.sem_ids
    assert a.run() == 0 and b.run() == 0
    assert not a.oopses and not b.oopses
    assert out_a == out_b, (out_a, out_b)
    assert out_a.split(b"\n")[0] == b"1"  # each kernel's first process is pid 1


def test_finished_runs_free_their_kernels() -> None:
    """A run's kernel (and its guest RAM) goes once the run is over: parked handler contexts
    are suspended greenlets, whose frames the garbage collector cannot see, so they must be
    ended (this leaked ~30 MB a run, gigabytes in a test worker)."""
    import gc

    import twaron
    from twaron.kernel import Kernel

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, Kernel) for o in gc.get_objects())

    before = alive()
    for _ in range(3):  # a pipeline: the shell's wait4 and cat's read sleep in contexts
        r = twaron.run(["sh", "-c", "(sleep 0.01; echo a) | cat"], platform="unicorn")
        assert r.stdout == b"a\n"
    assert alive() <= before + 1  # (the last one may wait for the next run to replace it)
