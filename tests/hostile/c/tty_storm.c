/* Random operations on pseudo-terminals, seeded: opens of /dev/ptmx, /dev/pts/N and
 * /dev/tty, every terminal ioctl (and some that are not) with good, random, NULL and bad
 * pointer arguments, termios with random flags and control characters, non-blocking reads
 * and writes of random sizes on both ends, closes in any order, new sessions in children.
 * The job-control and ISIG signals are ignored so that nothing stops or dies, and every fd
 * is non-blocking; every call must come back with a result or an errno (the test checks
 * the kernel reported no oops).
 *
 *   tty_storm SEED OPS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static unsigned long long rng;

static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long pick(long n) { return (long)(next() % (unsigned long long)n); }

#define MAXFD 24
static int fds[MAXFD];
static int nfd;
static int child;

static void add(int fd)
{
    if (fd < 0)
        return;
    fcntl(fd, F_SETFL, O_NONBLOCK | (pick(4) ? 0 : O_APPEND));
    if (nfd < MAXFD)
        fds[nfd++] = fd;
    else
        close(fd);
}

static int any_fd(void)
{
    if (!nfd || !pick(20))
        return pick(4) ? (int)pick(40) + 3 : -(int)pick(3);  /* (not the console's 0-2) */
    return fds[pick(nfd)];
}

/* musl's headers lack the termios2 requests */
#define TCGETS2 0x802c542aUL
#define TCSETS2 0x402c542bUL
#define TCSETSW2 0x402c542cUL
#define TCSETSF2 0x402c542dUL

static const unsigned long cmds[] = {
    TCGETS, TCSETS, TCSETSW, TCSETSF, TCGETS2, TCSETS2, TCSETSW2, TCSETSF2, TIOCGWINSZ,
    TIOCSWINSZ, TCFLSH, TCXONC, TCSBRK, TCSBRKP, TIOCSBRK, TIOCCBRK, FIONREAD, TIOCOUTQ,
    TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSTI, TIOCEXCL, TIOCNXCL,
    TIOCGEXCL, TIOCGETD, TIOCSETD, TIOCGDEV, TIOCSIG, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTN,
    TIOCPKT, TIOCGPKT, TIOCMGET, TIOCGSERIAL, TIOCCONS, FIOCLEX,
    TCGETA, TCSETA, 0x5400, 0x54ff, 0x80045400, 0xdeadbeef,
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static char buf[8192];
static char *edge;  /* a page followed by an inaccessible one */

static long arg(void)
{
    switch (pick(8)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (long)0xffff800000000000UL;
    case 3: return (long)(edge + 4096 - 2);  /* straddles the end of what is mapped */
    case 4: return pick(70) - 3;
    default: {
        /* a buffer of random bytes, or a sane termios with random flags */
        for (int i = 0; i < 64; i++)
            buf[i] = (char)next();
        if (pick(2)) {
            struct termios *t = (struct termios *)buf;
            t->c_iflag = (tcflag_t)next() & 077777;
            t->c_oflag = (tcflag_t)next() & 077777;
            t->c_cflag = (tcflag_t)next();
            t->c_lflag = (tcflag_t)next() & 0377777;
            for (int i = 0; i < NCCS; i++)
                t->c_cc[i] = pick(3) ? (cc_t)pick(32) : (cc_t)next();
        }
        return (long)buf;
    }
    }
}

static void one(void)
{
    int fd;
    switch (pick(14)) {
    case 0:
    case 1:
        add(open("/dev/ptmx", O_RDWR | (pick(2) ? O_NOCTTY : 0)));
        break;
    case 2: {
        char path[32];
        snprintf(path, sizeof path, "/dev/pts/%ld", pick(4));
        add(open(path, (pick(3) ? O_RDWR : O_WRONLY) | (pick(2) ? O_NOCTTY : 0)));
        break;
    }
    case 3:
        add(open(pick(2) ? "/dev/tty" : "/dev/console", O_RDWR | O_NOCTTY));
        break;
    case 4:
    case 5:
    case 6: {
        unsigned long cmd = cmds[pick(NCMDS)];
        static const long harmless[] = {0, -1, 65, SIGWINCH, SIGURG, SIGTTOU, SIGCHLD};
        /* TIOCSIG sends what it is given: only signals that neither kill nor stop */
        syscall(SYS_ioctl, any_fd(), cmd, cmd == TIOCSIG ? harmless[pick(7)] : arg());
        break;
    }
    case 7:
        fd = any_fd();
        unlockpt(fd);
        add(syscall(SYS_ioctl, fd, TIOCGPTPEER, O_RDWR | (pick(2) ? O_NOCTTY : 0)));
        break;
    case 8:
    case 9: {
        long n = pick(4) ? pick(40) : pick(sizeof buf);
        for (long i = 0; i < n; i++)
            buf[i] = pick(3) ? (char)('a' + pick(26)) : (char)pick(32);
        write(any_fd(), buf, n);
        break;
    }
    case 10:
        read(any_fd(), buf, pick(2) ? pick(16) : sizeof buf);
        break;
    case 11:
        if (nfd) {
            long i = pick(nfd);
            close(fds[i]);
            fds[i] = fds[--nfd];
        }
        break;
    case 12: {
        /* a child in a session of its own: acquires a terminal, plays with it, exits
         * (children have none of their own) */
        if (child)
            break;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            child = 1;
            setsid();
            for (int i = 0; i < 20; i++)
                one();
            _exit(0);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
        break;
    }
    case 13:
        tcsetpgrp(any_fd(), pick(2) ? getpgrp() : (pid_t)pick(50));
        break;
    }
}

int main(int argc, char **argv)
{
    rng = argc > 1 ? strtoull(argv[1], NULL, 0) * 2654435761ULL + 1 : 1;
    long ops = argc > 2 ? atol(argv[2]) : 2000;
    int ignored[] = {SIGTTIN, SIGTTOU, SIGTSTP, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGWINCH};
    for (unsigned i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        signal(ignored[i], SIG_IGN);
    edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(edge + 4096, 4096, PROT_NONE);
    setsid();
    for (long i = 0; i < ops; i++)
        one();
    printf("done %ld\n", ops);
    return 0;
}
