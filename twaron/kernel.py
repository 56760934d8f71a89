"""Boot: one kernel instance and the subsystems it is made of.

A Kernel owns everything of one guest: guest memory, the clock, the random generator, the
root filesystem, the pid table, the scheduler, the syscall entry, the platform. Nothing of it
lives in module globals, so two kernels in one Python process share nothing. The work is done
by the subsystems (each a module of its own, as Linux's kernel/ is split):

  syscalls/entry.py    the syscall boundary: dispatch, sleeping handlers, --trace, oopses
  process/runloop.py   the run loop and the idle loop (faults, exceptions, host input)
  process/fork.py      the one process-creation path (init, fork, vfork, clone, threads)
  process/signal.py    signal generation; process/sigframe.py, delivery and restarts
  process/exit.py      exit, wait and reparenting
  process/accounting.py  RLIMIT_CPU and the OOM killer
  process/pid.py       the pid table;  process/sched.py, the scheduler
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from twaron import platform as platforms
from twaron.arch.x86_64.constants import AT_FDCWD, SIGSYS
from twaron.clock import DEFAULT_EPOCH, Clock, VirtualClock
from twaron.config import DEFAULT_DOMAINNAME, DEFAULT_HOSTNAME
from twaron.hostpoll import HostPoller
from twaron.ipc import IpcNamespace
from twaron.mm.physmem import PhysMem
from twaron.mm.vdso import Vdso
from twaron.net import detnet, publish
from twaron.net.socket import NetNamespace
from twaron.process import determinism, runloop
from twaron.process import exit as exits
from twaron.process import signal as sigs
from twaron.process.detsched import DeterministicScheduler
from twaron.process.fork import create_process
from twaron.process.jobctl import JobControl
from twaron.process.pid import PidTable
from twaron.process.record import EventStream
from twaron.process.sched import Scheduler
from twaron.random import make_rng
from twaron.syscalls.entry import SyscallEntry
from twaron.syscalls.hooks import HookError, Hooks

if TYPE_CHECKING:
    from twaron.config import Config
    from twaron.process.task import Task, ThreadGroup
    from twaron.profile import Profiler

# The cycle collector's youngest-generation threshold while a guest runs (CPython's: 700).
RUN_GC_THRESHOLD = 20_000


@dataclass
class Oops:
    """A kernel bug caught at the syscall boundary or in the run loop."""

    pid: int
    where: str
    args: tuple[int, ...]
    traceback: str

    def report(self) -> str:
        args = ", ".join(f"{a:#x}" for a in self.args)
        return f"twaron: oops in {self.where}({args}) pid {self.pid}\n{self.traceback}"


class Kernel:
    syscall_entry_class = SyscallEntry  # twaron fuzz counts calls with a subclass

    def __init__(self, config: Config, console: Any, profiler: Profiler | None = None) -> None:
        self.config = config
        # --deterministic: virtual time, a seeded scheduler and inputs only at input points
        # (process/detsched.py, process/determinism.py); None of the host's clock or entropy.
        det = config.deterministic
        self.clock: Any = VirtualClock(config.epoch if config.epoch is not None
                                       else DEFAULT_EPOCH) if det else Clock()  # fmt: skip
        if profiler is None and config.timeline:
            from twaron.timeline import Timeline

            profiler = Timeline(self.clock.monotonic_ns) if det else Timeline()
        self.profiler = profiler
        # what -c and the timeline time calls with: the host's counter, or virtual time
        self.perf_ns: Any = self.clock.monotonic_ns if det else time.perf_counter_ns
        # Python hooks (kernel.hooks.before("connect")(fn), ...): registering one puts the
        # watch (syscalls/watch.py) in place; kernel.watch is None while nothing watches.
        self.hooks: Hooks = config.hooks if config.hooks is not None else Hooks()
        self.hook_errors: list[HookError] = []
        self.watch: Any = None
        # record/replay: the running hash of what the kernel does (process/record.py)
        self.events: EventStream | None = None
        self.boot_time = self.clock.monotonic()
        self.mem = PhysMem(config.memory)
        self.rng = make_rng(config.rng, config.seed)
        self.console = console
        self.hostname = (getattr(config, "hostname", None) or "").encode() or DEFAULT_HOSTNAME
        self.domainname = DEFAULT_DOMAINNAME
        self.oopses: list[Oops] = []
        self.unimplemented_calls: Counter[int] = Counter()  # ENOSYS and stubs, by number
        self.pids = PidTable()
        self.sched = DeterministicScheduler(self.clock, config.seed or 0) if det \
            else Scheduler(self.clock)  # fmt: skip
        self.hostpoll = HostPoller()  # host fds guest tasks wait for (console, sockets)
        self.futex_queues: dict = {}  # futex key -> FutexQueue (process/futex.py)
        self.jobctl = JobControl(self)  # what terminals (fs/tty.py) need of processes
        self.syscalls = self.syscall_entry_class(self)
        self.contexts = self.syscalls.contexts
        self.platform: Any = None
        self.platform = platforms.create(config.platform, self.mem, self.syscalls.entry_point(),
                                         deterministic=det)  # fmt: skip
        self.syscalls.platform = self.platform
        self.vdso = Vdso(self.mem, self.clock, self.platform.guest_tsc_offset())
        self.exit_status: int | None = None
        # The task the run loop is running (Linux's `current`): whose syscall a file's read
        # or write serves, for the few that need to know (a socket's sender credentials).
        self.current: Task | None = None
        self.init_group: ThreadGroup | None = None
        self.main_group: ThreadGroup | None = None  # PROGRAM's process
        # Signals to twaron itself (Ctrl-C), for the guest's foreground process group; the
        # wakeup pipe makes the idle loop's select() notice them (api.py sets it up).
        self.host_signals: list[int] = []
        # Ctrl-Z for a pid 1 that does not handle SIGTSTP suspends twaron (api.py sets it)
        self.host_suspend: Any = None
        self.wakeup_fd: int | None = None
        self.wakeup_write_fd: int | None = None
        # --timeout is the operator's wall clock, not the guest's: host time on purpose. A
        # deterministic kernel never reads it: a timer thread raises timeout_fired, which the
        # next input point turns into timeout_due (and a record keeps where that happened).
        self.deadline = time.monotonic() + config.timeout if config.timeout and not det \
            else None  # fmt: skip
        self.timed_out = False
        self.timeout_fired = False
        self.timeout_due = False
        self.replay_divergence: str | None = None
        self.rdrand_rng: Any = None
        from twaron.fs import boot as fs_boot

        self.fs = fs_boot.mount_root(self)
        self.net = NetNamespace(self)  # sockets: sockfs and each family's tables
        # A deterministic kernel's host sockets: their inputs come at input points (detnet.py)
        self.det_net: detnet.DetNet | None = None
        if det and (config.net == "host" or config.publish):
            self.det_net = detnet.DetNet(self.net, replay=config.replay)
        if config.net == "host":
            copy_host_net_files(self)
        if self.det_net is not None and config.publish:
            detnet.start_publish(self.det_net, config.publish)  # never on the host on replay
        elif config.publish:
            publish.start(self.net, config.publish)  # OSError if a host port is taken
        self.ipc = IpcNamespace(self)  # System V IPC: one namespace per kernel
        self.sched.host_wait = partial(runloop.host_wait, self)
        self.sched.wall_deadline = self.deadline
        self.sched.halted = lambda: self.exit_status is not None
        self.platform.others_want_cpu = partial(runloop.others_want_cpu, self)
        if det:
            self._deterministic_boot()

    def _deterministic_boot(self) -> None:
        """Tie the virtual clock to the code the platform executes, the scheduler to the
        platform's budgets, RDTSC to the clock, RDRAND to the seed; host input to input
        points; --timeout to a timer thread that never touches the kernel's clock."""
        self.clock.executed = self.platform.executed
        self.clock.attach(self.platform.det.tsc_state)  # RDTSC computed by the platform's hook
        self.sched.platform = self.platform
        self.rdrand_rng = determinism.random_insn_rng(self.config.seed or 0)
        self.sched.host_wait = determinism.LiveInputs(self)
        self.sched.give_up = self.out_of_time
        if self.config.timeout:
            watchdog = threading.Timer(self.config.timeout, self.fire_timeout)
            watchdog.daemon = True
            watchdog.start()
            self.watchdog: threading.Timer | None = watchdog

    def fire_timeout(self) -> None:
        """--timeout in a deterministic run (the watchdog thread): the next input point
        takes it; the wakeup pipe ends an idle wait on the host."""
        self.timeout_fired = True
        if self.wakeup_write_fd is not None:
            try:
                os.write(self.wakeup_write_fd, b"t")
            except OSError:
                pass

    def out_of_time(self) -> bool:
        """--timeout has expired (host time; a deterministic run: at an input point)."""
        if self.timeout_due:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def watch_events(self, stream: EventStream | None) -> None:
        """Hash every syscall, turn and console write into stream (record and replay)."""
        self.events = stream
        self.platform.syscall_entry = self.syscalls.entry_point()
        if stream is not None and hasattr(self.console, "on_output"):
            self.console.on_output = stream.output

    @property
    def trace_out(self) -> Any:
        """Where --trace writes (stderr unless the embedding API collects it)."""
        return self.syscalls.trace_out

    @trace_out.setter
    def trace_out(self, out: Any) -> None:
        self.syscalls.trace_out = out

    # ---- the first process -------------------------------------------------------------

    def spawn_init(self, path: bytes, argv: list[bytes], envp: list[bytes]) -> Task:
        """Start PROGRAM: as pid 1 (a container's init), or with --init as pid 2 under a
        minimal in-kernel init that reaps orphans and forwards signals (docker run --init)."""
        from twaron.fs.fdtable import FdTable
        from twaron.process.execve import sys_execve

        def console_fds() -> FdTable:
            files = FdTable()
            for f in self.fs.console_files():
                files.install(f)
            return files

        parent = None
        if self.config.init:
            init = create_process(self, None, console_fds())
            init.comm = b"init"
            init.runnable = False  # it never runs guest code: the kernel acts for it
            parent = self.init_group = init.group
            self.console.set_ctty(parent)  # PROGRAM inherits it
        task = create_process(self, parent, console_fds())
        if parent is None:
            self.init_group = task.group
            self.console.set_ctty(task.group)
        self.main_group = task.group
        if getattr(self.config, "user", None) or getattr(self.config, "workdir", None):
            from twaron.process import container

            container.apply(task, self.config)  # -u, -w
        t0 = self.perf_ns()
        sys_execve(task, path, argv, envp, AT_FDCWD, 0)
        if self.watch is not None:  # strace's first line and first count: PROGRAM's execve
            self.watch.first_exec(task, path, argv, envp, self.perf_ns() - t0)
        self.sched.enqueue(task)
        return task

    @property
    def kernel_init(self) -> bool:
        """pid 1 is twaron's own minimal init (--init), not a guest program."""
        return self.init_group is not self.main_group

    def guest_exists(self, path: bytes) -> bool:
        from twaron.fs import tmpfs

        return tmpfs.resolve_internal(self.fs.root, path.lstrip(b"/")) is not None

    # ---- running ------------------------------------------------------------------------

    def run(self) -> int:
        """Run the guest until pid 1 is gone; its wait status.

        What exists when the run starts (the booted kernel, its caches, the host program's
        own objects) lives through it, and the garbage collector's older generations went
        over all of it again and again: ~4% of fork_exit (6 us an iteration). It is frozen
        out of the collections until the run ends (unless the host program froze objects
        itself: theirs are left as they are). A full collection first (~10 ms): garbage
        frozen now, an earlier kernel with its guest RAM say, would stay for the whole run.

        The youngest generation's threshold goes up for the run (RUN_GC_THRESHOLD): a kernel
        frees processes, files and pages by reference counting, and a young collection's
        cost hardly grows with its size (exec_true: 43 collections of ~90 us in 1,000
        iterations at CPython's 700, one of ~420 us at 5,000)."""
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.collect()
            gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], RUN_GC_THRESHOLD), *thresholds[1:])
        try:
            return runloop.run(self)
        finally:
            self.contexts.close()
            gc.set_threshold(*thresholds)
            if freeze:
                gc.unfreeze()

    def platform_current_is(self, task: Task) -> bool:
        return getattr(self.platform, "current", None) is task

    def host_signal(self, sig: int) -> None:
        """A signal arrived at the twaron process (Ctrl-C in its terminal): queue it for the
        guest's foreground process group. Called from a Python signal handler, which runs in
        the main thread some time after the C handler wrote the wakeup pipe: the pipe gets a
        byte of its own, so that an idle loop that drained it already does not sleep on."""
        self.host_signals.append(sig)
        if not self.clock.deterministic:  # deterministic: taken at the next input point
            self.platform.request_stop()
        if self.wakeup_write_fd is not None:
            try:
                os.write(self.wakeup_write_fd, b"s")
            except OSError:
                pass

    def oops(self, task: Task, where: str, args: tuple[int, ...]) -> None:
        """A kernel bug: report it, kill the offending process with SIGSYS, keep running."""
        oops = Oops(task.pid, where, args, traceback.format_exc())
        self.oopses.append(oops)
        print(oops.report(), file=sys.stderr, flush=True)
        if not task.exited:
            exits.group_exit(self, task.group, sigs.wait_status_for_signal(SIGSYS))

    def report(self, err: Any) -> None:
        """At the end of the run: -c's table, and the timeline file (--timeline)."""
        if self.watch is not None:
            self.watch.report(err)
        path = self.config.timeline
        if path and self.profiler is not None and hasattr(self.profiler, "chrome_trace"):
            self.profiler.dump_chrome_trace(path)

    def shutdown(self, status: int) -> None:
        """pid 1 is gone: every other process is killed, as when a container's init exits."""
        if self.exit_status is not None:
            return
        self.exit_status = status
        for task in list(self.pids.threads.values()):
            task.exited = True
            task.runnable = False

    def unimplemented(self) -> dict[str, int]:
        """The calls made that twaron does not implement (ENOSYS, or a stub), by name, in
        number order; calls whose answer a Linux build may give too (rseq) are not listed."""
        reg = self.syscalls.registry
        return {reg.name(nr): n for nr, n in sorted(self.unimplemented_calls.items())
                if nr not in reg.entries or reg[nr].unimplemented}  # fmt: skip


def copy_host_net_files(kernel: Kernel) -> None:
    """--net host: the guest resolves names as the host does (its /etc/resolv.conf and
    /etc/hosts, copied at boot: nothing of the host is reachable later)."""
    import os

    from twaron.fs import tmpfs
    from twaron.fs.rootfs import add_host_file

    recorded = kernel.config.net_files
    if recorded is not None:  # twaron replay: the recorded run's files, not this host's
        for path, (mode, data) in recorded.items():
            tmpfs.add_file(kernel.fs.root, path.encode(), data, mode & 0o7777)
        return
    for path in ("/etc/resolv.conf", "/etc/hosts"):
        if os.path.isfile(path):
            add_host_file(kernel, kernel.fs.root, path, path)


def status_to_exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128+N for signal N."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF
