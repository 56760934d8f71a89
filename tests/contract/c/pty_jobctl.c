/* Job control on a pseudo-terminal: a session leader acquires the slave as its controlling
 * terminal by opening it, a job in its own process group is put in the foreground, and the
 * line discipline turns ^C, ^\ and ^Z typed on the master into SIGINT, SIGQUIT and SIGTSTP
 * for that group (echoed as ^C, ^\, ^Z; the pending input flushed); a background job that
 * reads gets SIGTTIN (EIO when it ignores it), one that writes with TOSTOP or changes the
 * modes gets SIGTTOU; TIOCGPGRP/TIOCSPGRP/TIOCGSID/TIOCSCTTY/TIOCNOTTY with Linux's errors;
 * the master's close hangs the slave up (SIGHUP and SIGCONT for the session leader), and a
 * session leader's exit sends SIGHUP to the foreground group.
 *
 * P (the test) holds the master; S leads the session; J is S's job, driven by commands over
 * a pipe. Every step waits for the previous one, so the output has one order.
 */
#include "contract.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

static int master;
static char name[64];
static int cmd[2], ack[2];  /* S -> J commands, J -> S acknowledgements */

static void show(const char *label, const char *buf, long n)
{
    printf("%s: ", label);
    if (n < 0) {
        printf("-1 %s\n", errname(errno));
        return;
    }
    printf("%ld \"", n);
    for (long i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c == '\n')
            printf("\\n");
        else if (c == '\r')
            printf("\\r");
        else if (c == '\\')
            printf("\\\\");
        else if (c < 32 || c >= 127)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\"\n");
}

static long drain(int fd, char *buf, long size)
{
    long n = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (n < size && poll(&p, 1, 100) == 1 && p.revents & POLLIN) {
        long r = read(fd, buf + n, size - n);
        if (r <= 0)
            return n ? n : r;
        n += r;
    }
    return n;
}

static void settle(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 100);
}

static void echo(const char *label)
{
    char buf[256];
    show(label, buf, drain(master, buf, sizeof buf));
}

static void type(const char *s)
{
    write(master, s, strlen(s));
}

/* ---- J: the job ---- */

static volatile int got[65];
static void on_sig(int s) { got[s]++; }

static void job(int tty)
{
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &none);
    sigdelset(&none, SIGINT);
    sigdelset(&none, SIGQUIT);
    sigdelset(&none, SIGHUP);
    signal(SIGINT, on_sig);
    signal(SIGQUIT, on_sig);
    signal(SIGHUP, on_sig);
    char c, buf[64];
    write(ack[1], "k", 1);  /* ready */
    while (read(cmd[0], &c, 1) == 1) {
        switch (c) {
        case 'w': { /* wait for SIGINT or SIGQUIT */
            int before = got[SIGINT] + got[SIGQUIT];
            while (got[SIGINT] + got[SIGQUIT] == before)
                sigsuspend(&none);
            printf("job: SIGINT %d SIGQUIT %d\n", got[SIGINT], got[SIGQUIT]);
            break;
        }
        case 'r':
            show("job: read", buf, read(tty, buf, sizeof buf));
            break;
        case 'W':
            CHECK("job: write", write(tty, "bg\n", 3));
            break;
        case 'a': {
            struct termios t;
            tcgetattr(tty, &t);
            CHECK("job: tcsetattr", tcsetattr(tty, TCSANOW, &t));
            break;
        }
        case 'p':
            CHECK("job: tcsetpgrp(own group)", tcsetpgrp(tty, getpgrp()));
            break;
        case 'i':
            signal(SIGTTIN, SIG_IGN);
            break;
        case 'o':
            signal(SIGTTOU, SIG_IGN);
            break;
        case 'O':
            signal(SIGTTOU, SIG_DFL);
            break;
        case 'b': {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGTTOU);
            sigprocmask(SIG_BLOCK, &s, NULL);
            sigdelset(&none, SIGTTOU);
            break;
        }
        case 'n':
            CHECK("job: TIOCNOTTY (not the leader)", ioctl(tty, TIOCNOTTY));
            CHECK("job: tcgetpgrp after TIOCNOTTY", tcgetpgrp(tty));
            CHECK("job: open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
            show("job: read without a controlling tty", buf, read(tty, buf, sizeof buf));
            break;
        case 'h':
            printf("job: SIGHUP %d\n", got[SIGHUP]);
            show("job: read after hangup", buf, read(tty, buf, sizeof buf));
            break;
        case 'q':
            _exit(0);
        }
        write(ack[1], "k", 1);
    }
    _exit(1);
}

/* ---- S: the session leader ---- */

static pid_t jpid;

static void order(char c)
{
    write(cmd[1], &c, 1);
}

static void done(void)
{
    char c;
    if (read(ack[0], &c, 1) != 1) {
        printf("the job is gone\n");
        exit(1);
    }
}

static void step(char c)
{
    order(c);
    done();
}

static void wait_job(const char *label, int how)
{
    int st;
    if (waitpid(jpid, &st, how) != jpid)
        printf("%s: waitpid %s\n", label, errname(errno));
    else
        print_status(label, st);
}

static volatile int hup_order[4], nhup;
static void on_hup(int s)
{
    if (nhup < 4)
        hup_order[nhup++] = s;
}

static void leader(int tell_p)
{
    char buf[64];
    CHECK("setsid", setsid() > 0 ? 0 : -1);
    int tty = open(name, O_RDWR);
    CHECK("open slave (acquires it)", tty >= 0 ? 0 : -1);
    BOOL("tcgetpgrp is our group", tcgetpgrp(tty) == getpgrp());
    pid_t sid = -1;
    CHECK("TIOCGSID", ioctl(tty, TIOCGSID, &sid));
    BOOL("TIOCGSID is our session", sid == getsid(0));
    pid_t pg = -1;
    CHECK("TIOCGPGRP through the master", ioctl(master, TIOCGPGRP, &pg));
    BOOL("it is our group", pg == getpgrp());
    sid = -1;
    CHECK("TIOCGSID through the master", ioctl(master, TIOCGSID, &sid));
    BOOL("it is our session", sid == getsid(0));
    int dev_tty = open("/dev/tty", O_RDWR);
    CHECK("open /dev/tty", dev_tty >= 0 ? 0 : -1);
    BOOL("/dev/tty is a terminal", isatty(dev_tty));
    CHECK("tcgetpgrp(/dev/tty)", tcgetpgrp(dev_tty) == getpgrp() ? 0 : -1);
    close(dev_tty);
    CHECK("TIOCSCTTY (ours already)", ioctl(tty, TIOCSCTTY, 0));
    CHECK("tcsetpgrp(-1)", tcsetpgrp(tty, -1));
    CHECK("tcsetpgrp(no such group)", tcsetpgrp(tty, 0x3ffff0));
    CHECK("tcsetpgrp(a group of another session)", tcsetpgrp(tty, getppid()));
    CHECK("TIOCSPGRP bad pointer", ioctl(tty, TIOCSPGRP, BAD_PTR));
    CHECK("TIOCGPGRP bad pointer", ioctl(tty, TIOCGPGRP, BAD_PTR));
    /* another session cannot take it, nor get it by opening */
    pid_t other = FORK();
    if (other == 0) {
        close(master);
        setsid();
        int fd = open(name, O_RDWR);
        CHECK("other session: open slave", fd >= 0 ? 0 : -1);
        CHECK("other session: tcgetpgrp (not its terminal)", tcgetpgrp(fd));
        CHECK("other session: TIOCSCTTY", ioctl(fd, TIOCSCTTY, 0));
        CHECK("other session: TIOCSCTTY, steal (root)", ioctl(fd, TIOCSCTTY, 1));
        BOOL("other session: it is ours now", tcgetpgrp(fd) == getpgrp());
        _exit(0);
    }
    reap("other session", other);
    /* it was stolen: take it back */
    CHECK("tcgetpgrp (stolen)", tcgetpgrp(tty));
    CHECK("TIOCSCTTY, steal back", ioctl(tty, TIOCSCTTY, 1));
    BOOL("ours again", tcgetpgrp(tty) == getpgrp());

    pipe(cmd);
    pipe(ack);
    jpid = FORK();
    if (jpid == 0) {
        close(master);
        close(cmd[1]);
        close(ack[0]);
        setpgid(0, 0);
        job(tty);
    }
    setpgid(jpid, jpid);
    close(cmd[0]);
    close(ack[1]);
    done();
    CHECK("tcsetpgrp(job)", tcsetpgrp(tty, jpid));
    BOOL("foreground is the job", tcgetpgrp(tty) == jpid);

    /* keys typed on the master */
    type("\x03");
    step('w');
    echo("^C echo");
    type("\x1c");
    step('w');
    echo("^\\ echo");
    type("abc");
    settle(tty);  /* echoed before ^C comes (Linux would drop an echo still pending) */
    type("\x03");
    step('w');
    type("d\n");
    step('r');
    echo("echo of abc ^C d");
    type("\x1a");
    wait_job("job after ^Z", WUNTRACED);
    echo("^Z echo");
    /* back to the leader: whose group is orphaned (its parent is in another session), so
     * from the background it may only with SIGTTOU ignored, as shells have it */
    CHECK("tcsetpgrp(leader), orphaned group", tcsetpgrp(tty, getpgrp()));
    signal(SIGTTOU, SIG_IGN);
    CHECK("tcsetpgrp(leader), SIGTTOU ignored", tcsetpgrp(tty, getpgrp()));
    kill(jpid, SIGCONT);
    wait_job("job after SIGCONT", WCONTINUED);

    /* background reads: SIGTTIN, again after a SIGCONT; in the foreground it reads */
    order('r');
    wait_job("background read", WUNTRACED);
    kill(jpid, SIGCONT);
    wait_job("background read, continued", WUNTRACED);
    tcsetpgrp(tty, jpid);
    kill(jpid, SIGCONT);
    type("fg\n");
    done();
    echo("echo");
    tcsetpgrp(tty, getpgrp());
    step('i');
    step('r');

    /* background writes: fine without TOSTOP; with it, SIGTTOU (unless ignored) */
    step('W');
    echo("background write reaches the master");
    struct termios t;
    tcgetattr(tty, &t);
    t.c_lflag |= TOSTOP;
    CHECK("set TOSTOP", tcsetattr(tty, TCSANOW, &t));
    order('W');
    wait_job("background write with TOSTOP", WUNTRACED);
    tcsetpgrp(tty, jpid);
    kill(jpid, SIGCONT);
    done();
    echo("written in the foreground");
    tcsetpgrp(tty, getpgrp());
    step('o');
    step('W');
    echo("background write, SIGTTOU ignored");
    step('O');
    /* changing the modes from the background: SIGTTOU whatever TOSTOP says */
    t.c_lflag &= ~TOSTOP;
    tcsetattr(tty, TCSANOW, &t);
    order('a');
    wait_job("background tcsetattr", WUNTRACED);
    tcsetpgrp(tty, jpid);
    kill(jpid, SIGCONT);
    done();
    tcsetpgrp(tty, getpgrp());
    /* tcsetpgrp from the background with SIGTTOU blocked: allowed (what shells do) */
    step('b');
    step('p');
    BOOL("the job took the foreground", tcgetpgrp(tty) == jpid);
    {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTTOU);
        sigprocmask(SIG_BLOCK, &s, NULL);
        CHECK("leader takes it back (SIGTTOU blocked)", tcsetpgrp(tty, getpgrp()));
        sigprocmask(SIG_UNBLOCK, &s, NULL);
    }
    /* a member that is not the leader gives its terminal up */
    type("nt\n");
    step('n');
    echo("echo");
    CHECK("leader: TIOCGPGRP still works", tcgetpgrp(tty) == getpgrp() ? 0 : -1);

    /* the master closes: SIGHUP and SIGCONT for the session leader only */
    signal(SIGHUP, on_hup);
    signal(SIGCONT, on_hup);
    sigset_t hb, old;
    sigemptyset(&hb);
    sigaddset(&hb, SIGHUP);
    sigaddset(&hb, SIGCONT);
    sigprocmask(SIG_BLOCK, &hb, &old);
    close(master);
    write(tell_p, "h", 1);
    while (nhup < 2)
        sigsuspend(&old);
    printf("leader: signals %s %s\n", signame(hup_order[0]), signame(hup_order[1]));
    step('h');
    CHECK("leader: read after hangup", read(tty, buf, sizeof buf));
    CHECK("leader: write after hangup", write(tty, "x", 1));
    CHECK("leader: tcgetpgrp after hangup", tcgetpgrp(tty));
    order('q');
    wait_job("job", 0);
    _exit(0);
}

/* A second session: its leader exits while a job holds the foreground. */
static void leader_exit(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(m);
    char n2[64];
    snprintf(n2, sizeof n2, "%s", ptsname(m));
    int sync[2], go[2];
    pipe(sync);
    pipe(go);
    pid_t s = FORK();
    if (s == 0) {
        setsid();
        int tty = open(n2, O_RDWR);
        pid_t j = FORK();
        if (j == 0) {
            setpgid(0, 0);
            sigset_t b, old;
            sigemptyset(&b);
            sigaddset(&b, SIGHUP);
            sigprocmask(SIG_BLOCK, &b, &old);
            signal(SIGHUP, on_sig);
            signal(SIGCONT, on_sig);
            while (tcgetpgrp(tty) != getpgrp())
                msleep(5);
            write(sync[1], "r", 1);
            while (!got[SIGHUP])
                sigsuspend(&old);
            char g;
            read(go[0], &g, 1);
            printf("job2: SIGHUP %d SIGCONT %d\n", got[SIGHUP], got[SIGCONT]);
            CHECK("job2: tcgetpgrp", tcgetpgrp(tty));
            char buf[16];
            show("job2: read", buf, read(tty, buf, sizeof buf));
            _exit(0);
        }
        setpgid(j, j);
        tcsetpgrp(tty, j);
        char c;
        read(sync[0], &c, 1);
        _exit(0);  /* the leader goes: SIGHUP for the foreground group */
    }
    int st;
    waitpid(s, &st, 0);
    print_status("leader2", st);
    write(go[1], "g", 1);
    write(m, "after\n", 6);
    /* job2 was reparented to us: wait for it */
    int status;
    pid_t r = wait(&status);
    print_status(r > 0 ? "job2" : "job2 (none)", status);
    close(m);
}

/* vhangup(2): the caller's controlling terminal hangs up (its leader: SIGHUP, SIGCONT). */
static void hangup_self(void)
{
    CHECK("vhangup without a controlling tty", vhangup());
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(m);
    char n3[64];
    snprintf(n3, sizeof n3, "%s", ptsname(m));
    pid_t s = FORK();
    if (s == 0) {
        close(m);
        setsid();
        int tty = open(n3, O_RDWR);
        sigset_t b, old;
        sigemptyset(&b);
        sigaddset(&b, SIGHUP);
        sigprocmask(SIG_BLOCK, &b, &old);
        signal(SIGHUP, on_hup);
        signal(SIGCONT, on_hup);
        CHECK("vhangup", vhangup());
        while (nhup < 2)
            sigsuspend(&old);
        printf("after vhangup: %s %s\n", signame(hup_order[0]), signame(hup_order[1]));
        char buf[8];
        CHECK("read after vhangup", read(tty, buf, sizeof buf));
        CHECK("tcgetpgrp after vhangup", tcgetpgrp(tty));
        int again = open(n3, O_RDWR);
        CHECK("reopen after vhangup", again >= 0 ? 0 : -1);
        BOOL("reopened: it is our controlling tty again", tcgetpgrp(again) == getpgrp());
        _exit(0);
    }
    reap("vhangup leader", s);
    close(m);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    master = posix_openpt(O_RDWR | O_NOCTTY);
    unlockpt(master);
    snprintf(name, sizeof name, "%s", ptsname(master));
    int slave = open(name, O_RDWR | O_NOCTTY);
    /* not our controlling terminal */
    pid_t pg = 99;
    CHECK("TIOCGPGRP (not the controlling tty)", ioctl(slave, TIOCGPGRP, &pg));
    CHECK("TIOCGPGRP through the master", ioctl(master, TIOCGPGRP, &pg));
    printf("pgrp: %d\n", pg);
    pg = getpgrp();
    CHECK("TIOCSPGRP (not the controlling tty)", ioctl(slave, TIOCSPGRP, &pg));
    CHECK("TIOCSPGRP through the master", ioctl(master, TIOCSPGRP, &pg));
    pid_t sid;
    CHECK("TIOCGSID (not the controlling tty)", ioctl(slave, TIOCGSID, &sid));
    CHECK("TIOCGSID through the master (no session)", ioctl(master, TIOCGSID, &sid));
    CHECK("TIOCNOTTY (not the controlling tty)", ioctl(slave, TIOCNOTTY));
    int fd = open("/dev/null", O_RDWR);
    CHECK("TIOCSCTTY on /dev/null", ioctl(fd, TIOCSCTTY, 0));
    CHECK("TIOCGPGRP on /dev/null", ioctl(fd, TIOCGPGRP, &pg));
    close(fd);
    close(slave);

    int tell[2];
    pipe(tell);
    pid_t s = FORK();
    if (s == 0) {
        close(tell[0]);
        leader(tell[1]);
    }
    close(tell[1]);
    char c;
    if (read(tell[0], &c, 1) == 1)
        close(master);  /* the last master: the slave hangs up */
    reap("leader", s);
    leader_exit();
    hangup_self();
    return 0;
}
