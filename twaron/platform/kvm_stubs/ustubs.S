/*
 * twaron KVM platform: the user stub page (mapped at USTUB_VA with the U bit, read-only,
 * executable from ring 3).
 *
 * On PVM hosts (nested KVM without VMX) SYSCALL from ring 3 jumps to LSTAR but stays at
 * CPL 3 (measured-facts.md). LSTAR then points at `trampoline`: the `outb` to a port that
 * the TSS I/O bitmap allows from ring 3 is the exit to Python (KVM_EXIT_IO, RIP already
 * past it); Python answers the call in RAX and sets RIP = RCX itself, so the `jmp *%rcx`
 * below only runs if it did not.
 *
 * `probe` is where the vCPU starts: one SYSCALL, which tells which path this host has.
 */
        .code64
        .text
        .globl  ustubs
ustubs:
        .org    0x000
trampoline:
        outb    %al, $0x10
        jmp     *%rcx

        .org    0x010
probe:
        syscall
        ud2
        .org    0x020
