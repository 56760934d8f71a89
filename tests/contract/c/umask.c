/* umask: initial value 022 (Linux's default for init), applied to creat/mkdir. */
#include "contract.h"

int main(void)
{
    enter_workdir("umask");
    printf("initial umask: %03o\n", (unsigned)RAW(SYS_umask, 077));
    printf("previous: %03o\n", (unsigned)RAW(SYS_umask, 027));
    put_file("f", "", 0, 0777);
    mkdir("d", 0777);
    struct stat st;
    stat("f", &st);
    printf("file perm: %04o\n", st.st_mode & 07777);
    stat("d", &st);
    printf("dir perm: %04o\n", st.st_mode & 07777);
    printf("high bits ignored, previous: %03o\n", (unsigned)RAW(SYS_umask, 0777777));
    printf("now: %03o\n", (unsigned)RAW(SYS_umask, 0));
    return 0;
}
