"""The /dev/kvm ABI from Python: ioctl numbers, struct layouts, a VM and a vCPU.

Only ctypes, fcntl and mmap (no C extension). Every ioctl goes through libc's ioctl with an
unsigned long argument (fcntl.ioctl takes a C int, which overflows for guest addresses), and
ctypes releases the GIL for KVM_RUN so the timer thread can run beside the guest.

Layouts are those of linux/kvm.h for x86-64 (struct kvm_run, kvm_regs, kvm_sregs, kvm_fpu,
kvm_msrs, kvm_cpuid2, kvm_signal_mask).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_ioctl = _libc.ioctl
_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_ioctl.restype = ctypes.c_int

# ---- ioctl numbers (_IO/_IOR/_IOW/_IOWR with type 0xAE) ---------------------------------
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_CHECK_EXTENSION = 0xAE03
KVM_GET_VCPU_MMAP_SIZE = 0xAE04
KVM_GET_SUPPORTED_CPUID = 0xC008AE05
KVM_CREATE_VCPU = 0xAE41
KVM_SET_USER_MEMORY_REGION = 0x4020AE46
KVM_SET_TSS_ADDR = 0xAE47
KVM_RUN = 0xAE80
KVM_GET_REGS = 0x8090AE81
KVM_SET_REGS = 0x4090AE82
KVM_GET_SREGS = 0x8138AE83
KVM_SET_SREGS = 0x4138AE84
KVM_GET_MSRS = 0xC008AE88
KVM_SET_MSRS = 0x4008AE89
KVM_SET_SIGNAL_MASK = 0x4004AE8B
KVM_GET_FPU = 0x81A0AE8C
KVM_SET_FPU = 0x41A0AE8D
KVM_SET_CPUID2 = 0x4008AE90
KVM_GET_DEVICE_ATTR = 0x4018AEE2  # struct kvm_device_attr {u32 flags, group; u64 attr, addr}
KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET = 0, 0
KVM_GET_DIRTY_LOG = 0x4010AE42  # struct kvm_dirty_log {u32 slot, pad; u64 bitmap}
KVM_MEM_LOG_DIRTY_PAGES = 1
KVM_GET_XSAVE = 0x9000AEA4
KVM_SET_XSAVE = 0x5000AEA5

KVM_CAP_XSAVE = 55
KVM_CAP_SYNC_REGS = 74
XSAVE_SIZE = 4096

# ---- struct kvm_run ---------------------------------------------------------------------
RUN_IMMEDIATE_EXIT = 1
RUN_EXIT_REASON = 8
RUN_IO = 32  # direction u8, size u8, port u16, count u32, data_offset u64
RUN_VALID_REGS = 0x120
RUN_DIRTY_REGS = 0x128
RUN_REGS = 0x130  # struct kvm_regs (144 bytes)
RUN_SREGS = 0x1C0  # struct kvm_sregs (312 bytes)
SYNC_REGS, SYNC_SREGS, SYNC_EVENTS = 1, 2, 4

EXIT_UNKNOWN = 0
EXIT_EXCEPTION = 1
EXIT_IO = 2
EXIT_DEBUG = 4
EXIT_HLT = 5
EXIT_MMIO = 6
EXIT_SHUTDOWN = 8
EXIT_FAIL_ENTRY = 9
EXIT_INTR = 10
EXIT_INTERNAL_ERROR = 17

# struct kvm_regs, in order (qword indices)
KREGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11",
         "r12", "r13", "r14", "r15", "rip", "rflags")  # fmt: skip
KREG_INDEX = {name: i for i, name in enumerate(KREGS)}

# struct kvm_sregs: 8 segments of 24 bytes (cs ds es fs gs ss tr ldt), gdt, idt (16 bytes
# each), cr0 cr2 cr3 cr4 cr8 efer apic_base, interrupt_bitmap[4].
SREGS_SIZE = 312
SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR, SEG_LDT = range(8)
SREG_GDT = 192
SREG_IDT = 208
SREG_CR0, SREG_CR2, SREG_CR3, SREG_CR4 = 224, 232, 240, 248
SREG_EFER = 264
SEG_FMT = "<QIHBBBBBBBBBx"  # base limit selector type present dpl db s l g avl unusable

FPU_SIZE = 416


def seg_pack(base: int, limit: int, selector: int, type_: int, dpl: int, s: int = 1,
             l: int = 0, db: int = 0, g: int = 0, present: int = 1) -> bytes:  # noqa: E741
    return struct.pack(SEG_FMT, base, limit, selector, type_, present, dpl, db, s, l, g, 0,
                       0 if present else 1)  # fmt: skip


def default_fpu() -> bytearray:
    """struct kvm_fpu after FNINIT + LDMXCSR(0x1F80): what a new Linux process starts with."""
    fpu = bytearray(FPU_SIZE)
    struct.pack_into("<H", fpu, 128, 0x37F)  # fcw
    struct.pack_into("<I", fpu, 408, 0x1F80)  # mxcsr
    return fpu


class KvmError(OSError):
    pass


def ioctl(fd: int, req: int, arg: int = 0) -> int:
    r = _ioctl(fd, req, arg)
    if r < 0:
        e = ctypes.get_errno()
        raise KvmError(e, f"ioctl {req:#x}: {os.strerror(e)}")
    return r


def addr_of(buf: bytearray | ctypes.Array) -> int:
    if isinstance(buf, bytearray):
        return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    return ctypes.addressof(buf)


def open_kvm() -> int:
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        if ioctl(fd, KVM_GET_API_VERSION) != 12:
            raise KvmError(0, "/dev/kvm: unexpected API version")
    except BaseException:
        os.close(fd)
        raise
    return fd


def probe() -> str | None:
    """None if this host can create a KVM VM with a vCPU and sync regs, else the reason."""
    try:
        kvm = open_kvm()
    except OSError as e:
        return f"/dev/kvm: {e.strerror or e}"
    try:
        try:
            vm = ioctl(kvm, KVM_CREATE_VM)
        except OSError as e:
            return f"KVM_CREATE_VM failed: {e.strerror}"
        try:
            cpu = ioctl(vm, KVM_CREATE_VCPU, 0)
            os.close(cpu)
        except OSError as e:
            return f"KVM_CREATE_VCPU failed: {e.strerror}"
        finally:
            os.close(vm)
        if not ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & (SYNC_REGS | SYNC_SREGS):
            return "KVM_CAP_SYNC_REGS (regs and sregs) not offered"
        return None
    finally:
        os.close(kvm)


def module_name() -> str:
    """kvm_intel, kvm_amd, kvm_pvm, ... as far as /sys/module tells (for reports only)."""
    for name in ("kvm_pvm", "kvm_intel", "kvm_amd"):
        if os.path.isdir(f"/sys/module/{name}"):
            return name
    return "kvm"


class Vm:
    """One VM with one memory slot (guest RAM at guest-physical 0) and one vCPU."""

    def __init__(self, host_addr: int, size: int) -> None:
        self.kvm = open_kvm()
        self.fds: list[int] = [self.kvm]
        try:
            self.vm = ioctl(self.kvm, KVM_CREATE_VM)
            self.fds.append(self.vm)
            try:  # Intel VMX wants it for real-mode emulation; others may refuse it
                ioctl(self.vm, KVM_SET_TSS_ADDR, 0xFFFB_D000)
            except OSError:
                pass
            self._slot = bytearray(struct.pack("<IIQQQ", 0, 0, 0, size, host_addr))
            self._noslot = bytearray(struct.pack("<IIQQQ", 0, 0, 0, 0, host_addr))
            ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, addr_of(self._slot))
            self.has_xsave = bool(ioctl(self.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE))
            self.vcpu = ioctl(self.vm, KVM_CREATE_VCPU, 0)
            self.fds.append(self.vcpu)
            size_run = ioctl(self.kvm, KVM_GET_VCPU_MMAP_SIZE)
            self.run_map = mmap.mmap(self.vcpu, size_run, mmap.MAP_SHARED,
                                     mmap.PROT_READ | mmap.PROT_WRITE)  # fmt: skip
        except BaseException:
            self.close()
            raise
        self.run_mv = memoryview(self.run_map)
        self.run_q = self.run_mv.cast("Q")
        self.dirty_log: bytearray | None = None  # KVM_GET_DIRTY_LOG's bitmap, when logging
        self.dirty_saved: list[bytes] = []  # bitmaps taken before a zap deleted the slot
        self.run_addr = ctypes.addressof(ctypes.c_char.from_buffer(self.run_map))

    # ---- plain ioctls (set-up and slow paths) ---------------------------------------

    def zap_all(self) -> None:
        """Make KVM forget every translation it derived from guest memory: deleting and
        re-adding the memory slot zaps all shadow pages (and EPT entries) at once; they are
        rebuilt from the real page tables on the next touches. About 0.25 ms here, against
        several ms for an mprotect round trip over guest RAM (which zaps leaves only)."""
        if self.dirty_log is not None:  # deleting the slot drops its dirty bitmap
            saved = self.dirty_saved
            saved.append(self._get_dirty_log())
            if len(saved) > 8:  # many zaps and nobody reading: keep one bitmap, their union
                merged = 0
                for bitmap in saved:
                    merged |= int.from_bytes(bitmap, "little")
                saved[:] = [merged.to_bytes(len(saved[0]), "little")]
        ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, addr_of(self._noslot))
        ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, addr_of(self._slot))

    def enable_dirty_log(self, size: int) -> None:
        """Log the guest's writes to its RAM (KVM_MEM_LOG_DIRTY_PAGES on the slot), one bit
        per 4 KiB page, read and cleared by take_dirty()."""
        struct.pack_into("<I", self._slot, 4, KVM_MEM_LOG_DIRTY_PAGES)
        ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, addr_of(self._slot))
        self.dirty_log = bytearray(((size >> 12) + 63) // 64 * 8)
        self._dirty_arg = bytearray(struct.pack("<IIQ", 0, 0, addr_of(self.dirty_log)))

    def _get_dirty_log(self) -> bytes:
        ioctl(self.vm, KVM_GET_DIRTY_LOG, addr_of(self._dirty_arg))
        return bytes(self.dirty_log)  # type: ignore[arg-type]

    def take_dirty(self) -> list[bytes]:
        """The bitmaps of the pages the guest wrote since the last call (each set bit a
        page number), and logging starts over."""
        maps, self.dirty_saved = self.dirty_saved, []
        maps.append(self._get_dirty_log())
        return maps

    def get_sregs(self) -> bytearray:
        buf = bytearray(SREGS_SIZE)
        ioctl(self.vcpu, KVM_GET_SREGS, addr_of(buf))
        return buf

    def set_sregs(self, buf: bytearray) -> None:
        ioctl(self.vcpu, KVM_SET_SREGS, addr_of(buf))

    def get_regs(self) -> list[int]:
        buf = bytearray(144)
        ioctl(self.vcpu, KVM_GET_REGS, addr_of(buf))
        return list(struct.unpack("<18Q", buf))

    def set_regs(self, values: list[int]) -> None:
        buf = bytearray(struct.pack("<18Q", *values))
        ioctl(self.vcpu, KVM_SET_REGS, addr_of(buf))

    def set_msrs(self, msrs: dict[int, int]) -> None:
        buf = bytearray(struct.pack("<II", len(msrs), 0))
        for index, value in msrs.items():
            buf += struct.pack("<IIQ", index, 0, value)
        n = ioctl(self.vcpu, KVM_SET_MSRS, addr_of(buf))
        if n != len(msrs):
            raise KvmError(0, f"KVM_SET_MSRS set {n} of {len(msrs)} MSRs")

    def get_msrs(self, indices: list[int]) -> list[int]:
        buf = bytearray(struct.pack("<II", len(indices), 0))
        for index in indices:
            buf += struct.pack("<IIQ", index, 0, 0)
        ioctl(self.vcpu, KVM_GET_MSRS, addr_of(buf))
        return [struct.unpack_from("<Q", buf, 8 + 16 * i + 8)[0] for i in range(len(indices))]

    def tsc_offset(self) -> int | None:
        """The vCPU's TSC offset (KVM_VCPU_TSC_OFFSET, Linux 5.16+), None if not told."""
        value = ctypes.c_uint64()
        attr = struct.pack("<IIQQ", 0, KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET,
                           ctypes.addressof(value))  # fmt: skip
        buf = bytearray(attr)
        if _ioctl(self.vcpu, KVM_GET_DEVICE_ATTR, addr_of(buf)) < 0:
            return None
        return value.value

    def get_fpu(self, buf: bytearray) -> None:
        ioctl(self.vcpu, KVM_GET_FPU, addr_of(buf))

    def set_fpu(self, buf: bytearray) -> None:
        ioctl(self.vcpu, KVM_SET_FPU, addr_of(buf))

    def get_xsave(self, buf: bytearray) -> None:
        ioctl(self.vcpu, KVM_GET_XSAVE, addr_of(buf))

    def set_xsave(self, buf: bytearray) -> None:
        ioctl(self.vcpu, KVM_SET_XSAVE, addr_of(buf))

    def set_supported_cpuid(self, fix=None) -> None:  # noqa: ANN001
        """KVM_SET_CPUID2 with what KVM supports, each entry passed through
        fix(function, index, [eax, ebx, ecx, edx]) first when given."""
        n = 256
        while True:
            buf = bytearray(struct.pack("<II", n, 0) + bytes(40 * n))
            try:
                ioctl(self.kvm, KVM_GET_SUPPORTED_CPUID, addr_of(buf))
                break
            except OSError as e:
                if e.errno != 7 or n >= 4096:  # E2BIG: more entries than room
                    raise
                n *= 2
        if fix is not None:
            for i in range(struct.unpack_from("<I", buf, 0)[0]):
                off = 8 + 40 * i
                fn, idx, _flags, *regs = struct.unpack_from("<IIIIIII", buf, off)
                fix(fn, idx, regs)
                struct.pack_into("<IIII", buf, off + 12, *regs)
        ioctl(self.vcpu, KVM_SET_CPUID2, addr_of(buf))

    def set_signal_mask(self, sigset: int) -> None:
        buf = bytearray(struct.pack("<IQ", 8, sigset))
        ioctl(self.vcpu, KVM_SET_SIGNAL_MASK, addr_of(buf))

    def close(self) -> None:
        rm = getattr(self, "run_map", None)
        if rm is not None:
            try:
                self.run_mv.release()  # type: ignore[attr-defined]
                self.run_q.release()  # type: ignore[attr-defined]
                rm.close()
            except (BufferError, AttributeError):
                pass
            self.run_map = None
        for fd in reversed(self.fds):
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
