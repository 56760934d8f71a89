/* A dynamically linked glibc program: ld.so, libc.so.6, a DT_NEEDED library found through
 * $ORIGIN, dlopen, TLS in a shared library, big malloc, atexit. Prints only what is the
 * same on every run (no addresses). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int lib_add(int a, int b);
int lib_tls_bump(void);
extern int lib_constructed;
extern char _start[];

static unsigned long ld_base;

static int find_ld(struct dl_phdr_info *info, size_t size, void *data)
{
    if (strstr(info->dlpi_name, "/ld-"))
        ld_base = info->dlpi_addr;
    return 0;
}

static void bye(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    printf("hello from a dynamic program, argc=%d argv[1]=%s\n", argc, argc > 1 ? argv[1] : "-");
    printf("AT_ENTRY is _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
    dl_iterate_phdr(find_ld, NULL);
    printf("AT_BASE is ld.so's load address: %d\n", ld_base && getauxval(AT_BASE) == ld_base);
    printf("AT_PHDR in the program: %d\n", getauxval(AT_PHDR) > (unsigned long)_start - (1 << 20)
           && getauxval(AT_PHDR) < (unsigned long)_start);
    printf("constructor in libtwarondyn ran: %d\n", lib_constructed);
    printf("lib_add(2, 3) = %d\n", lib_add(2, 3));
    int first = lib_tls_bump();
    printf("tls in main thread: %d %d\n", first, lib_tls_bump());

    void *h = dlopen(argc > 2 ? argv[2] : "plugin.so", RTLD_NOW);
    if (!h) {
        printf("dlopen failed: %s\n", dlerror());
    } else {
        int (*value)(void) = (int (*)(void))dlsym(h, "plugin_value");
        printf("plugin_value() = %d\n", value ? value() : -1);
        printf("dlclose: %d\n", dlclose(h));
    }
    printf("dlopen of a missing library fails: %d\n", dlopen("libnot-there.so.9", RTLD_NOW) == NULL);

    size_t big = 8 << 20;
    char *p = malloc(big);
    memset(p, 'x', big);
    long sum = 0;
    for (size_t i = 0; i < big; i += 4096)
        sum += p[i];
    free(p);
    printf("big malloc sum: %ld\n", sum);
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f %e", 3.14159 * 2, 1e-7);
    printf("floats: %s\n", buf);
    atexit(bye);
    fflush(stdout);
    return 3;
}
