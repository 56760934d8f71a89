"""Short of guest memory, the calls Linux answers without memory still succeed: brk and a
small anonymous mmap (twaron maps their first pages at once, an optimisation that must not
turn into ENOMEM). Found by test_multiprocessing_spawn: brk returned -ENOMEM under memory
pressure, glibc took it for the new break, and its next sbrk handed out a misaligned one
("malloc assertion failure in sysmalloc")."""

from __future__ import annotations

from twaron import api
from twaron.config import Config
from twaron.fs.console import Console

LOW_MEMORY_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long memfree_kb(void)
{
    char buf[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strstr(buf, "MemFree:");
    return p ? atol(p + 8) : -1;
}

static void touch_stack(void)
{
    volatile char deep[64 << 10];
    memset((char *)deep, 1, sizeof deep);
}

int main(void)
{
    printf("start\n");
    fflush(stdout);
    touch_stack(); /* what printf needs later is mapped before memory runs out */
    char *block = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (block == MAP_FAILED)
        return 2;
    for (long i = 0; memfree_kb() > 8; i++) /* take guest memory a page at a time */
        block[i * 4096] = 1;
    long cur = syscall(SYS_brk, 0), want = cur + (256 << 10);
    long got = syscall(SYS_brk, want);
    char *p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("brk moved: %d\nmmap: %s\n", got == want, p == MAP_FAILED ? "failed" : "ok");
    return 0;
}
"""


def test_brk_and_small_mmap_need_no_free_memory(build_source) -> None:
    binary = build_source("low_memory", LOW_MEMORY_C)
    out = bytearray()
    config = Config(argv=["/low_memory"], platform="unicorn", seed=1, memory=24 << 20,
                    add_files=[(str(binary), "/low_memory")])  # fmt: skip
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    status = kernel.run()
    assert not kernel.oopses
    assert out.decode() == "start\nbrk moved: 1\nmmap: ok\n"
    assert status == 0
