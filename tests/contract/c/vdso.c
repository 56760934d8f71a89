/* The vDSO: AT_SYSINFO_EHDR points at an ELF shared object mapped as [vdso] (its data page
 * as [vvar]), whose LINUX_2.6 symbols __vdso_clock_gettime & co. are found the way musl
 * finds them (DT_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM, DT_VERDEF); what they answer agrees
 * with the system calls (syscall <= vDSO <= syscall after), CLOCK_MONOTONIC never goes
 * back, bad or CPU-time clocks go to the system call; after fork and exec too. */
#include "contract.h"
#include <elf.h>
#include <sys/auxv.h>
#include <sys/time.h>

typedef int (*cgt_fn)(clockid_t, struct timespec *);
typedef int (*gtod_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

static Elf64_Ehdr *eh;
static char *base, *strings;
static Elf64_Sym *syms;
static Elf32_Word *hashtab;
static Elf64_Half *versym;
static Elf64_Verdef *verdef;

static int parse(void)
{
    eh = (Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    if (!eh)
        return 0;
    Elf64_Phdr *ph = (Elf64_Phdr *)((char *)eh + eh->e_phoff);
    Elf64_Dyn *dyn = NULL;
    base = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !base)
            base = (char *)eh + ph[i].p_offset - ph[i].p_vaddr;
        else if (ph[i].p_type == PT_DYNAMIC)
            dyn = (Elf64_Dyn *)((char *)eh + ph[i].p_offset);
    }
    if (!dyn || !base)
        return 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        void *p = base + dyn->d_un.d_ptr;
        switch (dyn->d_tag) {
        case DT_STRTAB: strings = p; break;
        case DT_SYMTAB: syms = p; break;
        case DT_HASH: hashtab = p; break;
        case DT_VERSYM: versym = p; break;
        case DT_VERDEF: verdef = p; break;
        }
    }
    return strings && syms && hashtab;
}

static int version_is(int index, const char *name)
{
    Elf64_Verdef *d = verdef;
    index &= 0x7fff;
    for (;;) {
        if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == index)
            break;
        if (!d->vd_next)
            return 0;
        d = (Elf64_Verdef *)((char *)d + d->vd_next);
    }
    Elf64_Verdaux *aux = (Elf64_Verdaux *)((char *)d + d->vd_aux);
    return strcmp(strings + aux->vda_name, name) == 0;
}

static void *lookup(const char *name)
{
    for (Elf32_Word i = 0; i < hashtab[1]; i++) {
        int type = ELF64_ST_TYPE(syms[i].st_info), bind = ELF64_ST_BIND(syms[i].st_info);
        if (type != STT_FUNC || (bind != STB_GLOBAL && bind != STB_WEAK) || !syms[i].st_shndx)
            continue;
        if (strcmp(strings + syms[i].st_name, name))
            continue;
        if (versym && verdef && !version_is(versym[i], "LINUX_2.6"))
            continue;
        return base + syms[i].st_value;
    }
    return NULL;
}

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int agrees(cgt_fn f, clockid_t clk, int rounds)
{
    int ok = 1;
    for (int i = 0; i < rounds; i++) {
        struct timespec a, b, c;
        RAW(SYS_clock_gettime, clk, &a);
        if (f(clk, &b) != 0)
            return 0;
        RAW(SYS_clock_gettime, clk, &c);
        if (!(ns(a) <= ns(b) && ns(b) <= ns(c)))
            ok = 0;
    }
    return ok;
}

static void checks(const char *who)
{
    char label[128];
    cgt_fn cgt = lookup("__vdso_clock_gettime");
    gtod_fn gtod = lookup("__vdso_gettimeofday");
    time_fn tm = lookup("__vdso_time");
    cgt_fn res = lookup("__vdso_clock_getres");
    if (!cgt || !gtod || !tm || !res) {
        printf("%s: symbols missing\n", who);
        return;
    }
    clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI,
                          CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_COARSE};
    const char *names[] = {"MONOTONIC", "REALTIME", "BOOTTIME", "TAI", "MONOTONIC_RAW",
                           "MONOTONIC_COARSE", "REALTIME_COARSE"};
    for (int i = 0; i < 7; i++) {
        snprintf(label, sizeof label, "%s: %s syscall <= vDSO <= syscall", who, names[i]);
        BOOL(label, agrees(cgt, clocks[i], 2000));
    }
    struct timespec a, c, r;
    struct timeval tv;
    RAW(SYS_clock_gettime, CLOCK_REALTIME, &a);
    int g = gtod(&tv, NULL);
    RAW(SYS_clock_gettime, CLOCK_REALTIME, &c);
    long long us = tv.tv_sec * 1000000LL + tv.tv_usec;
    snprintf(label, sizeof label, "%s: gettimeofday agrees", who);
    BOOL(label, g == 0 && ns(a) / 1000 <= us && us <= ns(c) / 1000);
    time_t t1 = tm(NULL), t2;
    time_t t3 = tm(&t2);
    snprintf(label, sizeof label, "%s: time agrees", who);
    /* Linux's vDSO time() reads the seconds of the last tick: up to a tick behind */
    BOOL(label, t1 >= a.tv_sec - 1 && t1 <= t3 && t2 == t3 && t3 <= c.tv_sec + 1);
    snprintf(label, sizeof label, "%s: bad clock through the vDSO returns -EINVAL", who);
    BOOL(label, cgt(12345, &r) == -EINVAL);
    snprintf(label, sizeof label, "%s: CPU-time clock through the vDSO", who);
    CHECK(label, cgt(CLOCK_PROCESS_CPUTIME_ID, &r));
    res(CLOCK_MONOTONIC, &r);
    printf("%s: clock_getres MONOTONIC: %ld.%09ld\n", who, (long)r.tv_sec, r.tv_nsec);
    res(CLOCK_MONOTONIC_COARSE, &r);
    printf("%s: clock_getres MONOTONIC_COARSE: %ld.%09ld\n", who, (long)r.tv_sec, r.tv_nsec);
    snprintf(label, sizeof label, "%s: clock_getres bad clock returns -EINVAL", who);
    BOOL(label, res(12345, &r) == -EINVAL);
    long long last = 0;
    int monotonic = 1;
    for (int i = 0; i < 200000; i++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns(now) < last)
            monotonic = 0;
        last = ns(now);
    }
    snprintf(label, sizeof label, "%s: libc CLOCK_MONOTONIC never goes back", who);
    BOOL(label, monotonic);
}

static void maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int vdso = 0, vvar = 0, vdso_r_x = 0;
    unsigned long start;
    while (f && fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        size_t n = strlen(line);
        if (n >= 6 && strcmp(line + n - 6, "[vdso]") == 0) {
            vdso = 1;
            sscanf(line, "%lx", &start);
            vdso_r_x = strstr(line, " r-xp ") != NULL && start == (unsigned long)eh;
        }
        if (n >= 6 && strcmp(line + n - 6, "[vvar]") == 0)
            vvar = 1;
    }
    if (f)
        fclose(f);
    BOOL("/proc/self/maps: [vdso] line", vdso);
    BOOL("/proc/self/maps: [vdso] is r-xp at AT_SYSINFO_EHDR", vdso_r_x);
    BOOL("/proc/self/maps: [vvar] line", vvar);
}

int main(int argc, char **argv)
{
    int ok = parse();
    if (argc > 1) {
        BOOL("after exec: vDSO found", ok);
        if (ok)
            checks("after exec");
        return 0;
    }
    BOOL("AT_SYSINFO_EHDR set", eh != NULL);
    BOOL("an ELF shared object", eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                                     eh->e_type == ET_DYN && eh->e_machine == EM_X86_64);
    BOOL("DT_HASH, DT_SYMTAB, DT_STRTAB found", ok);
    BOOL("symbol versions (DT_VERSYM, DT_VERDEF)", versym && verdef);
    if (!ok)
        return 1;
    const char *fns[] = {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
                         "__vdso_getcpu", "__vdso_clock_getres", "clock_gettime",
                         "gettimeofday", "time", "getcpu", "clock_getres"};
    for (int i = 0; i < 10; i++)
        printf("%s@LINUX_2.6: %s\n", fns[i], lookup(fns[i]) ? "found" : "missing");
    printf("__vdso_nonexistent: %s\n", lookup("__vdso_nonexistent") ? "found" : "missing");
    getcpu_fn gc = lookup("__vdso_getcpu");
    unsigned cpu = 999, node = 999;
    CHECK("getcpu through the vDSO", gc(&cpu, &node, NULL));
    BOOL("cpu and node written", cpu != 999 && node != 999);
    maps();
    checks("main");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        checks("fork child");
        fflush(stdout);
        _exit(0);
    }
    reap("fork child", c);
    char *av[] = {argv[0], "exec", NULL};
    execv("/proc/self/exe", av);
    return 1;
}
