"""Process system calls: identity, creation, exec, exit and wait, limits, prctl."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from twaron.arch.x86_64.constants import (
    ARCH_GET_FS,
    ARCH_GET_GS,
    ARCH_SET_FS,
    ARCH_SET_GS,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_SYMLINK_NOFOLLOW,
    CLONE_DETACHED,
    CLONE_PARENT,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    O_NONBLOCK,
    P_ALL,
    P_PGID,
    P_PID,
    P_PIDFD,
    RLIM_INFINITY,
    RLIM_NLIMITS,
    RLIMIT_CORE,
    RLIMIT_CPU,
    RLIMIT_NOFILE,
    RLIMIT_NPROC,
    RLIMIT_STACK,
    SIGCHLD,
    SIGCONT,
    USER_TOP,
    WCONTINUED,
    WEXITED,
    WNOHANG,
    WNOWAIT,
    WSTOPPED,
    WUNTRACED,
)
from twaron.arch.x86_64.errno import EACCES, EAGAIN, EINVAL, EPERM, ESRCH
from twaron.errors import KernelError
from twaron.process import execve as execve_mod
from twaron.process import exit as exits
from twaron.process import pidfd
from twaron.process.fork import do_fork
from twaron.process.task import creds_changed
from twaron.syscalls.table import s32, syscall

if TYPE_CHECKING:
    from twaron.process.task import Task, ThreadGroup

WNOTHREAD, WALL, WCLONE = 0x2000_0000, 0x4000_0000, 0x8000_0000
WALL_FLAGS = WALL | WCLONE | WNOTHREAD
CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3
RLIMIT_DEFAULTS = {
    RLIMIT_STACK: (8 << 20, RLIM_INFINITY),
    RLIMIT_CORE: (0, RLIM_INFINITY),
    RLIMIT_NOFILE: (1024, 4096),
    RLIMIT_NPROC: (63_704, 63_704),
    11: (63_704, 63_704),  # RLIMIT_SIGPENDING
    8: (8 << 20, 8 << 20),  # RLIMIT_MEMLOCK
    12: (819_200, 819_200),  # RLIMIT_MSGQUEUE
    13: (0, 0),  # RLIMIT_NICE
    14: (0, 0),  # RLIMIT_RTPRIO
}


def rlimit(group: ThreadGroup, resource: int) -> tuple[int, int]:
    return group.rlimits.get(resource) or RLIMIT_DEFAULTS.get(resource, (RLIM_INFINITY,) * 2)


# ---- identity --------------------------------------------------------------------------


@syscall("getpid")
def sys_getpid(task: Task, *_: int) -> int:
    return task.group.pid


@syscall("gettid")
def sys_gettid(task: Task, *_: int) -> int:
    return task.tid


@syscall("getppid")
def sys_getppid(task: Task, *_: int) -> int:
    parent = task.group.parent
    return parent.pid if parent is not None else 0


@syscall("getuid")
def sys_getuid(task: Task, *_: int) -> int:
    return task.cred.uid


@syscall("geteuid")
def sys_geteuid(task: Task, *_: int) -> int:
    return task.cred.euid


@syscall("getgid")
def sys_getgid(task: Task, *_: int) -> int:
    return task.cred.gid


@syscall("getegid")
def sys_getegid(task: Task, *_: int) -> int:
    return task.cred.egid


@syscall("getresuid")
def sys_getresuid(task: Task, ruid: int, euid: int, suid: int, *_: int) -> int:
    c = task.cred
    for addr, v in ((ruid, c.uid), (euid, c.euid), (suid, c.suid)):
        task.mm.copy_out(addr, v.to_bytes(4, "little"))
    return 0


@syscall("getresgid")
def sys_getresgid(task: Task, rgid: int, egid: int, sgid: int, *_: int) -> int:
    c = task.cred
    for addr, v in ((rgid, c.gid), (egid, c.egid), (sgid, c.sgid)):
        task.mm.copy_out(addr, v.to_bytes(4, "little"))
    return 0


@syscall("getgroups")
def sys_getgroups(task: Task, size: int, addr: int, *_: int) -> int:
    groups = task.cred.groups
    size = s32(size)
    if size < 0:
        raise KernelError(EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise KernelError(EINVAL)
    task.mm.copy_out(addr, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall("setgroups")
def sys_setgroups(task: Task, size: int, addr: int, *_: int) -> int:
    size = s32(size)
    if task.cred.euid != 0:
        raise KernelError(EPERM)
    if not 0 <= size <= 65536:
        raise KernelError(EINVAL)
    task.cred.groups = list(struct.unpack(f"<{size}I", task.mm.copy_in(addr, 4 * size)))
    return 0


def _set_ids(task: Task, kind: str, real: int, eff: int, saved: int) -> int:
    """setres[ug]id semantics; -1 keeps a value. Unprivileged callers may only permute."""
    c = task.cred
    before = c.copy()
    cur = (getattr(c, kind), getattr(c, "e" + kind), getattr(c, "s" + kind))
    new = []
    for value, old in zip((real, eff, saved), cur, strict=False):
        value = s32(value)
        if value == -1:
            new.append(old)
            continue
        if c.euid != 0 and value not in cur:
            raise KernelError(EPERM)
        new.append(value & 0xFFFF_FFFF)
    setattr(c, kind, new[0])
    setattr(c, "e" + kind, new[1])
    setattr(c, "s" + kind, new[2])
    setattr(c, "fs" + kind, new[1])
    creds_changed(task, before)
    return 0


@syscall("setresuid")
def sys_setresuid(task: Task, r: int, e: int, s: int, *_: int) -> int:
    return _set_ids(task, "uid", r, e, s)


@syscall("setresgid")
def sys_setresgid(task: Task, r: int, e: int, s: int, *_: int) -> int:
    return _set_ids(task, "gid", r, e, s)


@syscall("setuid")
def sys_setuid(task: Task, uid: int, *_: int) -> int:
    if task.cred.euid == 0:
        return _set_ids(task, "uid", uid, uid, uid)
    return _set_ids(task, "uid", -1 & 0xFFFF_FFFF, uid, -1 & 0xFFFF_FFFF)


@syscall("setgid")
def sys_setgid(task: Task, gid: int, *_: int) -> int:
    if task.cred.euid == 0:
        return _set_ids(task, "gid", gid, gid, gid)
    return _set_ids(task, "gid", -1 & 0xFFFF_FFFF, gid, -1 & 0xFFFF_FFFF)


@syscall("setreuid")
def sys_setreuid(task: Task, r: int, e: int, *_: int) -> int:
    return _set_ids(task, "uid", r, e, -1 & 0xFFFF_FFFF)


@syscall("setregid")
def sys_setregid(task: Task, r: int, e: int, *_: int) -> int:
    return _set_ids(task, "gid", r, e, -1 & 0xFFFF_FFFF)


# ---- sessions and process groups ------------------------------------------------------


def _find_group(task: Task, pid: int) -> ThreadGroup:
    if pid == 0:
        return task.group
    group = task.kernel.pids.groups.get(pid)
    if group is None or group.zombie and not group.tasks:
        raise KernelError(ESRCH)
    return group


@syscall("getpgid")
def sys_getpgid(task: Task, pid: int, *_: int) -> int:
    return _find_group(task, s32(pid)).pgid


@syscall("getpgrp")
def sys_getpgrp(task: Task, *_: int) -> int:
    return task.group.pgid


@syscall("getsid")
def sys_getsid(task: Task, pid: int, *_: int) -> int:
    return _find_group(task, s32(pid)).sid


@syscall("setsid")
def sys_setsid(task: Task, *_: int) -> int:
    group = task.group
    if any(g.pgid == group.pid for g in task.kernel.pids.groups.values()):
        raise KernelError(EPERM)  # already a process-group leader
    group.sid = group.pgid = group.pid
    group.tty = None  # proc_clear_tty: a new session has no controlling terminal
    group.tty_old_pgrp = None
    return group.pid


@syscall("setpgid")
def sys_setpgid(task: Task, pid: int, pgid: int, *_: int) -> int:
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise KernelError(EINVAL)
    target = _find_group(task, pid)
    if target is not task.group and target.parent is not task.group:
        raise KernelError(ESRCH)
    if target is not task.group and target.did_exec:
        raise KernelError(EACCES)
    if target.sid == target.pid or target.sid != task.group.sid:
        raise KernelError(EPERM)
    pgid = pgid or target.pid
    if pgid != target.pid and not any(
        g.pgid == pgid and g.sid == target.sid for g in task.kernel.pids.groups.values()
    ):
        raise KernelError(EPERM)
    target.pgid = pgid
    return 0


# ---- creation, exec, exit -------------------------------------------------------------


@syscall("fork")
def sys_fork(task: Task, *_: int) -> int:
    return do_fork(task, SIGCHLD)


@syscall("vfork")
def sys_vfork(task: Task, *_: int) -> int:
    return do_fork(task, CLONE_VM | CLONE_VFORK | SIGCHLD)


@syscall("clone")
def sys_clone(task: Task, flags: int, stack: int, ptid: int, ctid: int, tls: int, *_: int) -> int:
    return do_fork(task, flags & 0xFFFF_FFFF, stack, ptid, ctid, tls, pidfd_addr=ptid)


@syscall("clone3")
def sys_clone3(task: Task, uargs: int, size: int, *_: int) -> int:
    if size < 64 or size > 4096:
        raise KernelError(EINVAL)
    flags, pidfd_addr, ctid, ptid, exit_sig, stack, stack_size, tls = struct.unpack(
        "<8Q", task.mm.copy_in(uargs, 64)
    )
    # clone3_args_valid: no CSIGNAL bits or CLONE_DETACHED in flags, a valid exit signal
    # (none for a thread or CLONE_PARENT), a stack with its size or neither
    if flags & (0xFF | CLONE_DETACHED) or exit_sig > 64:
        raise KernelError(EINVAL)
    if exit_sig and flags & (CLONE_THREAD | CLONE_PARENT) or (stack == 0) != (stack_size == 0):
        raise KernelError(EINVAL)
    sp = stack + stack_size if stack else 0
    return do_fork(task, flags | exit_sig, sp, ptid, ctid, tls, pidfd_addr)


@syscall("execve")
def sys_execve(task: Task, path: int, argv: int, envp: int, *_: int) -> int | None:
    return _execveat(task, AT_FDCWD, path, argv, envp, 0)


@syscall("execveat")
def sys_execveat(task: Task, dirfd: int, path: int, argv: int, envp: int, flags: int,
                 *_: int) -> int | None:  # fmt: skip
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise KernelError(EINVAL)
    return _execveat(task, s32(dirfd), path, argv, envp, flags)


def _execveat(task: Task, dirfd: int, path: int, argv: int, envp: int, flags: int) -> None:
    filename = task.mm.read_cstring(path, 4096)
    total = [0]
    args = execve_mod.read_string_array(task, argv, total)
    env = execve_mod.read_string_array(task, envp, total)
    execve_mod.sys_execve(task, filename, args, env, dirfd, flags)
    return None


@syscall("exit")
def sys_exit(task: Task, code: int, *_: int) -> None:
    """One thread ends. Unless the group was made to exit, the last thread to go sets the
    process's status (Linux's synchronize_group_exit), leader or not."""
    group = task.group
    if group.exit_code is None and not any(t is not task and not t.exited for t in group.tasks):
        group.exit_code = (code & 0xFF) << 8
    exits.exit_task(task)
    return None


@syscall("exit_group")
def sys_exit_group(task: Task, code: int, *_: int) -> None:
    exits.group_exit(task.kernel, task.group, (code & 0xFF) << 8)
    return None


# ---- wait -----------------------------------------------------------------------------

EXITED, STOPPED = exits.EXITED, exits.STOPPED
CLD_STOPPED, CLD_CONTINUED = 5, 6


@syscall("wait4")
def sys_wait4(task: Task, pid: int, wstatus: int, options: int, rusage: int, *_: int) -> int:
    pid = s32(pid)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WALL_FLAGS):
        raise KernelError(EINVAL)
    if pid == -1:
        idtype, ident = P_ALL, 0
    elif pid > 0:
        idtype, ident = P_PID, pid
    else:
        idtype, ident = P_PGID, -pid
    found = exits.wait_child(task, idtype, ident, True, bool(options & WUNTRACED),
                             bool(options & WCONTINUED), bool(options & WNOHANG),
                             options)  # fmt: skip
    if found is None:
        return 0
    child, kind = found
    if kind == EXITED:
        status = child.exit_code or 0
    elif kind == STOPPED:
        status = 0x7F | (child.stop_signal << 8)
    else:
        status = 0xFFFF
    if wstatus:
        task.mm.copy_out(wstatus, status.to_bytes(4, "little"))
    if rusage:
        task.mm.copy_out(rusage, exits.rusage(child))
    exits.consume(task, child, kind)
    return child.pid


@syscall("waitid")
def sys_waitid(task: Task, idtype: int, ident: int, infop: int, options: int, rusage: int,
               *_: int) -> int:  # fmt: skip
    idtype, ident = s32(idtype), s32(ident)
    if options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WALL_FLAGS) or not (
        options & (WEXITED | WSTOPPED | WCONTINUED)
    ):
        raise KernelError(EINVAL)
    nonblock = False
    if idtype == P_PIDFD:  # the process the pidfd names, by its pid (never reused here)
        if ident < 0:
            raise KernelError(EINVAL)
        f, group = pidfd.pidfd_group(task, ident)
        idtype, ident, nonblock = P_PID, group.pid, bool(f.flags & O_NONBLOCK)
    elif idtype not in (P_ALL, P_PID, P_PGID) or (idtype == P_PID and ident <= 0):
        raise KernelError(EINVAL)
    found = exits.wait_child(task, idtype, ident, bool(options & WEXITED),
                             bool(options & WSTOPPED), bool(options & WCONTINUED),
                             bool(options & WNOHANG) or nonblock, options)  # fmt: skip
    if found is None:
        if nonblock and not options & WNOHANG:
            raise KernelError(EAGAIN)  # a O_NONBLOCK pidfd of a running child
        if infop:
            task.mm.copy_out(infop, bytes(128))
        return 0
    child, kind = found
    if kind == EXITED:
        status = child.exit_code or 0
        if status & 0x7F:
            code = CLD_DUMPED if status & 0x80 else CLD_KILLED
            value = status & 0x7F
        else:
            code, value = CLD_EXITED, (status >> 8) & 0xFF
    elif kind == STOPPED:
        code, value = CLD_STOPPED, child.stop_signal
    else:
        code, value = CLD_CONTINUED, SIGCONT
    if infop:
        info = struct.pack("<iii4xiIi", SIGCHLD, 0, code, child.pid, 0, value)
        task.mm.copy_out(infop, info + bytes(128 - len(info)))
    if rusage:
        task.mm.copy_out(rusage, exits.rusage(child))
    if not options & WNOWAIT:
        exits.consume(task, child, kind)
    return 0


# ---- thread start-up bits ---------------------------------------------------------------


@syscall("set_tid_address")
def sys_set_tid_address(task: Task, addr: int, *_: int) -> int:
    task.clear_child_tid = addr
    return task.tid


@syscall("set_robust_list")
def sys_set_robust_list(task: Task, head: int, length: int, *_: int) -> int:
    if length != 24:
        raise KernelError(EINVAL)
    task.robust_list = (head, length)
    return 0


@syscall("get_robust_list")
def sys_get_robust_list(task: Task, pid: int, head_ptr: int, len_ptr: int, *_: int) -> int:
    pid = s32(pid)
    target = task if pid == 0 else task.kernel.pids.threads.get(pid)
    if target is None or target.exited or pid < 0:
        raise KernelError(ESRCH)
    if target.cred.uid != task.cred.euid and task.cred.euid != 0:
        raise KernelError(EPERM)
    task.mm.write_u64(head_ptr, target.robust_list[0])
    task.mm.write_u64(len_ptr, 24)  # sizeof(struct robust_list_head), always
    return 0


@syscall("arch_prctl")
def sys_arch_prctl(task: Task, code: int, addr: int, *_: int) -> int:
    platform = task.kernel.platform
    if code in (ARCH_SET_FS, ARCH_SET_GS):
        if addr >= USER_TOP:
            raise KernelError(EPERM)
        platform.set_reg(task, "fs_base" if code == ARCH_SET_FS else "gs_base", addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        value = platform.get_reg(task, "fs_base" if code == ARCH_GET_FS else "gs_base")
        task.mm.write_u64(addr, value)
        return 0
    raise KernelError(EINVAL)


# ---- resource limits --------------------------------------------------------------------


@syscall("prlimit64")
def sys_prlimit64(task: Task, pid: int, resource: int, new: int, old: int, *_: int) -> int:
    pid = s32(pid)
    group = _find_group(task, pid)
    if resource >= RLIM_NLIMITS:
        raise KernelError(EINVAL)
    current = rlimit(group, resource)
    if new:
        soft, hard = struct.unpack("<QQ", task.mm.copy_in(new, 16))
        if soft > hard:
            raise KernelError(EINVAL)
        if hard > current[1] and task.cred.euid != 0:
            raise KernelError(EPERM)
    if old:
        task.mm.copy_out(old, struct.pack("<QQ", *current))
    if new:
        group.rlimits[resource] = (soft, hard)
        if resource == RLIMIT_CPU:
            group.cpu_check = cpu_check(soft, hard)
    return 0


def cpu_check(soft: int, hard: int) -> float:
    """When the run loop next looks at RLIMIT_CPU: the lower limit, in seconds."""
    lim = min(soft, hard)
    return float("inf") if lim == RLIM_INFINITY else float(lim)


@syscall("getrlimit")
def sys_getrlimit(task: Task, resource: int, addr: int, *_: int) -> int:
    return sys_prlimit64(task, 0, resource, 0, addr)


@syscall("setrlimit")
def sys_setrlimit(task: Task, resource: int, addr: int, *_: int) -> int:
    return sys_prlimit64(task, 0, resource, addr, 0)


@syscall("getrusage")
def sys_getrusage(task: Task, who: int, addr: int, *_: int) -> int:
    who = s32(who)
    g = task.group
    if who == 0:  # RUSAGE_SELF
        data = exits.rusage(g, g.utime, g.stime)
    elif who == -1:  # RUSAGE_CHILDREN: the reaped ones
        data = exits.rusage(g, g.cutime, g.cstime)
    elif who == 1:  # RUSAGE_THREAD
        data = exits.rusage(g, task.utime, 0.0)
    else:
        raise KernelError(EINVAL)
    task.mm.copy_out(addr, data)
    return 0


@syscall("sched_yield")
def sys_sched_yield(task: Task, *_: int) -> int:
    """Go to the back of the run queue (queued now, so the run loop does not put it first
    again); with nothing else runnable, carry on."""
    kernel = task.kernel
    if kernel.sched.runq:
        kernel.sched.yield_cpu(task)
        kernel.platform.request_stop()
    return 0
