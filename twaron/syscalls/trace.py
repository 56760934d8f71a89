"""`twaron run --trace`: each system call as strace would print it.

    openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
    read(3, "root:x:0:0:root:/root:/bin/sh\\n"..., 4096) = 30
    close(99) = -1 EBADF (Bad file descriptor)

The syscall path calls this only when tracing is on. Two entry points:

- `format_syscall(task, nr, args, result)`: the whole line, after the call. Enough for almost
  every call; input arguments are read from guest memory after the call ran.
- `format_entry(task, nr, args)` before the call, then `format_syscall(..., entry=that)`:
  input arguments are formatted while their memory still exists. Needed for execve (a
  successful exec replaces the address space) and for calls that do not return (exit_group:
  pass result=None and the line ends in "= ?").

Arguments are decoded by the formats the syscall registry holds for each call (Syscall.args,
written in syscalls/facts.py with the formatter vocabulary defined here: one formatter per
argument, or a function for calls whose shape depends on a flag). A formatter that reads guest
memory does so through task.mm.copy_in, and prints the address in hex when that faults, as
strace does. Tracing must never take the kernel down: any exception while formatting an
argument falls back to the raw hex value.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Sequence
from typing import Any

from twaron.arch.x86_64 import constants as C
from twaron.arch.x86_64.errno import ERRNO_NAMES
from twaron.arch.x86_64.unistd import SYSCALL_NAMES
from twaron.errors import KernelError
from twaron.syscalls import registry

MAX_STRLEN = 32  # strace -s default: bytes of a buffer shown before "..."
MAX_ARRAY = 32  # elements of argv / iovec arrays shown before "..."
_PAGE = 4096
_MASK64 = (1 << 64) - 1

# Kernel-internal restart codes (include/linux/errno.h). They are never seen by a guest, but
# a syscall interrupted by a signal reports them before the restart, like strace shows.
_INTERNAL_ERRNO = {
    512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    513: ("ERESTARTNOINTR", "To be restarted"),
    514: ("ERESTARTNOHAND", "To be restarted if no handler"),
    515: ("ENOIOCTLCMD", "Unknown ioctl command"),
    516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
}


def _s32(x: int) -> int:
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x & 0x8000_0000 else x


def _s64(x: int) -> int:
    x &= _MASK64
    return x - (1 << 64) if x & (1 << 63) else x


# ---------------------------------------------------------------- strings and memory


def quote(data: bytes, limit: int = MAX_STRLEN, force_hex: bool = False, more: bool = False) -> str:
    """strace's quoting: C escapes, octal for other non-printables, "..." past `limit`.

    `more` says the guest buffer continues past `data` (so an ellipsis is due even when
    data itself fits). Octal escapes use the fewest digits unless the next byte is an octal
    digit, exactly as strace's string_quote() does.
    """
    truncated = more or len(data) > limit
    data = data[:limit]
    out: list[str] = ['"']
    if force_hex:
        out.extend(f"\\x{c:02x}" for c in data)
    else:
        n = len(data)
        for i, c in enumerate(data):
            if c == 0x22 or c == 0x5C:
                out.append("\\" + chr(c))
            elif 0x20 <= c <= 0x7E:
                out.append(chr(c))
            elif c in _C_ESCAPES:
                out.append(_C_ESCAPES[c])
            elif i + 1 < n and 0x30 <= data[i + 1] <= 0x37:
                out.append(f"\\{c:03o}")
            else:
                out.append(f"\\{c:o}")
    out.append('"')
    if truncated:
        out.append("...")
    return "".join(out)


_C_ESCAPES = {0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def _read(task: Any, addr: int, n: int) -> bytes:
    return bytes(task.mm.copy_in(addr, n))


def read_cstring(task: Any, addr: int, limit: int) -> tuple[bytes, bool]:
    """(bytes before the NUL, whether `limit` was reached without a NUL).

    Reads page by page with copy_in so that a string ending just before an unmapped page
    is still read; faults only if the string itself runs into bad memory.
    """
    out = bytearray()
    while len(out) < limit:
        chunk = min(_PAGE - (addr & (_PAGE - 1)), limit - len(out))
        data = _read(task, addr, chunk)
        nul = data.find(0)
        if nul >= 0:
            out += data[:nul]
            return bytes(out), False
        out += data
        addr += chunk
    return bytes(out), True


def _ptr(v: int) -> str:
    return "NULL" if v == 0 else hex(v & _MASK64)


def _hex0(v: int) -> str:
    """%#x: "0" for zero, 0x... otherwise."""
    return hex(v) if v else "0"


def _oct_mode(v: int) -> str:
    """strace's %#03o: 0644, 000, 0755."""
    return ("0" + format(v, "o")).rjust(3, "0") if v else "000"


# ---------------------------------------------------------------- flag and enum tables


Table = Sequence[tuple[int, str]]


def flags_str(table: Table, v: int, zero: str = "0") -> str:
    """A|B|0x40 for the bits of v named in table, in table order (multi-bit names first)."""
    parts = []
    rest = v
    for bit, name in table:
        if bit and rest & bit == bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) if parts else zero


def _names(*names: str) -> list[tuple[int, str]]:
    return [(getattr(C, n), n) for n in names]


OPEN_FLAGS = _names(
    "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_SYNC", "O_DSYNC",
    "O_DIRECT", "O_LARGEFILE", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH", "O_TMPFILE",
    "O_DIRECTORY", "O_ASYNC",
)  # fmt: skip
_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}


def open_flags(v: int) -> str:
    """O_RDONLY|O_CLOEXEC: the access mode always comes first, as in strace."""
    v &= 0xFFFF_FFFF
    rest = flags_str(OPEN_FLAGS, v & ~C.O_ACCMODE, zero="")
    return _ACCMODE[v & C.O_ACCMODE] + ("|" + rest if rest else "")


PROT_FLAGS = _names("PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_GROWSDOWN", "PROT_GROWSUP")
MAP_FLAGS = _names(
    "MAP_FIXED", "MAP_ANONYMOUS", "MAP_32BIT", "MAP_NORESERVE", "MAP_POPULATE", "MAP_NONBLOCK",
    "MAP_GROWSDOWN", "MAP_DENYWRITE", "MAP_EXECUTABLE", "MAP_LOCKED", "MAP_STACK", "MAP_HUGETLB",
    "MAP_FIXED_NOREPLACE",
)  # fmt: skip
_MAP_TYPES = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}


def map_flags(v: int) -> str:
    t = v & C.MAP_TYPE
    head = _MAP_TYPES.get(t, hex(t))
    rest = flags_str(MAP_FLAGS, v & ~C.MAP_TYPE, zero="")
    return head + ("|" + rest if rest else "")


AT_FLAGS = _names(
    "AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR", "AT_SYMLINK_FOLLOW", "AT_NO_AUTOMOUNT",
    "AT_EMPTY_PATH", "AT_RECURSIVE",
)  # fmt: skip
CLONE_FLAGS = _names(
    "CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_PIDFD", "CLONE_PTRACE",
    "CLONE_VFORK", "CLONE_PARENT", "CLONE_THREAD", "CLONE_NEWNS", "CLONE_SYSVSEM",
    "CLONE_SETTLS", "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID", "CLONE_DETACHED",
    "CLONE_UNTRACED", "CLONE_CHILD_SETTID", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC",
    "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_IO",
)  # fmt: skip
SA_FLAGS = _names(
    "SA_NOCLDSTOP", "SA_NOCLDWAIT", "SA_SIGINFO", "SA_RESTORER", "SA_ONSTACK", "SA_RESTART",
    "SA_NODEFER", "SA_RESETHAND",
)  # fmt: skip
WAIT_FLAGS = _names("WNOHANG", "WUNTRACED", "WEXITED", "WCONTINUED", "WNOWAIT")
GRND_FLAGS = _names("GRND_NONBLOCK", "GRND_RANDOM", "GRND_INSECURE")
MREMAP_FLAGS = _names("MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP")
ACCESS_FLAGS = _names("R_OK", "W_OK", "X_OK")
RENAME_FLAGS = _names("RENAME_NOREPLACE", "RENAME_EXCHANGE", "RENAME_WHITEOUT")
MFD_FLAGS = _names("MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MFD_HUGETLB")
IN_INIT_FLAGS = _names("IN_NONBLOCK", "IN_CLOEXEC")
IN_MASK = _names(
    "IN_ACCESS", "IN_MODIFY", "IN_ATTRIB", "IN_CLOSE_WRITE", "IN_CLOSE_NOWRITE", "IN_OPEN",
    "IN_MOVED_FROM", "IN_MOVED_TO", "IN_CREATE", "IN_DELETE", "IN_DELETE_SELF", "IN_MOVE_SELF",
    "IN_UNMOUNT", "IN_Q_OVERFLOW", "IN_IGNORED", "IN_ONLYDIR", "IN_DONT_FOLLOW",
    "IN_EXCL_UNLINK", "IN_MASK_CREATE", "IN_MASK_ADD", "IN_ISDIR", "IN_ONESHOT",
)  # fmt: skip
SEAL_FLAGS = _names(
    "F_SEAL_SEAL", "F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_WRITE", "F_SEAL_FUTURE_WRITE"
)  # fmt: skip
DN_FLAGS = _names(
    "DN_ACCESS", "DN_MODIFY", "DN_CREATE", "DN_DELETE", "DN_RENAME", "DN_ATTRIB", "DN_MULTISHOT"
)  # fmt: skip
PIDFD_FLAGS = _names("PIDFD_NONBLOCK")
RWF_FLAGS = _names("RWF_HIPRI", "RWF_DSYNC", "RWF_SYNC", "RWF_NOWAIT", "RWF_APPEND")
FD_FLAGS = _names("FD_CLOEXEC")
TIMER_FLAGS = _names("TIMER_ABSTIME")
EPOLL_CREATE_FLAGS = _names("EPOLL_CLOEXEC")
EPOLL_EVENT_FLAGS = _names(
    "EPOLLIN", "EPOLLPRI", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLRDNORM", "EPOLLRDBAND",
    "EPOLLWRNORM", "EPOLLWRBAND", "EPOLLMSG", "EPOLLRDHUP", "EPOLLEXCLUSIVE", "EPOLLWAKEUP",
    "EPOLLONESHOT", "EPOLLET",
)  # fmt: skip
EFD_FLAGS = _names("EFD_SEMAPHORE", "EFD_NONBLOCK", "EFD_CLOEXEC")
TFD_FLAGS = _names("TFD_NONBLOCK", "TFD_CLOEXEC")
TFD_SETTIME_FLAGS = _names("TFD_TIMER_ABSTIME", "TFD_TIMER_CANCEL_ON_SET")
SFD_FLAGS = _names("SFD_NONBLOCK", "SFD_CLOEXEC")


def _enum(prefix: str, *names: str) -> tuple[str, dict[int, str]]:
    return prefix, {getattr(C, n): n for n in names}


def enum_str(enum: tuple[str, dict[int, str]], v: int) -> str:
    """NAME, or 0x3001 /* ARCH_??? */ for values the table does not know."""
    prefix, table = enum
    name = table.get(v)
    return name if name is not None else f"{_hex0(v)} /* {prefix}??? */"


SEEK_WHENCE = _enum("SEEK_", "SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE")
FCNTL_CMDS = _enum(
    "F_", "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK", "F_SETLK",
    "F_SETLKW", "F_SETOWN", "F_GETOWN", "F_SETSIG", "F_GETSIG", "F_DUPFD_CLOEXEC",
    "F_SETPIPE_SZ", "F_GETPIPE_SZ", "F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW",
    "F_SETLEASE", "F_GETLEASE", "F_NOTIFY", "F_ADD_SEALS", "F_GET_SEALS",
)  # fmt: skip
ARCH_PRCTL_CODES = _enum(
    "ARCH_", "ARCH_SET_GS", "ARCH_SET_FS", "ARCH_GET_FS", "ARCH_GET_GS", "ARCH_GET_CPUID",
    "ARCH_SET_CPUID",
)  # fmt: skip
PRCTL_OPTIONS = _enum(
    "PR_", "PR_SET_PDEATHSIG", "PR_GET_PDEATHSIG", "PR_GET_DUMPABLE", "PR_SET_DUMPABLE",
    "PR_GET_KEEPCAPS", "PR_SET_KEEPCAPS", "PR_SET_NAME", "PR_GET_NAME", "PR_CAPBSET_READ",
    "PR_CAPBSET_DROP", "PR_SET_CHILD_SUBREAPER", "PR_GET_CHILD_SUBREAPER",
    "PR_SET_NO_NEW_PRIVS", "PR_GET_NO_NEW_PRIVS",
)  # fmt: skip
CLOCK_IDS = _enum(
    "CLOCK_", "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
    "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
    "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM",
    "CLOCK_BOOTTIME_ALARM", "CLOCK_TAI",
)  # fmt: skip
SCHED_POLICIES = _enum(
    "SCHED_", "SCHED_NORMAL", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_IDLE",
    "SCHED_DEADLINE",
)  # fmt: skip
RLIMIT_RESOURCES = _enum(
    "RLIMIT_", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
    "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
    "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
)  # fmt: skip
SIGPROCMASK_HOW = _enum("SIG_", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK")
EPOLL_CTL_OPS = _enum("EPOLL_CTL_", "EPOLL_CTL_ADD", "EPOLL_CTL_DEL", "EPOLL_CTL_MOD")
MADV_ADVICE = _enum(
    "MADV_", "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED", "MADV_DONTNEED",
    "MADV_FREE", "MADV_REMOVE", "MADV_DONTFORK", "MADV_DOFORK", "MADV_MERGEABLE",
    "MADV_UNMERGEABLE", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE", "MADV_DONTDUMP", "MADV_DODUMP",
    "MADV_COLD", "MADV_PAGEOUT",
)  # fmt: skip
IOCTL_CMDS = _enum(
    "", "TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TIOCSCTTY", "TIOCGPGRP", "TIOCSPGRP",
    "TIOCGWINSZ", "TIOCSWINSZ", "FIONREAD", "FIONBIO", "FIOCLEX", "FIONCLEX", "TIOCNOTTY",
    "TIOCGSID", "TIOCSTI", "TCFLSH", "TCXONC", "TCSBRK", "TIOCOUTQ", "TIOCGPTN", "KDGKBTYPE",
    "VT_GETSTATE", "TCGETS2", "TCSETS2", "TCSETSW2", "TCSETSF2", "TIOCEXCL", "TIOCNXCL",
    "TIOCGEXCL", "TIOCGETD", "TIOCSETD", "TIOCVHANGUP", "TIOCGDEV", "TIOCSIG", "TIOCSPTLCK",
    "TIOCGPTLCK", "TIOCGPTPEER", "TIOCPKT", "TIOCGPKT", "TIOCSBRK", "TIOCCBRK", "TCSBRKP",
)  # fmt: skip
IDTYPES = _enum("P_", "P_ALL", "P_PID", "P_PGID", "P_PIDFD")
FUTEX_OPS = _enum(
    "FUTEX_", "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
    "FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI",
    "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET",
)  # fmt: skip

# Tables whose constants twaron's own code does not need: their values, as strace's xlat.
LOCK_OPS = [(1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN")]
MS_FLAGS = [(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")]
MCL_FLAGS = [(1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")]
MLOCK_FLAGS = [(1, "MLOCK_ONFAULT")]
UMOUNT_FLAGS = [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")]
FALLOC_FLAGS = [
    (1, "FALLOC_FL_KEEP_SIZE"), (2, "FALLOC_FL_PUNCH_HOLE"), (4, "FALLOC_FL_NO_HIDE_STALE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"), (0x10, "FALLOC_FL_ZERO_RANGE"),
    (0x20, "FALLOC_FL_INSERT_RANGE"), (0x40, "FALLOC_FL_UNSHARE_RANGE"),
]  # fmt: skip
ITIMER_WHICH = ("ITIMER_", {0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF"})
XATTR_FLAGS = _names("XATTR_CREATE", "XATTR_REPLACE")
SPLICE_FLAGS = _names("SPLICE_F_MOVE", "SPLICE_F_NONBLOCK", "SPLICE_F_MORE", "SPLICE_F_GIFT")
# System V IPC, as strace prints it
SHMAT_FLAGS = _names("SHM_RDONLY", "SHM_RND", "SHM_REMAP", "SHM_EXEC")
MSG_FLAGS = _names("IPC_NOWAIT", "MSG_NOERROR", "MSG_EXCEPT", "MSG_COPY")
_IPC_GET_FLAGS = _names("IPC_CREAT", "IPC_EXCL", "SHM_HUGETLB", "SHM_NORESERVE")
SHMCTL_CMDS = _enum("SHM_", "IPC_RMID", "IPC_SET", "IPC_STAT", "IPC_INFO", "SHM_LOCK",
                    "SHM_UNLOCK", "SHM_STAT", "SHM_INFO", "SHM_STAT_ANY")  # fmt: skip
SEMCTL_CMDS = _enum("SEM_", "IPC_RMID", "IPC_SET", "IPC_STAT", "IPC_INFO", "GETPID", "GETVAL",
                    "GETALL", "GETNCNT", "GETZCNT", "SETVAL", "SETALL", "SEM_STAT", "SEM_INFO",
                    "SEM_STAT_ANY")  # fmt: skip
MSGCTL_CMDS = _enum("MSG_", "IPC_RMID", "IPC_SET", "IPC_STAT", "IPC_INFO", "MSG_STAT",
                    "MSG_INFO", "MSG_STAT_ANY")  # fmt: skip
PRIO_WHICH = ("PRIO_", {0: "PRIO_PROCESS", 1: "PRIO_PGRP", 2: "PRIO_USER"})
RUSAGE_WHO = ("RUSAGE_", {0: "RUSAGE_SELF", 0xFFFF_FFFF: "RUSAGE_CHILDREN", 1: "RUSAGE_THREAD"})
FADV_ADVICE = ("POSIX_FADV_", {
    0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL",
    3: "POSIX_FADV_WILLNEED", 4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE",
})  # fmt: skip
PTRACE_REQUESTS = ("PTRACE_", {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    16: "PTRACE_ATTACH", 17: "PTRACE_DETACH", 24: "PTRACE_SYSCALL", 0x4200: "PTRACE_SETOPTIONS",
    0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT",
})  # fmt: skip


SIGNAL_NAMES: dict[int, str] = {
    v: n
    for n, v in vars(C).items()
    if n.startswith("SIG") and n[3:].isalnum() and n.isupper() and isinstance(v, int)
    and 1 <= v <= 31 and n not in ("SIGSTKSZ", "SIGRTMIN")
}  # fmt: skip


def signal_name(sig: int) -> str:
    """SIGCHLD; real-time signals as strace: SIGRTMIN, SIGRT_1, ..."""
    if sig in SIGNAL_NAMES:
        return SIGNAL_NAMES[sig]
    if sig == C.SIGRTMIN:
        return "SIGRTMIN"
    if C.SIGRTMIN < sig <= C.NSIG:
        return f"SIGRT_{sig - C.SIGRTMIN}"
    return str(sig)


def sigset_str(mask: int) -> str:
    """[INT TERM], [], or ~[RTMIN RT_1] when more than half the signals are set."""
    bits = [s for s in range(1, C.NSIG + 1) if mask >> (s - 1) & 1]
    if len(bits) > C.NSIG // 2:
        unset = [s for s in range(1, C.NSIG + 1) if not mask >> (s - 1) & 1]
        return "~[" + " ".join(_short_sig(s) for s in unset) + "]"
    return "[" + " ".join(_short_sig(s) for s in bits) + "]"


def _short_sig(s: int) -> str:
    name = signal_name(s)
    return name[3:] if name.startswith("SIG") else name


def errno_str(err: int) -> str:
    """ENOENT (No such file or directory)."""
    if err in _INTERNAL_ERRNO:
        name, msg = _INTERNAL_ERRNO[err]
        return f"{name} ({msg})"
    return f"{ERRNO_NAMES.get(err, str(err))} ({os.strerror(err)})"


# ---------------------------------------------------------------- argument formatters


class Call:
    """What a formatter can see: the task, all six arguments, and the result."""

    __slots__ = ("task", "args", "result", "exiting")

    def __init__(self, task: Any, args: Sequence[int], result: int | None, exiting: bool) -> None:
        self.task = task
        self.args = tuple(args) + (0,) * (6 - len(args))
        self.result = result
        self.exiting = exiting

    @property
    def failed(self) -> bool:
        return self.result is None or -4095 <= self.result < 0


Fmt = Callable[[Call, int], str]


class Arg:
    """One argument's formatter; `out` ones are written by the kernel, printed after the call.

    `fuzz` is the code of the argument generator twaron fuzz draws it from (the arg() switch
    of twaron/fuzz/fuzzer.c): a syscall's codes are derived from its formats, so the
    fuzzer's table never disagrees with what --trace shows of the same arguments."""

    __slots__ = ("fn", "out", "fuzz", "at_entry")

    def __init__(self, fn: Fmt, out: bool = False, fuzz: str = "i",
                 at_entry: Fmt | None = None) -> None:  # fmt: skip
        self.fn = fn
        self.out = out
        self.fuzz = fuzz
        # An in-out value (a socklen_t): what it held before the call, shown as [in => out]
        self.at_entry = at_entry

    def fz(self, code: str) -> Arg:
        """The same format, drawn by the fuzzer as `code` (an offset printed in hex, ...)."""
        return Arg(self.fn, self.out, code, self.at_entry)


def _in(fn: Fmt, fuzz: str = "i") -> Arg:
    return Arg(fn, fuzz=fuzz)


def _out(fn: Fmt) -> Arg:
    """An output argument: the pointer if the call failed, else the decoded contents."""

    def f(c: Call, v: int) -> str:
        if v == 0:
            return "NULL"
        if c.failed:
            return _ptr(v)
        return fn(c, v)

    return Arg(f, out=True, fuzz="p")  # the kernel writes through it: always a pointer


# Fuzz codes (fuzzer.c's arg()): f fd, d dirfd, p pointer, s path, l length, v small count,
# x flags, i int, o offset, m mode, c small selector, a mm address, n pid, k pid that cannot
# reach another fuzzing process, g signal, u uid, w short timeout, z timespec pointer,
# L sigset size, F fcntl command.
D = _in(lambda c, v: str(_s32(v)))  # int
FD = D.fz("f")
PID = D.fz("n")
UID = D.fz("u")
COUNT = D.fz("v")  # iovec and fd-set counts
LD = _in(lambda c, v: str(_s64(v)), "o")  # off_t, long
U = _in(lambda c, v: str(v & _MASK64), "l")  # size_t
SIGSETSIZE = U.fz("L")  # the sigsetsize argument of the rt_sig* calls
X = _in(lambda c, v: _hex0(v & _MASK64), "x")
PTR = _in(lambda c, v: _ptr(v), "p")
ADDR = PTR.fz("a")  # a mapping's address (mmap, munmap, ...), not a pointer to data
OCT = _in(lambda c, v: _oct_mode(v & 0xFFFF_FFFF), "m")
DIRFD = _in(lambda c, v: "AT_FDCWD" if _s32(v) == C.AT_FDCWD else str(_s32(v)), "d")
SIG = _in(lambda c, v: "0" if _s32(v) == 0 else signal_name(_s32(v)), "g")
OFLAGS = _in(lambda c, v: open_flags(v), "x")
PROT = _in(lambda c, v: flags_str(PROT_FLAGS, v & 0xFFFF_FFFF, "PROT_NONE"), "x")
MAPF = _in(lambda c, v: map_flags(v & 0xFFFF_FFFF), "x")


def flags(table: Table, zero: str = "0") -> Arg:
    return _in(lambda c, v: flags_str(table, v & 0xFFFF_FFFF, zero), "x")


def enum(e: tuple[str, dict[int, str]]) -> Arg:
    return _in(lambda c, v: enum_str(e, v & 0xFFFF_FFFF), "c")


def _ipc_get_flags(v: int) -> str:
    """shmget/semget/msgget's flags: IPC_CREAT|IPC_EXCL|0600."""
    v &= 0xFFFF_FFFF
    named = flags_str(_IPC_GET_FLAGS, v & ~0o777, zero="")
    return (named + "|" if named else "") + _oct_mode(v & 0o777)


IPC_KEY = _in(lambda c, v: "IPC_PRIVATE" if not v & 0xFFFF_FFFF else _hex0(v & 0xFFFF_FFFF))
IPC_GET_FLAGS = _in(lambda c, v: _ipc_get_flags(v), "x")
IPC_ID = D.fz("c")  # ids of the objects a fuzzing child made are small


def _path(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    s, more = read_cstring(c.task, v, C.PATH_MAX)
    return quote(s, limit=C.PATH_MAX, more=more)


PATH = _in(_path, "s")  # paths are shown whole, like strace


def _cstr(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    s, more = read_cstring(c.task, v, MAX_STRLEN)
    return quote(s, more=more)


STR = _in(_cstr, "s")  # other C strings: cut at 32 like strace -s


def buf_in(len_index: int) -> Arg:
    """A buffer the guest passes in, of the length in argument len_index (write)."""

    def f(c: Call, v: int) -> str:
        n = c.args[len_index] & _MASK64
        return quote(_read(c.task, v, min(n, MAX_STRLEN)), more=n > MAX_STRLEN)

    return _in(f, "p")


def _buf_result(c: Call, v: int, force_hex: bool = False) -> str:
    n = c.result or 0
    return quote(_read(c.task, v, min(n, MAX_STRLEN)), force_hex=force_hex, more=n > MAX_STRLEN)


BUF_OUT = _out(_buf_result)  # read, readlink: the bytes the call produced, from the result
HEXBUF_OUT = _out(lambda c, v: _buf_result(c, v, force_hex=True))  # getrandom, as strace
CSTR_OUT = _out(_cstr)  # prctl(PR_GET_NAME)
PATH_OUT = _out(_path)  # getcwd


def _stat(c: Call, v: int) -> str:
    data = _read(c.task, v, 56)
    (mode,) = struct.unpack_from("<I", data, 24)
    rdev, size = struct.unpack_from("<Qq", data, 40)
    fmt = mode & C.S_IFMT
    ftype = _S_IFMT_NAMES.get(fmt, _oct_mode(fmt))
    extra = flags_str(_MODE_BITS, mode & 0o7000, zero="")
    perm = ftype + ("|" + extra if extra else "") + "|" + _oct_mode(mode & 0o777)
    if fmt in (C.S_IFCHR, C.S_IFBLK):
        major = ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~0xFFF)
        minor = (rdev & 0xFF) | ((rdev >> 12) & ~0xFF)
        return f"{{st_mode={perm}, st_rdev=makedev({_hex0(major)}, {_hex0(minor)}), ...}}"
    return f"{{st_mode={perm}, st_size={size}, ...}}"


_S_IFMT_NAMES = {
    getattr(C, n): n
    for n in ("S_IFSOCK", "S_IFLNK", "S_IFREG", "S_IFBLK", "S_IFDIR", "S_IFCHR", "S_IFIFO")
}
_MODE_BITS = _names("S_ISUID", "S_ISGID", "S_ISVTX")
STAT_OUT = _out(_stat)


def _file_mode(v: int) -> str:
    """mknod's mode: S_IFIFO|0644, as strace; the bare octal when there is no known type."""
    v &= 0xFFFF_FFFF
    kind = _S_IFMT_NAMES.get(v & C.S_IFMT)
    return f"{kind}|{_oct_mode(v & 0o7777)}" if kind else _oct_mode(v)


FMODE = _in(lambda c, v: _file_mode(v), "m")


def _timespec_at(c: Call, v: int, usec: bool = False) -> str:
    sec, frac = struct.unpack("<qq", _read(c.task, v, 16))
    return f"{{tv_sec={sec}, {'tv_usec' if usec else 'tv_nsec'}={frac}}}"


TIMESPEC_IN = _in(lambda c, v: "NULL" if v == 0 else _timespec_at(c, v), "z")
TIMESPEC_OUT = _out(_timespec_at)
TIMEVAL_OUT = _out(lambda c, v: _timespec_at(c, v, usec=True))
TIMEVAL_IN = _in(lambda c, v: "NULL" if v == 0 else _timespec_at(c, v, usec=True), "p")


def _itimerspec(c: Call, v: int) -> str:
    isec, insec, vsec, vnsec = struct.unpack("<qqqq", _read(c.task, v, 32))
    return (f"{{it_interval={{tv_sec={isec}, tv_nsec={insec}}}, "
            f"it_value={{tv_sec={vsec}, tv_nsec={vnsec}}}}}")  # fmt: skip


ITIMERSPEC_IN = _in(lambda c, v: "NULL" if v == 0 else _itimerspec(c, v), "p")
ITIMERSPEC_OUT = _out(_itimerspec)


def _epoll_event(data: bytes) -> str:
    events, d = struct.unpack("<IQ", data)
    names = flags_str(EPOLL_EVENT_FLAGS, events)
    return f"{{events={names}, data={{u32={d & 0xFFFF_FFFF}, u64={d}}}}}"


def _epoll_events(c: Call, v: int) -> str:
    n = c.result or 0
    items = [_epoll_event(_read(c.task, v + 12 * i, 12)) for i in range(min(n, MAX_ARRAY))]
    return "[" + ", ".join(items + (["..."] if n > MAX_ARRAY else [])) + "]"


EPOLL_EVENT_IN = _in(lambda c, v: "NULL" if v == 0 else _epoll_event(_read(c.task, v, 12)), "p")
EPOLL_EVENTS_OUT = _out(_epoll_events)


def _utsname(c: Call, v: int) -> str:
    data = _read(c.task, v, 130)
    sysname, nodename = (data[i * 65 : (i + 1) * 65].split(b"\0", 1)[0] for i in range(2))
    return f"{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}"


UTSNAME_OUT = _out(_utsname)


def _sysinfo(c: Call, v: int) -> str:
    f = struct.unpack("<q3Q6QH6xQQI", _read(c.task, v, 108))
    names = ("totalram", "freeram", "sharedram", "bufferram", "totalswap", "freeswap")
    mem = ", ".join(f"{n}={x}" for n, x in zip(names, f[4:10], strict=True))
    return (
        f"{{uptime={f[0]}, loads=[{f[1]}, {f[2]}, {f[3]}], {mem}, procs={f[10]}, "
        f"totalhigh={f[11]}, freehigh={f[12]}, mem_unit={f[13]}}}"
    )


SYSINFO_OUT = _out(_sysinfo)


def wstatus_str(st: int) -> str:
    """The strace decoding of a wait status word."""
    sig = st & 0x7F
    if sig == 0:
        return f"[{{WIFEXITED(s) && WEXITSTATUS(s) == {(st >> 8) & 0xFF}}}]"
    if sig == 0x7F:
        if st == 0xFFFF:
            return "[{WIFCONTINUED(s)}]"
        return f"[{{WIFSTOPPED(s) && WSTOPSIG(s) == {signal_name((st >> 8) & 0xFF)}}}]"
    core = " && WCOREDUMP(s)" if st & 0x80 else ""
    return f"[{{WIFSIGNALED(s) && WTERMSIG(s) == {signal_name(sig)}{core}}}]"


def _wstatus(c: Call, v: int) -> str:
    if c.result == 0:  # WNOHANG and nobody to reap: the kernel wrote nothing
        return _ptr(v)
    return wstatus_str(struct.unpack("<i", _read(c.task, v, 4))[0] & 0xFFFF_FFFF)


WSTATUS_OUT = _out(_wstatus)
PIPEFD_OUT = _out(lambda c, v: "[{}, {}]".format(*struct.unpack("<ii", _read(c.task, v, 8))))
INT_OUT = _out(lambda c, v: f"[{struct.unpack('<i', _read(c.task, v, 4))[0]}]")
INT_IN = _in(lambda c, v: "NULL" if v == 0 else INT_OUT.fn(c, v), "p")


def _rlim(x: int) -> str:
    if x == C.RLIM_INFINITY:
        return "RLIM64_INFINITY"
    if x and x % 1024 == 0:
        return f"{x // 1024}*1024"
    return str(x)


def _rlimit(c: Call, v: int) -> str:
    cur, mx = struct.unpack("<QQ", _read(c.task, v, 16))
    return f"{{rlim_cur={_rlim(cur)}, rlim_max={_rlim(mx)}}}"


RLIMIT_IN = _in(lambda c, v: "NULL" if v == 0 else _rlimit(c, v), "p")
RLIMIT_OUT = _out(_rlimit)
SIGSET_IN = _in(
    lambda c, v: "NULL" if v == 0 else sigset_str(int.from_bytes(_read(c.task, v, 8), "little")),
    "p",
)
SIGSET_OUT = _out(lambda c, v: sigset_str(int.from_bytes(_read(c.task, v, 8), "little")))


def _sigaction(c: Call, v: int) -> str:
    handler, fl, restorer, mask = struct.unpack("<QQQQ", _read(c.task, v, 32))
    h = {C.SIG_DFL: "SIG_DFL", C.SIG_IGN: "SIG_IGN"}.get(handler, hex(handler))
    s = f"{{sa_handler={h}, sa_mask={sigset_str(mask)}, sa_flags={flags_str(SA_FLAGS, fl)}"
    if fl & C.SA_RESTORER:
        s += f", sa_restorer={_ptr(restorer)}"
    return s + "}"


SIGACTION_IN = _in(lambda c, v: "NULL" if v == 0 else _sigaction(c, v), "p")
SIGACTION_OUT = _out(_sigaction)


def _iovec(c: Call, v: int, count: int, out: bool) -> str:
    remaining = c.result or 0
    items = []
    for i in range(min(count, MAX_ARRAY)):
        base, ln = struct.unpack("<QQ", _read(c.task, v + 16 * i, 16))
        n = min(ln, remaining) if out else ln
        remaining -= n
        try:
            data = quote(_read(c.task, base, min(n, MAX_STRLEN)), more=n > MAX_STRLEN)
        except KernelError:
            data = _ptr(base)
        items.append(f"{{iov_base={data}, iov_len={ln}}}")
    if count > MAX_ARRAY:
        items.append("...")
    return "[" + ", ".join(items) + "]"


def iovec_in(count_index: int) -> Arg:
    return _in(lambda c, v: _iovec(c, v, _s32(c.args[count_index]), out=False), "p")


def iovec_out(count_index: int) -> Arg:
    return _out(lambda c, v: _iovec(c, v, _s32(c.args[count_index]), out=True))


def _argv(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    items = []
    for i in range(MAX_ARRAY + 1):
        p = int.from_bytes(_read(c.task, v + 8 * i, 8), "little")
        if p == 0:
            break
        if i == MAX_ARRAY:
            items.append("...")
            break
        items.append(_cstr(c, p))
    return "[" + ", ".join(items) + "]"


def _envp(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    n = 0
    while n < 65536 and int.from_bytes(_read(c.task, v + 8 * n, 8), "little"):
        n += 1
    return f"{_ptr(v)} /* {n} var{'' if n == 1 else 's'} */"


ARGV = _in(_argv, "p")
ENVP = _in(_envp, "p")


def _dirents(c: Call, v: int) -> str:
    data = _read(c.task, v, c.result or 0)
    n = off = 0
    while off + 19 <= len(data):
        reclen = struct.unpack_from("<H", data, off + 16)[0]
        if reclen == 0:
            break
        off += reclen
        n += 1
    return f"{_ptr(v)} /* {n} entr{'y' if n == 1 else 'ies'} */"


DIRENTS_OUT = _out(_dirents)


def _winsize(c: Call, v: int) -> str:
    r, col, x, y = struct.unpack("<HHHH", _read(c.task, v, 8))
    return f"{{ws_row={r}, ws_col={col}, ws_xpixel={x}, ws_ypixel={y}}}"


# ---------------------------------------------------------------- syscalls with custom shapes


Spec = tuple[Arg, ...]
Custom = Callable[[Call], list[str]]


def _open_like(c: Call, first: int) -> list[str]:
    """open/openat: the mode is shown only when O_CREAT or O_TMPFILE makes it meaningful."""
    a = c.args
    out = [DIRFD.fn(c, a[0])] if first else []
    out += [_arg(PATH, c, a[first]), open_flags(a[first + 1])]
    if a[first + 1] & C.O_CREAT or a[first + 1] & C.O_TMPFILE == C.O_TMPFILE:
        out.append(_oct_mode(a[first + 2] & 0o7777))
    return out


def fcntl_args(c: Call) -> list[str]:
    fd, cmd, arg = _s32(c.args[0]), _s32(c.args[1]), c.args[2]
    out = [str(fd), enum_str(FCNTL_CMDS, cmd & 0xFFFF_FFFF)]
    if cmd in (C.F_SETFD,):
        out.append(flags_str(FD_FLAGS, arg & 0xFFFF_FFFF))
    elif cmd == C.F_SETFL:
        out.append(open_flags(arg))
    elif cmd in (C.F_GETLK, C.F_SETLK, C.F_SETLKW, C.F_OFD_GETLK, C.F_OFD_SETLK, C.F_OFD_SETLKW):
        out.append(_ptr(arg))
    elif cmd == C.F_ADD_SEALS:
        out.append(flags_str(SEAL_FLAGS, arg & 0xFFFF_FFFF))
    elif cmd == C.F_NOTIFY:
        out.append(flags_str(DN_FLAGS, arg & 0xFFFF_FFFF))
    elif cmd not in (
        C.F_GETFD,
        C.F_GETFL,
        C.F_GETOWN,
        C.F_GETSIG,
        C.F_GETPIPE_SZ,
        C.F_GETLEASE,
        C.F_GET_SEALS,
    ):
        out.append(str(_s32(arg)))
    return out


def ioctl_args(c: Call) -> list[str]:
    fd, cmd, arg = _s32(c.args[0]), c.args[1] & 0xFFFF_FFFF, c.args[2]
    out = [str(fd), enum_str(IOCTL_CMDS, cmd) if cmd in IOCTL_CMDS[1] else hex(cmd)]
    if cmd in (C.FIOCLEX, C.FIONCLEX, C.TIOCNOTTY, C.TIOCEXCL, C.TIOCNXCL, C.TIOCVHANGUP,
               C.TIOCSBRK, C.TIOCCBRK):
        return out
    if cmd == C.TIOCGWINSZ and c.exiting:
        out.append(_arg(_out(_winsize), c, arg))
    elif cmd == C.TIOCSWINSZ:
        out.append(_arg(_in(_winsize), c, arg))
    elif cmd in (C.TIOCGPGRP, C.FIONREAD, C.TIOCOUTQ, C.TIOCGSID, C.TIOCGPTN, C.TIOCGPTLCK,
                 C.TIOCGEXCL, C.TIOCGETD, C.TIOCGDEV, C.TIOCGPKT) and c.exiting:
        out.append(_arg(INT_OUT, c, arg))
    elif cmd in (C.TIOCSPGRP, C.FIONBIO, C.TIOCSPTLCK, C.TIOCSETD, C.TIOCPKT):
        out.append(_arg(INT_IN, c, arg))
    elif cmd in (C.TCSBRK, C.TCSBRKP, C.TCXONC, C.TCFLSH, C.TIOCSCTTY):
        out.append(str(_s64(arg)))
    elif cmd == C.TIOCSIG:
        out.append(SIG.fn(c, arg))
    elif cmd == C.TIOCGPTPEER:
        out.append(_arg(flags(OPEN_FLAGS), c, arg))
    else:
        out.append(_ptr(arg))
    return out


def prctl_args(c: Call) -> list[str]:
    opt = c.args[0] & 0xFFFF_FFFF
    out = [enum_str(PRCTL_OPTIONS, opt)]
    if opt == C.PR_SET_NAME:
        out.append(_arg(STR, c, c.args[1]))
    elif opt == C.PR_GET_NAME:
        out.append(_arg(CSTR_OUT, c, c.args[1]))
    elif opt == C.PR_SET_PDEATHSIG:
        out.append(SIG.fn(c, c.args[1]))
    elif opt in (C.PR_GET_PDEATHSIG, C.PR_GET_CHILD_SUBREAPER):
        out.append(_ptr(c.args[1]))
    elif opt in (C.PR_SET_DUMPABLE, C.PR_SET_KEEPCAPS, C.PR_SET_CHILD_SUBREAPER,
                 C.PR_CAPBSET_READ, C.PR_CAPBSET_DROP):  # fmt: skip
        out.append(str(c.args[1] & _MASK64))
    elif opt == C.PR_SET_NO_NEW_PRIVS:
        out += [str(x & _MASK64) for x in c.args[1:5]]
    elif opt not in PRCTL_OPTIONS[1]:
        out += [_hex0(x) for x in c.args[1:5]]
    return out


def _sigevent(c: Call, v: int) -> str:
    value, signo, notify, tid = struct.unpack("<Qiii", _read(c.task, v, 24))
    kinds = {0: "SIGEV_SIGNAL", 1: "SIGEV_NONE", 2: "SIGEV_THREAD", 4: "SIGEV_THREAD_ID"}
    out = f"{{sigev_value={{sival_int={_s32(value)}, sival_ptr={_ptr(value)}}}, "
    out += f"sigev_signo={signal_name(signo)}, sigev_notify={kinds.get(notify, str(notify))}"
    if notify == 4:
        out += f", sigev_notify_thread_id={tid}"
    return out + "}"


SIGEVENT_IN = _in(lambda c, v: "NULL" if v == 0 else _sigevent(c, v), "p")




def clone_args(c: Call) -> list[str]:
    """strace's x86-64 shape: named arguments, only those the flags make meaningful."""
    fl, sp, ptid, ctid, tls = c.args[:5]
    sig = fl & C.CSIGNAL
    fstr = flags_str(CLONE_FLAGS, fl & ~C.CSIGNAL & 0xFFFF_FFFF, zero="")
    if sig:
        fstr = (fstr + "|" if fstr else "") + signal_name(sig)
    out = [f"child_stack={_ptr(sp)}", f"flags={fstr or '0'}"]
    if fl & (C.CLONE_PARENT_SETTID | C.CLONE_PIDFD):
        out.append(f"parent_tid={_ptr(ptid)}")
    if fl & (C.CLONE_CHILD_SETTID | C.CLONE_CHILD_CLEARTID):
        out.append(f"child_tidptr={_ptr(ctid)}")
    if fl & C.CLONE_SETTLS:
        out.append(f"tls={_ptr(tls)}")
    return out


def mremap_args(c: Call) -> list[str]:
    a = c.args
    out = [_ptr(a[0]), str(a[1]), str(a[2]), flags_str(MREMAP_FLAGS, a[3] & 0xFFFF_FFFF)]
    if a[3] & C.MREMAP_FIXED:
        out.append(_ptr(a[4]))
    return out


def futex_args(c: Call) -> list[str]:
    a = c.args
    op = a[1] & 0xFFFF_FFFF
    base = op & ~(C.FUTEX_PRIVATE_FLAG | C.FUTEX_CLOCK_REALTIME)
    name = enum_str(FUTEX_OPS, base)
    if base in FUTEX_OPS[1] and op & C.FUTEX_PRIVATE_FLAG:
        name += "_PRIVATE"
    if op & C.FUTEX_CLOCK_REALTIME:
        name = "FUTEX_CLOCK_REALTIME|" + name
    out = [_ptr(a[0]), name, str(_s32(a[2]))]
    if base in (C.FUTEX_WAKE, C.FUTEX_UNLOCK_PI, C.FUTEX_TRYLOCK_PI):
        return out
    if base in (C.FUTEX_WAIT, C.FUTEX_LOCK_PI):
        return out + [_arg(TIMESPEC_IN, c, a[3])]
    if base == C.FUTEX_WAIT_BITSET:
        return out + [_arg(TIMESPEC_IN, c, a[3]), _hex0(a[5] & 0xFFFF_FFFF)]
    return out + [str(_s32(a[3])), _ptr(a[4]), str(_s32(a[5]))]


def arch_prctl_args(c: Call) -> list[str]:
    code = c.args[0] & 0xFFFF_FFFF
    if code in (C.ARCH_GET_FS, C.ARCH_GET_GS) and c.exiting and not c.failed:
        try:
            val = "[" + _hex0(int.from_bytes(_read(c.task, c.args[1], 8), "little")) + "]"
        except KernelError:
            val = _ptr(c.args[1])
        return [enum_str(ARCH_PRCTL_CODES, code), val]
    return [enum_str(ARCH_PRCTL_CODES, code), _hex0(c.args[1])]


def open_args(c: Call) -> list[str]:
    return _open_like(c, 0)


def openat_args(c: Call) -> list[str]:
    return _open_like(c, 1)


# ---------------------------------------------------------------- the formats of each call
# They are part of the syscall registry: Syscall.args, written in syscalls/facts.py with the
# vocabulary above. A call without formats is printed with its six raw arguments in hex.


def _formats(nr: int) -> Spec | Custom | None:
    e = registry.load().entries.get(nr)
    return e.args if e is not None else None




def _arg(spec: Arg, c: Call, v: int) -> str:
    try:
        return spec.fn(c, v)
    except KernelError:
        return _ptr(v)  # a bad pointer: strace prints the address
    except Exception:  # noqa: BLE001 - tracing must never take the kernel down
        return _hex0(v & _MASK64)


def _format_args(nr: int, c: Call, entry: list[str | None] | None) -> list[str]:
    spec = _formats(nr)
    if spec is None:
        return [_hex0(v & _MASK64) for v in c.args[:6]]
    if callable(spec):
        # Custom shapes read their arguments at exit; none of them is execve-like.
        try:
            return spec(c)
        except Exception:  # noqa: BLE001 - see _arg
            return [_hex0(v & _MASK64) for v in c.args[:6]]
    out = []
    for i, a in enumerate(spec):
        pre = entry[i] if entry is not None and i < len(entry) else None
        if pre is not None and a.at_entry is not None:
            post = _arg(a, c, c.args[i])
            out.append(post if c.failed or post in ("NULL", f"[{pre}]") or post[:1] != "["
                       else f"[{pre} => {post[1:]}")  # fmt: skip
        elif pre is not None:
            out.append(pre)
        elif a.out and not c.exiting:
            out.append("...")  # placeholder at entry; filled in at exit
        else:
            out.append(_arg(a, c, c.args[i]))
    return out


def syscall_name(nr: int) -> str:
    return SYSCALL_NAMES.get(nr) or f"syscall_{nr:#x}"


def format_entry(task: Any, nr: int, args: Sequence[int]) -> list[str | None]:
    """Input arguments formatted before the call (None where an output is to come).

    Pass the result to format_syscall(entry=...) after the call.
    """
    c = Call(task, args, None, exiting=False)
    spec = _formats(nr)
    if spec is None:
        return [None] * 6
    if callable(spec):
        return [None] * 6  # custom shapes are formatted at exit
    return [(_arg(Arg(a.at_entry), c, c.args[i]) if a.at_entry is not None else None)
            if a.out else _arg(a, c, c.args[i]) for i, a in enumerate(spec)]  # fmt: skip


def format_result(name: str, result: int | None) -> str:
    """`3`, `0x4c3000`, `?`, `-1 ENOENT (No such file or directory)`: as the registry says the
    call's result is shown (an address in hex, a call that does not return as `?`)."""
    entry = registry.load().by_name.get(name)
    shape = entry.result if entry is not None else "dec"
    if result is None or shape == "none":
        return "?"
    r = _s64(result)
    if -4095 <= r < 0:
        return f"-1 {errno_str(-r)}"
    if shape == "hex":
        return hex(r & _MASK64)
    return str(r)


def _fcntl_result_note(c: Call) -> str:
    cmd = _s32(c.args[1])
    if c.failed or c.result is None:
        return ""
    if cmd == C.F_GETFD:
        return f" (flags {flags_str(FD_FLAGS, c.result)})" if c.result else ""
    if cmd == C.F_GETFL:
        return f" (flags {open_flags(c.result)})"
    return ""


def format_syscall(
    task: Any,
    nr: int,
    args: Sequence[int],
    result: int | None,
    entry: list[str | None] | None = None,
) -> str:
    """One strace line (no newline). result None (or exit/exit_group) prints `= ?`."""
    name = syscall_name(nr)
    res = None if result is None else _s64(result)
    c = Call(task, args, res, exiting=True)
    argstr = ", ".join(_format_args(nr, c, entry))
    if (
        name == "fcntl"
        and res is not None
        and _s32(c.args[1]) in (C.F_GETFD, C.F_GETFL)
        and res > 0
    ):
        return f"{name}({argstr}) = {hex(res)}{_fcntl_result_note(c)}"
    if name == "umask" and res is not None and res >= 0:
        return f"{name}({argstr}) = {_oct_mode(res)}"
    return f"{name}({argstr}) = {format_result(name, res)}"


# ---------------------------------------------------------------- sockets
# strace's shapes: socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0), addresses as
# {sa_family=AF_UNIX, sun_path="/tmp/s"} (an abstract name: sun_path=@"name"), socklen_t
# pointers as [in => out], msghdr with its iovecs and control messages, option names.

AF_NAMES = ("AF_", {
    0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
    9: "AF_X25", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 29: "AF_CAN",
    31: "AF_BLUETOOTH", 38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP",
})  # fmt: skip
SOCK_TYPES = ("SOCK_", {
    1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
    6: "SOCK_DCCP", 10: "SOCK_PACKET",
})  # fmt: skip
SOCK_FLAGS = _names("SOCK_CLOEXEC", "SOCK_NONBLOCK")
MSG_FLAGS = _names(
    "MSG_OOB", "MSG_PEEK", "MSG_DONTROUTE", "MSG_CTRUNC", "MSG_PROXY", "MSG_TRUNC",
    "MSG_DONTWAIT", "MSG_EOR", "MSG_WAITALL", "MSG_FIN", "MSG_SYN", "MSG_CONFIRM", "MSG_RST",
    "MSG_ERRQUEUE", "MSG_NOSIGNAL", "MSG_MORE", "MSG_WAITFORONE", "MSG_BATCH", "MSG_ZEROCOPY",
    "MSG_FASTOPEN", "MSG_CMSG_CLOEXEC",
)  # fmt: skip
SHUT_HOW = _enum("SHUT_", "SHUT_RD", "SHUT_WR", "SHUT_RDWR")
SOL_LEVELS = ("SOL_", {1: "SOL_SOCKET", 0: "SOL_IP", 6: "SOL_TCP", 17: "SOL_UDP",
                       41: "SOL_IPV6", 136: "SOL_UDPLITE", 270: "SOL_NETLINK"})  # fmt: skip
SO_NAMES = ("SO_", {
    v: n for n, v in vars(C).items()
    if n.startswith("SO_") and isinstance(v, int) and n != "SO_ACCEPTCON_FLAG"
})  # fmt: skip
SO_NAMES[1][C.SO_RCVTIMEO_OLD] = "SO_RCVTIMEO_OLD"
SO_NAMES[1][C.SO_SNDTIMEO_OLD] = "SO_SNDTIMEO_OLD"
SCM_TYPES = ("SCM_", {1: "SCM_RIGHTS", 2: "SCM_CREDENTIALS", 3: "SCM_SECURITY", 4: "SCM_PIDFD"})


def sockaddr_str(data: bytes) -> str:
    """{sa_family=AF_UNIX, sun_path="/tmp/s"} and strace's shapes for AF_INET/AF_INET6."""
    if len(data) < 2:
        return "{sa_family=???}" if data else "{}"
    fam = int.from_bytes(data[:2], "little")
    head = f"sa_family={enum_str(AF_NAMES, fam)}"
    body = data[2:]
    if fam == C.AF_UNIX:
        if not body:
            return "{" + head + "}"
        if body[0] == 0:
            return "{" + head + ", sun_path=@" + quote(body[1:], limit=C.UNIX_PATH_MAX) + "}"
        return "{" + head + ", sun_path=" + quote(body.split(b"\0", 1)[0],
                                                  limit=C.UNIX_PATH_MAX) + "}"  # fmt: skip
    if fam == C.AF_INET and len(body) >= 6:
        port = int.from_bytes(body[:2], "big")
        ip = ".".join(str(b) for b in body[2:6])
        return "{" + head + f", sin_port=htons({port}), sin_addr=inet_addr(\"{ip}\")}}"
    if fam == C.AF_INET6 and len(body) >= 22:
        import ipaddress

        port = int.from_bytes(body[:2], "big")
        flow = int.from_bytes(body[2:6], "big")
        ip = ipaddress.IPv6Address(bytes(body[6:22]))
        scope = int.from_bytes(body[22:26], "little") if len(body) >= 26 else 0
        return ("{" + head + f", sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), "
                f"inet_pton(AF_INET6, \"{ip}\", &sin6_addr), sin6_scope_id={scope}}}")
    if fam == C.AF_NETLINK and len(body) >= 10:
        pid = int.from_bytes(body[2:6], "little")
        groups = int.from_bytes(body[6:10], "little")
        return "{" + head + f", nl_pid={pid}, nl_groups={groups:08x}}}"
    return "{" + head + ", sa_data=" + quote(body) + "}"


def _sockaddr_in(len_index: int) -> Arg:
    def f(c: Call, v: int) -> str:
        if v == 0:
            return "NULL"
        n = _s32(c.args[len_index])
        if n <= 0:
            return _ptr(v)
        return sockaddr_str(_read(c.task, v, min(n, C.SIZEOF_SOCKADDR_STORAGE)))

    return _in(f, "p")


def _sockaddr_out(len_index: int) -> Arg:
    """An address the kernel wrote, as long as the length it wrote back (at most the
    caller's buffer)."""

    def f(c: Call, v: int) -> str:
        ln = c.args[len_index]
        n = struct.unpack("<i", _read(c.task, ln, 4))[0] if ln else 0
        if n <= 0:
            return "{}" if ln else _ptr(v)
        return sockaddr_str(_read(c.task, v, min(n, C.SIZEOF_SOCKADDR_STORAGE)))

    return _out(f)


SOCKLEN_INOUT = Arg(_out(lambda c, v: f"[{struct.unpack('<i', _read(c.task, v, 4))[0]}]").fn,
                    out=True, fuzz="p",
                    at_entry=lambda c, v: "NULL" if v == 0 else
                    str(struct.unpack("<i", _read(c.task, v, 4))[0]))  # fmt: skip


def _sock_type(v: int) -> str:
    v &= 0xFFFF_FFFF
    out = enum_str(SOCK_TYPES, v & 0xF)
    rest = flags_str(SOCK_FLAGS, v & ~0xF, zero="")
    return out + ("|" + rest if rest else "")


SOCK_TYPE = _in(lambda c, v: _sock_type(v), "c")
SOCK_FAMILY = _in(lambda c, v: enum_str(AF_NAMES, v & 0xFFFF_FFFF), "c")
SOCKFD_PAIR_OUT = PIPEFD_OUT
MSGF = _in(lambda c, v: flags_str(MSG_FLAGS, v & 0xFFFF_FFFF), "x")
SOCKF = _in(lambda c, v: flags_str(SOCK_FLAGS, v & 0xFFFF_FFFF), "x")


def _cmsgs_str(c: Call, addr: int, length: int) -> str:
    data = _read(c.task, addr, min(length, 4096))
    items = []
    pos = 0
    while pos + 16 <= len(data):
        ln, level, typ = struct.unpack_from("<Qii", data, pos)
        if ln < 16 or ln > len(data) - pos:
            break
        body = data[pos + 16 : pos + ln]
        lvl = enum_str(SOL_LEVELS, level & 0xFFFF_FFFF)
        if level == C.SOL_SOCKET:
            t = enum_str(SCM_TYPES, typ & 0xFFFF_FFFF)
        else:
            t = _hex0(typ & 0xFFFF_FFFF)
        item = f"{{cmsg_len={ln}, cmsg_level={lvl}, cmsg_type={t}"
        if level == C.SOL_SOCKET and typ == C.SCM_RIGHTS:
            fds = [str(x[0]) for x in struct.iter_unpack("<i", body[: len(body) // 4 * 4])]
            item += ", cmsg_data=[" + ", ".join(fds) + "]"
        elif level == C.SOL_SOCKET and typ == C.SCM_CREDENTIALS and len(body) >= 12:
            pid, uid, gid = struct.unpack_from("<iII", body)
            item += f", cmsg_data={{pid={pid}, uid={uid}, gid={gid}}}"
        items.append(item + "}")
        pos += (ln + 7) & ~7
    return "[" + ", ".join(items) + "]"


def _msghdr_str(c: Call, v: int, out: bool, result: int | None) -> str:
    name, namelen, iov, iovlen, control, controllen, mflags = struct.unpack(
        "<QixxxxQQQQixxxx", _read(c.task, v, 56))  # fmt: skip
    if name and namelen > 0:
        try:
            nm = sockaddr_str(_read(c.task, name, min(namelen, C.SIZEOF_SOCKADDR_STORAGE)))
        except KernelError:
            nm = _ptr(name)
    else:
        nm = _ptr(name)
    fake = Call(c.task, (0, iov, iovlen), result, c.exiting)
    try:
        iovs = _iovec(fake, iov, min(iovlen, 1 << 20), out)
    except KernelError:
        iovs = _ptr(iov)
    if control and controllen:
        try:
            ctl = _cmsgs_str(c, control, controllen)
        except KernelError:
            ctl = _ptr(control)
    else:
        ctl = _ptr(control)
    return (f"{{msg_name={nm}, msg_namelen={namelen}, msg_iov={iovs}, msg_iovlen={iovlen}, "
            f"msg_control={ctl}, msg_controllen={controllen}, "
            f"msg_flags={flags_str(MSG_FLAGS, mflags & 0xFFFF_FFFF)}}}")


MSGHDR_IN = _in(lambda c, v: _msghdr_str(c, v, False, None), "p")
MSGHDR_OUT = _out(lambda c, v: _msghdr_str(c, v, True, c.result))


def _mmsg_str(c: Call, v: int, out: bool) -> str:
    n = _s32(c.args[2])
    if out:
        n = min(n, c.result or 0)
    items = []
    for i in range(min(max(n, 0), MAX_ARRAY)):
        entry = v + 64 * i
        (ln,) = struct.unpack("<I", _read(c.task, entry + 56, 4))
        hdr = _msghdr_str(c, entry, out, ln if out else None)
        items.append(f"{{msg_hdr={hdr}, msg_len={ln}}}")
    if n > MAX_ARRAY:
        items.append("...")
    return "[" + ", ".join(items) + "]"


MMSG_IN = _in(lambda c, v: _mmsg_str(c, v, False), "p")
MMSG_OUT = _out(lambda c, v: _mmsg_str(c, v, True))


def _optval(c: Call, v: int, length: int) -> str:
    level, name = _s32(c.args[1]), _s32(c.args[2])
    if length <= 0:
        return _ptr(v) if v else "NULL"
    data = _read(c.task, v, min(length, 64))
    if level == C.SOL_SOCKET and name == C.SO_PEERCRED and len(data) >= 12:
        pid, uid, gid = struct.unpack_from("<iII", data)
        return f"{{pid={pid}, uid={uid}, gid={gid}}}"
    if level == C.SOL_SOCKET and name == C.SO_LINGER and len(data) >= 8:
        on, secs = struct.unpack_from("<ii", data)
        return f"{{l_onoff={on}, l_linger={secs}}}"
    if level == C.SOL_SOCKET and name in (C.SO_RCVTIMEO_OLD, C.SO_SNDTIMEO_OLD,
                                          C.SO_RCVTIMEO_NEW, C.SO_SNDTIMEO_NEW) \
            and len(data) >= 16:  # fmt: skip
        sec, usec = struct.unpack_from("<qq", data)
        return f"{{tv_sec={sec}, tv_usec={usec}}}"
    if len(data) == 4:
        return f"[{struct.unpack('<i', data)[0]}]"
    return quote(data)


def _level_names(prefix: str, skip: tuple[str, ...] = ()) -> tuple[str, dict[int, str]]:
    names: dict[int, str] = {}
    for n, v in vars(C).items():
        if n.startswith(prefix) and isinstance(v, int) and not n.endswith(skip) \
                and v not in names:  # fmt: skip
            names[v] = n
    return prefix, names


TCP_OPT_NAMES = _level_names("TCP_", ("_DEFAULT", "_LO", "_MSS", "MAX_", "_MAX", "_STATE"))
TCP_OPT_NAMES[1].update({C.TCP_NODELAY: "TCP_NODELAY", C.TCP_MAXSEG: "TCP_MAXSEG",
                         C.TCP_CORK: "TCP_CORK", C.TCP_KEEPIDLE: "TCP_KEEPIDLE",
                         C.TCP_KEEPINTVL: "TCP_KEEPINTVL", C.TCP_KEEPCNT: "TCP_KEEPCNT",
                         C.TCP_SYNCNT: "TCP_SYNCNT", C.TCP_LINGER2: "TCP_LINGER2",
                         C.TCP_DEFER_ACCEPT: "TCP_DEFER_ACCEPT", C.TCP_INFO: "TCP_INFO",
                         C.TCP_WINDOW_CLAMP: "TCP_WINDOW_CLAMP"})  # fmt: skip
IP_OPT_NAMES = ("IP_", {v: n for n, v in vars(C).items() if n.startswith("IP_")
                        and isinstance(v, int) and n not in ("IP_PMTUDISC_OMIT", "IP_MTU_LO",
                        "IP_LOCAL_PORT_RANGE_LOW", "IP_LOCAL_PORT_RANGE_HIGH")})  # fmt: skip
IPV6_OPT_NAMES = ("IPV6_", {v: n for n, v in vars(C).items()
                            if n.startswith("IPV6_") and isinstance(v, int)})  # fmt: skip
UDP_OPT_NAMES = ("UDP_", {v: n for n, v in vars(C).items()
                          if n.startswith("UDP_") and isinstance(v, int)})  # fmt: skip
UDP_OPT_NAMES[1].update({C.UDPLITE_SEND_CSCOV: "UDPLITE_SEND_CSCOV",
                         C.UDPLITE_RECV_CSCOV: "UDPLITE_RECV_CSCOV"})  # one level for both
_LEVEL_OPT_NAMES = {C.SOL_SOCKET: SO_NAMES, C.SOL_TCP: TCP_OPT_NAMES, C.SOL_IP: IP_OPT_NAMES,
                    C.SOL_IPV6: IPV6_OPT_NAMES, C.SOL_UDP: UDP_OPT_NAMES,
                    C.SOL_UDPLITE: UDP_OPT_NAMES}  # fmt: skip


def _sockopt_name(c: Call) -> str:
    level, name = _s32(c.args[1]), c.args[2] & 0xFFFF_FFFF
    names = _LEVEL_OPT_NAMES.get(level)
    return enum_str(names, name) if names is not None else str(_s32(name))


def setsockopt_args(c: Call) -> list[str]:
    a = c.args
    try:
        val = _optval(c, a[3], _s32(a[4]))
    except KernelError:
        val = _ptr(a[3])
    return [str(_s32(a[0])), enum_str(SOL_LEVELS, a[1] & 0xFFFF_FFFF), _sockopt_name(c), val,
            str(_s32(a[4]))]  # fmt: skip


def getsockopt_args(c: Call) -> list[str]:
    a = c.args
    try:
        n = struct.unpack("<i", _read(c.task, a[4], 4))[0] if a[4] else 0
        val = _ptr(a[3]) if c.failed else _optval(c, a[3], n)
        ln = f"[{n}]" if a[4] else "NULL"
    except KernelError:
        val, ln = _ptr(a[3]), _ptr(a[4])
    return [str(_s32(a[0])), enum_str(SOL_LEVELS, a[1] & 0xFFFF_FFFF), _sockopt_name(c), val,
            ln]  # fmt: skip


def _recvfrom_addr(c: Call, v: int) -> str:
    return _sockaddr_out(5).fn(c, v)


SOCKADDR_IN_1 = _sockaddr_in(2)  # bind, connect: the length is the third argument
SOCKADDR_OUT_1 = _sockaddr_out(2)  # accept, getsockname, getpeername
SOCKADDR_IN_4 = _sockaddr_in(5)  # sendto
SOCKADDR_OUT_4 = _sockaddr_out(5)  # recvfrom
