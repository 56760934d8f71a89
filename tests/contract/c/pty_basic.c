/* Pseudo-terminals: /dev/ptmx and /dev/pts/N as libc opens them (posix_openpt, grantpt,
 * unlockpt, ptsname: TIOCGPTN, TIOCSPTLCK), the slave's default termios, data both ways in
 * raw and canonical modes, the line discipline's editing (erase, kill, werase, EOF, EOL)
 * and echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL), input and output processing
 * (ICRNL, INLCR, IGNCR, OPOST/ONLCR, OCRNL), VMIN/VTIME, FIONREAD/TIOCINQ/TIOCOUTQ, TCFLSH,
 * window sizes and SIGWINCH, TIOCGPTPEER, sendfile (from a terminal, not to one), poll on
 * both sides, EIO on the master once the slave
 * is closed, hang-up of the slave when the master closes, /dev/pts/N appearing and going.
 *
 * Linux's line discipline runs the master's writes asynchronously (a work queue): whatever
 * reads the echo of some input first waits for the slave to have taken it (settle()).
 */
#include "contract.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <termios.h>

static int master, slave;

/* Bytes as C escapes, for echoes and raw data. */
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
        else if (c == '\b')
            printf("\\b");
        else if (c == '\\')
            printf("\\\\");
        else if (c < 32 || c >= 127)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\"\n");
}

/* Everything readable on fd until it stays quiet for 100 ms. */
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

static void show_drain(const char *label, int fd)
{
    char buf[512];
    show(label, buf, drain(fd, buf, sizeof buf));
}

/* Let the slave's line discipline take what the master wrote (Linux runs it from a work
 * queue; poll flushes it): poll the slave with a timeout, then settle on the quiet. */
static void settle(void)
{
    struct pollfd p = {slave, POLLIN, 0};
    poll(&p, 1, 100);
}

static void put(const char *s)
{
    if (write(master, s, strlen(s)) != (ssize_t)strlen(s))
        printf("short write to master\n");
}

static struct termios tios, dflt;

static void set_mode(void)
{
    if (tcsetattr(slave, TCSANOW, &tios) != 0)
        printf("tcsetattr: %s\n", errname(errno));
}

static void reset_mode(void)
{
    tios = dflt; /* the default the slave had when opened (taken at the start) */
    set_mode();
    tcflush(slave, TCIOFLUSH);
    char buf[512];
    drain(master, buf, sizeof buf);
}

/* Type `in` on the master; print what a read of the slave gets and what was echoed. */
static void line(const char *label, const char *in, int reads)
{
    char buf[256], lab[128];
    put(in);
    for (int i = 0; i < reads; i++) {
        snprintf(lab, sizeof lab, "%s: read", label);
        show(lab, buf, read(slave, buf, sizeof buf));
    }
    snprintf(lab, sizeof lab, "%s: echo", label);
    show_drain(lab, master);
}

static volatile int winch;
static void on_winch(int s) { winch++; }

static void print_termios(const char *label, struct termios *t)
{
    printf("%s: iflag %#o oflag %#o cflag %#o lflag %#o line %d\n", label,
           t->c_iflag, t->c_oflag, t->c_cflag, t->c_lflag, t->c_line);
    printf("%s: cc", label);
    for (int i = 0; i < NCCS && i < 19; i++)
        printf(" %d", t->c_cc[i]);
    printf("\n%s: speed %d %d\n", label, (int)cfgetispeed(t), (int)cfgetospeed(t));
}

static void opening(void)
{
    master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", master >= 0 ? 0 : -1);
    unsigned n = 99;
    CHECK("TIOCGPTN", ioctl(master, TIOCGPTN, &n));
    printf("pty number: %u\n", n);
    char *name = ptsname(master);
    printf("ptsname: %s\n", name ? name : "(null)");
    struct stat st;
    CHECK("stat slave node before unlock", stat(name, &st));
    BOOL("slave node is a char device", S_ISCHR(st.st_mode));
    printf("slave rdev: %u,%u\n", major(st.st_rdev), minor(st.st_rdev));
    printf("slave mode: %o gid %d\n", st.st_mode & 07777, (int)st.st_gid);
    int locked = -1;
    CHECK("TIOCGPTLCK", ioctl(master, TIOCGPTLCK, &locked));
    printf("locked: %d\n", locked);
    CHECK("open locked slave", open(name, O_RDWR | O_NOCTTY));
    CHECK("grantpt", grantpt(master));
    CHECK("unlockpt", unlockpt(master));
    CHECK("TIOCGPTLCK", ioctl(master, TIOCGPTLCK, &locked));
    printf("locked: %d\n", locked);
    slave = open(name, O_RDWR | O_NOCTTY);
    CHECK("open slave", slave >= 0 ? 0 : -1);
    BOOL("isatty(master)", isatty(master));
    BOOL("isatty(slave)", isatty(slave));
    char tn[64] = "";
    CHECK("ttyname_r(slave)", -ttyname_r(slave, tn, sizeof tn));
    printf("ttyname: %s\n", tn);
    fstat(slave, &st);
    printf("fstat slave rdev: %u,%u\n", major(st.st_rdev), minor(st.st_rdev));
    fstat(master, &st);
    printf("fstat master rdev: %u,%u\n", major(st.st_rdev), minor(st.st_rdev));
    CHECK("TIOCGPTN on the slave", ioctl(slave, TIOCGPTN, &n));
    CHECK("TIOCSPTLCK on the slave", ioctl(slave, TIOCSPTLCK, &locked));
    CHECK("TIOCGPTN bad pointer", ioctl(master, TIOCGPTN, BAD_PTR));
    int p[2];
    pipe(p);
    CHECK("TIOCGPTN on a pipe", ioctl(p[0], TIOCGPTN, &n));
    errno = 0;
    char *pn = ptsname(p[0]);
    printf("ptsname(pipe): %s %s\n", pn ? "name" : "NULL", errname(errno));
    CHECK("unlockpt(pipe)", unlockpt(p[0]));
    close(p[0]);
    close(p[1]);
    int fd = open("/dev/pts", O_RDONLY | O_DIRECTORY);
    CHECK("open /dev/pts", fd >= 0 ? 0 : -1);
    close(fd);
    struct stat sp;
    stat("/dev/pts/ptmx", &sp);
    printf("/dev/pts/ptmx rdev: %u,%u\n", major(sp.st_rdev), minor(sp.st_rdev));
}

static void defaults(void)
{
    memset(&dflt, 0, sizeof dflt);
    tcgetattr(slave, &dflt);
    print_termios("slave termios", &dflt);
    struct termios mt;
    memset(&mt, 0, sizeof mt);
    CHECK("TCGETS on the master", ioctl(master, TCGETS, &mt));
    BOOL("master's TCGETS is the slave's", memcmp(&mt, &dflt, sizeof mt) == 0);
    struct winsize ws = {1, 1, 1, 1};
    CHECK("TIOCGWINSZ", ioctl(slave, TIOCGWINSZ, &ws));
    printf("winsize: %d %d %d %d\n", ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel);
    CHECK("TCGETS bad pointer", ioctl(slave, TCGETS, BAD_PTR));
    CHECK("TCSETS bad pointer", ioctl(slave, TCSETS, BAD_PTR));
    CHECK("TIOCGWINSZ bad pointer", ioctl(slave, TIOCGWINSZ, BAD_PTR));
    CHECK("unknown tty ioctl", ioctl(slave, 0x54ff, 0));
}

static void raw_mode(void)
{
    char buf[256];
    tios = dflt;
    cfmakeraw(&tios);
    set_mode();
    put("abc");
    show("raw: slave reads", buf, read(slave, buf, sizeof buf));
    show_drain("raw: no echo", master);
    write(slave, "x\ny\r", 4);
    show_drain("raw: master reads", master);
    int avail = -1;
    put("12345");
    settle();
    CHECK("FIONREAD raw", ioctl(slave, FIONREAD, &avail));
    printf("available: %d\n", avail);
    CHECK("TIOCINQ raw", ioctl(slave, TIOCINQ, &avail));
    printf("available: %d\n", avail);
    CHECK("TIOCOUTQ", ioctl(slave, TIOCOUTQ, &avail));
    printf("outq: %d\n", avail);
    CHECK("tcflush TCIFLUSH", tcflush(slave, TCIFLUSH));
    CHECK("FIONREAD after flush", ioctl(slave, FIONREAD, &avail));
    printf("available: %d\n", avail);
    CHECK("tcflush bad queue", tcflush(slave, 7));
    write(slave, "out", 3);
    struct pollfd pm = {master, POLLIN, 0};
    poll(&pm, 1, 100);
    CHECK("FIONREAD on the master", ioctl(master, FIONREAD, &avail));
    printf("master available: %d\n", avail);
    show_drain("master reads", master);
    /* INLCR in raw input processing; OPOST with ONLCR and OCRNL */
    tios.c_iflag |= INLCR;
    set_mode();
    put("a\nb");
    show("INLCR: slave reads", buf, read(slave, buf, sizeof buf));
    /* a terminal cannot be spliced from (cat falls back to read) */
    int sp[2];
    pipe(sp);
    put("s");
    settle();
    CHECK("sendfile from the slave into a pipe", sendfile(sp[1], slave, NULL, 16));
    show("the pipe has it", buf, read(sp[0], buf, sizeof buf));
    write(sp[1], "t", 1);
    CHECK("sendfile to the master", sendfile(master, sp[0], NULL, 16));
    CHECK("sendfile to the slave", sendfile(slave, sp[0], NULL, 16));
    close(sp[0]);
    close(sp[1]);
    tios.c_iflag &= ~INLCR;
    tios.c_oflag |= OPOST | ONLCR;
    set_mode();
    write(slave, "p\nq", 3);
    show_drain("ONLCR: master reads", master);
    tios.c_oflag |= OCRNL;
    tios.c_oflag &= ~ONLCR;
    set_mode();
    write(slave, "r\rs", 3);
    show_drain("OCRNL: master reads", master);
    tios.c_oflag &= ~OPOST;
    tios.c_oflag |= ONLCR;
    set_mode();
    write(slave, "t\nu", 3);
    show_drain("no OPOST: master reads", master);
}

static void nonblocking_and_poll(void)
{
    char buf[64];
    reset_mode();
    struct pollfd p[2] = {{slave, POLLIN | POLLOUT, 0}, {master, POLLIN | POLLOUT, 0}};
    CHECK("poll (idle)", poll(p, 2, 0));
    printf("revents slave %#x master %#x\n", p[0].revents, p[1].revents);
    put("partial");
    settle();
    CHECK("poll (partial line)", poll(p, 2, 0));
    printf("revents slave %#x master %#x\n", p[0].revents, p[1].revents);
    int avail = -1;
    ioctl(slave, FIONREAD, &avail);
    printf("FIONREAD partial line: %d\n", avail);
    int fl = fcntl(slave, F_GETFL);
    fcntl(slave, F_SETFL, fl | O_NONBLOCK);
    CHECK("read partial line (O_NONBLOCK)", read(slave, buf, sizeof buf));
    put("\n");
    settle();
    CHECK("poll (line)", poll(p, 2, 0));
    printf("revents slave %#x master %#x\n", p[0].revents, p[1].revents);
    ioctl(slave, FIONREAD, &avail);
    printf("FIONREAD line: %d\n", avail);
    show("read line", buf, read(slave, buf, 3));
    show("read rest of line", buf, read(slave, buf, sizeof buf));
    CHECK("read empty (O_NONBLOCK)", read(slave, buf, sizeof buf));
    fcntl(slave, F_SETFL, fl);
    show_drain("echo", master);
    fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    CHECK("master read empty (O_NONBLOCK)", read(master, buf, sizeof buf));
    fcntl(master, F_SETFL, fl);
}

static void canonical(void)
{
    reset_mode();
    line("line", "hello\n", 1);
    line("two lines", "one\ntwo\n", 2);
    line("erase", "abc\x7f" "d\n", 1);
    line("erase past start", "\x7f\x7fz\n", 1);
    line("kill", "foo bar\x15" "baz\n", 1);
    line("werase", "foo bar\x17qux\n", 1);
    line("werase over spaces", "one two  \x17" "x\n", 1);
    line("werase punctuation", "a.b.c\x17" "d\n", 1);
    line("echoctl", "a\x01" "b\n", 1);
    line("erase a control char", "a\x01\x7f" "c\n", 1);
    line("erase a tab", "ab\t\x7f" "c\n", 1);
    line("lnext", "a\x16\x03" "b\n", 1);
    line("ICRNL", "cr\r", 1);
    line("EOF after text", "abc\x04", 1);
    line("EOF alone", "\x04", 1);
    line("EOF in a short read", "xy\x04", 0);
    {
        char buf[8];
        show("short read 1", buf, read(slave, buf, 2));
        int fl = fcntl(slave, F_GETFL);
        fcntl(slave, F_SETFL, fl | O_NONBLOCK);
        show("short read 2 (the EOF went with the data)", buf, read(slave, buf, 2));
        fcntl(slave, F_SETFL, fl);
    }
    {
        char buf[8];
        write(master, "a\0b\n", 4);
        show("NUL: read", buf, read(slave, buf, sizeof buf));
        show_drain("NUL: echo", master);
    }
    tios = dflt;
    tios.c_cc[VEOL] = '!';
    set_mode();
    line("VEOL", "ab!cd\n", 2);
    tios = dflt;
    tios.c_cc[VERASE] = '#';
    tios.c_cc[VKILL] = '@';
    set_mode();
    line("VERASE # VKILL @", "xy#z@w\n", 1);
    tios = dflt;
    tios.c_lflag &= ~ECHOE;
    set_mode();
    line("erase without ECHOE", "ab\x7f\n", 1);
    tios = dflt;
    tios.c_lflag &= ~ECHOKE;
    set_mode();
    line("kill with ECHOK, no ECHOKE", "abc\x15" "d\n", 1);
    tios.c_lflag &= ~ECHOK;
    set_mode();
    line("kill without ECHOK", "abc\x15" "d\n", 1);
    tios = dflt;
    tios.c_lflag &= ~ECHOCTL;
    set_mode();
    line("no ECHOCTL", "a\x01" "b\n", 1);
    tios = dflt;
    tios.c_lflag &= ~ECHO;
    set_mode();
    line("no ECHO", "quiet\n", 1);
    tios.c_lflag |= ECHONL;
    set_mode();
    line("ECHONL", "nl\n", 1);
    tios = dflt;
    tios.c_iflag |= IGNCR;
    set_mode();
    line("IGNCR", "a\rb\n", 1);
    tios = dflt;
    tios.c_iflag &= ~ICRNL;
    set_mode();
    line("no ICRNL", "a\rb\n", 1);
    tios = dflt;
    tios.c_lflag &= ~IEXTEN;
    set_mode();
    line("werase without IEXTEN", "ab\x17" "c\n", 1);
    /* a partial line becomes readable when ICANON goes off */
    reset_mode();
    put("pend");
    settle();
    tios = dflt;
    tios.c_lflag &= ~ICANON;
    set_mode();
    char buf[64];
    show("ICANON off: pending", buf, read(slave, buf, sizeof buf));
    show_drain("ICANON off: echo", master);
    /* output in canonical mode: OPOST|ONLCR by default */
    reset_mode();
    write(slave, "out\n", 4);
    show_drain("slave output", master);
}

static void vmin_vtime(void)
{
    char buf[64];
    reset_mode();
    tios = dflt;
    tios.c_lflag &= ~(ICANON | ECHO);
    tios.c_cc[VMIN] = 0;
    tios.c_cc[VTIME] = 0;
    set_mode();
    CHECK("VMIN 0 VTIME 0, nothing", read(slave, buf, sizeof buf));
    tios.c_cc[VTIME] = 2;
    set_mode();
    long t0 = now_ms();
    CHECK("VMIN 0 VTIME 2, nothing", read(slave, buf, sizeof buf));
    BOOL("waited about 0.2 s", now_ms() - t0 >= 150);
    put("z");
    show("VMIN 0 VTIME 2, a byte", buf, read(slave, buf, sizeof buf));
    tios.c_cc[VMIN] = 3;
    tios.c_cc[VTIME] = 0;
    set_mode();
    put("ab");
    struct pollfd p = {slave, POLLIN, 0};
    settle();
    CHECK("poll below VMIN", poll(&p, 1, 0));
    pid_t pid = FORK();
    if (pid == 0) {
        msleep(100);
        put("cd");
        _exit(0);
    }
    show("VMIN 3: read", buf, read(slave, buf, sizeof buf));
    reap("writer", pid);
    tios.c_cc[VMIN] = 2;
    tios.c_cc[VTIME] = 3;
    set_mode();
    put("q");
    t0 = now_ms();
    show("VMIN 2 VTIME 3, one byte", buf, read(slave, buf, sizeof buf));
    BOOL("waited about 0.3 s", now_ms() - t0 >= 250);
    put("12");
    settle();
    show("VMIN 2 VTIME 3, two bytes", buf, read(slave, buf, sizeof buf));
    tios.c_cc[VMIN] = 1;
    tios.c_cc[VTIME] = 0;
    tios.c_lflag |= ECHO;
    set_mode();
    line("non-canonical echo", "k\x7f", 1);
    tios.c_lflag |= ISIG;
    set_mode();
    put("v");
    show("before ^C", buf, read(slave, buf, sizeof buf));
    show_drain("echo", master);
    reset_mode();
}

static void window_size(void)
{
    struct winsize ws = {24, 80, 640, 480}, got;
    signal(SIGWINCH, on_winch);
    CHECK("TIOCSWINSZ on the master", ioctl(master, TIOCSWINSZ, &ws));
    ioctl(slave, TIOCGWINSZ, &got);
    printf("slave winsize: %d %d %d %d\n", got.ws_row, got.ws_col, got.ws_xpixel, got.ws_ypixel);
    ws.ws_row = 50;
    CHECK("TIOCSWINSZ on the slave", ioctl(slave, TIOCSWINSZ, &ws));
    ioctl(master, TIOCGWINSZ, &got);
    printf("master winsize: %d %d\n", got.ws_row, got.ws_col);
    printf("SIGWINCH without a controlling terminal: %d\n", winch);
    /* a session that has the slave as its controlling terminal hears of changes */
    int sync[2];
    char c;
    pipe(sync);
    pid_t pid = FORK();
    if (pid == 0) {
        setsid();
        close(slave);
        int fd = open(ptsname(master), O_RDWR);
        winch = 0;
        sigset_t set, old;
        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &set, &old);
        write(sync[1], "r", 1);
        while (winch == 0)
            sigsuspend(&old);
        read(sync[0], &c, 1); /* the parent's line first: the output's order is fixed */
        printf("child: SIGWINCH %d\n", winch);
        ioctl(fd, TIOCGWINSZ, &got);
        printf("child: winsize %d %d\n", got.ws_row, got.ws_col);
        fflush(stdout);
        _exit(0);
    }
    read(sync[0], &c, 1);
    ws.ws_row = 51;
    CHECK("TIOCSWINSZ (a change)", ioctl(master, TIOCSWINSZ, &ws));
    fflush(stdout);
    write(sync[1], "g", 1);
    reap("child", pid);
    ws.ws_row = 51;
    CHECK("TIOCSWINSZ bad pointer", ioctl(master, TIOCSWINSZ, BAD_PTR));
    close(sync[0]);
    close(sync[1]);
}

static void peer_and_hangups(void)
{
    char buf[64];
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK("TIOCGPTPEER", peer >= 0 ? 0 : -1);
    BOOL("peer is a tty", isatty(peer));
    CHECK("TIOCGPTPEER on the slave", ioctl(slave, TIOCGPTPEER, O_RDWR));
    int odd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK("TIOCGPTPEER O_CLOEXEC", odd >= 0 ? 0 : -1);
    CHECK("its FD_CLOEXEC", fcntl(odd, F_GETFD));
    close(odd);
    write(peer, "via peer\n", 9);
    show_drain("master reads", master);
    close(peer);
    /* the slave closes: its data stays readable, then the master's read is EIO */
    tios = dflt;
    cfmakeraw(&tios);
    set_mode();
    write(slave, "bye", 3);
    close(slave);
    struct pollfd p = {master, POLLIN | POLLOUT, 0};
    CHECK("poll master after slave close", poll(&p, 1, 0));
    printf("revents %#x\n", p.revents);
    show("master read (data)", buf, read(master, buf, sizeof buf));
    CHECK("master read (slave closed)", read(master, buf, sizeof buf));
    CHECK("master write (slave closed)", write(master, "x", 1));
    /* reopened, the slave works again */
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    CHECK("reopen slave", slave >= 0 ? 0 : -1);
    show("slave reads what came while it was closed", buf, read(slave, buf, sizeof buf));
    write(slave, "again", 5);
    show("master read again", buf, read(master, buf, sizeof buf));
    /* the master closes: the slave is hung up and its node goes */
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(master));
    close(master);
    CHECK("slave read after hangup", read(slave, buf, sizeof buf));
    CHECK("slave write after hangup", write(slave, "x", 1));
    struct termios t;
    CHECK("TCGETS after hangup", ioctl(slave, TCGETS, &t));
    struct pollfd ps = {slave, POLLIN | POLLOUT, 0};
    CHECK("poll slave after hangup", poll(&ps, 1, 0));
    printf("revents %#x\n", ps.revents);
    struct stat st;
    CHECK("stat slave node after master close", stat(name, &st));
    close(slave);
    CHECK("open a gone slave", open(name, O_RDWR | O_NOCTTY));
    /* numbers are reused: the next pty is 0 again */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("next ptsname: %s\n", ptsname(m));
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    printf("second ptsname: %s\n", ptsname(m2));
    close(m);
    int m3 = posix_openpt(O_RDWR | O_NOCTTY);
    printf("third ptsname: %s\n", ptsname(m3));
    /* the master reads nothing while the slave was never opened: it waits */
    fcntl(m2, F_SETFL, O_NONBLOCK);
    CHECK("master read, slave never opened", read(m2, buf, sizeof buf));
    close(m2);
    close(m3);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    opening();
    defaults();
    raw_mode();
    nonblocking_and_poll();
    canonical();
    vmin_vtime();
    window_size();
    peer_and_hangups();
    return 0;
}
