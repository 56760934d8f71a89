"""Scheduling attributes: the sched_* calls, nice values (getpriority, setpriority) and CPU
affinity (Linux's kernel/sched/core.c and kernel/sys.c).

twaron has one guest CPU and one round-robin scheduler (process/sched.py): the policies,
real-time priorities, deadline parameters, nice values and affinity masks are kept per thread
and reported, with Linux's checks and permissions (CAP_SYS_NICE: root here; RLIMIT_NICE and
RLIMIT_RTPRIO for others), inherited across fork (SCHED_RESET_ON_FORK honoured), but the
scheduler gives every runnable thread the same turns.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    MAX_NICE,
    MAX_RT_PRIO,
    MIN_NICE,
    PAGE_SIZE,
    PRIO_PGRP,
    PRIO_PROCESS,
    PRIO_USER,
    RLIMIT_NICE,
    RLIMIT_RTPRIO,
    SCHED_ATTR_SIZE_VER0,
    SCHED_ATTR_SIZE_VER1,
    SCHED_BATCH,
    SCHED_DEADLINE,
    SCHED_FIFO,
    SCHED_FLAG_ALL,
    SCHED_FLAG_KEEP_PARAMS,
    SCHED_FLAG_KEEP_POLICY,
    SCHED_FLAG_RESET_ON_FORK,
    SCHED_FLAG_UTIL_CLAMP_MAX,
    SCHED_FLAG_UTIL_CLAMP_MIN,
    SCHED_IDLE,
    SCHED_NORMAL,
    SCHED_RESET_ON_FORK,
    SCHED_RR,
)
from twaron.arch.x86_64.errno import E2BIG, EACCES, EBUSY, EINVAL, EOPNOTSUPP, EPERM, ESRCH
from twaron.clock import NSEC
from twaron.errors import KernelError
from twaron.process.sched import TIME_SLICE
from twaron.syscalls.process import rlimit
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task

SETPARAM_POLICY = -1  # sched_setparam: keep the policy
VALID_POLICIES = (SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE)
RT_POLICIES = (SCHED_FIFO, SCHED_RR)
FAIR_POLICIES = (SCHED_NORMAL, SCHED_BATCH)
RR_TIMESLICE_NS = 100_000_000  # sched_rr_timeslice_ms
DL_SCALE = 10
DL_PERIOD_MIN_NS, DL_PERIOD_MAX_NS = 100_000, 4_194_304_000  # sysctl_sched_dl_period_*
DL_BANDWIDTH = 0.95  # sched_rt_runtime_us / sched_rt_period_us, for the one CPU
UCLAMP_FLAGS = SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX
# size, policy, flags, nice, priority, runtime, deadline, period, util_min, util_max
SCHED_ATTR = struct.Struct("<IIQiIQQQII")
CPUMASK_SIZE = 8  # one CPU: one unsigned long
ONLINE_CPUS = 0x1


def find_thread(task: Task, pid: int) -> Task:
    """Linux's find_process_by_pid: 0 is the caller, anything else a thread id; ESRCH."""
    if pid == 0:
        return task
    target = task.kernel.pids.threads.get(pid)
    if target is None or target.exited:
        raise KernelError(ESRCH)
    return target


def _capable_nice(task: Task) -> bool:
    return task.cred.euid == 0  # CAP_SYS_NICE


def _same_owner(task: Task, target: Task) -> bool:
    return task.cred.euid in (target.cred.euid, target.cred.uid)


def can_nice(task: Task, target: Task, nice: int) -> bool:
    """Lowering target's nice to `nice`: within its RLIMIT_NICE (20 - nice), or privileged."""
    return 20 - nice <= rlimit(target.group, RLIMIT_NICE)[0] or _capable_nice(task)


# ---- policies and priorities ------------------------------------------------------------


class Attr:
    """Linux's struct sched_attr, as a sched call asks it to be."""

    def __init__(self, policy: int, flags: int = 0, nice: int = 0, priority: int = 0,
                 runtime: int = 0, deadline: int = 0, period: int = 0) -> None:  # fmt: skip
        self.policy = policy
        self.flags = flags
        self.nice = nice
        self.priority = priority & 0xFFFF_FFFF  # u32: a negative priority is out of range
        self.runtime, self.deadline, self.period = runtime, deadline, period


def _checkparam_dl(a: Attr) -> bool:
    """Linux's __checkparam_dl: 1 us <= runtime <= deadline <= period, within the limits."""
    if a.deadline == 0 or a.runtime < 1 << DL_SCALE:
        return False
    if a.deadline >> 63 or a.period >> 63:
        return False
    period = a.period or a.deadline
    if period < a.deadline or a.deadline < a.runtime:
        return False
    return DL_PERIOD_MIN_NS <= period <= DL_PERIOD_MAX_NS


def setscheduler(task: Task, p: Task, a: Attr) -> None:
    """Linux's __sched_setscheduler (user=true): checks in its order, then the change."""
    policy = a.policy
    if policy < 0:
        reset_on_fork, policy = p.reset_on_fork, p.policy
    else:
        reset_on_fork = bool(a.flags & SCHED_FLAG_RESET_ON_FORK)
        if policy not in VALID_POLICIES:
            raise KernelError(EINVAL)
    if a.flags & ~SCHED_FLAG_ALL or a.priority > MAX_RT_PRIO - 1:
        raise KernelError(EINVAL)
    if (policy == SCHED_DEADLINE and not _checkparam_dl(a)) or (
            (policy in RT_POLICIES) != (a.priority != 0)):  # fmt: skip
        raise KernelError(EINVAL)
    if not _capable_nice(task):
        _check_unprivileged(task, p, a, policy, reset_on_fork)
    if a.flags & UCLAMP_FLAGS:
        raise KernelError(EOPNOTSUPP)  # a build without CONFIG_UCLAMP_TASK, as this host's
    if policy == SCHED_DEADLINE and _dl_overflow(p, a):
        raise KernelError(EBUSY)
    p.policy = policy
    p.reset_on_fork = reset_on_fork
    p.rt_priority = a.priority
    p.dl_params = (a.runtime, a.deadline, a.period or a.deadline) \
        if policy == SCHED_DEADLINE else (0, 0, 0)  # fmt: skip
    if policy in FAIR_POLICIES:
        p.nice = a.nice


def _check_unprivileged(task: Task, p: Task, a: Attr, policy: int,
                        reset_on_fork: bool) -> None:  # fmt: skip
    if policy in FAIR_POLICIES and a.nice < p.nice and not can_nice(task, p, a.nice):
        raise KernelError(EPERM)
    if policy in RT_POLICIES:
        rtprio = rlimit(p.group, RLIMIT_RTPRIO)[0]
        if policy != p.policy and not rtprio:
            raise KernelError(EPERM)
        if a.priority > p.rt_priority and a.priority > rtprio:
            raise KernelError(EPERM)
    if policy == SCHED_DEADLINE:
        raise KernelError(EPERM)
    if p.policy == SCHED_IDLE and policy != SCHED_IDLE and not can_nice(task, p, p.nice):
        raise KernelError(EPERM)
    if not _same_owner(task, p):
        raise KernelError(EPERM)
    if p.reset_on_fork and not reset_on_fork:
        raise KernelError(EPERM)


def _dl_overflow(p: Task, a: Attr) -> bool:
    """Admission control: the deadline tasks' bandwidth must fit in 95% of the one CPU."""
    period = a.period or a.deadline
    total = a.runtime / period
    for t in p.kernel.pids.threads.values():
        if t is not p and not t.exited and t.policy == SCHED_DEADLINE:
            total += t.dl_params[0] / t.dl_params[2]
    return total > DL_BANDWIDTH


def _read_param(task: Task, pid: int, param: int) -> tuple[Task, int]:
    if not param or pid < 0:
        raise KernelError(EINVAL)
    (priority,) = struct.unpack("<i", task.mm.copy_in(param, 4))
    return find_thread(task, pid), priority


@syscall("sched_setscheduler")
def sys_sched_setscheduler(task: Task, pid: int, policy: int, param: int, *_: int) -> int:
    pid, policy = s32(pid), s32(policy)
    if policy < 0:
        raise KernelError(EINVAL)
    p, priority = _read_param(task, pid, param)
    flags = 0
    if policy & SCHED_RESET_ON_FORK:  # the legacy way to ask for it
        flags, policy = SCHED_FLAG_RESET_ON_FORK, policy & ~SCHED_RESET_ON_FORK
    setscheduler(task, p, Attr(policy, flags, p.nice, priority))
    return 0


@syscall("sched_setparam")
def sys_sched_setparam(task: Task, pid: int, param: int, *_: int) -> int:
    p, priority = _read_param(task, s32(pid), param)
    setscheduler(task, p, Attr(SETPARAM_POLICY, 0, p.nice, priority))
    return 0


@syscall("sched_getscheduler")
def sys_sched_getscheduler(task: Task, pid: int, *_: int) -> int:
    pid = s32(pid)
    if pid < 0:
        raise KernelError(EINVAL)
    p = find_thread(task, pid)
    return p.policy | (SCHED_RESET_ON_FORK if p.reset_on_fork else 0)


@syscall("sched_getparam")
def sys_sched_getparam(task: Task, pid: int, param: int, *_: int) -> int:
    pid = s32(pid)
    if not param or pid < 0:
        raise KernelError(EINVAL)
    p = find_thread(task, pid)
    priority = p.rt_priority if p.policy in RT_POLICIES else 0
    task.mm.copy_out(param, struct.pack("<i", priority))
    return 0


@syscall("sched_get_priority_max")
def sys_sched_get_priority_max(task: Task, policy: int, *_: int) -> int:
    policy = s32(policy)
    if policy in RT_POLICIES:
        return MAX_RT_PRIO - 1
    if policy in VALID_POLICIES:
        return 0
    raise KernelError(EINVAL)


@syscall("sched_get_priority_min")
def sys_sched_get_priority_min(task: Task, policy: int, *_: int) -> int:
    policy = s32(policy)
    if policy in RT_POLICIES:
        return 1
    if policy in VALID_POLICIES:
        return 0
    raise KernelError(EINVAL)


@syscall("sched_rr_get_interval")
def sys_sched_rr_get_interval(task: Task, pid: int, tp: int, *_: int) -> int:
    """SCHED_RR: Linux's 100 ms; SCHED_FIFO and deadline: 0; the others: twaron's slice."""
    pid = s32(pid)
    if pid < 0:
        raise KernelError(EINVAL)
    p = find_thread(task, pid)
    if p.policy == SCHED_RR:
        ns = RR_TIMESLICE_NS
    elif p.policy in (SCHED_FIFO, SCHED_DEADLINE):
        ns = 0
    else:
        ns = int(TIME_SLICE * NSEC)
    task.mm.copy_out(tp, struct.pack("<qq", ns // NSEC, ns % NSEC))
    return 0


@syscall("sched_getattr")
def sys_sched_getattr(task: Task, pid: int, uattr: int, usize: int, flags: int,
                      *_: int) -> int:  # fmt: skip
    pid, usize = s32(pid), usize & 0xFFFF_FFFF
    if not uattr or pid < 0 or usize > PAGE_SIZE or usize < SCHED_ATTR_SIZE_VER0 or flags:
        raise KernelError(EINVAL)
    p = find_thread(task, pid)
    nice = priority = 0
    runtime = deadline = period = 0
    aflags = SCHED_FLAG_RESET_ON_FORK if p.reset_on_fork else 0
    if p.policy == SCHED_DEADLINE:
        runtime, deadline, period = p.dl_params
    elif p.policy in RT_POLICIES:
        priority = p.rt_priority
    else:
        nice = p.nice
    size = min(usize, SCHED_ATTR.size)
    data = SCHED_ATTR.pack(size, p.policy, aflags, nice, priority, runtime, deadline, period,
                           0, 0)  # fmt: skip
    task.mm.copy_out(uattr, data[:size])
    return 0


@syscall("sched_setattr")
def sys_sched_setattr(task: Task, pid: int, uattr: int, flags: int, *_: int) -> int:
    pid = s32(pid)
    if not uattr or pid < 0 or flags:
        raise KernelError(EINVAL)
    a = _copy_attr(task, uattr)
    if a.policy >= 1 << 31:  # (int)sched_policy < 0
        raise KernelError(EINVAL)
    if a.flags & SCHED_FLAG_KEEP_POLICY:
        a.policy = SETPARAM_POLICY
    p = find_thread(task, pid)
    if a.flags & SCHED_FLAG_KEEP_PARAMS:
        a.nice, a.priority = p.nice, p.rt_priority
        a.runtime, a.deadline, a.period = p.dl_params
    setscheduler(task, p, a)
    return 0


def _copy_attr(task: Task, uattr: int) -> Attr:
    """Linux's sched_copy_attr: a size of 0 means VER0; a size out of range, or bytes past
    what twaron knows that are not zero, is E2BIG with the size it knows written back."""
    (size,) = struct.unpack("<I", task.mm.copy_in(uattr, 4))
    size = size or SCHED_ATTR_SIZE_VER0
    if size < SCHED_ATTR_SIZE_VER0 or size > PAGE_SIZE:
        task.mm.copy_out(uattr, struct.pack("<I", SCHED_ATTR.size))
        raise KernelError(E2BIG)
    raw = task.mm.copy_in(uattr, size)
    if any(raw[SCHED_ATTR.size:]):
        task.mm.copy_out(uattr, struct.pack("<I", SCHED_ATTR.size))
        raise KernelError(E2BIG)
    (_size, policy, flags, nice, priority, runtime, deadline, period, _umin,
     _umax) = SCHED_ATTR.unpack(raw[: SCHED_ATTR.size].ljust(SCHED_ATTR.size, b"\0"))  # fmt: skip
    if flags & UCLAMP_FLAGS and size < SCHED_ATTR_SIZE_VER1:
        raise KernelError(EINVAL)
    nice = max(MIN_NICE, min(MAX_NICE, nice))
    return Attr(policy, flags, nice, priority, runtime, deadline, period)


# ---- nice values --------------------------------------------------------------------------


def _prio_targets(task: Task, which: int, who: int) -> list[Task]:
    """The threads PRIO_PROCESS (a thread id), PRIO_PGRP or PRIO_USER names."""
    if not PRIO_PROCESS <= which <= PRIO_USER:
        raise KernelError(EINVAL)
    threads = [t for t in task.kernel.pids.threads.values() if not t.exited]
    if which == PRIO_PROCESS:
        if who == 0:
            return [task]
        t = task.kernel.pids.threads.get(who)
        return [t] if t is not None and not t.exited else []
    if which == PRIO_PGRP:
        pgid = who or task.group.pgid
        return [t for t in threads if t.group.pgid == pgid]
    uid = who if who else task.cred.uid
    return [t for t in threads if t.cred.uid == uid & 0xFFFF_FFFF]


@syscall("getpriority")
def sys_getpriority(task: Task, which: int, who: int, *_: int) -> int:
    """20 - the lowest nice value among the targets (1..40, so never an error code); the C
    library turns it back into a nice value."""
    targets = _prio_targets(task, s32(which), s32(who))
    if not targets:
        raise KernelError(ESRCH)
    return max(20 - t.nice for t in targets)


@syscall("setpriority")
def sys_setpriority(task: Task, which: int, who: int, prio: int, *_: int) -> int:
    """Linux's set_one_prio for each target: EPERM for another user's thread, EACCES for a
    nice value lower than RLIMIT_NICE allows; the last failure is the answer."""
    targets = _prio_targets(task, s32(which), s32(who))
    if not targets:
        raise KernelError(ESRCH)
    nice = max(MIN_NICE, min(MAX_NICE, s32(prio)))
    error = 0
    for t in targets:
        if not (_same_owner_prio(task, t) or _capable_nice(task)):
            error = EPERM
        elif nice < t.nice and not can_nice(task, t, nice):
            error = EACCES
        else:
            t.nice = nice
    if error:
        raise KernelError(error)
    return 0


def _same_owner_prio(task: Task, target: Task) -> bool:
    """set_one_prio_perm: the caller's effective uid is the target's real or effective."""
    return task.cred.euid in (target.cred.uid, target.cred.euid)


# ---- CPU affinity -------------------------------------------------------------------------


@syscall("sched_setaffinity")
def sys_sched_setaffinity(task: Task, pid: int, length: int, mask: int, *_: int) -> int:
    """One CPU: a mask must include CPU 0 (else EINVAL, as a mask of no online CPU is)."""
    length = length & 0xFFFF_FFFF
    data = task.mm.copy_in(mask, min(length, CPUMASK_SIZE)) if length else b""
    cpus = int.from_bytes(data, "little")
    p = find_thread(task, s32(pid))
    if not _same_owner(task, p) and not _capable_nice(task):
        raise KernelError(EPERM)
    if not cpus & ONLINE_CPUS:
        raise KernelError(EINVAL)
    return 0


@syscall("sched_getaffinity")
def sys_sched_getaffinity(task: Task, pid: int, length: int, mask: int, *_: int) -> int:
    length = length & 0xFFFF_FFFF
    if length * 8 < 1 or length & 7:
        raise KernelError(EINVAL)
    find_thread(task, s32(pid))
    size = min(length, CPUMASK_SIZE)
    task.mm.copy_out(mask, ONLINE_CPUS.to_bytes(CPUMASK_SIZE, "little")[:size])
    return size

