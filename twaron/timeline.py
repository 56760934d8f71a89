"""`--timeline FILE`: the whole run as a Chrome-trace / Perfetto JSON timeline.

A Timeline is a Profiler (twaron.profile) that keeps more than phases. Booted with one
(`kernel.profiler`), the kernel records on it:

- one track per task, named "TID/comm" inside its process ("PID/comm"): every syscall as a
  slice with its decoded arguments and result (syscalls/watch.py), the time it slept inside
  it as a nested "blocked" slice, the exec phases (exec.*: process/execve.py) and fork's
  (fork.*) inside execve and clone, page faults;
- wake-ups as flow arrows from the syscall that woke a task (a pipe write) to the blocked
  syscall it woke (the read), from Task.wake;
- signals taken, exec and exit as instant events on the task's track;
- a "cpu" track whose slices say which task the guest CPU ran (Platform.run), so scheduler
  switches show as one slice ending and the next beginning.

It opens in https://ui.perfetto.dev and chrome://tracing. `twaron profile --trace-out`
writes the same format.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from twaron.profile import Clock, Profiler

CPU_PID = 4_194_304  # the "twaron kernel" process of the trace (PID_MAX_LIMIT: no guest pid)
CPU_TID = CPU_PID  # its one thread: the CPU track, and events of no task


class Timeline(Profiler):
    def __init__(self, clock: Clock = time.perf_counter_ns, max_events: int = 2_000_000) -> None:
        super().__init__(clock, events=True, max_events=max_events)
        # (name, cat, start_ns, dur_ns, tid, args): slices with arguments
        self.slices: list[tuple[str, str, int, int, int, dict[str, Any] | None]] = []
        self.instants: list[tuple[str, str, int, int, dict[str, Any] | None]] = []
        # (id, ts_from, tid_from, ts_to, tid_to): wake-up arrows
        self.flows: list[tuple[int, int, int, int, int]] = []
        self.threads: dict[int, tuple[int, str]] = {}  # tid -> (pid, comm)
        self.run_slices: list[tuple[int, int, int]] = []  # (start, dur, tid) on the CPU track
        self.next_flow = 1

    # ---- what the kernel records ----

    def add(self, name: str, start_ns: int, dur_ns: int, tid: int = 0) -> None:
        """Profiler phases: syscalls are recorded with their arguments by the watch (here
        only tallied); Platform.run goes to the CPU track."""
        if name.startswith("sys."):
            self.tally(name, dur_ns)
        elif name == "platform.run":
            self.tally(name, dur_ns)
            if self._room():
                self.run_slices.append((start_ns, dur_ns, tid))
        else:
            super().add(name, start_ns, dur_ns, tid)

    def thread(self, tid: int, pid: int, comm: bytes) -> None:
        self.threads[tid] = (pid, comm.decode(errors="replace"))

    def slice(self, name: str, cat: str, start_ns: int, dur_ns: int, tid: int,
              args: dict[str, Any] | None = None) -> None:  # fmt: skip
        if start_ns >= self.origin_ns and self._room():  # not begun before a reset
            self.slices.append((name, cat, start_ns, dur_ns, tid, args))

    def instant(self, name: str, cat: str, tid: int, args: dict[str, Any] | None = None) -> None:
        if self._room():
            self.instants.append((name, cat, self.clock(), tid, args))

    def flow(self, ts_from: int, tid_from: int, ts_to: int, tid_to: int) -> None:
        if ts_from >= self.origin_ns and self._room():
            self.flows.append((self.next_flow, ts_from, tid_from, ts_to, tid_to))
            self.next_flow += 1

    def _room(self) -> bool:
        total = len(self.events) + len(self.slices) + len(self.instants) + len(self.flows)
        if total + len(self.run_slices) < self.max_events:
            return True
        self.dropped_events += 1
        return False

    def reset(self) -> None:
        super().reset()
        self.slices.clear()
        self.instants.clear()
        self.flows.clear()
        self.run_slices.clear()

    # ---- the file ----

    def chrome_trace(self) -> dict[str, Any]:
        origin = self.origin_ns
        threads = self.threads

        def us(ns: int) -> float:
            return (ns - origin) / 1000.0

        def where(tid: int) -> tuple[int, int]:
            pid = threads[tid][0] if tid in threads else CPU_PID
            return pid, (tid if tid in threads else CPU_TID)

        out: list[dict[str, Any]] = []
        for name, start, dur, tid in self.events:  # exec.*, fork.*, fault
            pid, t = where(tid)
            out.append({"name": name, "cat": name.split(".", 1)[0], "ph": "X", "ts": us(start),
                        "dur": dur / 1000.0, "pid": pid, "tid": t})  # fmt: skip
        for name, cat, start, dur, tid, args in self.slices:
            pid, t = where(tid)
            ev = {"name": name, "cat": cat, "ph": "X", "ts": us(start), "dur": dur / 1000.0,
                  "pid": pid, "tid": t}  # fmt: skip
            if args:
                ev["args"] = args
            out.append(ev)
        for name, cat, ts, tid, args in self.instants:
            pid, t = where(tid)
            ev = {"name": name, "cat": cat, "ph": "i", "s": "t", "ts": us(ts), "pid": pid,
                  "tid": t}  # fmt: skip
            if args:
                ev["args"] = args
            out.append(ev)
        for fid, ts_from, tid_from, ts_to, tid_to in self.flows:
            pid, t = where(tid_from)
            out.append({"name": "wake", "cat": "wake", "ph": "s", "id": fid, "ts": us(ts_from),
                        "pid": pid, "tid": t})  # fmt: skip
            pid, t = where(tid_to)
            out.append({"name": "wake", "cat": "wake", "ph": "f", "bp": "e", "id": fid,
                        "ts": us(ts_to), "pid": pid, "tid": t})  # fmt: skip
        for start, dur, tid in self.run_slices:
            pid_comm = threads.get(tid)
            label = f"{tid}/{pid_comm[1]}" if pid_comm else str(tid)
            out.append({"name": label, "cat": "sched", "ph": "X", "ts": us(start),
                        "dur": dur / 1000.0, "pid": CPU_PID, "tid": CPU_TID,
                        "args": {"tid": tid}})  # fmt: skip
        out.extend(self._metadata())
        return {"traceEvents": out, "displayTimeUnit": "ns",
                "otherData": {"producer": "twaron", "dropped_events": self.dropped_events}}

    def _metadata(self) -> list[dict[str, Any]]:
        meta: list[dict[str, Any]] = [
            {"name": "process_name", "ph": "M", "pid": CPU_PID, "tid": CPU_TID,
             "args": {"name": "twaron kernel"}},
            {"name": "thread_name", "ph": "M", "pid": CPU_PID, "tid": CPU_TID,
             "args": {"name": "cpu"}},
        ]  # fmt: skip
        named: set[int] = set()
        for tid, (pid, comm) in sorted(self.threads.items()):
            if pid not in named:
                named.add(pid)
                leader = self.threads.get(pid, (pid, comm))[1]
                meta.append({"name": "process_name", "ph": "M", "pid": pid, "tid": pid,
                             "args": {"name": f"{pid}/{leader}"}})  # fmt: skip
            meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                         "args": {"name": f"{tid}/{comm}"}})  # fmt: skip
        return meta

    def dump_chrome_trace(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump(self.chrome_trace(), f)
