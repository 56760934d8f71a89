/* arch_prctl: ARCH_GET_FS matches the TLS pointer; GS round trip; errors. */
#include "contract.h"
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

int main(void)
{
    unsigned long fs = 0, gs = 0, self;
    CHECK("ARCH_GET_FS", RAW(SYS_arch_prctl, ARCH_GET_FS, &fs));
    BOOL("fs nonzero", fs != 0);
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    BOOL("fs:0 points to itself (TLS self pointer)", self == fs);
    static int tls_probe;
    BOOL("fs in user half", fs < 0x800000000000UL);
    (void)tls_probe;
    CHECK("ARCH_SET_GS", RAW(SYS_arch_prctl, ARCH_SET_GS, 0x12345000UL));
    CHECK("ARCH_GET_GS", RAW(SYS_arch_prctl, ARCH_GET_GS, &gs));
    printf("gs: %#lx\n", gs);
    CHECK("ARCH_GET_FS bad ptr", RAW(SYS_arch_prctl, ARCH_GET_FS, BAD_PTR));
    CHECK("ARCH_SET_FS kernel address", RAW(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000UL));
    CHECK("unknown code", RAW(SYS_arch_prctl, 0x9999, &fs));
    /* setting FS to the same value keeps TLS working */
    CHECK("ARCH_SET_FS same", RAW(SYS_arch_prctl, ARCH_SET_FS, fs));
    errno = 0;
    printf("errno via TLS still works: %d\n", errno);
    return 0;
}
