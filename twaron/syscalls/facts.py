"""The facts of the syscall registry (see registry.py): one entry for every x86-64 system call
of Linux 6.1, grouped by family.

Each entry says how far twaron implements the call (the level), what differs from Linux (the
note: required for every level but FULL), how a signal ends it while it sleeps (the restart
rule, for the calls that can sleep), the argument formats `--trace` prints, and through them
the arguments `twaron fuzz` draws (`fuzz` overrides the derived codes where a format does not
say enough: custom shapes, and pids that must not reach the fuzzer's supervisor).

The levels are decided by reading the handler, not by hope:

- full(...): does what Linux does within twaron's model (one CPU, tmpfs, no hardware). A note
  on a FULL call says how the model shows (tmpfs has nothing to write back, ...).
- partial(note, ...): works, and the note says where it differs.
- stub(note, ...): answers success without doing the thing; counted and listed at the end of
  a run as "no effect".
- unsupported(note): no handler, ENOSYS; listed at the end of a run.
- linux_may(note): no handler, ENOSYS, and a Linux 6.1 build may answer the same (the note
  says which build); not listed at the end of a run, a program must cope with it anyway.
"""

from __future__ import annotations

from twaron.syscalls.registry import Fact, Level, Restart
from twaron.syscalls.trace import (
    ACCESS_FLAGS,
    ADDR,
    ARGV,
    AT_FLAGS,
    BUF_OUT,
    CLOCK_IDS,
    COUNT,
    DIRENTS_OUT,
    DIRFD,
    ENVP,
    FADV_ADVICE,
    FALLOC_FLAGS,
    FD,
    FMODE,
    GRND_FLAGS,
    HEXBUF_OUT,
    IDTYPES,
    ITIMER_WHICH,
    LD,
    LOCK_OPS,
    MADV_ADVICE,
    MAPF,
    MCL_FLAGS,
    MFD_FLAGS,
    MLOCK_FLAGS,
    MS_FLAGS,
    OCT,
    OPEN_FLAGS,
    PATH,
    PATH_OUT,
    PID,
    PIPEFD_OUT,
    PRIO_WHICH,
    PROT,
    PTR,
    PTRACE_REQUESTS,
    RENAME_FLAGS,
    RLIMIT_IN,
    RLIMIT_OUT,
    RLIMIT_RESOURCES,
    RUSAGE_WHO,
    SEEK_WHENCE,
    SIG,
    SIGACTION_IN,
    SIGACTION_OUT,
    SIGPROCMASK_HOW,
    SIGSET_IN,
    SIGSET_OUT,
    SIGSETSIZE,
    STAT_OUT,
    STR,
    SYSINFO_OUT,
    TIMER_FLAGS,
    TIMESPEC_IN,
    TIMESPEC_OUT,
    TIMEVAL_OUT,
    UID,
    UMOUNT_FLAGS,
    UTSNAME_OUT,
    WAIT_FLAGS,
    WSTATUS_OUT,
    Arg,
    Custom,
    D,
    U,
    X,
    arch_prctl_args,
    buf_in,
    clone_args,
    enum,
    fcntl_args,
    flags,
    futex_args,
    ioctl_args,
    iovec_in,
    iovec_out,
    mremap_args,
    open_args,
    openat_args,
    prctl_args,
)

NEVER, SYS, NOHAND, BLOCK = (Restart.NEVER_SLEEPS, Restart.SYS, Restart.NOHAND,
                             Restart.BLOCK)  # fmt: skip
KILLABLE = Restart.KILLABLE


def full(*args: Arg, note: str = "", restart: Restart = NEVER, shape: Custom | None = None,
         fuzz: str | None = None, nofuzz: str = "", result: str = "dec") -> Fact:  # fmt: skip
    return Fact(Level.FULL, note, restart, args=shape or args, fuzz=fuzz, nofuzz=nofuzz,
                result=result)  # fmt: skip


def partial(note: str, *args: Arg, restart: Restart = NEVER, shape: Custom | None = None,
            fuzz: str | None = None, result: str = "dec") -> Fact:  # fmt: skip
    return Fact(Level.PARTIAL, note, restart, args=shape or args, fuzz=fuzz, result=result)


def stub(note: str, *args: Arg) -> Fact:
    return Fact(Level.STUB, note, args=args)


def unsupported(note: str, fuzz: str | None = None, args: tuple[Arg, ...] | None = None,
                result: str = "dec") -> Fact:  # fmt: skip
    """No handler: ENOSYS (the kernel's answer for a number without one)."""
    return Fact(Level.UNSUPPORTED, note, args=args, fuzz=fuzz, result=result)


def linux_may(note: str, fuzz: str | None = None) -> Fact:
    return Fact(Level.UNSUPPORTED, note, linux_may=True, fuzz=fuzz)


# Arguments the trace vocabulary has no name for.
AMODE = flags(ACCESS_FLAGS, "F_OK").fz("m")  # access(2)'s mode: drawn as a mode
DEV = X.fz("i")  # mknod's dev_t
NFDS = U.fz("v")  # poll's nfds_t
# Why the fuzzer's table leaves a call out (its generic mode may still draw the number,
# except those fuzzer.c denies).
ENDS_CHILD = "ends the fuzzing child"
SLEEPS = "sleeps until a signal: the supervisor's watchdog would kill the child"

# Notes shared by a family.
TMPFS_SYNC = "tmpfs has nothing to write back (as on Linux)"
FSYNC = TMPFS_SYNC + "; a pipe or terminal is not EINVAL"
CONTAINER = ("EPERM, as for root in a container without CAP_SYS_ADMIN: the mount tree is "
             "fixed at boot")  # fmt: skip
RUSAGE = "the rusage holds the CPU times only (maxrss, faults, ... are 0)"
CLOCKS = "CLOCK_TAI, the alarm clocks and other processes' CPU clocks are EINVAL"
RLIMITS = ("enforced: NOFILE, FSIZE, AS, STACK (at exec), NPROC, CPU; the others are only "
           "stored")  # fmt: skip
SOCKETS = "sockets: not yet (issue #11)"
EPOLL = "epoll: not yet (issue #12)"
SYSV_IPC = "System V IPC: not yet"
MQUEUE = "POSIX message queues: not yet"
AIO = "Linux AIO: not yet"
XATTR = "extended attributes: not yet"
INOTIFY = "inotify: not yet"
FANOTIFY = "fanotify: not yet"
POSIX_TIMERS = "POSIX timers: not yet (setitimer and alarm work)"
TIMERFD = "timerfd: not yet"
SIGNALFD = "signalfd: not yet"
EVENTFD = "eventfd: not yet"
SETCLOCK = "setting the clock: not yet (the guest's clock follows the host's)"
SCHED_POLICY = "scheduling policies: not yet (one round-robin policy)"
NEW_MOUNT_API = "the new mount API: not yet (the mount tree is fixed at boot)"
PIDFD = "pidfds: not yet"
NS = "namespaces: not yet"
NI = "not in Linux 6.1's x86-64 table either (sys_ni_syscall: ENOSYS)"
NUMA = "ENOSYS, as a Linux build without CONFIG_NUMA (one node)"
MODULES = "ENOSYS, as a Linux build without CONFIG_MODULES"
KEXEC = "ENOSYS, as a Linux build without CONFIG_KEXEC / CONFIG_KEXEC_FILE"
KEYS = "ENOSYS, as a Linux build without CONFIG_KEYS"
IO_URING = "ENOSYS, as a Linux build without CONFIG_IO_URING (programs fall back)"
LANDLOCK = "ENOSYS, as a Linux build without CONFIG_SECURITY_LANDLOCK"
PKEYS = "ENOSYS, as a Linux build without memory protection keys"
QUOTA = "ENOSYS, as a Linux build without CONFIG_QUOTACTL"
SWAP = "ENOSYS, as a Linux build without CONFIG_SWAP (twaron has no swap)"
IOPORT = "ENOSYS, as a Linux build without CONFIG_X86_IOPL_IOPERM"
FHANDLE = "ENOSYS, as a Linux build without CONFIG_FHANDLE"

FACTS: dict[str, Fact] = {
    # ---- reading and writing
    "read": full(FD, BUF_OUT, U, restart=SYS),
    "write": full(FD, buf_in(2), U, restart=SYS),
    "pread64": full(FD, BUF_OUT, U, LD),
    "pwrite64": full(FD, buf_in(2), U, LD),
    "readv": full(FD, iovec_out(2), COUNT, restart=SYS),
    "writev": full(FD, iovec_in(2), COUNT, restart=SYS),
    "preadv": full(FD, iovec_out(2), COUNT, LD, restart=SYS),
    "pwritev": full(FD, iovec_in(2), COUNT, LD, restart=SYS),
    "preadv2": unsupported("not yet (preadv works)", fuzz="fpvox"),
    "pwritev2": unsupported("not yet (pwritev works)", fuzz="fpvox"),
    "sendfile": full(FD, FD, PTR, U, restart=SYS),
    "splice": unsupported("splice: not yet", fuzz="fpfplx"),
    "tee": unsupported("splice: not yet", fuzz="ffli"),
    "vmsplice": unsupported("splice: not yet"),
    "copy_file_range": unsupported("not yet (programs fall back to read/write)",
                                   fuzz="fpfplx"),  # fmt: skip
    "lseek": full(FD, LD, enum(SEEK_WHENCE)),
    "readahead": unsupported("not yet", fuzz="fol"),
    # ---- opening, closing, file descriptors
    "open": partial("O_TMPFILE is EOPNOTSUPP (Linux's tmpfs has it)", restart=SYS,
                    shape=open_args, fuzz="sxm"),  # fmt: skip
    "openat": partial("O_TMPFILE is EOPNOTSUPP (Linux's tmpfs has it)", restart=SYS,
                      shape=openat_args, fuzz="dsxm"),  # fmt: skip
    "openat2": unsupported("not yet (openat works)", fuzz="dspl"),
    "creat": full(PATH, OCT, restart=SYS),
    "close": full(FD),
    "close_range": partial("CLOSE_RANGE_UNSHARE does not unshare a shared fd table",
                           FD, FD, X),  # fmt: skip
    "dup": full(FD),
    "dup2": full(FD, FD),
    "dup3": full(FD, FD, flags(OPEN_FLAGS)),
    "fcntl": partial("record locks (F_SETLK, F_SETLKW, F_GETLK, OFD) are granted and never "
                     "conflict; F_SETOWN/F_SETSIG have no effect (no SIGIO); leases, F_NOTIFY "
                     "and seals are EINVAL", shape=fcntl_args, fuzz="fFi"),  # fmt: skip
    "ioctl": partial("FIONBIO, FIOCLEX/FIONCLEX, FIONREAD on any file; on terminals (ptys, "
                     "and the console when twaron's stdin is a terminal) the line discipline's "
                     "and the tty core's: TCGETS/TCSETS/TCSETSW/TCSETSF and their termios2 "
                     "forms, TIOCGWINSZ/TIOCSWINSZ, TCFLSH, TCXONC, TIOCINQ, TIOCOUTQ, "
                     "TIOCSCTTY, TIOCNOTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID, TIOCSTI, "
                     "TIOCEXCL/TIOCNXCL/TIOCGEXCL, TIOCGETD/TIOCSETD (N_TTY only: others "
                     "EINVAL), TIOCVHANGUP, TIOCGDEV, TCSBRK/TCSBRKP/TIOCSBRK/TIOCCBRK (no break "
                     "is sent), and on a pty master TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, "
                     "TIOCGPTPEER, TIOCSIG; a console whose stdin is not a terminal passes "
                     "TCGETS/TCSETS*/TIOCGWINSZ to the host's terminal where its host fd is "
                     "one. Not done (ENOTTY): packet mode (TIOCPKT), locked termios "
                     "(TIOCGLCKTRMIOS), modem lines (TIOCM*), TIOCCONS, serial ioctls; "
                     "TCSETSW/TCSETSF do not wait (no output is ever pending); others ENOTTY",
                     restart=SYS, shape=ioctl_args, fuzz="fxp"),  # fmt: skip
    "flock": stub("checks the fd and operation, takes no lock: LOCK_EX excludes nobody",
                  FD, flags(LOCK_OPS)),  # fmt: skip
    "pipe": full(PIPEFD_OUT),
    "pipe2": partial("O_DIRECT (packet mode) is accepted; the pipe stays a byte stream",
                     PIPEFD_OUT, flags(OPEN_FLAGS)),  # fmt: skip
    "name_to_handle_at": linux_may(FHANDLE, fuzz="dsppx"),
    "open_by_handle_at": linux_may(FHANDLE),
    # ---- file status, directories, names
    "stat": full(PATH, STAT_OUT),
    "fstat": full(FD, STAT_OUT),
    "lstat": full(PATH, STAT_OUT),
    "newfstatat": full(DIRFD, PATH, STAT_OUT, flags(AT_FLAGS)),
    "statx": full(DIRFD, PATH, flags(AT_FLAGS), X, PTR),
    "statfs": full(PATH, PTR),
    "fstatfs": full(FD, PTR),
    "ustat": unsupported("not yet (obsolete: statfs works)"),
    "getdents": unsupported("not yet (the old linux_dirent; libcs use getdents64)",
                            args=(FD, DIRENTS_OUT, U)),  # fmt: skip
    "getdents64": full(FD, DIRENTS_OUT, U),
    "getcwd": full(PATH_OUT, U),
    "chdir": full(PATH),
    "fchdir": full(FD),
    "chroot": full(PATH),
    "umask": full(OCT),
    "mkdir": full(PATH, OCT),
    "mkdirat": full(DIRFD, PATH, OCT),
    "mknod": full(PATH, FMODE, DEV),
    "mknodat": full(DIRFD, PATH, FMODE, DEV),
    "rmdir": full(PATH),
    "unlink": full(PATH),
    "unlinkat": full(DIRFD, PATH, flags(AT_FLAGS)),
    "rename": full(PATH, PATH),
    "renameat": full(DIRFD, PATH, DIRFD, PATH),
    "renameat2": partial("RENAME_WHITEOUT is EINVAL (Linux's tmpfs makes the whiteout)",
                         DIRFD, PATH, DIRFD, PATH, flags(RENAME_FLAGS)),  # fmt: skip
    "link": full(PATH, PATH),
    "linkat": full(DIRFD, PATH, DIRFD, PATH, flags(AT_FLAGS)),
    "symlink": full(PATH, PATH),
    "symlinkat": full(PATH, DIRFD, PATH),
    "readlink": full(PATH, BUF_OUT, U),
    "readlinkat": full(DIRFD, PATH, BUF_OUT, U),
    "chmod": full(PATH, OCT),
    "fchmod": full(FD, OCT),
    "fchmodat": full(DIRFD, PATH, OCT),
    "chown": full(PATH, UID, UID),
    "fchown": full(FD, UID, UID),
    "lchown": full(PATH, UID, UID),
    "fchownat": full(DIRFD, PATH, UID, UID, flags(AT_FLAGS)),
    "utime": unsupported("not yet (utimensat works)", fuzz="sp"),
    "utimes": unsupported("not yet (utimensat works)", fuzz="sp"),
    "futimesat": unsupported("not yet (utimensat works)", fuzz="dsp"),
    "utimensat": full(DIRFD, PATH, PTR, flags(AT_FLAGS)),
    "access": full(PATH, AMODE),
    "faccessat": full(DIRFD, PATH, AMODE),
    "faccessat2": full(DIRFD, PATH, AMODE, flags(AT_FLAGS)),
    "truncate": full(PATH, LD),
    "ftruncate": full(FD, LD),
    "fallocate": partial("mode 0 only (KEEP_SIZE, PUNCH_HOLE, ... are EOPNOTSUPP; Linux's "
                         "tmpfs has them)", FD, flags(FALLOC_FLAGS), LD, LD),  # fmt: skip
    "fadvise64": partial("the advice is checked, then ignored (as Linux does on tmpfs); a pipe "
                         "is not ESPIPE", FD, LD, U, enum(FADV_ADVICE)),  # fmt: skip
    "sync_file_range": unsupported("not yet"),
    "fsync": partial(FSYNC, FD),
    "fdatasync": partial(FSYNC, FD),
    "syncfs": full(FD, note=TMPFS_SYNC),
    "sync": full(note=TMPFS_SYNC),
    # ---- extended attributes
    "setxattr": unsupported(XATTR, fuzz="sspli"),
    "lsetxattr": unsupported(XATTR),
    "fsetxattr": unsupported(XATTR),
    "getxattr": unsupported(XATTR, fuzz="sspl"),
    "lgetxattr": unsupported(XATTR),
    "fgetxattr": unsupported(XATTR),
    "listxattr": unsupported(XATTR, fuzz="spl"),
    "llistxattr": unsupported(XATTR),
    "flistxattr": unsupported(XATTR),
    "removexattr": unsupported(XATTR),
    "lremovexattr": unsupported(XATTR),
    "fremovexattr": unsupported(XATTR),
    # ---- mounts and file systems
    "mount": partial(CONTAINER, STR, PATH, STR, X, PTR),
    "umount2": partial(CONTAINER + " (bad flags: EINVAL)", PATH, flags(UMOUNT_FLAGS)),
    "pivot_root": partial(CONTAINER, PATH, PATH),
    "open_tree": unsupported(NEW_MOUNT_API),
    "move_mount": unsupported(NEW_MOUNT_API),
    "fsopen": unsupported(NEW_MOUNT_API),
    "fsconfig": unsupported(NEW_MOUNT_API),
    "fsmount": unsupported(NEW_MOUNT_API),
    "fspick": unsupported(NEW_MOUNT_API),
    "mount_setattr": unsupported(NEW_MOUNT_API),
    "quotactl": linux_may(QUOTA),
    "quotactl_fd": linux_may(QUOTA),
    "swapon": linux_may(SWAP),
    "swapoff": linux_may(SWAP),
    "sysfs": linux_may("ENOSYS, as a Linux build without CONFIG_SYSFS_SYSCALL (obsolete)"),
    # ---- file change notification
    "inotify_init": unsupported(INOTIFY, fuzz=""),
    "inotify_init1": unsupported(INOTIFY),
    "inotify_add_watch": unsupported(INOTIFY),
    "inotify_rm_watch": unsupported(INOTIFY),
    "fanotify_init": unsupported(FANOTIFY),
    "fanotify_mark": unsupported(FANOTIFY),
    # ---- memory
    "brk": full(ADDR, result="hex"),
    "mmap": partial("a file outside the page cache (/dev/zero, /proc, the console) is ENODEV; "
                    "Linux maps /dev/zero as anonymous memory",
                    ADDR, U, PROT, MAPF, FD, X.fz("o"), result="hex"),  # fmt: skip
    "munmap": full(ADDR, U),
    "mprotect": full(ADDR, U, PROT),
    "mremap": partial("MREMAP_DONTUNMAP is accepted but the old range is unmapped",
                      shape=mremap_args, fuzz="allxa", result="hex"),  # fmt: skip
    "madvise": partial("MADV_DONTNEED and MADV_FREE discard; other advice (DONTFORK, "
                       "WIPEONFORK, REMOVE, ...) is accepted without effect",
                       ADDR, U, enum(MADV_ADVICE)),  # fmt: skip
    "msync": partial("shared mappings are the page cache: nothing to write back (as tmpfs on "
                     "Linux); an unmapped range is not ENOMEM", ADDR, U, flags(MS_FLAGS)),
    "mincore": unsupported("not yet", fuzz="alp"),
    "mlock": stub("nothing is locked (twaron never swaps); RLIMIT_MEMLOCK is not checked",
                  ADDR, U),  # fmt: skip
    "munlock": stub("nothing is locked (twaron never swaps)", ADDR, U),
    "mlockall": stub("nothing is locked (twaron never swaps)", flags(MCL_FLAGS)),
    "munlockall": stub("nothing is locked (twaron never swaps)"),
    "mlock2": stub("nothing is locked (twaron never swaps)", ADDR, U, flags(MLOCK_FLAGS)),
    "remap_file_pages": unsupported("not yet (deprecated)"),
    "memfd_create": unsupported("not yet", args=(STR, flags(MFD_FLAGS))),
    "memfd_secret": linux_may("ENOSYS, as Linux 6.1 without secretmem.enable=1 (the default)"),
    "pkey_mprotect": linux_may(PKEYS),
    "pkey_alloc": linux_may(PKEYS),
    "pkey_free": linux_may(PKEYS),
    "userfaultfd": linux_may("ENOSYS, as a Linux build without CONFIG_USERFAULTFD"),
    "membarrier": linux_may("ENOSYS, as a Linux build without CONFIG_MEMBARRIER"),
    "process_madvise": unsupported("not yet"),
    "process_mrelease": unsupported("not yet"),
    "process_vm_readv": unsupported("not yet", fuzz="kpvpvx"),
    "process_vm_writev": unsupported("not yet"),
    "mbind": linux_may(NUMA),
    "set_mempolicy": linux_may(NUMA),
    "get_mempolicy": linux_may(NUMA),
    "migrate_pages": linux_may(NUMA),
    "move_pages": linux_may(NUMA),
    "set_mempolicy_home_node": linux_may(NUMA),
    # ---- processes and threads
    "fork": full(),
    "vfork": full(restart=KILLABLE),
    "clone": partial("namespaces (CLONE_NEW*) and CLONE_PIDFD are EINVAL; CLONE_PTRACE, "
                     "CLONE_SYSVSEM, CLONE_IO have no effect", restart=KILLABLE,
                     shape=clone_args, fuzz="xpppx"),  # fmt: skip
    "clone3": partial("namespaces, CLONE_PIDFD, CLONE_INTO_CGROUP and CLONE_CLEAR_SIGHAND are "
                      "EINVAL; set_tid is ignored", PTR, U, restart=KILLABLE),  # fmt: skip
    "execve": full(PATH, ARGV, ENVP),
    "execveat": full(DIRFD, PATH, ARGV, ENVP, flags(AT_FLAGS)),
    "exit": full(D, nofuzz=ENDS_CHILD, result="none"),
    "exit_group": full(D, nofuzz=ENDS_CHILD, result="none"),
    "wait4": partial(RUSAGE, PID, WSTATUS_OUT, flags(WAIT_FLAGS), PTR, restart=SYS),
    "waitid": partial("P_PIDFD is EINVAL; " + RUSAGE, enum(IDTYPES), PID, PTR,
                      flags(WAIT_FLAGS), PTR, restart=SYS),  # fmt: skip
    "getpid": full(),
    "gettid": full(),
    "getppid": full(),
    "set_tid_address": full(PTR),
    "set_robust_list": full(PTR, U),
    "get_robust_list": full(PID, PTR, PTR),
    "arch_prctl": partial("the FS and GS bases only; the CPUID, XCOMP and VDSO codes are EINVAL",
                          shape=arch_prctl_args, fuzz="ca"),  # fmt: skip
    "prctl": partial("PR_SET/GET_NAME, PDEATHSIG, DUMPABLE, NO_NEW_PRIVS; the rest is EINVAL; "
                     "the parent-death signal is never sent", shape=prctl_args,
                     fuzz="cxxxx"),  # fmt: skip
    "personality": unsupported("not yet", fuzz="x"),
    "unshare": unsupported(NS, fuzz="x"),
    "setns": unsupported(NS),
    "kcmp": linux_may("ENOSYS, as a Linux build without CONFIG_KCMP (checkpoint/restore)"),
    "ptrace": partial("EPERM, as in a container without CAP_SYS_PTRACE (Docker's default "
                      "seccomp profile)", enum(PTRACE_REQUESTS), PID, PTR, PTR,
                      fuzz="ckpp"),  # fmt: skip
    "seccomp": unsupported("seccomp: not yet"),
    "pidfd_open": unsupported(PIDFD, fuzz="kx"),
    "pidfd_send_signal": unsupported(PIDFD),
    "pidfd_getfd": unsupported(PIDFD),
    # ---- credentials
    "getuid": full(),
    "geteuid": full(),
    "getgid": full(),
    "getegid": full(),
    "setuid": full(UID),
    "setgid": full(UID),
    "setreuid": full(UID, UID),
    "setregid": full(UID, UID),
    "setresuid": full(UID, UID, UID),
    "setresgid": full(UID, UID, UID),
    "getresuid": full(PTR, PTR, PTR),
    "getresgid": full(PTR, PTR, PTR),
    "setfsuid": unsupported("not yet (the file-system ids follow the effective ids)", fuzz="u"),
    "setfsgid": unsupported("not yet (the file-system ids follow the effective ids)", fuzz="u"),
    "getgroups": full(D, PTR),
    "setgroups": full(D, PTR),
    "capget": unsupported("capabilities: not yet (root may do everything)", fuzz="pp"),
    "capset": unsupported("capabilities: not yet (root may do everything)", fuzz="pp"),
    # ---- sessions and process groups
    "getpgid": full(PID),
    "getpgrp": full(),
    "setpgid": full(PID, PID),
    "setsid": full(),
    "getsid": full(PID),
    # ---- limits, usage, scheduling
    "getrlimit": full(enum(RLIMIT_RESOURCES), RLIMIT_OUT),
    "setrlimit": partial(RLIMITS, enum(RLIMIT_RESOURCES), RLIMIT_IN),
    "prlimit64": partial(RLIMITS, PID, enum(RLIMIT_RESOURCES), RLIMIT_IN, RLIMIT_OUT,
                         fuzz="kcpp"),  # fmt: skip
    "getrusage": partial("the CPU times only (maxrss, faults, switches, ... are 0)",
                         enum(RUSAGE_WHO), PTR),  # fmt: skip
    "times": full(PTR),
    "getpriority": partial("which and who are ignored: the caller's nice value",
                           enum(PRIO_WHICH), PID),  # fmt: skip
    "setpriority": partial("which and who are ignored: sets the caller's nice value, which the "
                           "scheduler does not use", enum(PRIO_WHICH), PID, D),  # fmt: skip
    "sched_yield": full(),
    "sched_setparam": unsupported(SCHED_POLICY),
    "sched_getparam": unsupported(SCHED_POLICY, fuzz="np"),
    "sched_setscheduler": unsupported(SCHED_POLICY),
    "sched_getscheduler": unsupported(SCHED_POLICY, fuzz="n"),
    "sched_get_priority_max": unsupported(SCHED_POLICY),
    "sched_get_priority_min": unsupported(SCHED_POLICY),
    "sched_rr_get_interval": unsupported(SCHED_POLICY),
    "sched_setattr": unsupported(SCHED_POLICY),
    "sched_getattr": unsupported(SCHED_POLICY),
    "sched_setaffinity": stub("one CPU: the mask is not applied, nor are the pid and mask "
                              "checked", PID, U, PTR),  # fmt: skip
    "sched_getaffinity": partial("one CPU: always CPU 0; the pid is not looked up (no ESRCH)",
                                 PID, U, PTR),  # fmt: skip
    "getcpu": full(PTR, PTR, PTR, note="one CPU: always CPU 0 of node 0"),
    "ioprio_set": unsupported("I/O priorities: not yet"),
    "ioprio_get": unsupported("I/O priorities: not yet"),
    # ---- signals
    "rt_sigaction": full(SIG, SIGACTION_IN, SIGACTION_OUT, SIGSETSIZE),
    "rt_sigprocmask": full(enum(SIGPROCMASK_HOW), SIGSET_IN, SIGSET_OUT, SIGSETSIZE),
    "rt_sigpending": full(SIGSET_OUT, SIGSETSIZE),
    "rt_sigreturn": full(nofuzz="a wild frame kills the child: fuzzer.c draws it rarely"),
    "rt_sigsuspend": full(SIGSET_IN, SIGSETSIZE, restart=NOHAND, nofuzz=SLEEPS),
    "rt_sigtimedwait": unsupported("not yet (sigwaitinfo, sigtimedwait)", fuzz="ppzL"),
    "rt_sigqueueinfo": full(PID, SIG, PTR, fuzz="kgp"),
    "rt_tgsigqueueinfo": full(PID, PID, SIG, PTR, fuzz="kkgp"),
    "kill": full(PID, SIG, fuzz="kg"),
    "tkill": full(PID, SIG, fuzz="kg"),
    "tgkill": full(PID, PID, SIG, fuzz="kkg"),
    "sigaltstack": full(PTR, PTR),
    "pause": full(restart=NOHAND, nofuzz=SLEEPS),
    "restart_syscall": full(restart=BLOCK),
    "signalfd": unsupported(SIGNALFD),
    "signalfd4": unsupported(SIGNALFD),
    # ---- time
    "nanosleep": full(TIMESPEC_IN, PTR, restart=BLOCK),
    "clock_nanosleep": partial("a sleep on CLOCK_PROCESS_CPUTIME_ID counts wall time",
                               enum(CLOCK_IDS), flags(TIMER_FLAGS), TIMESPEC_IN, PTR,
                               restart=BLOCK),  # fmt: skip
    "clock_gettime": partial(CLOCKS, enum(CLOCK_IDS), TIMESPEC_OUT),
    "clock_getres": partial(CLOCKS + "; 1 ns for every clock (the _COARSE ones: a jiffy)",
                            enum(CLOCK_IDS), TIMESPEC_OUT),  # fmt: skip
    "clock_settime": unsupported(SETCLOCK, fuzz="cp"),
    "clock_adjtime": unsupported(SETCLOCK),
    "adjtimex": unsupported(SETCLOCK),
    "settimeofday": unsupported(SETCLOCK),
    "gettimeofday": full(TIMEVAL_OUT, PTR),
    "time": full(PTR),
    "alarm": full(U.fz("c")),  # the fuzzer draws a small number of seconds
    "getitimer": partial("ITIMER_VIRTUAL and ITIMER_PROF are kept but never fire",
                         enum(ITIMER_WHICH), PTR),  # fmt: skip
    "setitimer": partial("ITIMER_VIRTUAL and ITIMER_PROF are kept but never fire",
                         enum(ITIMER_WHICH), PTR, PTR),  # fmt: skip
    "timer_create": unsupported(POSIX_TIMERS, fuzz="cpp"),
    "timer_settime": unsupported(POSIX_TIMERS),
    "timer_gettime": unsupported(POSIX_TIMERS),
    "timer_getoverrun": unsupported(POSIX_TIMERS),
    "timer_delete": unsupported(POSIX_TIMERS),
    "timerfd_create": unsupported(TIMERFD),
    "timerfd_settime": unsupported(TIMERFD),
    "timerfd_gettime": unsupported(TIMERFD),
    # ---- waiting for files
    "poll": full(PTR, NFDS, D.fz("w"), restart=BLOCK),  # w: a short timeout in the fuzzer
    "ppoll": full(PTR, NFDS, TIMESPEC_IN, SIGSET_IN, SIGSETSIZE, restart=NOHAND),
    "select": full(COUNT, PTR, PTR, PTR, PTR.fz("z"), restart=NOHAND),
    "pselect6": full(COUNT, PTR, PTR, PTR, TIMESPEC_IN, PTR, restart=NOHAND),
    "epoll_create": unsupported(EPOLL),
    "epoll_create1": unsupported(EPOLL, fuzz="x"),
    "epoll_ctl": unsupported(EPOLL),
    "epoll_wait": unsupported(EPOLL),
    "epoll_pwait": unsupported(EPOLL),
    "epoll_pwait2": unsupported(EPOLL),
    "eventfd": unsupported(EVENTFD),
    "eventfd2": unsupported(EVENTFD, fuzz="ix"),
    # ---- futexes and thread-local bits
    "futex": partial("no priority-inheritance operations (FUTEX_LOCK_PI, ...: ENOSYS)",
                     restart=SYS, shape=futex_args, fuzz="pcizpi"),  # fmt: skip
    "futex_waitv": unsupported("not yet (futex works)"),
    "rseq": Fact(Level.UNSUPPORTED, "ENOSYS, as a Linux build without CONFIG_RSEQ (glibc "
                 "copes)", linux_may=True, args=(PTR, X, D, X), fuzz="plxi"),  # fmt: skip
    "modify_ldt": linux_may("ENOSYS, as a Linux build without CONFIG_MODIFY_LDT_SYSCALL"),
    # ---- sockets
    "socket": unsupported(SOCKETS, fuzz="iii"),
    "socketpair": unsupported(SOCKETS),
    "connect": unsupported(SOCKETS),
    "accept": unsupported(SOCKETS),
    "accept4": unsupported(SOCKETS),
    "bind": unsupported(SOCKETS),
    "listen": unsupported(SOCKETS),
    "shutdown": unsupported(SOCKETS),
    "sendto": unsupported(SOCKETS),
    "recvfrom": unsupported(SOCKETS),
    "sendmsg": unsupported(SOCKETS),
    "recvmsg": unsupported(SOCKETS),
    "sendmmsg": unsupported(SOCKETS),
    "recvmmsg": unsupported(SOCKETS),
    "getsockname": unsupported(SOCKETS),
    "getpeername": unsupported(SOCKETS),
    "setsockopt": unsupported(SOCKETS),
    "getsockopt": unsupported(SOCKETS),
    # ---- System V IPC and POSIX message queues
    "shmget": unsupported(SYSV_IPC),
    "shmat": unsupported(SYSV_IPC, result="hex"),
    "shmctl": unsupported(SYSV_IPC),
    "shmdt": unsupported(SYSV_IPC),
    "semget": unsupported(SYSV_IPC),
    "semop": unsupported(SYSV_IPC),
    "semctl": unsupported(SYSV_IPC),
    "semtimedop": unsupported(SYSV_IPC),
    "msgget": unsupported(SYSV_IPC),
    "msgsnd": unsupported(SYSV_IPC),
    "msgrcv": unsupported(SYSV_IPC),
    "msgctl": unsupported(SYSV_IPC),
    "mq_open": unsupported(MQUEUE),
    "mq_unlink": unsupported(MQUEUE),
    "mq_timedsend": unsupported(MQUEUE),
    "mq_timedreceive": unsupported(MQUEUE),
    "mq_notify": unsupported(MQUEUE),
    "mq_getsetattr": unsupported(MQUEUE),
    # ---- asynchronous I/O
    "io_setup": unsupported(AIO),
    "io_destroy": unsupported(AIO),
    "io_getevents": unsupported(AIO),
    "io_submit": unsupported(AIO),
    "io_cancel": unsupported(AIO),
    "io_pgetevents": unsupported(AIO),
    "io_uring_setup": linux_may(IO_URING),
    "io_uring_enter": linux_may(IO_URING),
    "io_uring_register": linux_may(IO_URING),
    # ---- the system
    "uname": full(UTSNAME_OUT),
    "sethostname": full(buf_in(1), U),
    "setdomainname": full(buf_in(1), U),
    "sysinfo": partial("the load averages are 0", SYSINFO_OUT),
    "getrandom": full(HEXBUF_OUT, U, flags(GRND_FLAGS), note="the boot-seeded generator"),
    "syslog": unsupported("the kernel log: not yet", fuzz="cpl"),
    "reboot": unsupported("not yet"),
    "vhangup": full(),
    "acct": linux_may("ENOSYS, as a Linux build without CONFIG_BSD_PROCESS_ACCT"),
    "kexec_load": linux_may(KEXEC),
    "kexec_file_load": linux_may(KEXEC),
    "init_module": linux_may(MODULES),
    "finit_module": linux_may(MODULES),
    "delete_module": linux_may(MODULES),
    "iopl": linux_may(IOPORT),
    "ioperm": linux_may(IOPORT),
    "add_key": linux_may(KEYS),
    "request_key": linux_may(KEYS),
    "keyctl": linux_may(KEYS),
    "bpf": linux_may("ENOSYS, as a Linux build without CONFIG_BPF_SYSCALL"),
    "perf_event_open": unsupported("perf events: not yet"),
    "landlock_create_ruleset": linux_may(LANDLOCK),
    "landlock_add_rule": linux_may(LANDLOCK),
    "landlock_restrict_self": linux_may(LANDLOCK),
    # ---- numbers Linux 6.1 has no call behind
    "uselib": linux_may(NI),
    "_sysctl": linux_may(NI + "; removed in 5.5"),
    "create_module": linux_may(NI),
    "get_kernel_syms": linux_may(NI),
    "query_module": linux_may(NI),
    "nfsservctl": linux_may(NI),
    "getpmsg": linux_may(NI),
    "putpmsg": linux_may(NI),
    "afs_syscall": linux_may(NI),
    "tuxcall": linux_may(NI),
    "security": linux_may(NI),
    "vserver": linux_may(NI),
    "set_thread_area": linux_may(NI + "; 32-bit only (arch_prctl sets the TLS)"),
    "get_thread_area": linux_may(NI + "; 32-bit only"),
    "epoll_ctl_old": linux_may(NI),
    "epoll_wait_old": linux_may(NI),
    "lookup_dcookie": linux_may("ENOSYS in Linux 6.1 too: dcookies went with oprofile in 5.12"),
}
