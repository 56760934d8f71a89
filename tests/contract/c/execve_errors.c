/* execve: bad ELF header and truncated ELF give ENOEXEC; other errors; finally a script runs. */
#include "contract.h"
#include <elf.h>

static void try(const char *label, const char *path)
{
    char *argv[] = {(char *)path, NULL};
    char *envp[] = {NULL};
    long r = RAW(SYS_execve, path, argv, envp);
    printf("%s: %ld %s\n", label, r, errname(errno));
}

int main(void)
{
    enter_workdir("execve_errors");
    put_file("badmagic", "\x7f" "ELG this is not an ELF file at all, just bytes............", 60, 0755);
    try("bad magic", "badmagic");
    put_file("text", "just some text\nno shebang\n", 26, 0755);
    try("plain text", "text");
    put_file("empty", "", 0, 0755);
    try("empty file", "empty");
    put_file("short", "\x7f" "ELF\2\1\1", 7, 0755);
    try("truncated: 7 bytes", "short");
    /* a valid-looking ELF header whose class is 32-bit on x86-64 */
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof eh);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    put_file("class32", &eh, sizeof eh, 0755);
    try("ELFCLASS32", "class32");
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_machine = EM_AARCH64;
    put_file("arm", &eh, sizeof eh, 0755);
    try("wrong machine", "arm");
    eh.e_machine = EM_X86_64;
    eh.e_type = ET_REL;
    put_file("rel", &eh, sizeof eh, 0755);
    try("ET_REL", "rel");
    eh.e_type = ET_EXEC;
    eh.e_phentsize = 7;
    eh.e_phnum = 1;
    eh.e_phoff = sizeof eh;
    put_file("phentsize", &eh, sizeof eh, 0755);
    try("bad e_phentsize", "phentsize");

    put_file("noexec", "\x7f" "ELF", 4, 0644);
    try("no x bit", "noexec");
    try("directory", ".");
    try("missing", "does-not-exist");
    try("missing dir component", "nodir/prog");
    try("file as dir", "text/prog");
    put_file("badinterp", "#!/no/such/interpreter\n", 23, 0755);
    try("missing interpreter", "badinterp");
    char *argv[] = {"x", NULL};
    printf("bad argv pointer: %ld %s\n", RAW(SYS_execve, "/bin/busybox", BAD_PTR, NULL), errname(errno));
    put_file("script", "#!/bin/sh\necho script ran with \"$@\"\nexit 5\n", 43, 0755);
    fflush(stdout);
    char *sargv[] = {"script", "one", "two", NULL};
    char *senv[] = {"PATH=/bin", NULL};
    RAW(SYS_execve, "script", sargv, senv);
    printf("script exec failed: %s\n", errname(errno));
    return 1;
}
