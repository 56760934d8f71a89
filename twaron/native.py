"""Run a program natively on the host, in a chroot laid out like twaron's default root.

The native side of the contract tests and of `twaron bench`: both sides must exec the same
/bin/busybox (the host's own /bin/sh is dash and its /bin/true is coreutils), so the native
program runs as root, chrooted into a directory written by ``twaron.fs.rootfs.write_host_tree``,
as pid 1 of a new pid namespace (as it is in twaron), in a private mount + UTS + IPC namespace and
a network namespace of its own whose only interface is lo, up (as twaron's `--net none`), with
/proc mounted, /dev/null, /dev/zero, /dev/urandom, /dev/random, /dev/tty bound in, a devpts
instance of its own on /dev/pts with /dev/ptmx bound to its ptmx (as a container has them)
and, on request, a tmpfs on /tmp (twaron's /tmp is a tmpfs: file workloads must not hit the
host's disk). The namespaces die with the process, so nothing needs unmounting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from twaron.config import DEFAULT_DOMAINNAME, DEFAULT_HOSTNAME

DEV_NODES = ("null", "zero", "urandom", "random", "full", "tty")
# a devpts of the namespace's own (slave numbers from 0), as twaron's /dev/pts; the options
# are the usual ones (the tty group's gid 5, slaves 0620, a ptmx anyone may open)
DEVPTS_OPTIONS = b"newinstance,gid=5,mode=620,ptmxmode=666"
# what udev/devtmpfs systems have besides the nodes (twaron's devfs has them too)
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}  # fmt: skip
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWPID = 0x00020000, 0x04000000, 0x20000000
CLONE_NEWNET = 0x40000000
SIOCSIFFLAGS, IFF_UP, IFF_RUNNING = 0x8914, 0x1, 0x40
CLONE_NEWIPC = 0x08000000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1
RLIMIT_CORE = 4
SYS_RT_SIGACTION, SYS_RT_SIGPROCMASK, SIG_SETMASK, NSIG = 13, 14, 2, 64


@dataclass
class NativeResult:
    returncode: int
    stdout: bytes
    stderr: bytes


def native_possible() -> tuple[bool, str]:
    """(True, "") when programs can run natively here; else (False, why)."""
    if os.geteuid() != 0:
        return False, "native runs need root (chroot + mount namespace); not root"
    if not Path("/bin/busybox").exists() and not shutil.which("busybox"):
        return False, "busybox not installed (apt-get install busybox-static)"
    return True, ""


_libc = None


def _libc_handle() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def prepare_root(root: Path, files: dict[str, str | Path] | None = None) -> None:
    """Write twaron's default layout into root, mount points for /dev nodes, and copies of
    host files (guest path -> host path)."""
    from twaron.fs.rootfs import write_host_tree

    root.mkdir(parents=True, exist_ok=True)
    write_host_tree(str(root))
    prepare_dev(root)
    copy_files(root, files)


def prepare_dev(root: Path) -> None:
    """Mount points for /proc and the /dev nodes bound in at entry, /dev's links, /tmp."""
    for d in ("proc", "dev", "tmp"):
        (root / d).mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    for node in (*DEV_NODES, "ptmx"):
        p = root / "dev" / node
        if not p.exists():
            p.touch()
    (root / "dev" / "pts").mkdir(exist_ok=True)
    for name, target in DEV_LINKS.items():
        p = root / "dev" / name
        if not p.is_symlink():
            p.symlink_to(target)


def copy_files(root: Path, files: dict[str, str | Path] | None) -> None:
    """Host files into the tree, by guest path."""
    for guest, host in (files or {}).items():
        dst = root / guest.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(host, dst)


def reset_signals(libc: ctypes.CDLL) -> None:
    """Every signal to SIG_DFL and none blocked, as a freshly booted init has them.

    Ignored signals and the blocked mask survive exec, so without this the native side
    inherits whatever its launcher had (a CI runner ignores signal 32, which glibc's
    sigaction refuses to touch), and /proc/PID/status would differ from twaron's.
    Raw syscalls reach the signals glibc reserves for itself.
    """
    default = (ctypes.c_ulong * 4)()  # struct kernel_sigaction: handler=SIG_DFL, 0, 0, mask 0
    for sig in range(1, NSIG + 1):
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            libc.syscall(SYS_RT_SIGACTION, sig, default, None, 8)
    libc.syscall(SYS_RT_SIGPROCMASK, SIG_SETMASK, (ctypes.c_ulong * 1)(0), None, 8)


def lo_up() -> None:
    """Bring the new network namespace's lo up (ip link set lo up)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", IFF_UP | IFF_RUNNING))


def enter_root(root: str, *, pid_namespace: bool = True, tmpfs_tmp: bool = False,
               net_namespace: bool = True) -> None:
    """Between fork and exec (a Popen preexec_fn): unshare, mount, chroot.

    With pid_namespace the process Popen forked stays outside as a reaper: it closes every
    descriptor (so the parent sees EOF only from the real child), waits for pid 1 and exits
    with its status (or dies of the same signal). pid 1 dies with it (PDEATHSIG), and every
    other process of the namespace dies with pid 1, which leads its own session.
    """
    libc = _libc_handle()
    # a fresh IPC namespace, as a twaron kernel has: System V ids start over, nothing leaks
    flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (CLONE_NEWPID if pid_namespace else 0)
    flags |= CLONE_NEWNET if net_namespace else 0
    _check(libc.unshare(flags), "unshare")
    if net_namespace:
        lo_up()
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # uname as twaron's: hostname -f/-d resolve it through the root's /etc/hosts
    _check(libc.sethostname(DEFAULT_HOSTNAME, len(DEFAULT_HOSTNAME)), "sethostname")
    _check(libc.setdomainname(DEFAULT_DOMAINNAME, len(DEFAULT_DOMAINNAME)), "setdomainname")
    if pid_namespace:
        pid = os.fork()
        if pid:
            os.closerange(0, 1 << 16)
            try:
                _, status = os.waitpid(pid, 0)
                if os.WIFSIGNALED(status):
                    sig = os.WTERMSIG(status)
                    signal.signal(sig, signal.SIG_DFL)
                    libc.setrlimit(RLIMIT_CORE, (ctypes.c_ulong * 2)(0, 0))  # no core file
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
                    os.kill(os.getpid(), sig)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            finally:
                os._exit(255)
        _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG")
        os.setsid()  # pid 1 leads its session and process group (sid = pgid = 1), as in twaron
    reset_signals(libc)
    _check(libc.mount(b"proc", f"{root}/proc".encode(), b"proc", 0, None), "mount proc")
    for node in DEV_NODES:
        _check(libc.mount(f"/dev/{node}".encode(), f"{root}/dev/{node}".encode(), None,
                          MS_BIND, None), f"bind /dev/{node}")  # fmt: skip
    _check(libc.mount(b"devpts", f"{root}/dev/pts".encode(), b"devpts", 0, DEVPTS_OPTIONS),
           "mount devpts")  # fmt: skip
    _check(libc.mount(f"{root}/dev/pts/ptmx".encode(), f"{root}/dev/ptmx".encode(), None,
                      MS_BIND, None), "bind /dev/ptmx")  # fmt: skip
    if tmpfs_tmp:
        _check(libc.mount(b"tmpfs", f"{root}/tmp".encode(), b"tmpfs", 0, b"mode=1777"),
               "mount tmpfs on /tmp")  # fmt: skip
    os.setgroups([])
    os.umask(0o022)
    os.chroot(root)
    os.chdir("/")


def enter_overlay_root(lower: str, scratch: str, **enter) -> None:
    """Between fork and exec: enter_root into a writable overlay of `lower` (a root the
    native side must not change, e.g. a cached distribution tree): in a mount namespace of
    its own, a tmpfs on the empty host directory `scratch` holds the overlay's upper and
    work directories and its mount point. Every change vanishes with the namespace."""
    libc = _libc_handle()
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(libc.mount(b"tmpfs", scratch.encode(), b"tmpfs", 0, b"mode=755"), "mount tmpfs")
    for d in ("upper", "work", "merged"):
        os.mkdir(f"{scratch}/{d}")
    opts = f"lowerdir={lower},upperdir={scratch}/upper,workdir={scratch}/work"
    _check(libc.mount(b"overlay", f"{scratch}/merged".encode(), b"overlay", 0, opts.encode()),
           "mount overlay")  # fmt: skip
    enter_root(f"{scratch}/merged", **enter)


def run_chrooted(root: Path, argv: list[str], *, env: dict[str, str], input: bytes = b"",
                 timeout: float = 60.0, path: str = "/bin:/sbin:/usr/bin:/usr/sbin",
                 pid_namespace: bool = True, tmpfs_tmp: bool = False,
                 net_namespace: bool = True, overlay: bool = False) -> NativeResult:  # fmt: skip
    """Run argv (a path inside root, or a name found along `path`) chrooted at root
    (with overlay: at a writable overlay of root, see enter_overlay_root).

    Raises subprocess.TimeoutExpired after timeout (the whole process group is killed).
    """
    exe = argv[0]
    if "/" not in exe:
        for d in path.split(":"):
            if os.path.lexists(root / d.lstrip("/") / exe):
                exe = f"{d}/{exe}"
                break
    _libc_handle()  # loaded before fork
    enter = enter_root
    if overlay:
        scratch = tempfile.mkdtemp(prefix="twaron-overlay-")
        enter = functools.partial(enter_overlay_root, scratch=scratch)  # type: ignore[assignment]
    try:
        return _communicate(argv, exe, root, env, input, timeout, enter, pid_namespace,
                            tmpfs_tmp, net_namespace)  # fmt: skip
    finally:
        if overlay:
            os.rmdir(scratch)


def _communicate(argv, exe, root, env, input, timeout, enter, pid_namespace, tmpfs_tmp,
                 net_namespace) -> NativeResult:  # fmt: skip
    proc = subprocess.Popen(
        argv, executable=exe, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, start_new_session=True,
        preexec_fn=lambda: enter(str(root), pid_namespace=pid_namespace,
                                 tmpfs_tmp=tmpfs_tmp, net_namespace=net_namespace),
    )  # fmt: skip
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # stray children
        except ProcessLookupError:
            pass
    return NativeResult(proc.returncode, out, err)
