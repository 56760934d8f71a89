"""execve: replace a process's program, as load-then-commit, in the phases of the seed post.

Loading builds the whole new image and can fail (with Linux's errno) leaving the caller as it
was - its fds, handlers, threads and address space untouched:

  open + parse              the file (a #! script's interpreter), its ELF headers, PT_INTERP
  new address space         a fresh mm with its own PML4
  load ELF segments         map PT_LOAD from the page cache (no copying)
  load interpreter          a dynamic program's PT_INTERP (ld.so) at a free area, top-down
  AT_RANDOM                 16 bytes from the boot-seeded generator, not the host
  prefault cached pages     map the binary's cached pages now, not one fault at a time
  stack alloc + init        argv, envp, auxv on the new stack
  credentials               set-user-ID and set-group-ID files

The commit cannot fail: close-on-exec fds closed, caught signals reset, the other threads
ended (de_thread), the new mm switched in, the registers set. What Linux finds wrong only
after its own point of no return (an interpreter it cannot map) ends the process with
SIGSEGV, as Linux's force_fatal_sig does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twaron.arch.x86_64.constants import (
    AT_BASE,
    AT_CLKTCK,
    AT_EGID,
    AT_ENTRY,
    AT_EUID,
    AT_EXECFN,
    AT_FDCWD,
    AT_FLAGS,
    AT_GID,
    AT_HWCAP,
    AT_HWCAP2,
    AT_MINSIGSTKSZ,
    AT_NULL,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_PLATFORM,
    AT_RANDOM,
    AT_SECURE,
    AT_SYSINFO_EHDR,
    AT_UID,
    ET_DYN,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    MINSIGSTKSZ,
    PAGE_MASK,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    RLIMIT_STACK,
    S_ISGID,
    S_ISUID,
    S_IXGRP,
    SECBIT_KEEP_CAPS,
    SIGSEGV,
)
from twaron.arch.x86_64.errno import E2BIG, EACCES, EFAULT, ELOOP, ENAMETOOLONG, ENOEXEC
from twaron.errors import KernelError
from twaron.fs.boot import exec_open
from twaron.mm.address_space import MMAP_TOP, STACK_SIZE, STACK_TOP, AddressSpace
from twaron.mm.page_cache import PageCache
from twaron.platform.base import UserRegs
from twaron.process import binfmt_elf, futex, timers
from twaron.process import exit as exits
from twaron.process.binfmt_elf import ElfImage, LoadedImage
from twaron.process.signal import wait_status_for_signal
from twaron.process.task import Credentials, creds_changed

if TYPE_CHECKING:
    from twaron.process.task import Task

MAX_ARG_STRLEN = 32 * PAGE_SIZE
MAX_ARG_TOTAL = 2 << 20  # a quarter of the 8 MiB stack, as Linux allows
MAX_ARGS = 0x7FFF_FFFF
BINPRM_BUF_SIZE = 256
MAX_SCRIPT_DEPTH = 4  # binfmt_script nesting before ELOOP
HWCAP = 0x178BFBFF  # CPUID.1:EDX of the emulated CPU family (fpu ... sse2)
CLK_TCK = 100
PLATFORM = b"x86_64\0"
STACK_PREFAULT = 16 * PAGE_SIZE
STACK_GUARD_GAP = 256 * PAGE_SIZE  # Linux's stack_guard_gap: mmap stays this far below
STACK_MAX = STACK_TOP - MMAP_TOP - STACK_GUARD_GAP  # an unlimited stack grows to this
EAGER_COPY_LIMIT = 64 << 10  # writable private segments up to this size are copied at exec


def read_string_array(task: Task, addr: int, total: list[int]) -> list[bytes]:
    """argv or envp from user memory: a NULL-terminated array of string pointers."""
    out: list[bytes] = []
    if addr == 0:
        return out
    mm = task.mm
    ptrs: list[int] = []
    while True:
        if not ptrs:  # the pointers up to the end of their page at once (same faults)
            at = addr + 8 * len(out)
            n = (PAGE_SIZE - (at & (PAGE_SIZE - 1))) >> 3
            if n:
                ptrs = list(struct.unpack(f"<{n}Q", mm.copy_in(at, 8 * n)))
                ptrs.reverse()
            else:  # one pointer across the page boundary
                ptrs = [mm.read_u64(at)]
        ptr = ptrs.pop()
        if ptr == 0:
            return out
        try:
            s = mm.read_cstring(ptr, MAX_ARG_STRLEN)
        except KernelError as e:  # Linux: a string past MAX_ARG_STRLEN is E2BIG
            raise KernelError(E2BIG if e.errno == ENAMETOOLONG else e.errno) from None
        total[0] += len(s) + 1 + 8
        if total[0] > MAX_ARG_TOTAL or len(out) >= MAX_ARGS:
            raise KernelError(E2BIG)
        out.append(s)


@dataclass
class NewImage:
    """Everything the commit puts in place; built by load() without touching the task."""

    mm: AddressSpace
    path: Any  # the executable's Path (/proc/PID/exe)
    execfn: bytes  # what comm is named after
    entry: int
    sp: int
    cred: Credentials


def sys_execve(task: Task, filename: bytes, argv: list[bytes], envp: list[bytes],
               dirfd: int, flags: int) -> None:  # fmt: skip
    """Replace task's program; KernelError (and the task untouched) if it cannot be loaded."""
    prof = task.kernel.profiler
    t_start = prof.now() if prof else 0
    image = load(task, filename, argv, envp, dirfd, flags)
    if image is None:  # Linux would have failed after its point of no return
        exits.group_exit(task.kernel, task.group, wait_status_for_signal(SIGSEGV))
        return
    commit(task, image)
    if prof:
        prof.add("exec.total", t_start, prof.now() - t_start, task.tid)
    watch = task.kernel.watch
    if watch is not None:  # exec hooks, the timeline
        watch.exec_done(task, filename, argv, envp)


def load(task: Task, filename: bytes, argv: list[bytes], envp: list[bytes], dirfd: int,
         flags: int) -> NewImage | None:  # fmt: skip
    """Build the new image. None when the interpreter cannot be mapped (the process is then
    killed, as Linux kills it past its point of no return)."""
    kernel = task.kernel
    prof = kernel.profiler
    t0 = prof.now() if prof else 0
    tid = task.tid
    path, inode, head = exec_open(task, dirfd, filename, flags)
    execfn = filename  # a #! script keeps its own name for comm and AT_EXECFN
    argv = list(argv)
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        if head[:2] != b"#!":
            break
        interp, argv = _script_argv(head, filename, argv)
        filename = interp
        path, inode, head = exec_open(task, AT_FDCWD, interp, 0)
    else:
        raise KernelError(ELOOP)
    mapping = inode.mapping
    image = binfmt_elf.parse(head, mapping.read, inode.size)
    interp = None if image.interp is None else _open_interp(task, image.interp)
    if prof:
        t0 = prof.phase("exec.open + parse", t0, tid)
    if not binfmt_elf.loads_fit(image, kernel.mem.size):
        return None

    mm = AddressSpace(kernel.mem)
    mm.set_exe(inode)
    if prof:
        t0 = prof.phase("exec.new address space", t0, tid)
    try:
        loaded = binfmt_elf.load(mm, image, mapping, path, binfmt_elf.exec_bias(image))
        mm.brk_start = mm.brk = loaded.brk
        if prof:
            t0 = prof.phase("exec.load ELF segments", t0, tid)
        entry, base = loaded.entry, 0
        if interp is not None:
            ld = _load_interp(mm, interp)
            if ld is None:
                mm.destroy()
                return None
            entry, base = ld.entry, ld.bias
            if prof:
                t0 = prof.phase("exec.load interpreter", t0, tid)
        vdso = kernel.vdso.map(mm)
        random_bytes = kernel.rng.read(16)
        if prof:
            t0 = prof.phase("exec.AT_RANDOM", t0, tid)
        _prefault(mm)
        if prof:
            t0 = prof.phase("exec.prefault cached pages", t0, tid)
        cred = exec_credentials(task, path)
        sp = _setup_stack(task, mm, cred, loaded, base, execfn, argv, envp, random_bytes,
                          image.exec_stack, vdso)  # fmt: skip
        if prof:
            t0 = prof.phase("exec.stack alloc + init", t0, tid)
    except BaseException:
        mm.destroy()
        raise
    return NewImage(mm, path, execfn, entry, sp, cred)


def exec_credentials(task: Task, path: Any) -> Credentials:
    """The credentials the program runs with (Linux's bprm_fill_uid): a set-user-ID file
    makes its owner the effective (and saved) user, set-group-ID its group, unless the
    mount is nosuid or the task asked for no_new_privs."""
    cred = task.cred.copy()
    cred.securebits &= ~SECBIT_KEEP_CAPS
    inode = path.inode
    if "nosuid" in path.mnt.sb.mount_opts.split(",") or task.no_new_privs:
        return cred
    if inode.mode & S_ISUID:
        cred.euid = cred.suid = cred.fsuid = inode.uid
    if inode.mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP:
        cred.egid = cred.sgid = cred.fsgid = inode.gid
    return cred


def commit(task: Task, image: NewImage) -> None:
    """Put the new image in place. Nothing here can fail."""
    kernel = task.kernel
    prof = kernel.profiler
    t0 = prof.now() if prof else 0
    tid = task.tid
    group = task.group
    if len(group.tasks) > 1 or task.tid != group.pid:
        exits.de_thread(task)
    if task.files.users > 1:  # unshare_files: a table shared by CLONE_FILES stays as it is
        files = task.files
        task.files = files.fork_copy()
        files.users -= 1
    task.files.close_on_exec()
    old_sighand = group.sighand
    group.sighand = old_sighand.copy()  # a table shared by CLONE_SIGHAND stays as it is
    # ... but the process keeps its signalfd queue: a signalfd that survives the exec (in an
    # epoll set, say) still hears of its signals (Linux unshares only a shared sighand).
    group.sighand.signalfd_wait = old_sighand.signalfd_wait
    group.sighand.exec_reset()
    timers.exit_itimers(group)  # POSIX timers go; interval timers stay
    task.clear_child_tid = 0
    if task.robust_list[0]:
        futex.exit_robust_list(kernel, task)
        task.robust_list = (0, 0)
    task.sigaltstack = (0, 2, 0)
    if prof:
        t0 = prof.phase("exec.close_cloexec + cmdline", t0, tid)

    old = task.mm
    task.mm = image.mm
    if task.vfork_done is not None:  # the vfork parent may run again: its mm is its own
        done, task.vfork_done = task.vfork_done, None
        done.notify()
    old.users -= 1
    if old.users == 0:
        old.destroy()
    cred = task.cred  # dumpable unless running set-id, then as the new ids decide
    task.mm.dumpable = int(cred.euid == cred.uid and cred.egid == cred.gid)
    task.cred = image.cred
    creds_changed(task, cred)
    new = image.cred
    if (new.euid, new.egid) != (new.uid, new.gid):  # secureexec: AT_SECURE
        task.pdeathsig = 0
    task.comm = image.execfn.rsplit(b"/", 1)[-1][:15]
    group.did_exec = True
    group.exe = image.path
    kernel.platform.set_regs(task, UserRegs(rip=image.entry, rsp=image.sp))
    kernel.platform.request_stop()
    new_image = getattr(kernel.platform, "new_image", None)
    if new_image is not None:  # the tiered CPU starts a new program on Unicorn
        new_image(task)
    if prof:
        prof.phase("exec.de_thread + mm switch", t0, tid)


def _script_argv(head: bytes, filename: bytes, argv: list[bytes]) -> tuple[bytes, list[bytes]]:
    """binfmt_script: '#!interp [arg]' runs interp [arg] filename argv[1:]."""
    line = head[2:].split(b"\n", 1)[0] if b"\n" in head[2:] else head[2:]
    line = line.replace(b"\t", b" ").strip()
    if not line:
        # "#!" and nothing at all: Linux takes the empty name that follows in its zeroed
        # buffer as the interpreter and fails to exec it (EACCES); "#!\n" is ENOEXEC.
        raise KernelError(ENOEXEC if b"\n" in head else EACCES)
    interp, _, arg = line.partition(b" ")
    arg = arg.strip()
    new = [interp] + ([arg] if arg else []) + [filename] + argv[1:]
    return interp, new


Interp = tuple[object, PageCache, "ElfImage | None"]  # path, page cache, checked headers


def _open_interp(task: Task, name: bytes) -> Interp:
    """Open and check PT_INTERP's file before the point of no return (errors as Linux's)."""
    path, inode, head = exec_open(task, AT_FDCWD, name, 0)
    mapping = inode.mapping
    return path, mapping, binfmt_elf.parse_interp(head, mapping.read, inode.size)


def _load_interp(mm: AddressSpace, interp: Interp) -> LoadedImage | None:
    """Map the interpreter: ET_DYN as one span at a free area found top-down (Linux maps
    its first segment with the whole size, then the rest MAP_FIXED), ET_EXEC where it says.
    None when it cannot be loaded."""
    path, mapping, image = interp
    if image is None:
        return None
    try:
        bias = 0
        if image.type == ET_DYN:
            area = mm.get_unmapped_area(binfmt_elf.span(image))
            bias = area - (image.loads[0].vaddr & PAGE_MASK)
        return binfmt_elf.load(mm, image, mapping, path, bias)
    except KernelError:
        return None


def _prefault(mm: AddressSpace) -> None:
    """Map the binary's cached pages now: one Python loop beats a platform exit per page."""
    for vma in mm.vmas:
        if vma.mapping is not None:
            if vma.prot & PROT_WRITE and vma.end - vma.start <= EAGER_COPY_LIMIT:
                mm.populate_private(vma)
            else:
                mm.prefault(vma, vma.start, vma.end)


def stack_size(task: Task) -> int:
    """The stack VMA: RLIMIT_STACK's soft limit (what Linux lets the stack grow to), mapped
    at once (pages arrive on demand); at least STACK_PREFAULT, at most the room below
    STACK_TOP left by the mmap area and its guard gap."""
    soft = task.group.rlimits.get(RLIMIT_STACK, (STACK_SIZE,))[0]
    size = (min(soft, STACK_MAX) + PAGE_SIZE - 1) & -PAGE_SIZE
    return max(size, STACK_PREFAULT)


def _setup_stack(task: Task, mm: AddressSpace, cred: Credentials, loaded: LoadedImage,
                 interp_base: int,
                 filename: bytes, argv: list[bytes], envp: list[bytes], random_bytes: bytes,
                 exec_stack: bool, vdso: int) -> int:  # fmt: skip
    """Lay out Linux's initial stack; returns the new rsp."""
    prot = PROT_READ | PROT_WRITE | (PROT_EXEC if exec_stack else 0)
    # Linux always lets the arguments in (up to ARG_MAX), whatever RLIMIT_STACK says
    args = sum(len(s) + 9 for s in argv) + sum(len(s) + 9 for s in envp) + len(filename) + 512
    size = max(stack_size(task), (args + 2 * PAGE_SIZE - 1) & -PAGE_SIZE)
    mm.map(STACK_TOP - size, size, prot, MAP_PRIVATE | MAP_GROWSDOWN, name="[stack]")
    mm.prefault(mm.vmas[-1], STACK_TOP - STACK_PREFAULT, STACK_TOP)
    mm.start_stack = STACK_TOP

    # Strings, in Linux's order from the top down: execfn, envp, argv.
    top = STACK_TOP - 8
    execfn = filename + b"\0"
    env_blob = b"".join(s + b"\0" for s in envp)
    arg_blob = b"".join(s + b"\0" for s in argv)
    execfn_addr = top - len(execfn)
    env_start = execfn_addr - len(env_blob)
    arg_start = env_start - len(arg_blob)
    mm.arg_start, mm.arg_end = arg_start, env_start
    mm.env_start, mm.env_end = env_start, execfn_addr
    p = arg_start & ~0xF
    platform_addr = p - len(PLATFORM)
    random_addr = (platform_addr - 16) & ~0xF

    secure = int((cred.euid, cred.egid) != (cred.uid, cred.gid))
    auxv = [
        (AT_SYSINFO_EHDR, vdso),
        (AT_HWCAP, HWCAP), (AT_PAGESZ, PAGE_SIZE), (AT_CLKTCK, CLK_TCK),
        (AT_PHDR, loaded.phdr_addr), (AT_PHENT, loaded.phentsize), (AT_PHNUM, loaded.phnum),
        (AT_BASE, interp_base), (AT_FLAGS, 0), (AT_ENTRY, loaded.entry),
        (AT_UID, cred.uid), (AT_EUID, cred.euid), (AT_GID, cred.gid), (AT_EGID, cred.egid),
        (AT_SECURE, secure), (AT_RANDOM, random_addr), (AT_HWCAP2, 0),
        (AT_EXECFN, execfn_addr), (AT_PLATFORM, platform_addr),
        (AT_MINSIGSTKSZ, MINSIGSTKSZ), (AT_NULL, 0),
    ]  # fmt: skip
    words = [len(argv)]
    pos = arg_start
    for s in argv:
        words.append(pos)
        pos += len(s) + 1
    words.append(0)
    for s in envp:
        words.append(pos)
        pos += len(s) + 1
    words.append(0)
    for key, value in auxv:
        words += (key, value)
    sp = (random_addr - 8 * len(words)) & ~0xF
    if sp < STACK_TOP - size + PAGE_SIZE:
        raise KernelError(E2BIG)
    table = struct.pack(f"<{len(words)}Q", *words)
    gap = random_addr - (sp + len(table))
    image = (
        table
        + bytes(gap)
        + random_bytes
        + bytes(platform_addr - random_addr - 16)
        + PLATFORM
        + bytes(arg_start - platform_addr - len(PLATFORM))
        + arg_blob
        + env_blob
        + execfn
    )
    try:
        mm.copy_out(sp, image)
    except KernelError:
        raise KernelError(EFAULT) from None
    return sp


