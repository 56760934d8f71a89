"""`-c`/`--summary`: strace -c's table of the run's syscalls, on stderr at the end.

    % time     seconds  usecs/call     calls    errors syscall
    ------ ----------- ----------- --------- --------- ----------------
     61.42    0.001245          12       100           read
    ...
    ------ ----------- ----------- --------- --------- ----------------
    100.00    0.002027           9       214        26 total

As strace -f -c counts: every process of the run together, a call counted once when it
returns (a call that sleeps, once, when it finally returns; exit and exit_group never
return and are not counted), an error being a result in -4095..-1. The time is the time
the kernel spent in the call (strace -c's default, system time): the time a call slept is
left out. Rows are sorted by time, then by syscall number, as strace sorts them.
"""

from __future__ import annotations

from collections.abc import Callable


class Summary:
    __slots__ = ("calls", "errors", "ns")

    def __init__(self) -> None:
        self.calls: dict[int, int] = {}
        self.errors: dict[int, int] = {}
        self.ns: dict[int, int] = {}

    def count(self, nr: int, ret: int, ns: int) -> None:
        self.calls[nr] = self.calls.get(nr, 0) + 1
        self.ns[nr] = self.ns.get(nr, 0) + ns
        if -4095 <= ret < 0:
            self.errors[nr] = self.errors.get(nr, 0) + 1

    def rows(self, name: Callable[[int], str]) -> list[tuple[str, int, int, int]]:
        """(syscall, calls, errors, ns), most time first."""
        order = sorted(self.calls, key=lambda nr: (-self.ns[nr], nr))
        return [(name(nr), self.calls[nr], self.errors.get(nr, 0), self.ns[nr]) for nr in order]

    def table(self, name: Callable[[int], str]) -> str:
        rows = self.rows(name)
        total_ns = sum(r[3] for r in rows)
        dash = "------ ----------- ----------- --------- --------- ----------------"
        lines = [f"{'% time':>6} {'seconds':>11} {'usecs/call':>11} {'calls':>9} "
                 f"{'errors':>9} syscall", dash]  # fmt: skip
        for sc, calls, errors, ns in rows:
            pct = 100.0 * ns / total_ns if total_ns else 0.0
            lines.append(_row(f"{pct:6.2f}", ns, calls, errors, sc))
        lines.append(dash)
        calls = sum(r[1] for r in rows)
        errors = sum(r[2] for r in rows)
        lines.append(_row("100.00", total_ns, calls, errors, "total"))
        return "\n".join(lines) + "\n"


def _row(pct: str, ns: int, calls: int, errors: int, name: str) -> str:
    usecs = ns // 1000 // calls if calls else 0
    err = str(errors) if errors else ""
    return f"{pct:>6} {ns / 1e9:11.6f} {usecs:11d} {calls:9d} {err:>9} {name}"
