/* Process groups and sessions: setpgid/getpgid/getpgrp/setsid/getsid and their errors. pid 1
 * leads its own session and group (twaron; the native harness makes it so too). */
#include "contract.h"

int main(void)
{
    pid_t me = getpid();
    BOOL("pgid == pid (leader)", getpgrp() == me && getpgid(0) == me);
    BOOL("sid == pid", getsid(0) == me);
    CHECK("setsid as group leader", setsid());
    CHECK("getpgid missing", getpgid(0x3fffff));
    CHECK("getsid missing", getsid(0x3fffff));
    CHECK("setpgid missing pid", setpgid(0x3fffff, 0));
    CHECK("setpgid negative pgid", setpgid(0, -1));
    int p[2];
    pipe(p);
    pid_t c = FORK();
    if (c == 0) {
        BOOL("child: inherits group", getpgrp() == getppid());
        BOOL("child: inherits session", getsid(0) == getppid());
        CHECK("child: setpgid(0, 0)", setpgid(0, 0));
        BOOL("child: now leads a group", getpgrp() == getpid());
        CHECK("child: setpgid back to parent's group", setpgid(0, getppid()));
        CHECK("child: setpgid to a missing group", setpgid(0, 0x3ffff0));
        long s = setsid();
        BOOL("child: setsid returns own pid", s == getpid());
        BOOL("child: sid and pgid are own pid", getsid(0) == getpid() && getpgrp() == getpid());
        CHECK("child: setsid again", setsid());
        CHECK("child: setpgid to parent's group (other session)", setpgid(0, getppid()));
        fflush(stdout);
        char ch;
        read(p[0], &ch, 1);
        _exit(0);
    }
    msleep(50);
    CHECK("parent: setpgid of a child in another session", setpgid(c, c));
    CHECK("parent: getsid of child == child", getsid(c) == c);
    write(p[1], "x", 1);
    reap("child", c);
    /* a child that has exec'd can no longer be moved by its parent */
    c = FORK();
    if (c == 0) {
        execl("/bin/sleep", "sleep", "1", NULL);
        _exit(127);
    }
    msleep(300);
    CHECK("setpgid of a child after exec", setpgid(c, c));
    CHECK("setpgid of self, a session leader", setpgid(0, 0));
    kill(c, SIGKILL);
    reap("sleeper", c);
    return 0;
}
