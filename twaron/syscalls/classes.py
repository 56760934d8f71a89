"""strace's syscall classes (`-e trace=%file`, `--inject %network:...`) and syscall sets.

Which class a call belongs to is strace's fact, not ours: the table below is strace 6's
(its syscallent.h flags TD, TF, TI, TN, TP, TS, TM, TC, TCL, PU and the stat/statfs
families) for the x86-64 calls of Linux 6.1, so that `--trace=%file` or `--inject
%network:error=EPERM` select exactly the calls `strace -e trace=%file` would. The registry
joins it to each Syscall as `classes`.

A set is written as strace writes one: a comma-separated list of syscall names, numbers,
`%class` names (or the old bare `file`, `process`, ...), `all`, `none` and `/regex`
(matched against names, POSIX-extended as Python's re reads it); `?` before an element
allows it to match nothing; a `!` before the whole list negates it.
"""

from __future__ import annotations

import re

_CLASS_CALLS = {
    "desc": """read write open close fstat poll lseek mmap ioctl pread64 pwrite64 readv writev
        pipe select dup dup2 sendfile fcntl flock fsync fdatasync ftruncate getdents fchdir
        creat fchmod fchown fstatfs readahead fsetxattr fgetxattr flistxattr fremovexattr
        epoll_create getdents64 fadvise64 epoll_wait epoll_ctl mq_open mq_timedsend
        mq_timedreceive mq_notify mq_getsetattr inotify_init inotify_add_watch
        inotify_rm_watch openat mkdirat mknodat fchownat futimesat newfstatat unlinkat
        renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll splice tee
        sync_file_range vmsplice utimensat epoll_pwait signalfd timerfd_create eventfd
        fallocate timerfd_settime timerfd_gettime signalfd4 eventfd2 epoll_create1 dup3 pipe2
        inotify_init1 preadv pwritev perf_event_open fanotify_init fanotify_mark
        name_to_handle_at open_by_handle_at syncfs setns finit_module renameat2 memfd_create
        kexec_file_load bpf execveat userfaultfd copy_file_range preadv2 pwritev2 statx
        pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount
        fsopen fsconfig fsmount fspick pidfd_open openat2 pidfd_getfd faccessat2
        process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset
        landlock_add_rule landlock_restrict_self memfd_secret process_mrelease cachestat
        fchmodat2""",
    "file": """open stat lstat access execve truncate getcwd chdir rename mkdir rmdir creat link
        unlink symlink readlink chmod chown lchown utime mknod uselib statfs pivot_root chroot
        acct mount umount2 swapon swapoff quotactl setxattr lsetxattr getxattr lgetxattr
        listxattr llistxattr removexattr lremovexattr utimes inotify_add_watch openat mkdirat
        mknodat fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat
        fchmodat faccessat utimensat fanotify_mark name_to_handle_at renameat2 execveat statx
        open_tree move_mount fsconfig fspick openat2 faccessat2 mount_setattr fchmodat2""",
    "ipc": """shmget shmat shmctl semget semop semctl shmdt msgget msgsnd msgrcv msgctl
        semtimedop""",
    "network": """sendfile socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind
        listen getsockname getpeername socketpair setsockopt getsockopt getpmsg putpmsg accept4
        recvmmsg sendmmsg""",
    "process": """clone fork vfork execve exit wait4 kill rt_sigqueueinfo tkill exit_group
        tgkill waitid rt_tgsigqueueinfo execveat pidfd_send_signal clone3""",
    "signal": """rt_sigaction rt_sigprocmask rt_sigreturn pause kill rt_sigpending
        rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack tkill tgkill signalfd
        signalfd4 rt_tgsigqueueinfo pidfd_send_signal io_uring_enter""",
    "memory": """mmap mprotect munmap brk mremap msync mincore madvise shmat shmdt mlock munlock
        mlockall munlockall io_setup io_destroy remap_file_pages mbind set_mempolicy
        get_mempolicy migrate_pages move_pages mlock2 pkey_mprotect io_uring_register
        set_mempolicy_home_node map_shadow_stack mseal""",
    "creds": """getuid getgid setuid setgid geteuid getegid setreuid setregid getgroups
        setgroups setresuid getresuid setresgid getresgid setfsuid setfsgid capget capset
        prctl""",
    "clock": """gettimeofday adjtimex settimeofday time clock_settime clock_gettime
        clock_getres clock_adjtime""",
    "pure": "getpid getuid getgid geteuid getegid getppid getpgrp gettid",
    "stat": "stat",
    "lstat": "lstat",
    "fstat": "fstat newfstatat statx",
    "%stat": "stat fstat lstat newfstatat statx",
    "statfs": "statfs",
    "fstatfs": "fstatfs",
    "%statfs": "ustat statfs fstatfs",
}
CLASSES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _CLASS_CALLS.items()}
ALIASES = {"net": "network"}  # %net is %network
# The spellings strace still takes without the percent sign (deprecated there).
BARE_CLASSES = ("file", "process", "network", "signal", "ipc", "desc", "memory")


def classes_of(name: str) -> frozenset[str]:
    """The strace classes of one call, e.g. {"desc", "file"} for openat."""
    return frozenset(c for c, calls in CLASSES.items() if name in calls)


class SetError(ValueError):
    """A syscall set strace would refuse (an unknown name or class, a bad regex)."""


def parse_set(spec: str, numbers: dict[str, int], nr_max: int) -> frozenset[int]:
    """The syscall numbers a set names. `numbers` maps every known name to its number."""
    text = spec.strip()
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    chosen: set[int] = set()
    for item in (i.strip() for i in text.split(",")):
        if not item:
            raise SetError(f"empty element in syscall set {spec!r}")
        if item == "none":
            continue
        optional = item.startswith("?")
        if optional:
            item = item[1:]
        found = _element(item, numbers, nr_max)
        if not found and not optional:
            raise SetError(f"invalid system call {item!r}")
        chosen |= found
    if negate:
        chosen = set(numbers.values()) - chosen
    return frozenset(chosen)


def _element(item: str, numbers: dict[str, int], nr_max: int) -> set[int]:
    if item == "all":
        return set(numbers.values())
    if item.isdigit():
        nr = int(item)
        if nr >= nr_max:
            raise SetError(f"syscall number {nr} out of range")
        return {nr}
    if item.startswith("/"):
        try:
            rx = re.compile(item[1:])
        except re.error as e:
            raise SetError(f"bad regex {item!r}: {e}") from None
        return {nr for name, nr in numbers.items() if rx.search(name)}
    cls = item[1:] if item.startswith("%") else (item if item in BARE_CLASSES else None)
    if cls is not None:
        cls = ALIASES.get(cls, cls)
        if cls not in CLASSES:
            raise SetError(f"unknown syscall class {item!r}")
        return {numbers[n] for n in CLASSES[cls] if n in numbers}
    if item in numbers:
        return {numbers[item]}
    return set()
