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
    EFD_FLAGS,
    ENVP,
    EPOLL_CREATE_FLAGS,
    EPOLL_CTL_OPS,
    EPOLL_EVENT_IN,
    EPOLL_EVENTS_OUT,
    FADV_ADVICE,
    FALLOC_FLAGS,
    FD,
    FMODE,
    GRND_FLAGS,
    HEXBUF_OUT,
    IDTYPES,
    IN_INIT_FLAGS,
    IN_MASK,
    INT_IN,
    INT_OUT,
    IPC_GET_FLAGS,
    IPC_ID,
    IPC_KEY,
    ITIMER_WHICH,
    ITIMERSPEC_IN,
    ITIMERSPEC_OUT,
    LD,
    LOCK_OPS,
    MADV_ADVICE,
    MAPF,
    MCL_FLAGS,
    MFD_FLAGS,
    MLOCK_FLAGS,
    MMSG_IN,
    MMSG_OUT,
    MS_FLAGS,
    MSG_FLAGS,
    MSGCTL_CMDS,
    MSGF,
    MSGHDR_IN,
    MSGHDR_OUT,
    OCT,
    OPEN_FLAGS,
    PATH,
    PATH_OUT,
    PID,
    PIDFD_FLAGS,
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
    RWF_FLAGS,
    SCHED_POLICIES,
    SEEK_WHENCE,
    SEMCTL_CMDS,
    SFD_FLAGS,
    SHMAT_FLAGS,
    SHMCTL_CMDS,
    SHUT_HOW,
    SIG,
    SIGACTION_IN,
    SIGACTION_OUT,
    SIGEVENT_IN,
    SIGPROCMASK_HOW,
    SIGSET_IN,
    SIGSET_OUT,
    SIGSETSIZE,
    SOCK_FAMILY,
    SOCK_TYPE,
    SOCKADDR_IN_1,
    SOCKADDR_IN_4,
    SOCKADDR_OUT_1,
    SOCKADDR_OUT_4,
    SOCKF,
    SOCKLEN_INOUT,
    SPLICE_FLAGS,
    STAT_OUT,
    STR,
    SYSINFO_OUT,
    TFD_FLAGS,
    TFD_SETTIME_FLAGS,
    TIMER_FLAGS,
    TIMESPEC_IN,
    TIMESPEC_OUT,
    TIMEVAL_IN,
    TIMEVAL_OUT,
    UID,
    UMOUNT_FLAGS,
    UTSNAME_OUT,
    WAIT_FLAGS,
    WSTATUS_OUT,
    XATTR_FLAGS,
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
    getsockopt_args,
    ioctl_args,
    iovec_in,
    iovec_out,
    mremap_args,
    open_args,
    openat_args,
    prctl_args,
    setsockopt_args,
)

NEVER, SYS, NOHAND, BLOCK = (Restart.NEVER_SLEEPS, Restart.SYS, Restart.NOHAND,
                             Restart.BLOCK)  # fmt: skip
EINTR = Restart.EINTR  # never restarted (signal(7): semop, semtimedop)
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


RWF_NOTE = ("RWF_NOWAIT (EAGAIN instead of a sleep) is taken where Linux 6.18 opens files "
            "FMODE_NOWAIT: pipes, sockets, eventfd/timerfd/signalfd reads, /dev/null, zero, "
            "random, and a volume's files where the host's file system takes it (asked of the "
            "host: ext4 reads, and refuses a write as it does; a read is never EAGAIN, as if "
            "every page were cached); EOPNOTSUPP elsewhere, as Linux's tmpfs and overlayfs "
            "(the default root, --rootfs); RWF_HIPRI, RWF_DSYNC and RWF_SYNC change nothing "
            "(files live in memory or are written through), and are taken also on a file that "
            "Linux refuses them on for having no vectored operation (an eventfd write)")

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
CONTAINER = ("EPERM, as for root in a container without CAP_SYS_ADMIN: the mount tree is "
             "fixed at boot")  # fmt: skip
RUSAGE = "the rusage holds the CPU times only (maxrss, faults, ... are 0)"
CLOCKS = ("the alarm clocks are EINVAL, as on a machine without an RTC; CLOCK_TAI is "
          "CLOCK_REALTIME until adjtimex sets the TAI offset; the vDSO answers the same")
RLIMITS = ("enforced: NOFILE, FSIZE, AS, STACK (at exec), NPROC, CPU; the others are only "
           "stored")  # fmt: skip
SOCKETS = ("AF_UNIX; AF_INET and AF_INET6 TCP, UDP and UDP-Lite on lo inside the guest (--net "
           "none: byte queues, no packets; TIME_WAIT, retransmission and keepalive probes are "
           "not modelled) or as host sockets (--net host; in a deterministic run what they "
           "receive, accept and connect comes at input points, a stream send never waits for the"
           " host, and --record keeps it all for twaron replay); AF_NETLINK NETLINK_ROUTE (link,"
           " address and route dumps of lo); raw, ICMP, packet sockets and the other families "
           "are ESOCKTNOSUPPORT/EPROTONOSUPPORT/EAFNOSUPPORT")  # fmt: skip
SEND_OOB = ("MSG_OOB sends TCP's urgent byte; on AF_UNIX it is EOPNOTSUPP (Linux with "
            "CONFIG_AF_UNIX_OOB sends a stream's urgent byte); a UDP message is copied in "
            "before its size is checked (EFAULT before EMSGSIZE); IP_RETOPTS, IPv6 extension "
            "headers and IPV6_FLOWINFO messages are checked, not carried, and UDP_SEGMENT sends "
            "the datagram whole (with --net host no IP "
            "or IPv6 message reaches the host)")  # fmt: skip
RECV_NOTES = ("MSG_OOB reads TCP's urgent byte (EOPNOTSUPP on AF_UNIX); MSG_ERRQUEUE has no "
              "queue to read (EAGAIN: IP_RECVERR only reports errors through SO_ERROR); of "
              "the IP and IPv6 control messages only IP_PKTINFO, IP_TTL, IP_TOS, IPV6_PKTINFO, "
              "IPV6_HOPLIMIT and IPV6_TCLASS are given (none with --net host); "
              "descriptors in flight on sockets no process can reach (a socket sent over "
              "itself) are never collected")  # fmt: skip
SOCKOPTS = ("SO_BINDTODEVICE knows no device (ENODEV); filters (SO_ATTACH_FILTER, BPF), "
            "SO_TIMESTAMPING, SO_ZEROCOPY, SO_PEERSEC, SO_PEERGROUPS, SO_MEMINFO and other "
            "rare options are ENOPROTOOPT; the IP, IPv6, TCP and UDP options are checked, kept "
            "and reported back (with --net none nothing acts on TTLs, keepalive or timeouts); "
            "TCP_CONGESTION knows cubic and reno; TCP_INFO reports an idle loopback connection")
ADDRLEN = D.fz("l")  # a sockaddr's length
EPOLL = ("EPOLLWAKEUP is accepted (and dropped without CAP_BLOCK_SUSPEND, as Linux): the "
         "guest never suspends")  # fmt: skip
MQUEUE = "POSIX message queues: not yet"
AIO = "Linux AIO: not yet"
INOTIFY = ("no IN_UNMOUNT (the mount tree is fixed), no IN_OPEN/IN_ACCESS from execve; "
           "max_user_instances and max_user_watches are not enforced")  # fmt: skip
PIPE_BYTES = ("a pipe's room is counted in bytes, not in page-sized buffers (Linux fits fewer "
              "bytes when spliced pages are partial)")  # fmt: skip
SHM_HUGETLB_NOTE = "SHM_HUGETLB is ENOSYS, as a Linux build without CONFIG_HUGETLBFS"
XATTR = ("tmpfs's user.*, trusted.* and security.* (as without an LSM); no POSIX ACLs "
         "(system.* is EOPNOTSUPP); the name is read before the path, as since Linux 6.13")
OPEN_NOTE = "O_DIRECTORY|O_CREAT is EINVAL, as since Linux 6.4"  # fmt: skip
FANOTIFY = "fanotify: not yet"
POSIX_TIMERS = ("on the alarm clocks EOPNOTSUPP (no RTC); CPU-time timers fire within a time "
                "slice of their expiry")
CPUTIME = ("ITIMER_VIRTUAL and ITIMER_PROF both count all the process's CPU time (twaron's "
           "is all user time) and fire within a time slice of their expiry")
ADJTIMEX = ("the NTP state is kept and reported but does not steer the guest's clock; "
            "ADJ_SETOFFSET and ADJ_TAI take effect")
TIMERFD = ("the alarm clocks (root only, as Linux) run as their plain clocks: the guest "
           "never suspends; no TFD_IOC_SET_TICKS, as a Linux build without "
           "CONFIG_CHECKPOINT_RESTORE")  # fmt: skip
TIMERFD_CANCEL = ("TFD_TIMER_CANCEL_ON_SET is accepted but setting the clock does not cancel "
                  "the timer")  # fmt: skip
EVENTFD = ("writev to an eventfd makes one 8-byte write of its vectors (Linux writes each "
           "vector: EINVAL for pieces under 8 bytes); a write of the wrong size from a bad "
           "pointer is EFAULT (Linux: EINVAL)")  # fmt: skip
SIGNALFD = ("as Linux, the signals read and polled are those of the calling thread and "
            "process, whoever created the signalfd")  # fmt: skip
SETCLOCK = "root (CAP_SYS_TIME) moves the guest's own wall clock, never the host's"
SCHED_POLICY = ("policies, priorities and nice values are kept and reported with Linux's "
                "checks; the one round-robin scheduler does not use them")
NEW_MOUNT_API = "the new mount API: not yet (the mount tree is fixed at boot)"
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
    "preadv2": partial(RWF_NOTE, FD, iovec_out(2), COUNT, LD, X, flags(RWF_FLAGS),
                       restart=SYS),  # fmt: skip
    "pwritev2": partial(RWF_NOTE, FD, iovec_in(2), COUNT, LD, X, flags(RWF_FLAGS),
                        restart=SYS),  # fmt: skip
    "sendfile": full(FD, FD, PTR, U, restart=SYS),
    "splice": partial(PIPE_BYTES, FD, PTR, FD, PTR, U, flags(SPLICE_FLAGS), restart=SYS),
    "tee": partial(PIPE_BYTES, FD, FD, U, flags(SPLICE_FLAGS), restart=SYS),
    "vmsplice": partial(PIPE_BYTES + "; the pages are copied, never gifted",
                        FD, iovec_in(2), COUNT, flags(SPLICE_FLAGS), restart=SYS),  # fmt: skip
    "copy_file_range": full(FD, PTR, FD, PTR, U, X,
                            note="a copy through the page cache (tmpfs has no reflink)"),
    "lseek": full(FD, LD, enum(SEEK_WHENCE)),
    "readahead": unsupported("not yet", fuzz="fol"),
    # ---- opening, closing, file descriptors
    "open": full(restart=SYS, shape=open_args, fuzz="sxm", note=OPEN_NOTE),
    "openat": full(restart=SYS, shape=openat_args, fuzz="dsxm", note=OPEN_NOTE),
    "openat2": partial("RESOLVE_CACHED is EAGAIN for any step into procfs and any missing name "
                       "(Linux: whatever its RCU walk cannot finish)", DIRFD, PATH, PTR, U,
                       restart=SYS, fuzz="dspl"),  # fmt: skip
    "creat": full(PATH, OCT, restart=SYS),
    "close": full(FD),
    "close_range": partial("CLOSE_RANGE_UNSHARE does not unshare a shared fd table",
                           FD, FD, X),  # fmt: skip
    "dup": full(FD),
    "dup2": full(FD, FD),
    "dup3": full(FD, FD, flags(OPEN_FLAGS)),
    "fcntl": partial("F_SETOWN/F_SETSIG are kept for F_NOTIFY's signal only (no O_ASYNC "
                     "SIGIO), F_SETOWN_EX and leases are EINVAL; an F_NOTIFY watch ends when "
                     "its open file is closed, not at the close of one of its fds (record and "
                     "OFD locks are Linux's, F_SETLKW with deadlock detection; F_OFD_GETLK "
                     "takes F_UNLCK as since Linux 6.6)", restart=SYS,
                     shape=fcntl_args, fuzz="fFi"),  # fmt: skip
    "ioctl": partial("FIONBIO, FIOCLEX/FIONCLEX, FIONREAD on any file; on sockets SIOCINQ, "
                     "SIOCOUTQ, SIOCATMARK and the interface ioctls of lo (SIOCGIFCONF, "
                     "SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFADDR, SIOCGIFNETMASK, "
                     "SIOCGIFMTU, ...; SIOCSIFFLAGS changes nothing); on terminals (ptys, and "
                     "the console when twaron's stdin is a terminal) the line discipline's and "
                     "the tty core's: TCGETS/TCSETS/TCSETSW/TCSETSF and their termios2 forms, "
                     "TIOCGWINSZ/TIOCSWINSZ, TCFLSH, TCXONC, TIOCINQ, TIOCOUTQ, TIOCSCTTY, "
                     "TIOCNOTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID, TIOCSTI, "
                     "TIOCEXCL/TIOCNXCL/TIOCGEXCL, TIOCGETD/TIOCSETD (N_TTY only: others "
                     "EINVAL), TIOCVHANGUP, TIOCGDEV, TCSBRK/TCSBRKP/TIOCSBRK/TIOCCBRK (no break "
                     "is sent), and on a pty master TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, "
                     "TIOCGPTPEER, TIOCSIG; a console whose stdin is not a terminal passes "
                     "TCGETS/TCSETS*/TIOCGWINSZ to the host's terminal where its host fd is "
                     "one. Not done (ENOTTY): packet mode (TIOCPKT), locked termios "
                     "(TIOCGLCKTRMIOS), modem lines (TIOCM*), TIOCCONS, serial ioctls; "
                     "TCSETSW/TCSETSF do not wait (no output is ever pending); others ENOTTY",
                     restart=SYS, shape=ioctl_args, fuzz="fxp"),  # fmt: skip
    "flock": full(FD, flags(LOCK_OPS), restart=SYS),
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
    "renameat2": full(DIRFD, PATH, DIRFD, PATH, flags(RENAME_FLAGS)),
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
    "fallocate": partial("tmpfs's modes (allocation, KEEP_SIZE, PUNCH_HOLE) as Linux 6.12+ checks "
                         "them (the overlay root's files too; a volume's: made on the host "
                         "file, but COLLAPSE/INSERT_RANGE are EOPNOTSUPP)",
                         FD, flags(FALLOC_FLAGS), LD, LD),
    # fmt: skip
    "fadvise64": partial("the advice is checked, then ignored (as Linux does on tmpfs); a pipe "
                         "is not ESPIPE", FD, LD, U, enum(FADV_ADVICE)),  # fmt: skip
    "sync_file_range": unsupported("not yet"),
    "fsync": full(FD, note=TMPFS_SYNC + "; EINVAL for a file without fsync (a pipe, a "
                  "terminal, procfs), as on Linux"),
    "fdatasync": full(FD, note=TMPFS_SYNC),
    "syncfs": full(FD, note=TMPFS_SYNC),
    "sync": full(note=TMPFS_SYNC),
    # ---- extended attributes
    "setxattr": partial(XATTR, PATH, STR, buf_in(3), U, flags(XATTR_FLAGS)),
    "lsetxattr": partial(XATTR, PATH, STR, buf_in(3), U, flags(XATTR_FLAGS)),
    "fsetxattr": partial(XATTR, FD, STR, buf_in(3), U, flags(XATTR_FLAGS)),
    "getxattr": partial(XATTR, PATH, STR, BUF_OUT, U),
    "lgetxattr": partial(XATTR, PATH, STR, BUF_OUT, U),
    "fgetxattr": partial(XATTR, FD, STR, BUF_OUT, U),
    "listxattr": partial(XATTR, PATH, BUF_OUT, U),
    "llistxattr": partial(XATTR, PATH, BUF_OUT, U),
    "flistxattr": partial(XATTR, FD, BUF_OUT, U),
    "removexattr": partial(XATTR, PATH, STR),
    "lremovexattr": partial(XATTR, PATH, STR),
    "fremovexattr": partial(XATTR, FD, STR),
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
    "inotify_init": partial(INOTIFY),
    "inotify_init1": partial(INOTIFY, flags(IN_INIT_FLAGS)),
    "inotify_add_watch": partial(INOTIFY, FD, PATH, flags(IN_MASK)),
    "inotify_rm_watch": full(FD, D),
    "fanotify_init": unsupported(FANOTIFY),
    "fanotify_mark": unsupported(FANOTIFY),
    # ---- memory
    "brk": full(ADDR, result="hex"),
    "mmap": partial("MAP_HUGETLB maps ordinary pages (Linux with no huge pages reserved: "
                    "ENOMEM); /dev/zero maps as anonymous memory and files without an mmap "
                    "operation are ENODEV, as on Linux",
                    ADDR, U, PROT, MAPF, FD, X.fz("o"), result="hex"),  # fmt: skip
    "munmap": full(ADDR, U),
    "mprotect": full(ADDR, U, PROT),
    "mremap": partial("MREMAP_DONTUNMAP is accepted but the old range is unmapped",
                      shape=mremap_args, fuzz="allxa", result="hex"),  # fmt: skip
    "madvise": partial("MADV_DONTNEED and MADV_FREE discard; other advice (DONTFORK, "
                       "WIPEONFORK, REMOVE, ...) is accepted without effect",
                       ADDR, U, enum(MADV_ADVICE)),  # fmt: skip
    "msync": partial("shared mappings are the page cache: nothing to write back (as tmpfs on "
                     "Linux) except a volume's files, written back to the host whole; an "
                     "unmapped range is not ENOMEM", ADDR, U, flags(MS_FLAGS)),
    "mincore": unsupported("not yet", fuzz="alp"),
    "mlock": stub("nothing is locked (twaron never swaps); RLIMIT_MEMLOCK is not checked",
                  ADDR, U),  # fmt: skip
    "munlock": stub("nothing is locked (twaron never swaps)", ADDR, U),
    "mlockall": stub("nothing is locked (twaron never swaps)", flags(MCL_FLAGS)),
    "munlockall": stub("nothing is locked (twaron never swaps)"),
    "mlock2": stub("nothing is locked (twaron never swaps)", ADDR, U, flags(MLOCK_FLAGS)),
    "remap_file_pages": unsupported("not yet (deprecated)"),
    "memfd_create": partial("MFD_HUGETLB is EINVAL (no hugetlbfs); after a write seal, a "
                            "read-only MAP_SHARED mapping is allowed (Linux 6.7 on; 6.1 says "
                            "EPERM) and mprotect may make it writable",
                            STR, flags(MFD_FLAGS)),  # fmt: skip
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
    "clone": partial("namespaces (CLONE_NEW*) are EINVAL; CLONE_PTRACE, "
                     "CLONE_SYSVSEM, CLONE_IO have no effect", restart=KILLABLE,
                     shape=clone_args, fuzz="xpppx"),  # fmt: skip
    "clone3": partial("namespaces, CLONE_INTO_CGROUP and CLONE_CLEAR_SIGHAND are EINVAL; "
                      "CLONE_PIDFD with CLONE_THREAD is EINVAL as in Linux 6.1 (6.9 on: a "
                      "thread's pidfd); set_tid is ignored", PTR, U,
                      restart=KILLABLE),  # fmt: skip
    "execve": full(PATH, ARGV, ENVP),
    "execveat": full(DIRFD, PATH, ARGV, ENVP, flags(AT_FLAGS)),
    "exit": full(D, nofuzz=ENDS_CHILD, result="none"),
    "exit_group": full(D, nofuzz=ENDS_CHILD, result="none"),
    "wait4": partial(RUSAGE, PID, WSTATUS_OUT, flags(WAIT_FLAGS), PTR, restart=SYS),
    "waitid": partial(RUSAGE, enum(IDTYPES), PID, PTR,
                      flags(WAIT_FLAGS), PTR, restart=SYS),  # fmt: skip
    "getpid": full(),
    "gettid": full(),
    "getppid": full(),
    "set_tid_address": full(PTR),
    "set_robust_list": full(PTR, U),
    "get_robust_list": full(PID, PTR, PTR),
    "arch_prctl": partial("the FS and GS bases only; the CPUID, XCOMP and VDSO codes are EINVAL",
                          shape=arch_prctl_args, fuzz="ca"),  # fmt: skip
    "prctl": partial("PR_SET/GET_NAME, PDEATHSIG, DUMPABLE, KEEPCAPS, CHILD_SUBREAPER, "
                     "NO_NEW_PRIVS, PR_CAPBSET_READ/DROP; the other options are EINVAL",
                     shape=prctl_args, fuzz="cxxxx"),  # fmt: skip
    "personality": unsupported("not yet", fuzz="x"),
    "unshare": unsupported(NS, fuzz="x"),
    "setns": unsupported(NS),
    "kcmp": linux_may("ENOSYS, as a Linux build without CONFIG_KCMP (checkpoint/restore)"),
    "ptrace": partial("EPERM, as in a container without CAP_SYS_PTRACE (Docker's default "
                      "seccomp profile)", enum(PTRACE_REQUESTS), PID, PTR, PTR,
                      fuzz="ckpp"),  # fmt: skip
    "seccomp": unsupported("seccomp: not yet"),
    "pidfd_open": full(PID, flags(PIDFD_FLAGS), fuzz="kx"),
    "pidfd_send_signal": full(FD, SIG, PTR, X, fuzz="fgpx"),
    "pidfd_getfd": full(FD, FD, X),
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
    "getpriority": full(enum(PRIO_WHICH), PID, note="20 - nice, as Linux returns it"),
    "setpriority": partial(SCHED_POLICY, enum(PRIO_WHICH), PID, D),
    "sched_yield": full(),
    "sched_setparam": partial(SCHED_POLICY, PID, INT_IN, fuzz="np"),
    "sched_getparam": full(PID, INT_OUT, fuzz="np"),
    "sched_setscheduler": partial(SCHED_POLICY, PID, enum(SCHED_POLICIES), INT_IN,
                                  fuzz="ncp"),  # fmt: skip
    "sched_getscheduler": full(PID, fuzz="n"),
    "sched_get_priority_max": full(enum(SCHED_POLICIES)),
    "sched_get_priority_min": full(enum(SCHED_POLICIES)),
    "sched_rr_get_interval": partial("SCHED_OTHER, BATCH and IDLE report twaron's 20 ms time "
                                     "slice", PID, TIMESPEC_OUT),  # fmt: skip
    "sched_setattr": partial(SCHED_POLICY + "; SCHED_DEADLINE's admission counts the deadline "
                             "tasks' bandwidth against 95% of the one CPU; utilization clamps "
                             "are EOPNOTSUPP, as in a build without CONFIG_UCLAMP_TASK", PID, PTR,
                             X, fuzz="npx"),  # fmt: skip
    "sched_getattr": full(PID, PTR, U, X, fuzz="npcx"),
    "sched_setaffinity": full(PID, U, PTR, note="one CPU: a mask without CPU 0 is EINVAL"),
    "sched_getaffinity": full(PID, U, PTR, note="one CPU: always CPU 0"),
    "getcpu": full(PTR, PTR, PTR, note="one CPU: always CPU 0 of node 0"),
    "ioprio_set": unsupported("I/O priorities: not yet"),
    "ioprio_get": unsupported("I/O priorities: not yet"),
    # ---- signals
    "rt_sigaction": full(SIG, SIGACTION_IN, SIGACTION_OUT, SIGSETSIZE),
    "rt_sigprocmask": full(enum(SIGPROCMASK_HOW), SIGSET_IN, SIGSET_OUT, SIGSETSIZE),
    "rt_sigpending": full(SIGSET_OUT, SIGSETSIZE),
    "rt_sigreturn": full(nofuzz="a wild frame kills the child: fuzzer.c draws it rarely"),
    "rt_sigsuspend": full(SIGSET_IN, SIGSETSIZE, restart=NOHAND, nofuzz=SLEEPS),
    "rt_sigtimedwait": full(SIGSET_IN, PTR, TIMESPEC_IN, SIGSETSIZE, restart=Restart.EINTR,
                            fuzz="ppzL"),  # fmt: skip
    "rt_sigqueueinfo": full(PID, SIG, PTR, fuzz="kgp"),
    "rt_tgsigqueueinfo": full(PID, PID, SIG, PTR, fuzz="kkgp"),
    "kill": full(PID, SIG, fuzz="kg"),
    "tkill": full(PID, SIG, fuzz="kg"),
    "tgkill": full(PID, PID, SIG, fuzz="kkg"),
    "sigaltstack": full(PTR, PTR),
    "pause": full(restart=NOHAND, nofuzz=SLEEPS),
    "restart_syscall": full(restart=BLOCK),
    "signalfd": full(FD, SIGSET_IN, SIGSETSIZE, note=SIGNALFD),
    "signalfd4": full(FD, SIGSET_IN, SIGSETSIZE, flags(SFD_FLAGS), note=SIGNALFD),
    # ---- time
    "nanosleep": full(TIMESPEC_IN, PTR, restart=BLOCK),
    "clock_nanosleep": partial("a sleep on a process's CPU-time clock counts wall time; an "
                               "absolute CLOCK_REALTIME sleep does not notice the clock being "
                               "set (POSIX timers do)",
                               enum(CLOCK_IDS), flags(TIMER_FLAGS), TIMESPEC_IN, PTR,
                               restart=BLOCK),  # fmt: skip
    "clock_gettime": full(enum(CLOCK_IDS), TIMESPEC_OUT, note=CLOCKS),
    "clock_getres": full(enum(CLOCK_IDS), TIMESPEC_OUT, note=CLOCKS),
    "clock_settime": full(enum(CLOCK_IDS), TIMESPEC_IN, note=SETCLOCK, fuzz="cp"),
    "clock_adjtime": partial(ADJTIMEX, enum(CLOCK_IDS), PTR, fuzz="cp"),
    "adjtimex": partial(ADJTIMEX, PTR),
    "settimeofday": full(TIMEVAL_IN, PTR, note=SETCLOCK),
    "gettimeofday": full(TIMEVAL_OUT, PTR),
    "time": full(PTR),
    "alarm": full(U.fz("c")),  # the fuzzer draws a small number of seconds
    "getitimer": full(enum(ITIMER_WHICH), PTR, note=CPUTIME),
    "setitimer": full(enum(ITIMER_WHICH), PTR, PTR, note=CPUTIME),
    "timer_create": full(enum(CLOCK_IDS), SIGEVENT_IN, INT_OUT, note=POSIX_TIMERS,
                         fuzz="cpp"),  # fmt: skip
    "timer_settime": full(D, flags(TIMER_FLAGS), ITIMERSPEC_IN, ITIMERSPEC_OUT, fuzz="cxpp"),
    "timer_gettime": full(D, ITIMERSPEC_OUT, fuzz="cp"),
    "timer_getoverrun": full(D, fuzz="c"),
    "timer_delete": full(D, fuzz="c", note="its pending signal stays pending, as in Linux "
                         "6.1 (newer kernels drop it)"),
    "timerfd_create": full(enum(CLOCK_IDS), flags(TFD_FLAGS), note=TIMERFD),
    "timerfd_settime": full(FD, flags(TFD_SETTIME_FLAGS), ITIMERSPEC_IN, ITIMERSPEC_OUT,
                            note=TIMERFD_CANCEL),  # fmt: skip
    "timerfd_gettime": full(FD, ITIMERSPEC_OUT),
    # ---- waiting for files
    "poll": full(PTR, NFDS, D.fz("w"), restart=BLOCK),  # w: a short timeout in the fuzzer
    "ppoll": full(PTR, NFDS, TIMESPEC_IN, SIGSET_IN, SIGSETSIZE, restart=NOHAND),
    "select": full(COUNT, PTR, PTR, PTR, PTR.fz("z"), restart=NOHAND),
    "pselect6": full(COUNT, PTR, PTR, PTR, TIMESPEC_IN, PTR, restart=NOHAND),
    "epoll_create": full(D),
    "epoll_create1": full(flags(EPOLL_CREATE_FLAGS)),
    "epoll_ctl": full(FD, enum(EPOLL_CTL_OPS), FD, EPOLL_EVENT_IN, note=EPOLL),
    # w: a short timeout in the fuzzer (an epoll with nothing ready would sleep for ever)
    "epoll_wait": full(FD, EPOLL_EVENTS_OUT, COUNT, D.fz("w"), restart=EINTR),
    "epoll_pwait": full(FD, EPOLL_EVENTS_OUT, COUNT, D.fz("w"), SIGSET_IN, SIGSETSIZE,
                        restart=EINTR),  # fmt: skip
    "epoll_pwait2": full(FD, EPOLL_EVENTS_OUT, COUNT, TIMESPEC_IN, SIGSET_IN, SIGSETSIZE,
                         restart=EINTR),  # fmt: skip
    "eventfd": partial(EVENTFD, U.fz("i")),
    "eventfd2": partial(EVENTFD, U.fz("i"), flags(EFD_FLAGS)),
    # ---- futexes and thread-local bits
    "futex": partial("no priority-inheritance operations (FUTEX_LOCK_PI, ...: ENOSYS)",
                     restart=SYS, shape=futex_args, fuzz="pcizpi"),  # fmt: skip
    "futex_waitv": unsupported("not yet (futex works)"),
    "rseq": Fact(Level.UNSUPPORTED, "ENOSYS, as a Linux build without CONFIG_RSEQ (glibc "
                 "copes)", linux_may=True, args=(PTR, X, D, X), fuzz="plxi"),  # fmt: skip
    "modify_ldt": linux_may("ENOSYS, as a Linux build without CONFIG_MODIFY_LDT_SYSCALL"),
    # ---- sockets (twaron/net/, syscalls/net.py)
    "socket": partial(SOCKETS, SOCK_FAMILY, SOCK_TYPE, D.fz("c")),
    "socketpair": partial(SOCKETS, SOCK_FAMILY, SOCK_TYPE, D.fz("c"), PIPEFD_OUT),
    "connect": full(FD, SOCKADDR_IN_1, ADDRLEN, restart=SYS),
    "accept": full(FD, SOCKADDR_OUT_1, SOCKLEN_INOUT, restart=SYS),
    "accept4": full(FD, SOCKADDR_OUT_1, SOCKLEN_INOUT, SOCKF, restart=SYS),
    "bind": full(FD, SOCKADDR_IN_1, ADDRLEN),
    "listen": full(FD, D),
    "shutdown": full(FD, enum(SHUT_HOW)),
    "sendto": partial(SEND_OOB, FD, buf_in(2), U, MSGF, SOCKADDR_IN_4, ADDRLEN, restart=SYS),
    "recvfrom": partial(RECV_NOTES, FD, BUF_OUT, U, MSGF, SOCKADDR_OUT_4, SOCKLEN_INOUT,
                        restart=SYS),  # fmt: skip
    "sendmsg": partial(SEND_OOB, FD, MSGHDR_IN, MSGF, restart=SYS),
    "recvmsg": partial(RECV_NOTES, FD, MSGHDR_OUT, MSGF, restart=SYS),
    "sendmmsg": partial(SEND_OOB, FD, MMSG_IN, U.fz("v"), MSGF, restart=SYS),
    "recvmmsg": partial(RECV_NOTES, FD, MMSG_OUT, U.fz("v"), MSGF, TIMESPEC_IN, restart=SYS),
    "getsockname": full(FD, SOCKADDR_OUT_1, SOCKLEN_INOUT),
    "getpeername": full(FD, SOCKADDR_OUT_1, SOCKLEN_INOUT),
    "setsockopt": partial(SOCKOPTS, restart=NEVER, shape=setsockopt_args, fuzz="fcipl"),
    "getsockopt": partial(SOCKOPTS, restart=NEVER, shape=getsockopt_args, fuzz="fcipp"),
    # ---- System V IPC and POSIX message queues
    "shmget": partial(SHM_HUGETLB_NOTE, IPC_KEY, U, IPC_GET_FLAGS),
    "shmat": full(IPC_ID, ADDR, flags(SHMAT_FLAGS), result="hex"),
    "shmctl": full(IPC_ID, enum(SHMCTL_CMDS), PTR,
                   note="SHM_LOCK only sets SHM_LOCKED: twaron never swaps"),  # fmt: skip
    "shmdt": full(ADDR),
    "semget": full(IPC_KEY, D, IPC_GET_FLAGS),
    "semop": full(IPC_ID, PTR, COUNT, restart=EINTR),
    "semctl": full(IPC_ID, D, enum(SEMCTL_CMDS), X),
    "semtimedop": full(IPC_ID, PTR, COUNT, TIMESPEC_IN, restart=EINTR),
    "msgget": full(IPC_KEY, IPC_GET_FLAGS),
    "msgsnd": full(IPC_ID, PTR, U, flags(MSG_FLAGS), restart=NOHAND),
    "msgrcv": full(IPC_ID, PTR, U, LD, flags(MSG_FLAGS), restart=NOHAND),
    "msgctl": full(IPC_ID, enum(MSGCTL_CMDS), PTR),
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
