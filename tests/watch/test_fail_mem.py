"""--fail-mem: mmap/mremap/brk fail at points the seed decides, the same ones every run."""

from __future__ import annotations

import twaron

SCRIPT = "echo start; ls -l /bin > /dev/null; x=$(cat /etc/passwd); echo done"


def run(percent, seed):
    r = twaron.run(["sh", "-c", SCRIPT], fail_mem=percent, seed=seed, summary=True,
                   trace="%memory")  # fmt: skip
    trace = [line for line in r.stderr.splitlines() if line.startswith(b"[pid")]
    return r.returncode, r.stdout, trace, r.syscall_counts  # (not -c's times)


def test_same_seed_same_failures():
    outcomes = set()
    for seed in (1, 2, 3, 4):
        first = run(30, seed)
        assert run(30, seed) == first  # the trace of every memory call included
        outcomes.add((first[0], first[1]))
    assert len(outcomes) > 1  # the seed does decide something


def test_injected_failures_are_marked():
    rc, out, err, counts = run(100, 7)
    assert rc != 0 and b"done" not in out
    assert any(line.endswith(b"= -1 ENOMEM (Cannot allocate memory) (INJECTED)") for line in err)
    assert counts["mmap"][1] == counts["mmap"][0]  # every mmap failed
    rc, out, err, counts = run(0, 7)
    assert (rc, out) == (0, b"start\ndone\n") and not [line for line in err if b"INJECTED" in line]
