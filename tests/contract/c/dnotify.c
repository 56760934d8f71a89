/* dnotify: fcntl(F_NOTIFY) on a directory, one-shot and DN_MULTISHOT, each DN_* event,
 * masks that add up, removal, the signal (F_SETSIG's real-time signal with si_fd and si_band,
 * or SIGIO) going to the caller, F_GETSIG/F_GETOWN, and the errors. */
#include "contract.h"
#include <signal.h>

#define RTSIG (SIGRTMIN + 1)

/* The handler counts the signals (each is delivered as the call that caused it returns). */
static volatile int count, last_sig, last_fd, last_code;
static volatile long last_band;
static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    count++;
    last_sig = sig;
    last_fd = si->si_fd;
    last_code = si->si_code;
    last_band = si->si_band;
}

/* "label: N [signal, si_fd ok, code, band]" for the signals since the last call. */
static void drain(const char *label, int dirfd)
{
    printf("%s: %d", label, count);
    if (count)
        printf(" %s si_fd %s code %#x band %#lx", last_sig == SIGIO ? "SIGIO" : "RTSIG",
               last_fd == dirfd ? "ok" : "other", last_code,
               last_sig == SIGIO ? 0L : last_band);
    printf("\n");
    count = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_workdir("dnotify");
    mkdir("d", 0755);
    put_file("d/file", "data", 4, 0644);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(RTSIG, &sa, NULL);
    sigaction(SIGIO, &sa, NULL);

    int file = open("d/file", O_RDONLY);
    CHECK("F_NOTIFY on a file", fcntl(file, F_NOTIFY, DN_CREATE));
    CHECK("F_NOTIFY 0 on a file", fcntl(file, F_NOTIFY, 0));
    close(file);

    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK("F_GETSIG", fcntl(dfd, F_GETSIG));
    CHECK("F_SETSIG 65", fcntl(dfd, F_SETSIG, 65));
    CHECK("F_SETSIG", fcntl(dfd, F_SETSIG, RTSIG));
    BOOL("F_GETSIG is RTSIG", fcntl(dfd, F_GETSIG) == RTSIG);
    CHECK("F_GETOWN before", fcntl(dfd, F_GETOWN));

    CHECK("DN_CREATE", fcntl(dfd, F_NOTIFY, DN_CREATE));
    BOOL("F_GETOWN is us", fcntl(dfd, F_GETOWN) == getpid());
    put_file("d/a", "", 0, 0644);
    put_file("d/b", "", 0, 0644);
    drain("one-shot create x2", dfd);

    CHECK("DN_CREATE|DN_MULTISHOT", fcntl(dfd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
    put_file("d/c", "", 0, 0644);
    mkdir("d/sub", 0755);
    drain("multishot create x2", dfd);
    int f = open("d/file", O_RDONLY);
    char buf[8];
    read(f, buf, sizeof buf);
    close(f);
    drain("read (not watched)", dfd);

    CHECK("add DN_ACCESS", fcntl(dfd, F_NOTIFY, DN_ACCESS | DN_MULTISHOT));
    f = open("d/file", O_RDONLY);
    read(f, buf, sizeof buf);
    close(f);
    drain("read", dfd);
    put_file("d/e", "", 0, 0644);
    drain("create (masks add up)", dfd);

    CHECK("remove", fcntl(dfd, F_NOTIFY, 0));
    put_file("d/f", "", 0, 0644);
    drain("after remove", dfd);

    CHECK("DN_MODIFY", fcntl(dfd, F_NOTIFY, DN_MODIFY | DN_MULTISHOT));
    f = open("d/file", O_WRONLY);
    write(f, "x", 1);
    close(f);
    truncate("d/file", 1);
    drain("write, truncate", dfd);
    fcntl(dfd, F_NOTIFY, 0);

    CHECK("DN_ATTRIB", fcntl(dfd, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT));
    chmod("d/file", 0600);
    chmod("d", 0755);
    drain("chmod a file, chmod the directory", dfd);
    fcntl(dfd, F_NOTIFY, 0);

    CHECK("DN_DELETE", fcntl(dfd, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
    unlink("d/a");
    rmdir("d/sub");
    rename("d/b", "moved-out");
    drain("unlink, rmdir, move out", dfd);
    fcntl(dfd, F_NOTIFY, 0);

    CHECK("DN_RENAME", fcntl(dfd, F_NOTIFY, DN_RENAME | DN_MULTISHOT));
    rename("d/c", "d/c2");
    drain("rename inside", dfd);
    rename("moved-out", "d/b");
    drain("move in", dfd);
    rename("d/b", "moved-out");
    drain("move out", dfd);
    fcntl(dfd, F_NOTIFY, 0);

    CHECK("DN_CREATE|DN_DELETE|DN_RENAME",
          fcntl(dfd, F_NOTIFY, DN_CREATE | DN_DELETE | DN_RENAME | DN_MULTISHOT));
    rename("d/c2", "d/c3");
    drain("rename inside", dfd);
    fcntl(dfd, F_NOTIFY, 0);

    /* without F_SETSIG: SIGIO */
    int d2 = open("d", O_RDONLY | O_DIRECTORY);
    CHECK("DN_CREATE on a new fd", fcntl(d2, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
    put_file("d/g", "", 0, 0644);
    put_file("d/h", "", 0, 0644);
    drain("default signal", d2);
    close(d2);
    put_file("d/i", "", 0, 0644);
    drain("after close", d2);

    CHECK("DN_CREATE, then close", fcntl(dfd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
    close(dfd);
    put_file("d/j", "", 0, 0644);
    drain("after close of the watching fd", dfd);
    return 0;
}
