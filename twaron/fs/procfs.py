"""procfs: /proc, generated from the kernel's state.

Directories are computed on every lookup/readdir (no dentry tree); inodes are cached per key
so inode numbers stay stable while a process lives. File contents are generated at open
time (a snapshot, like seq_file's first read); links under /proc/PID (exe, cwd, root, fd/N)
are magic: walking them yields the target Path itself, not a string to re-walk.
"""

from __future__ import annotations

import platform as host_platform
from collections.abc import Callable, Iterator
from typing import Any

from twaron.arch.x86_64.constants import (
    INOTIFY_MAX_USER_INSTANCES,
    INOTIFY_MAX_USER_WATCHES,
    IP_LOCAL_PORT_RANGE_HIGH,
    IP_LOCAL_PORT_RANGE_LOW,
    IPDEFTTL,
    IPV4_FORWARD_DEFAULT,
    MAP_SHARED,
    O_ACCMODE,
    PAGE_SIZE,
    PROC_SUPER_MAGIC,
    PROT_EXEC,
    PROT_READ,
    PROT_SOCK,
    PROT_WRITE,
    RMEM_DEFAULT,
    RMEM_MAX,
    S_IFDIR,
    S_IFLNK,
    S_IFREG,
    SEEK_CUR,
    SEEK_SET,
    SOMAXCONN,
    TCP_FIN_TIMEOUT,
    TCP_RMEM_DEFAULT,
    TCP_WMEM_DEFAULT,
    WMEM_DEFAULT,
    WMEM_MAX,
)
from twaron.arch.x86_64.errno import EACCES, EINVAL, EIO, ENOENT, ESRCH
from twaron.errors import KernelError
from twaron.fs.locks import proc_locks
from twaron.fs.vfs import (
    Dentry,
    File,
    Inode,
    Path,
    SuperBlock,
    _generic_lseek,
    d_path,
    dev_major,
    dev_minor,
    mount,
    mounts_under,
)

KERNEL_RELEASE = "6.1.0-twaron"
KERNEL_VERSION = "#1 SMP PREEMPT_DYNAMIC twaron"
USER_HZ = 100
# readdir positions in /proc: the static entries first, processes at pid + TGID_OFFSET (Linux's
# FIRST_PROCESS_ENTRY + 2)
TGID_OFFSET = 256 + 2
PID_MAX = 4194304

Gen = Callable[[Any], bytes]
LinkFn = Callable[[Any], "bytes | Path"]


class ProcFile(Inode):
    """A file whose bytes are produced by gen(task) at open; write(task, data) if writable."""

    __slots__ = ("gen", "wr")

    def __init__(
        self,
        sb: SuperBlock,
        gen: Gen,
        mode: int = 0o444,
        wr: Callable[[Any, bytes], None] | None = None,
        uid: int = 0,
    ) -> None:
        super().__init__(sb, S_IFREG | mode, uid, uid)
        self.gen = gen
        self.wr = wr

    def open(self, task: Any, path: Path, flags: int) -> File:
        data = self.gen(task) if flags & O_ACCMODE != 1 else b""
        return SeqFile(path, flags, data, self.wr)


class SeqFile(File):
    """An open procfs file: reads come from the snapshot taken at open."""

    __slots__ = ("data", "wr")
    fmode_pwrite = False  # seq_open takes FMODE_PWRITE away: pwrite64 is ESPIPE

    def __init__(
        self, path: Path, flags: int, data: bytes, wr: Callable[[Any, bytes], None] | None
    ) -> None:
        super().__init__(path, flags)
        self.data = data
        self.wr = wr

    def read(self, n: int) -> bytes:
        pos = self.pos
        out = self.data[pos : pos + n]
        self.pos = pos + len(out)
        return out

    def pread(self, n: int, offset: int) -> bytes:
        return self.data[offset : offset + n]

    def lseek(self, offset: int, whence: int) -> int:
        if whence not in (SEEK_SET, SEEK_CUR):
            raise KernelError(EINVAL)  # seq_lseek: no SEEK_END, SEEK_DATA or SEEK_HOLE
        return _generic_lseek(self, offset, whence, len(self.data))

    def write(self, data: bytes) -> int:
        if self.wr is None:
            raise KernelError(EINVAL)
        self.wr(None, data)
        return len(data)


class ProcMem(Inode):
    """/proc/PID/mem: the process's memory at file offset = address (reads and writes go
    through its own address space, so they never leave the guest). Opening needs Linux's
    ptrace_may_access: the same uid, or root (CAP_SYS_PTRACE); else EACCES."""

    __slots__ = ("target",)

    def __init__(self, sb: SuperBlock, target: Callable[[], Any], uid: int = 0) -> None:
        super().__init__(sb, S_IFREG | 0o600, uid, uid)
        self.target = target

    def open(self, task: Any, path: Path, flags: int) -> File:
        t = self.target()
        if t is None or t.exited:
            raise KernelError(ENOENT)
        cred = task.cred
        if cred.euid != 0 and (cred.uid, cred.euid) != (t.cred.uid, t.cred.uid):
            raise KernelError(EACCES)
        f = MemFile(path, flags)
        f.mm = t.mm
        return f


class MemFile(File):
    """An open /proc/PID/mem: holds the address space it was opened on."""

    __slots__ = ("mm",)

    def read(self, n: int) -> bytes:
        data = self.pread(n, self.pos)
        self.pos += len(data)
        return data

    def pread(self, n: int, offset: int) -> bytes:
        mm = self.mm
        if mm is None or not mm.vmas:
            return b""  # the process is gone
        out = bytearray()
        while n > 0:  # page by page: stop at the first unmapped one (EIO if it is the first)
            chunk = min(n, PAGE_SIZE - (offset & (PAGE_SIZE - 1)))
            try:
                out += mm.copy_in(offset, chunk)
            except KernelError:
                break
            offset += chunk
            n -= chunk
        if not out and n > 0:
            raise KernelError(EIO)
        return bytes(out)

    def write(self, data: bytes) -> int:
        n = self.pwrite(data, self.pos)
        self.pos += n
        return n

    def pwrite(self, data: bytes, offset: int) -> int:
        mm = self.mm
        if mm is None or not mm.vmas:
            return 0
        try:
            mm.copy_out(offset, data)
        except KernelError:
            raise KernelError(EIO) from None
        return len(data)

    def lseek(self, offset: int, whence: int) -> int:
        if whence == 0:
            self.pos = offset
        elif whence == 1:
            self.pos += offset
        else:
            raise KernelError(EINVAL)
        return self.pos


class ProcLink(Inode):
    """A symlink whose body is computed: bytes (re-walked) or a Path (magic link)."""

    __slots__ = ("fn", "text")

    def __init__(self, sb: SuperBlock, fn: LinkFn, text: Gen | None = None, uid: int = 0) -> None:
        super().__init__(sb, S_IFLNK | 0o777, uid, uid)
        self.fn = fn
        self.text = text

    def get_link(self, task: Any) -> bytes | Path:
        return self.fn(task)

    def readlink(self, task: Any) -> bytes:
        if self.text is not None:
            return self.text(task)
        return super().readlink(task)


Listing = Callable[[int], Iterator[tuple[int, bytes, Inode]]]


class ProcDir(Inode):
    """A directory whose entries come from entries() -> {name: Inode}, in listing order.

    Every entry has a readdir position that stays its own while the directory changes, so a
    listing read a few entries at a time neither skips nor repeats one that stays (what
    Linux guarantees): listing(pos) yields (position, name, inode) for the entries at or
    after pos, in increasing position. Without it the position is the entry's index in
    entries() (3, 4, ...: after "." and ".."), for directories whose entries never change.
    """

    __slots__ = ("entries", "find", "listing", "dcache")

    def __init__(
        self,
        sb: SuperBlock,
        entries: Callable[[], dict[bytes, Inode]],
        mode: int = 0o555,
        uid: int = 0,
        find: Callable[[bytes], Inode | None] | None = None,
        listing: Listing | None = None,
    ) -> None:
        super().__init__(sb, S_IFDIR | mode, uid, uid)
        self.entries = entries
        self.find = find  # one name without listing them all (/proc's pids: every exec)
        self.listing = listing if listing is not None else self._by_index
        self.dcache: dict[bytes, Dentry] = {}

    def _by_index(self, pos: int) -> Iterator[tuple[int, bytes, Inode]]:
        for i, (name, inode) in enumerate(self.entries().items()):
            if i + 3 >= pos:
                yield i + 3, name, inode

    def lookup(self, dentry: Dentry, name: bytes) -> Dentry | None:
        inode = self.find(name) if self.find is not None else self.entries().get(name)
        if inode is None:
            return None
        # The entry's dentry is kept while it names the same inode under the same parent
        # (every BusyBox start walks /proc/self/exe: no new dentries each time).
        d = self.dcache.get(name)
        if d is None or d.inode is not inode or d.parent is not dentry:
            d = self.dcache[name] = Dentry(name, dentry, inode)
            d.children = None  # no tree below: ProcDir computes it
        return d

    def iterate(self, dentry: Dentry, pos: int):  # type: ignore[override]
        if pos < 1:
            yield 1, self.ino, 4, b"."
        if pos < 2:
            yield 2, dentry.parent.inode.ino, 4, b".."
        for at, name, inode in self.listing(pos):
            yield at + 1, inode.ino, inode.dtype, name


def _leader(g: Any) -> Any:
    for t in g.tasks:
        if not t.exited:
            return t
    return None


def _need(x: Any) -> Any:
    if x is None:
        raise KernelError(ENOENT)
    return x


def _mm_range(t: Any, start_attr: str, end_attr: str) -> bytes:
    if t is None or t.mm is None:
        return b""
    start, end = getattr(t.mm, start_attr, 0), getattr(t.mm, end_attr, 0)
    if not start or end <= start:
        return b""
    try:
        return t.mm.copy_in(start, min(end - start, 1 << 20))
    except KernelError:
        return b""


def _prot_str(v: Any) -> str:
    p = v.prot
    return "".join((
        "r" if p & PROT_READ else "-", "w" if p & PROT_WRITE else "-",
        "x" if p & PROT_EXEC else "-", "s" if v.flags & MAP_SHARED else "p",
    ))  # fmt: skip


def _task_of(g: Any, t0: Any) -> Any:
    """The task a /proc/PID directory shows: its thread, or the group's live leader."""
    return t0 if t0 is not None else _leader(g)


# /proc/PID's entries, each made on its first lookup: f(procfs, g, t0, owner uid) -> Inode.
# Every process gets a /proc/PID and most are only ever asked for "exe" (BusyBox reads
# /proc/self/exe at each start-up), so a PidDir is one object and an entry one more. The
# makers close over the group and thread only, never the directory (no reference cycles).
PidEntry = Callable[["ProcFs", Any, Any, int], Inode]
PID_ENTRIES: dict[bytes, PidEntry | None] = {
    b"cmdline": lambda fs, g, t0, u: ProcFile(
        fs.sb, lambda _t: _mm_range(_task_of(g, t0), "arg_start", "arg_end"), uid=u),
    b"environ": lambda fs, g, t0, u: ProcFile(
        fs.sb, lambda _t: _mm_range(_task_of(g, t0), "env_start", "env_end"), 0o400, uid=u),
    b"comm": lambda fs, g, t0, u: ProcFile(
        fs.sb, lambda _t: fs.comm(_task_of(g, t0)), 0o644,
        lambda _t, data: fs.set_comm(_task_of(g, t0), data), uid=u),
    b"stat": lambda fs, g, t0, u: ProcFile(fs.sb, lambda _t: fs.pid_stat(g, _task_of(g, t0)),
                                           uid=u),
    b"statm": lambda fs, g, t0, u: ProcFile(fs.sb, lambda _t: fs.statm(_task_of(g, t0)), uid=u),
    b"status": lambda fs, g, t0, u: ProcFile(fs.sb, lambda _t: fs.status(g, _task_of(g, t0)),
                                             uid=u),
    b"maps": lambda fs, g, t0, u: ProcFile(fs.sb, lambda rt: fs.maps(rt, _task_of(g, t0)),
                                           uid=u),
    b"mem": lambda fs, g, t0, u: ProcMem(fs.sb, lambda: _task_of(g, t0), uid=u),
    b"mounts": lambda fs, g, t0, u: ProcFile(fs.sb, lambda _t: fs.mounts(_task_of(g, t0)),
                                             uid=u),
    b"mountinfo": lambda fs, g, t0, u: ProcFile(
        fs.sb, lambda _t: fs.mountinfo(_task_of(g, t0)), uid=u),
    b"exe": lambda fs, g, t0, u: ProcLink(fs.sb, lambda _t: _need(g.exe), uid=u),
    b"cwd": lambda fs, g, t0, u: ProcLink(fs.sb, lambda _t: _need(_task_of(g, t0)).fs.cwd,
                                          uid=u),
    b"root": lambda fs, g, t0, u: ProcLink(fs.sb, lambda _t: _need(_task_of(g, t0)).fs.root,
                                           uid=u),
    b"fd": None,  # PidDir.find makes it (ProcFs.fd_dir)
    b"net": lambda fs, g, t0, u: fs._net_dir(),
}  # fmt: skip
THREAD_ENTRIES = tuple(PID_ENTRIES)  # /proc/PID/task/TID: the same without "task"
PROCESS_ENTRIES = (*THREAD_ENTRIES, b"task")


class PidDir(ProcDir):
    """/proc/PID (t0 None: follows the group's leader) or /proc/PID/task/TID."""

    __slots__ = ("procfs", "g", "t0", "tid", "cache", "made", "owner")

    def __init__(self, procfs: ProcFs, g: Any, t0: Any, cache: dict[tuple[Any, ...], Inode]
                 ) -> None:  # fmt: skip
        t = _task_of(g, t0)
        self.owner = t.cred.euid if t is not None else 0
        Inode.__init__(self, procfs.sb, S_IFDIR | 0o555, self.owner, self.owner)
        self.dcache = {}
        self.procfs, self.g, self.t0, self.cache = procfs, g, t0, cache
        self.tid = t0.tid if t0 is not None else 0
        self.made: dict[bytes, Inode] = {}

    # ProcDir's entries / find / listing, as methods
    def find(self, name: bytes) -> Inode | None:  # type: ignore[override]
        node = self.made.get(name)
        if node is None:
            make = PID_ENTRIES.get(name)
            if make is not None:
                node = make(self.procfs, self.g, self.t0, self.owner)
            elif name == b"fd":
                node = self.procfs.fd_dir(self)
            elif name == b"task" and self.t0 is None:
                node = self.procfs.task_dir(self)
            else:
                return None
            self.made[name] = node
        return node

    def entries(self) -> dict[bytes, Inode]:  # type: ignore[override]
        names = THREAD_ENTRIES if self.t0 is not None else PROCESS_ENTRIES
        return {name: self.find(name) for name in names}  # type: ignore[misc]

    def listing(self, pos: int) -> Iterator[tuple[int, bytes, Inode]]:  # type: ignore[override]
        return self._by_index(pos)


class ProcFs:
    """One procfs instance bound to a kernel."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        clock = kernel.clock
        self.sb = SuperBlock(
            "proc",
            PROC_SUPER_MAGIC,
            None,
            clock=clock.realtime_ns,
            mount_opts="rw,nosuid,nodev,noexec,relatime",
        )
        self.cache: dict[tuple[Any, ...], Inode] = {}
        self.pid_cache: dict[int, tuple[Any, dict[tuple[Any, ...], Inode]]] = {}
        sb = self.sb
        self.static: dict[bytes, Inode] = {
            b"self": ProcLink(sb, lambda t: str(t.group.pid).encode()),
            b"thread-self": ProcLink(sb, lambda t: f"{t.group.pid}/task/{t.tid}".encode()),
            b"meminfo": ProcFile(sb, self.meminfo),
            b"uptime": ProcFile(sb, self.uptime),
            b"version": ProcFile(sb, self.version),
            b"cpuinfo": ProcFile(sb, self.cpuinfo),
            b"loadavg": ProcFile(sb, self.loadavg),
            b"filesystems": ProcFile(sb, self.filesystems),
            b"mounts": ProcLink(sb, lambda t: b"self/mounts"),
            b"net": ProcLink(sb, lambda t: b"self/net"),
            b"stat": ProcFile(sb, self.stat),
            b"cmdline": ProcFile(sb, lambda t: b"twaron\n"),
            b"locks": ProcFile(sb, lambda t: proc_locks(kernel.fs.locks)),
            b"sys": self._sys_dir(),
            b"sysvipc": self._sysvipc_dir(),
        }
        assert len(self.static) + 3 <= TGID_OFFSET
        self.root = ProcDir(sb, self.root_entries, find=self.root_find, listing=self.root_listing)

    # --- tree ---
    def _sysvipc_dir(self) -> Inode:
        """/proc/sysvipc: the System V IPC objects of the kernel's namespace."""
        sb, k = self.sb, self.kernel
        files = {
            b"msg": ProcFile(sb, lambda t: k.ipc.proc_msg()),
            b"sem": ProcFile(sb, lambda t: k.ipc.proc_sem()),
            b"shm": ProcFile(sb, lambda t: k.ipc.proc_shm()),
        }
        return ProcDir(sb, lambda: files)

    def _sys_dir(self) -> Inode:
        sb, k = self.sb, self.kernel

        def set_hostname(_t: Any, data: bytes) -> None:
            k.hostname = data.rstrip(b"\n")[:64]

        kern = {
            b"hostname": ProcFile(
                sb, lambda t: getattr(k, "hostname", b"twaron") + b"\n", 0o644, set_hostname
            ),
            b"ostype": ProcFile(sb, lambda t: b"Linux\n"),
            b"osrelease": ProcFile(sb, lambda t: KERNEL_RELEASE.encode() + b"\n"),
            b"version": ProcFile(sb, lambda t: KERNEL_VERSION.encode() + b"\n"),
            b"pid_max": ProcFile(sb, lambda t: b"%d\n" % PID_MAX),
            b"ngroups_max": ProcFile(sb, lambda t: b"65536\n"),
        }
        for name in (b"msgmax", b"msgmnb", b"msgmni", b"sem", b"shmall", b"shmmax", b"shmmni"):
            kern[name] = ProcFile(sb, lambda t, name=name: k.ipc.sysctls()[name])
        kernel_dir = ProcDir(sb, lambda: kern)
        sysd = {b"kernel": kernel_dir, b"fs": self._sys_fs_dir(), b"net": self._sys_net_dir()}
        return ProcDir(sb, lambda: sysd)

    def _sys_fs_dir(self) -> Inode:
        """/proc/sys/fs: inotify's limits (max_queued_events is read by each new instance)."""
        sb, k = self.sb, self.kernel

        def set_max_queued(_t: Any, data: bytes) -> None:
            text = data.strip()
            if not text.isdigit() or int(text) > 0x7FFF_FFFF:
                raise KernelError(EINVAL)
            k.fs.inotify_max_queued_events = int(text)

        inotify = {
            b"max_queued_events": ProcFile(
                sb, lambda t: b"%d\n" % k.fs.inotify_max_queued_events, 0o644, set_max_queued
            ),
            b"max_user_instances": ProcFile(sb, lambda t: b"%d\n" % INOTIFY_MAX_USER_INSTANCES),
            b"max_user_watches": ProcFile(sb, lambda t: b"%d\n" % INOTIFY_MAX_USER_WATCHES),
        }
        inotify_dir = ProcDir(sb, lambda: inotify)
        fsd = {b"inotify": inotify_dir}
        return ProcDir(sb, lambda: fsd)

    def _sys_net_dir(self) -> Inode:
        """/proc/sys/net: the settings the socket layer follows (read-only)."""
        sb = self.sb

        def fixed(text: bytes) -> Inode:
            return ProcFile(sb, lambda t: text)

        ipv4 = {
            b"ip_default_ttl": fixed(b"%d\n" % IPDEFTTL),  # /proc/net/snmp's DefaultTTL
            b"ip_forward": fixed(b"%d\n" % IPV4_FORWARD_DEFAULT),  # and its Forwarding
            b"ip_local_port_range": fixed(b"%d\t%d\n" % (IP_LOCAL_PORT_RANGE_LOW,
                                                          IP_LOCAL_PORT_RANGE_HIGH)),
            b"ip_unprivileged_port_start": fixed(b"%d\n" % PROT_SOCK),
            b"ping_group_range": fixed(b"1\t0\n"),
            b"tcp_fin_timeout": fixed(b"%d\n" % TCP_FIN_TIMEOUT),
            b"tcp_rmem": fixed(b"4096\t%d\t6291456\n" % TCP_RMEM_DEFAULT),
            b"tcp_wmem": fixed(b"4096\t%d\t4194304\n" % TCP_WMEM_DEFAULT),
        }  # fmt: skip
        core = {
            b"somaxconn": fixed(b"%d\n" % SOMAXCONN),
            b"rmem_default": fixed(b"%d\n" % RMEM_DEFAULT),
            b"wmem_default": fixed(b"%d\n" % WMEM_DEFAULT),
            b"rmem_max": fixed(b"%d\n" % RMEM_MAX),
            b"wmem_max": fixed(b"%d\n" % WMEM_MAX),
        }
        net = {b"ipv4": ProcDir(sb, lambda: ipv4), b"core": ProcDir(sb, lambda: core)}
        return ProcDir(sb, lambda: net)

    def root_entries(self) -> dict[bytes, Inode]:
        return {name: inode for _, name, inode in self.root_listing(0)}

    def root_listing(self, pos: int) -> Iterator[tuple[int, bytes, Inode]]:
        """The static entries at 3, 4, ..., then each process at TGID_OFFSET + pid (as
        Linux's proc_root_readdir/proc_pid_readdir): a process that goes away or comes moves
        no other entry."""
        for i, (name, inode) in enumerate(self.static.items()):
            if i + 3 >= pos:
                yield i + 3, name, inode
        tasks = self.kernel.pids.groups
        for pid in [p for p in self.pid_cache if tasks.get(p) is not self.pid_cache[p][0]]:
            self._forget(pid)
        for pid in sorted(tasks):
            if pid + TGID_OFFSET >= pos:
                yield pid + TGID_OFFSET, b"%d" % pid, self.pid_dir(tasks[pid])

    def root_find(self, name: bytes) -> Inode | None:
        node = self.static.get(name)
        if node is None and name.isdigit() and not name.startswith(b"0"):
            group = self.kernel.pids.groups.get(int(name))
            if group is not None:
                node = self.pid_dir(group)
            else:  # a thread's tid: not listed, but found (as Linux does)
                t = self.kernel.pids.threads.get(int(name))
                if t is not None and not t.exited:
                    node = self.pid_dir(t.group, t)
        return node

    def _node(
        self, cache: dict[tuple[Any, ...], Inode], key: tuple[Any, ...], make: Callable[[], Inode]
    ) -> Inode:
        node = cache.get(key)
        if node is None:
            node = cache[key] = make()
        return node

    def _pid_cache(self, g: Any) -> dict[tuple[Any, ...], Inode]:
        ent = self.pid_cache.get(g.pid)
        if ent is None or ent[0] is not g:
            if len(self.pid_cache) > 2 * len(self.kernel.pids.groups) + 64:
                self._prune()
            ent = self.pid_cache[g.pid] = (g, {})
        return ent[1]

    def _prune(self) -> None:
        """Forget the /proc/PID inodes and dentries of processes that are gone (a lookup of
        /proc/self makes them for every process; nothing else would drop them)."""
        groups = self.kernel.pids.groups
        cache = self.pid_cache
        for pid in [p for p, (g, _) in cache.items() if groups.get(p) is not g]:
            self._forget(pid)
        dcache = self.root.dcache  # type: ignore[attr-defined]
        for name in [n for n in dcache if n.isdigit() and int(n) not in cache]:
            del dcache[name]

    def _forget(self, pid: int) -> None:
        """Drop a gone process's inodes. Each directory among them refers back to the cache
        and to its children's dentries, which refer back to it: emptied here, they are freed
        by reference counting instead of waiting for the cycle collector."""
        _, cache = self.pid_cache.pop(pid)
        for node in cache.values():
            dcache = getattr(node, "dcache", None)
            if dcache:
                dcache.clear()
        cache.clear()

    def pid_dir(self, g: Any, t: Any = None) -> Inode:
        """/proc/PID (t None: follows the group's leader) or /proc/PID/task/TID."""
        cache = self._pid_cache(g)
        key = ("dir", t.tid if t is not None else 0)
        return self._node(cache, key, lambda: self._make_pid_dir(g, t, cache))

    def _make_pid_dir(self, g: Any, t0: Any, cache: dict[tuple[Any, ...], Inode]) -> Inode:
        return PidDir(self, g, t0, cache)

    def fd_dir(self, pd: PidDir) -> Inode:
        """/proc/PID/fd: a magic link per open fd, at position fd + 2 (Linux's
        proc_readfd_common)."""
        g, t0, cache, tid = pd.g, pd.t0, pd.cache, pd.tid

        def task() -> Any:
            return _task_of(g, t0)

        def fd_listing(pos: int) -> Iterator[tuple[int, bytes, Inode]]:
            t = task()
            if t is None:
                return
            for fd in t.files.open_fds():
                if fd + 2 >= pos:
                    node = self._node(cache, ("fd", tid, fd), lambda fd=fd: self._fd_link(task, fd))
                    yield fd + 2, b"%d" % fd, node

        def fd_entries() -> dict[bytes, Inode]:
            return {name: inode for _, name, inode in fd_listing(0)}

        return ProcDir(self.sb, fd_entries, 0o500, uid=pd.owner, listing=fd_listing)

    def task_dir(self, pd: PidDir) -> Inode:
        """/proc/PID/task: a directory per live thread, at position tid + 2."""
        g = pd.g

        def task_listing(pos: int) -> Iterator[tuple[int, bytes, Inode]]:
            live = sorted((t for t in g.tasks if not t.exited), key=lambda t: t.tid)
            for t in live:
                if t.tid + 2 >= pos:
                    yield t.tid + 2, b"%d" % t.tid, self.pid_dir(g, t)

        def task_entries() -> dict[bytes, Inode]:
            return {name: inode for _, name, inode in task_listing(0)}

        return ProcDir(self.sb, task_entries, uid=pd.owner, listing=task_listing)

    def _net_dir(self) -> Inode:
        """/proc/PID/net (and /proc/net, its link): the files the kernel's socket families
        publish (kernel.net.proc_net(): name -> contents), e.g. unix."""
        made: dict[bytes, Inode] = {}

        def entries() -> dict[bytes, Inode]:
            net = getattr(self.kernel, "net", None)
            files = net.proc_net() if net is not None else {}
            for name, gen in files.items():
                if name not in made:
                    made[name] = ProcFile(self.sb, lambda _t, gen=gen: gen())
            return {name: made[name] for name in files}

        return ProcDir(self.sb, entries)

    def _fd_link(self, task: Callable[[], Any], fd: int) -> Inode:
        def target(_rt: Any) -> bytes | Path:
            f = _need(task()).files.lookup(fd)
            if f is None or f.path is None:
                raise KernelError(ENOENT)
            return f.path

        def text(rt: Any) -> bytes:
            f = _need(task()).files.lookup(fd)
            if f is None:
                raise KernelError(ENOENT)
            return f.link_name(rt.fs.root)

        return ProcLink(self.sb, target, text)

    # --- contents ---
    def comm(self, t: Any) -> bytes:
        return (t.comm if t is not None else b"") + b"\n"

    def _ctty(self, g: Any) -> tuple[int, int]:
        """tty_nr and tpgid: the controlling terminal's device and foreground group (a
        console without a line discipline counts as /dev/console, as it always did)."""
        tty = getattr(g, "tty", None)
        if tty is not None:
            return tty.rdev, tty.pgrp or -1
        console = getattr(self.kernel, "console", None)
        if console is None or getattr(console, "tty", None) is not None:
            return 0, -1
        return 0x501, getattr(console, "fg_pgrp", 0) or -1

    def set_comm(self, t: Any, data: bytes) -> None:
        """A write to /proc/PID/comm (Linux's comm_write): the first 15 bytes, newline and
        all, up to a NUL; only within the writer's own thread group (else EINVAL, root too)."""
        if t is None or t.exited:
            raise KernelError(ESRCH)
        writer = self.kernel.current
        if writer is None or writer.group is not t.group:
            raise KernelError(EINVAL)
        t.comm = data[:15].split(b"\0", 1)[0]

    def pid_stat(self, g: Any, t: Any) -> bytes:
        state = "Z" if g.zombie or t is None else ("R" if t.runnable else "S")
        ppid = g.parent.pid if g.parent is not None else 0
        comm = (t.comm if t is not None else b"").decode(errors="replace")
        boot = self.kernel.boot_time
        start = max(0, int((getattr(g, "start_time", boot) - boot) * USER_HZ))
        mm = t.mm if t is not None else None
        vsize = sum(v.end - v.start for v in getattr(mm, "vmas", ())) if mm is not None else 0
        rss = getattr(mm, "total_pages", 0) if mm is not None else 0
        tty_nr, tpgid = self._ctty(g)
        fields = (
            [
                state,
                ppid,
                g.pgid,
                g.sid,
                tty_nr,
                tpgid,
                0x400000,
                0,
                0,
                0,
                0,
                int(g.utime * USER_HZ),
                int(g.stime * USER_HZ),
                int(g.cutime * USER_HZ),
                int(g.cstime * USER_HZ),
                _prio(t),
                getattr(t, "nice", 0),
                len(g.tasks),
                0,
                start,
                vsize,
                rss,
                (1 << 64) - 1,
            ]
            + [0] * 12  # startcode .. cnswap
            + [17]  # exit_signal: SIGCHLD
            + [0, getattr(t, "rt_priority", 0), getattr(t, "policy", 0)]  # processor ..
            + [0] * 6  # delayacct_blkio_ticks .. start_brk
            + [
                getattr(mm, "arg_start", 0),
                getattr(mm, "arg_end", 0),
                getattr(mm, "env_start", 0),
                getattr(mm, "env_end", 0),
                0,
            ]
        )
        return (
            f"{t.tid if t is not None else g.pid} ({comm}) ".encode()
            + " ".join(map(str, fields)).encode()
            + b"\n"
        )

    def statm(self, t: Any) -> bytes:
        mm = t.mm if t is not None else None
        size = sum(v.end - v.start for v in getattr(mm, "vmas", ())) // PAGE_SIZE if mm else 0
        rss = getattr(mm, "total_pages", 0) if mm else 0
        return f"{size} {rss} 0 0 0 0 0\n".encode()

    def status(self, g: Any, t: Any) -> bytes:
        if t is None:
            return f"Name:\t\nState:\tZ (zombie)\nTgid:\t{g.pid}\nPid:\t{g.pid}\n".encode()
        c = t.cred
        ppid = g.parent.pid if g.parent is not None else 0
        state = "R (running)" if t.runnable else "S (sleeping)"
        mm = t.mm
        vm_kb = sum(v.end - v.start for v in getattr(mm, "vmas", ())) // 1024 if mm else 0
        groups = " ".join(str(x) for x in c.groups)
        return (
            f"Name:\t{t.comm.decode(errors='replace')}\nUmask:\t{t.fs.umask:04o}\n"
            f"State:\t{state}\nTgid:\t{g.pid}\nNgid:\t0\nPid:\t{t.tid}\nPPid:\t{ppid}\n"
            f"TracerPid:\t0\nUid:\t{c.uid}\t{c.euid}\t{c.suid}\t{c.fsuid}\n"
            f"Gid:\t{c.gid}\t{c.egid}\t{c.sgid}\t{c.fsgid}\nFDSize:\t{max(64, len(t.files))}\n"
            f"Groups:\t{groups}\nVmPeak:\t{vm_kb} kB\nVmSize:\t{vm_kb} kB\n"
            f"VmRSS:\t{getattr(mm, 'total_pages', 0) * 4} kB\nThreads:\t{len(g.tasks)}\n"
            f"SigQ:\t0/63432\n{_signal_masks(g, t)}"
            f"Cpus_allowed:\t1\nCpus_allowed_list:\t0\n"
            f"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n"
        ).encode()

    def maps(self, reader: Any, t: Any) -> bytes:
        if t is None or t.mm is None:
            return b""
        lines = []
        root = reader.fs.root if reader is not None else t.fs.root
        for v in t.mm.vmas:
            name = b""
            dev = ino = 0
            if v.file is not None:
                name = d_path(v.file, root)
                inode = v.file.dentry.inode
                dev, ino = inode.sb.dev, inode.ino
            elif v.name:
                name = v.name.encode() if isinstance(v.name, str) else v.name
            head = (
                f"{v.start:08x}-{v.end:08x} {_prot_str(v)} {v.pgoff * PAGE_SIZE:08x} "
                f"{dev_major(dev):02x}:{dev_minor(dev):02x} {ino}"
            ).encode()
            lines.append(head.ljust(73) + name if name else head)
        return b"\n".join(lines) + b"\n" if lines else b""

    @staticmethod
    def _mounts_seen(t: Any) -> list[tuple[Any, str]]:
        """Every mount of t's namespace, with its mount point as t's root shows it."""
        root = t.fs.root
        top = root.mnt
        while top.parent is not None:
            top = top.parent
        return [(m, d_path(p, root).decode(errors="replace"))
                for m, p in mounts_under(Path(top, top.root))]  # fmt: skip

    def mounts(self, t: Any) -> bytes:
        if t is None:
            return b""
        return "".join(f"{m.source} {where} {m.sb.fstype} {m.sb.mount_opts} 0 0\n"
                       for m, where in self._mounts_seen(t)).encode()  # fmt: skip

    def mountinfo(self, t: Any) -> bytes:
        """proc_pid_mountinfo(5): id, parent id, st_dev, root, mount point, options, "-",
        type, source, super options. The root mount's parent is outside the guest's view (as
        a container's)."""
        if t is None:
            return b""
        lines = []
        for m, where in self._mounts_seen(t):
            parent = m.parent.mnt_id if m.parent is not None else m.mnt_id - 1
            dev = m.sb.dev
            opts = m.sb.mount_opts
            sb_opts = opts.split(",")[0]
            lines.append(f"{m.mnt_id} {parent} {dev_major(dev)}:{dev_minor(dev)} / {where} "
                         f"{opts} - {m.sb.fstype} {m.source} {sb_opts}\n")  # fmt: skip
        return "".join(lines).encode()

    def meminfo(self, _t: Any) -> bytes:
        mem = self.kernel.mem
        total = mem.nframes * PAGE_SIZE // 1024
        free = mem.frames_free * PAGE_SIZE // 1024
        rows = [
            ("MemTotal", total),
            ("MemFree", free),
            ("MemAvailable", free),
            ("Buffers", 0),
            ("Cached", 0),
            ("SwapCached", 0),
            ("Active", 0),
            ("Inactive", 0),
            ("Shmem", 0),
            ("SwapTotal", 0),
            ("SwapFree", 0),
            ("Dirty", 0),
            ("Mapped", 0),
            ("Slab", 0),
            ("CommitLimit", total),
            ("Committed_AS", total - free),
            ("VmallocTotal", 0),
        ]
        return "".join(f"{k + ':':<16}{v:>8} kB\n" for k, v in rows).encode()

    def uptime(self, _t: Any) -> bytes:
        up = self.kernel.clock.uptime()
        return f"{up:.2f} {up:.2f}\n".encode()

    def version(self, _t: Any) -> bytes:
        # a deterministic kernel shows nothing of the host, not even Python's version
        py = "3" if self.kernel.clock.deterministic else host_platform.python_version()
        return (
            f"Linux version {KERNEL_RELEASE} (twaron@python) (Python {py}) {KERNEL_VERSION}\n"
        ).encode()

    def cpuinfo(self, _t: Any) -> bytes:
        flags = (
            "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 "
            "clflush mmx fxsr sse sse2 syscall nx lm constant_tsc nopl pni ssse3 cx16 "
            "sse4_1 sse4_2 popcnt hypervisor lahf_lm"
        )
        return (
            "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
            "model name\t: twaron virtual CPU\nstepping\t: 7\nmicrocode\t: 0x1\n"
            "cpu MHz\t\t: 2000.000\ncache size\t: 16384 KB\nphysical id\t: 0\nsiblings\t: 1\n"
            "core id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\ninitial apicid\t: 0\nfpu\t\t: yes\n"
            "fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n"
            f"flags\t\t: {flags}\nbogomips\t: 4000.00\nclflush size\t: 64\n"
            "cache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\n"
            "power management:\n\n"
        ).encode()

    def loadavg(self, _t: Any) -> bytes:
        k = self.kernel
        threads = sum(len(g.tasks) for g in k.pids.groups.values())
        running = sum(1 for t in k.pids.threads.values() if t.runnable and not t.exited)
        last = max(k.pids.groups) if k.pids.groups else 0
        return f"0.00 0.00 0.00 {max(running, 1)}/{threads} {last}\n".encode()

    def filesystems(self, _t: Any) -> bytes:
        return (b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\tpipefs\n"
                b"nodev\tdevpts\n")

    def stat(self, _t: Any) -> bytes:
        k = self.kernel
        up = k.clock.uptime()
        ticks = int(up * USER_HZ)
        btime = int(k.clock.realtime() - up)
        procs = len(k.pids.groups)
        return (
            f"cpu  0 0 0 {ticks} 0 0 0 0 0 0\ncpu0 0 0 0 {ticks} 0 0 0 0 0 0\nintr 0\n"
            f"ctxt 0\nbtime {btime}\nprocesses {procs}\nprocs_running 1\n"
            f"procs_blocked 0\nsoftirq 0\n"
        ).encode()


def mount_procfs(at: Path, kernel: Any) -> Path:
    """Mount a procfs for kernel on `at` (the /proc directory); returns its root."""
    fs = ProcFs(kernel)
    p = mount(at, fs.sb, fs.root, source="proc")
    p.dentry.children = None
    return p


SIG_DFL, SIG_IGN = 0, 1


def _prio(t: Any) -> int:
    """/proc/PID/stat's priority: 20 + nice, or -1 - the real-time priority (FIFO, RR)."""
    if getattr(t, "policy", 0) in (1, 2):
        return -1 - t.rt_priority
    return 20 + getattr(t, "nice", 0)


def _signal_masks(g: Any, t: Any) -> str:
    """SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt: bit sig-1 per signal, as 16 hex digits."""
    ign = cgt = 0
    actions = getattr(getattr(g, "sighand", None), "actions", ())
    for sig, a in enumerate(actions):
        if sig == 0:
            continue
        handler = getattr(a, "handler", SIG_DFL)
        if handler == SIG_IGN:
            ign |= 1 << (sig - 1)
        elif handler != SIG_DFL:
            cgt |= 1 << (sig - 1)
    masks = (("SigPnd", getattr(t, "pending_signals", 0)),
             ("ShdPnd", getattr(g, "shared_pending", 0)),
             ("SigBlk", getattr(t, "blocked_signals", 0)), ("SigIgn", ign), ("SigCgt", cgt))
    return "".join(f"{name}:\t{value & (2**64 - 1):016x}\n" for name, value in masks)
