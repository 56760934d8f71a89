"""File-system side of boot: the root tree, the console, and opening a file for execve.

The kernel calls `mount_root(kernel)` once; the result holds the root Path and makes the init
process's fds 0/1/2. Config fields read (all optional): `rootfs` (a host directory to import
instead of the default BusyBox layout), `add_files` (list of (host_path, guest_path)).
"""

from __future__ import annotations

from typing import Any

from twaron.arch.x86_64.constants import (
    AT_EMPTY_PATH,
    AT_SYMLINK_NOFOLLOW,
    INOTIFY_MAX_QUEUED_EVENTS,
)
from twaron.arch.x86_64.errno import EACCES, EINVAL, ELOOP, ETXTBSY
from twaron.errors import KernelError
from twaron.fs import rootfs, tmpfs
from twaron.fs.anon_inodes import AnonInodeFs
from twaron.fs.console import Console
from twaron.fs.locks import LockManager
from twaron.fs.pipe import new_pipefs
from twaron.fs.vfs import MAY_EXEC, File, Inode, Path, lookup_at, mounts_under, permission

BINPRM_BUF_SIZE = 256  # what execve reads first: ELF header or "#!" line


class FsState:
    """What boot made: the root of the mount tree and the console."""

    def __init__(self, root: Path, console: Console, clock: Any) -> None:
        self.root = root
        self.console = console
        self.dev_console = tmpfs.resolve_internal(root, b"dev/console")
        self.pipefs = new_pipefs(clock.realtime_ns)
        root.mnt.ns.assign_dev(self.pipefs)  # never mounted, but a device of this kernel
        self.anon_inodes = AnonInodeFs(clock.realtime_ns)
        root.mnt.ns.assign_dev(self.anon_inodes.sb)
        self.shm: Path | None = None  # memfds' internal tmpfs, made at the first memfd_create
        self.inotify_max_queued_events = INOTIFY_MAX_QUEUED_EVENTS  # /proc/sys/fs/inotify
        self.locks = LockManager()  # every file lock of this kernel (fs/locks.py)

    def close(self) -> None:
        """The run is over: host resources of its file systems (overlay and volume trees)
        let go. Idempotent."""
        for m, _p in mounts_under(self.root):
            close = getattr(m.sb, "close", None)
            if close is not None:
                close()

    def console_files(self) -> list[File]:
        """Fresh Files for fds 0, 1, 2 of init (each carries one reference to install)."""
        return list(self.console.stdio_files(self.dev_console))


def mount_root(kernel: Any) -> FsState:
    config = getattr(kernel, "config", None)
    host_root = getattr(config, "rootfs", None)
    if host_root:
        root = rootfs.import_host_dir(kernel, host_root)
    else:
        root = rootfs.build_default_rootfs(kernel)
    for host_path, guest_path in getattr(config, "add_files", None) or ():
        rootfs.add_host_file(kernel, root, host_path, guest_path)
    hostname = getattr(config, "hostname", None)
    if hostname:
        rootfs.set_hostname_files(root, hostname.encode(), default_root=not host_root)
    volumes = getattr(config, "volumes", None)
    if volumes:
        from twaron.fs.volume import mount_volumes

        mount_volumes(root, kernel.mem, rootfs._clock(kernel), volumes)
    console = getattr(kernel, "console", None)
    if not isinstance(console, Console):
        console = Console()
        kernel.console = console
    console.attach(kernel)
    return FsState(root, console, kernel.clock)


def exec_open(task: Any, dirfd: int, filename: bytes, flags: int = 0) -> tuple[Path, Inode, bytes]:
    """Resolve and check the file execve(at) will run: (path, inode, first 256 bytes).

    The inode's PageCache is inode.mapping and its length inode.size; path is what
    /proc/PID/exe shows. EACCES for non-regular files or no x permission, ETXTBSY if the
    file is open for writing, ELOOP for a final symlink with AT_SYMLINK_NOFOLLOW.
    """
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise KernelError(EINVAL)
    path = lookup_at(
        task, dirfd, filename, not flags & AT_SYMLINK_NOFOLLOW, empty_ok=bool(flags & AT_EMPTY_PATH)
    )
    inode = path.inode
    if inode.is_lnk:
        raise KernelError(ELOOP)
    if not inode.is_reg or path.mnt.sb.mount_opts.find("noexec") >= 0:
        raise KernelError(EACCES)
    permission(inode, MAY_EXEC, task.cred)
    if inode.writers:
        raise KernelError(ETXTBSY)
    mapping = inode.mapping
    head = mapping.read(0, min(BINPRM_BUF_SIZE, inode.size)) if mapping is not None else b""
    return path, inode, head
