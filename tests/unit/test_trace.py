"""strace-format syscall lines against a fake task whose memory is a bytearray."""

from __future__ import annotations

import struct

import pytest

from twaron.arch.x86_64.errno import EBADF, EFAULT, ENOENT, ENOSYS
from twaron.arch.x86_64.unistd import SYSCALL_NUMBERS as NR
from twaron.errors import KernelError
from twaron.syscalls.trace import format_entry, format_syscall, quote, sigset_str, wstatus_str

BASE = 0x10000
SIZE = 0x10000


class FakeMM:
    """Guest memory [BASE, BASE+SIZE); everything else faults like copy_in does."""

    def __init__(self) -> None:
        self.mem = bytearray(SIZE)
        self.brk = BASE

    def copy_in(self, addr: int, n: int) -> bytes:
        if addr < BASE or addr + n > BASE + SIZE:
            raise KernelError(EFAULT)
        return bytes(self.mem[addr - BASE : addr - BASE + n])

    def read_cstring(self, addr: int, limit: int) -> bytes:
        data = self.copy_in(addr, 1)
        end = addr
        while data != b"\0" and end - addr < limit:
            end += 1
            data = self.copy_in(end, 1)
        return self.copy_in(addr, end - addr)

    def put(self, data: bytes) -> int:
        """Copy data to the next free spot; returns its guest address."""
        addr = self.brk
        self.mem[addr - BASE : addr - BASE + len(data)] = data
        self.brk += (len(data) + 15) & ~15
        return addr


class FakeTask:
    def __init__(self) -> None:
        self.mm = FakeMM()


@pytest.fixture
def t() -> FakeTask:
    return FakeTask()


def fmt(t: FakeTask, name: str, *args: int, result: int | None = 0) -> str:
    return format_syscall(t, NR[name], args, result)


def test_openat(t: FakeTask) -> None:
    p = t.mm.put(b"/etc/passwd\0")
    assert fmt(t, "openat", -100 & (2**64 - 1), p, 0o2000000, result=3) == (
        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3'
    )
    q = t.mm.put(b"out.txt\0")
    assert fmt(t, "openat", 2**64 - 100, q, 0o1101, 0o666, result=-ENOENT) == (
        'openat(AT_FDCWD, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666)'
        " = -1 ENOENT (No such file or directory)"
    )
    d = t.mm.put(b".\0")
    assert fmt(t, "openat", 2**64 - 100, d, 0o2204000, result=3) == (
        'openat(AT_FDCWD, ".", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3'
    )


def test_read_prints_result_bytes_truncated(t: FakeTask) -> None:
    b = t.mm.put(b"root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/:/sbin/nologin\n")
    assert fmt(t, "read", 3, b, 4096, result=30) == (
        'read(3, "root:x:0:0:root:/root:/bin/sh\\n", 4096) = 30'
    )
    assert fmt(t, "read", 3, b, 4096, result=58) == (
        'read(3, "root:x:0:0:root:/root:/bin/sh\\nbi"..., 4096) = 58'
    )
    assert fmt(t, "read", 3, b, 4096, result=0) == 'read(3, "", 4096) = 0'
    assert fmt(t, "read", 99, b, 4096, result=-EBADF) == (
        f"read(99, {b:#x}, 4096) = -1 EBADF (Bad file descriptor)"
    )


def test_write(t: FakeTask) -> None:
    b = t.mm.put(b"hello\n")
    assert fmt(t, "write", 1, b, 6, result=6) == 'write(1, "hello\\n", 6) = 6'
    # A bad buffer prints as its address.
    assert fmt(t, "write", 1, 0xDEAD0000, 6, result=-EFAULT) == (
        "write(1, 0xdead0000, 6) = -1 EFAULT (Bad address)"
    )


def test_quote_escapes_like_strace() -> None:
    assert quote(b'a"b\\c\t\r\x0b\x0c') == '"a\\"b\\\\c\\t\\r\\v\\f"'
    assert quote(b"\x1b[0m") == '"\\33[0m"'
    assert quote(b"\x001") == '"\\0001"'  # next byte an octal digit: three digits
    assert quote(b"\x00a\xff") == '"\\0a\\377"'
    assert quote(b"x" * 33) == '"' + "x" * 32 + '"...'
    assert quote(b"\x12\xab", force_hex=True) == '"\\x12\\xab"'


def test_mmap_brk_munmap_mprotect(t: FakeTask) -> None:
    assert fmt(t, "mmap", 0, 8192, 3, 0x22, 2**64 - 1, 0, result=0x7F0000001000) == (
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000"
    )
    assert fmt(t, "mmap", 0x400000, 4096, 5, 0x812, 3, 0x1000, result=0x400000) == (
        "mmap(0x400000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3,"
        " 0x1000) = 0x400000"
    )
    assert fmt(t, "mmap", 0, 1 << 40, 0, 0x22, 2**64 - 1, 0, result=-12) == (
        "mmap(NULL, 1099511627776, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        " = -1 ENOMEM (Cannot allocate memory)"
    )
    assert fmt(t, "brk", 0, result=0x4C3000) == "brk(NULL) = 0x4c3000"
    assert fmt(t, "munmap", 0x7F0000001000, 8192) == "munmap(0x7f0000001000, 8192) = 0"
    assert fmt(t, "mprotect", 0x4C1000, 4096, 1) == "mprotect(0x4c1000, 4096, PROT_READ) = 0"
    assert fmt(t, "mremap", 0x7F00, 4096, 8192, 1, result=0x7F10) == (
        "mremap(0x7f00, 4096, 8192, MREMAP_MAYMOVE) = 0x7f10"
    )
    assert fmt(t, "madvise", 0x7F00, 4096, 4) == "madvise(0x7f00, 4096, MADV_DONTNEED) = 0"


def test_errors_exit_and_unknown(t: FakeTask) -> None:
    assert fmt(t, "close", 99, result=-EBADF) == "close(99) = -1 EBADF (Bad file descriptor)"
    # The raw register form of -EBADF decodes the same way.
    assert fmt(t, "close", 99, result=2**64 - EBADF).endswith("-1 EBADF (Bad file descriptor)")
    assert fmt(t, "exit_group", 0, result=None) == "exit_group(0) = ?"
    assert fmt(t, "exit_group", 1) == "exit_group(1) = ?"
    assert format_syscall(t, 0x3E8, (1, 2, 3, 0, 0, 0), -ENOSYS) == (
        "syscall_0x3e8(0x1, 0x2, 0x3, 0, 0, 0) = -1 ENOSYS (Function not implemented)"
    )
    assert fmt(t, "rseq", 0x4C8A60, 0x20, 0, 0x53053053, result=-ENOSYS) == (
        "rseq(0x4c8a60, 0x20, 0, 0x53053053) = -1 ENOSYS (Function not implemented)"
    )


def test_busybox_startup_calls(t: FakeTask) -> None:
    assert fmt(t, "arch_prctl", 0x1002, 0x4C8380) == "arch_prctl(ARCH_SET_FS, 0x4c8380) = 0"
    assert fmt(t, "arch_prctl", 0x3001, 0x7FFC, result=-22).startswith(
        "arch_prctl(0x3001 /* ARCH_??? */, 0x7ffc) = -1 EINVAL"
    )
    assert fmt(t, "set_tid_address", 0x4C8A50, result=1) == "set_tid_address(0x4c8a50) = 1"
    assert fmt(t, "set_robust_list", 0x4C8A60, 24) == "set_robust_list(0x4c8a60, 24) = 0"
    rl = t.mm.put(struct.pack("<QQ", 8192 * 1024, 2**64 - 1))
    assert fmt(t, "prlimit64", 0, 3, 0, rl) == (
        "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0"
    )
    p = t.mm.put(b"/proc/self/exe\0")
    out = t.mm.put(b"/bin/busybox")
    assert fmt(t, "readlink", p, out, 4096, result=12) == (
        'readlink("/proc/self/exe", "/bin/busybox", 4096) = 12'
    )
    r = t.mm.put(bytes([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]))
    assert fmt(t, "getrandom", r, 8, 1, result=8) == (
        'getrandom("\\x12\\x34\\x56\\x78\\x9a\\xbc\\xde\\xf0", 8, GRND_NONBLOCK) = 8'
    )
    name = t.mm.put(b"busybox\0")
    assert fmt(t, "prctl", 16, name, 0, 0, 0) == 'prctl(PR_GET_NAME, "busybox") = 0'
    assert fmt(t, "getuid") == "getuid() = 0"
    assert fmt(t, "getpid", result=42) == "getpid() = 42"


def test_execve_needs_entry_formatting(t: FakeTask) -> None:
    path = t.mm.put(b"/bin/busybox\0")
    a0, a1 = t.mm.put(b"busybox\0"), t.mm.put(b"true\0")
    argv = t.mm.put(struct.pack("<QQQ", a0, a1, 0))
    e0 = t.mm.put(b"PATH=/bin\0")
    envp = t.mm.put(struct.pack("<QQQ", e0, e0, 0))
    args = (path, argv, envp)
    entry = format_entry(t, NR["execve"], args)
    t.mm.mem[:] = bytes(SIZE)  # the exec replaced the address space
    assert format_syscall(t, NR["execve"], args, 0, entry=entry) == (
        f'execve("/bin/busybox", ["busybox", "true"], {envp:#x} /* 2 vars */) = 0'
    )


def test_entry_leaves_outputs_for_exit(t: FakeTask) -> None:
    b = t.mm.put(b"\0" * 8)
    args = (3, b, 8)
    entry = format_entry(t, NR["read"], args)
    assert entry == ["3", None, "8"]
    t.mm.mem[b - BASE : b - BASE + 2] = b"hi"
    assert format_syscall(t, NR["read"], args, 2, entry=entry) == 'read(3, "hi", 8) = 2'


def test_fstat_and_newfstatat(t: FakeTask) -> None:
    st = bytearray(144)
    struct.pack_into("<I", st, 24, 0o100644)
    struct.pack_into("<q", st, 48, 30)
    sb = t.mm.put(bytes(st))
    p = t.mm.put(b"/etc/passwd\0")
    assert fmt(t, "newfstatat", 2**64 - 100, p, sb, 0) == (
        'newfstatat(AT_FDCWD, "/etc/passwd", {st_mode=S_IFREG|0644, st_size=30, ...}, 0) = 0'
    )
    ch = bytearray(144)
    struct.pack_into("<I", ch, 24, 0o20620)
    struct.pack_into("<Q", ch, 40, (136 << 8) | 0)
    cb = t.mm.put(bytes(ch))
    assert fmt(t, "fstat", 1, cb) == (
        "fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}) = 0"
    )
    assert fmt(t, "newfstatat", 3, p, sb, 0x1000, result=-ENOENT).startswith(
        f'newfstatat(3, "/etc/passwd", {sb:#x}, AT_EMPTY_PATH) = -1 ENOENT'
    )


def test_fd_calls(t: FakeTask) -> None:
    assert fmt(t, "lseek", 3, 0, 0) == "lseek(3, 0, SEEK_SET) = 0"
    assert fmt(t, "lseek", 3, 2**64 - 10, 2, result=90) == "lseek(3, -10, SEEK_END) = 90"
    assert fmt(t, "dup", 1, result=3) == "dup(1) = 3"
    assert fmt(t, "dup2", 3, 1, result=1) == "dup2(3, 1) = 1"
    assert fmt(t, "dup3", 3, 1, 0o2000000, result=1) == "dup3(3, 1, O_CLOEXEC) = 1"
    assert fmt(t, "fcntl", 3, 1, result=1) == "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
    assert fmt(t, "fcntl", 3, 2, 1) == "fcntl(3, F_SETFD, FD_CLOEXEC) = 0"
    assert fmt(t, "fcntl", 0, 3, result=2) == "fcntl(0, F_GETFL) = 0x2 (flags O_RDWR)"
    assert fmt(t, "fcntl", 0, 1030, 10, result=10) == "fcntl(0, F_DUPFD_CLOEXEC, 10) = 10"
    ws = t.mm.put(struct.pack("<HHHH", 24, 80, 0, 0))
    assert fmt(t, "ioctl", 1, 0x5413, ws) == (
        "ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0"
    )
    assert fmt(t, "ioctl", 0, 0x5401, 0x7FFC, result=-25) == (
        "ioctl(0, TCGETS, 0x7ffc) = -1 ENOTTY (Inappropriate ioctl for device)"
    )
    d = bytearray()
    for name in (b".", b"..", b"passwd"):
        rec = 24 + ((len(name) + 1 + 7) & ~7)
        d += struct.pack("<QqHB", 1, 0, rec, 8) + name + bytes(rec - 19 - len(name))
    db = t.mm.put(bytes(d))
    assert fmt(t, "getdents64", 3, db, 32768, result=len(d)) == (
        f"getdents64(3, {db:#x} /* 3 entries */, 32768) = {len(d)}"
    )
    pf = t.mm.put(struct.pack("<ii", 3, 4))
    assert fmt(t, "pipe2", pf, 0o2000000) == "pipe2([3, 4], O_CLOEXEC) = 0"
    assert fmt(t, "close", 3) == "close(3) = 0"


def test_iovecs(t: FakeTask) -> None:
    h, n = t.mm.put(b"hello"), t.mm.put(b"\n")
    iov = t.mm.put(struct.pack("<QQQQ", h, 5, n, 1))
    assert fmt(t, "writev", 1, iov, 2, result=6) == (
        'writev(1, [{iov_base="hello", iov_len=5}, {iov_base="\\n", iov_len=1}], 2) = 6'
    )
    assert fmt(t, "readv", 0, iov, 2, result=3) == (
        'readv(0, [{iov_base="hel", iov_len=5}, {iov_base="", iov_len=1}], 2) = 3'
    )


def test_paths_time_and_info(t: FakeTask) -> None:
    cwd = t.mm.put(b"/root\0")
    assert fmt(t, "getcwd", cwd, 4096, result=6) == 'getcwd("/root", 4096) = 6'
    d = t.mm.put(b"/tmp\0")
    assert fmt(t, "chdir", d) == 'chdir("/tmp") = 0'
    assert fmt(t, "chdir", 0xBAD, result=-EFAULT) == "chdir(0xbad) = -1 EFAULT (Bad address)"
    ts = t.mm.put(struct.pack("<qq", 12, 345))
    assert fmt(t, "clock_gettime", 1, ts) == (
        "clock_gettime(CLOCK_MONOTONIC, {tv_sec=12, tv_nsec=345}) = 0"
    )
    assert fmt(t, "gettimeofday", ts, 0) == "gettimeofday({tv_sec=12, tv_usec=345}, NULL) = 0"
    assert fmt(t, "nanosleep", ts, 0) == "nanosleep({tv_sec=12, tv_nsec=345}, NULL) = 0"
    uts = bytearray(65 * 6)
    uts[0:5] = b"Linux"
    uts[65:71] = b"twaron"
    u = t.mm.put(bytes(uts))
    assert fmt(t, "uname", u) == 'uname({sysname="Linux", nodename="twaron", ...}) = 0'
    si = t.mm.put(struct.pack("<q3Q6QH6xQQI", 5, 0, 0, 0, 1 << 29, 1 << 28, 0, 0, 0, 0, 3, 0, 0, 1))
    assert fmt(t, "sysinfo", si) == (
        "sysinfo({uptime=5, loads=[0, 0, 0], totalram=536870912, freeram=268435456,"
        " sharedram=0, bufferram=0, totalswap=0, freeswap=0, procs=3, totalhigh=0,"
        " freehigh=0, mem_unit=1}) = 0"
    )
    assert fmt(t, "getppid", result=1) == "getppid() = 1"
    assert fmt(t, "gettid", result=7) == "gettid() = 7"


def test_processes_and_signals(t: FakeTask) -> None:
    stp = t.mm.put(struct.pack("<i", 0))
    assert fmt(t, "wait4", 2**64 - 1, stp, 0, 0, result=42) == (
        "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 42"
    )
    assert (
        fmt(t, "wait4", 2**64 - 1, stp, 1, 0, result=0) == f"wait4(-1, {stp:#x}, WNOHANG, NULL) = 0"
    )
    assert wstatus_str(9) == "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]"
    assert wstatus_str(0x8B) == "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]"
    assert wstatus_str(0x137F) == "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]"
    assert fmt(t, "clone", 0x01200011, 0, 0, 0x4C8A50, 0, result=43) == (
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD,"
        " child_tidptr=0x4c8a50) = 43"
    )
    assert fmt(t, "kill", 42, 15) == "kill(42, SIGTERM) = 0"
    act = t.mm.put(struct.pack("<QQQQ", 0x401000, 0x04000000 | 0x10000000, 0x402000, 0))
    assert fmt(t, "rt_sigaction", 2, act, 0, 8) == (
        "rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART,"
        " sa_restorer=0x402000}, NULL, 8) = 0"
    )
    old = t.mm.put(struct.pack("<QQQQ", 1, 0, 0, 1 << 16))
    assert fmt(t, "rt_sigaction", 17, 0, old, 8) == (
        "rt_sigaction(SIGCHLD, NULL, {sa_handler=SIG_IGN, sa_mask=[CHLD], sa_flags=0}, 8) = 0"
    )
    mask = t.mm.put(struct.pack("<Q", (1 << 1) | (1 << 14)))
    empty = t.mm.put(struct.pack("<Q", 0))
    assert fmt(t, "rt_sigprocmask", 0, mask, empty, 8) == (
        "rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0"
    )
    assert sigset_str((1 << 31) | (1 << 32)) == "[RTMIN RT_1]"
    assert sigset_str(~((1 << 31) | (1 << 32)) & (2**64 - 1)) == "~[RTMIN RT_1]"


def test_string_runs_into_unmapped_memory(t: FakeTask) -> None:
    # A path at the very end of memory with no NUL: the fault prints the address.
    addr = BASE + SIZE - 4
    t.mm.mem[-4:] = b"abcd"
    assert fmt(t, "chdir", addr, result=-EFAULT) == f"chdir({addr:#x}) = -1 EFAULT (Bad address)"
    # A string that ends right before the unmapped page is read fine.
    t.mm.mem[-1] = 0
    assert fmt(t, "chdir", addr) == 'chdir("abc") = 0'
