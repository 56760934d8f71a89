/*
 * twaron KVM platform: the supervisor stub page (mapped at KSTUB_VA, ring 0 only).
 *
 * Nothing here touches memory or a general register: the kernel (Python) reads and writes
 * the vCPU's registers through the kvm_run page (SYNC_REGS) and the interrupt frame in the
 * kernel stack page of guest memory, and after every exit it points RIP at `iretq_stub`
 * with RSP at the frame. The `outb` is the exit to Python: KVM_EXIT_IO with the port saying
 * why. AL is only read, never changed.
 *
 * Build: python -m twaron.platform.kvm_stubs.build  (needs GNU as + objcopy; checks that
 * the byte table in __init__.py is what this source assembles to).
 */
        .code64
        .text
        .globl  kstubs
kstubs:

/* 0x000: back to ring 3 through the five-word frame at RSP (rip cs rflags rsp ss). */
        .org    0x000
iretq_stub:
        iretq

/* 0x010: SYSCALL entry on hosts where SYSCALL really enters ring 0 (VMX/SVM): CPL 0,
 * RCX = user RIP, R11 = user RFLAGS, RSP = user RSP (not switched). Python builds the
 * frame for iretq from those. */
        .org    0x010
lstar_entry:
        outb    %al, $0x11
        ud2

/* 0x100 + 8*v: the IDT entry of exception vector v (0..31). The CPU has switched to the
 * TSS stack (RSP0) and pushed ss, rsp, rflags, cs, rip (and an error code for 8, 10-14,
 * 17, 21, 29, 30); the port 0xC0+v names the vector. */
        .set    v, 0
        .rept   32
        .org    0x100 + 8 * v
        outb    %al, $(0xC0 + v)
        ud2
        .set    v, v + 1
        .endr
        .org    0x200
