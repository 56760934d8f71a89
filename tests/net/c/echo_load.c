/* A TCP echo server and its clients, for the load tests.
 *   echo_load serve PORT [N]        a poll() echo server on 0.0.0.0:PORT until killed (or
 *                                   until N connections have come and gone)
 *   echo_load load PORT N BYTES     the server in a child, N client processes each sending
 *                                   BYTES (a pattern of its own) and checking every byte of
 *                                   the echo; prints "clients=N bytes=T bad=B failed=F". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXC 1024
#define CHUNK 16384

static int listen_on(int port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {AF_INET, htons(port), {htonl(INADDR_ANY)}};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 512) < 0) {
        perror("listen");
        exit(2);
    }
    return l;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= w;
    }
    return 0;
}

static void serve(int l, int max_closed)
{
    int closed = 0;
    static struct pollfd fds[MAXC + 1];
    static char buf[65536];
    int n = 1;
    fds[0].fd = l;
    fds[0].events = POLLIN;
    for (;;) {
        if (poll(fds, n, -1) < 0)
            continue;
        if (fds[0].revents & POLLIN) {
            int c = accept(l, NULL, NULL);
            if (c >= 0 && n <= MAXC) {
                fds[n].fd = c;
                fds[n].events = POLLIN;
                fds[n].revents = 0;
                n++;
            } else if (c >= 0)
                close(c);
        }
        for (int i = 1; i < n; i++) {
            if (!fds[i].revents)
                continue;
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r <= 0 || write_all(fds[i].fd, buf, r) < 0) {
                close(fds[i].fd);
                fds[i] = fds[--n];
                i--;
                if (max_closed && ++closed >= max_closed)
                    exit(0);
            }
        }
    }
}

static unsigned char pattern(long id, long off) { return (unsigned char)(id * 131 + off * 7 + (off >> 11)); }

static int client(int port, long id, long bytes)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {AF_INET, htons(port), {htonl(INADDR_LOOPBACK)}};
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
        return 100;
    static char out[CHUNK], in[CHUNK];
    long bad = 0;
    for (long off = 0; off < bytes; off += CHUNK) {
        long n = bytes - off < CHUNK ? bytes - off : CHUNK;
        for (long i = 0; i < n; i++)
            out[i] = pattern(id, off + i);
        if (write_all(c, out, n) < 0)
            return 101;
        for (long got = 0; got < n;) {
            ssize_t r = read(c, in + got, n - got);
            if (r <= 0)
                return 102;
            got += r;
        }
        bad += memcmp(in, out, n) != 0;
    }
    shutdown(c, SHUT_WR);
    char x;
    if (read(c, &x, 1) != 0)
        return 103;
    close(c);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        serve(listen_on(atoi(argv[2])), argc > 3 ? atoi(argv[3]) : 0);
    if (argc < 5 || strcmp(argv[1], "load") != 0) {
        fprintf(stderr, "usage: echo_load serve PORT | load PORT N BYTES\n");
        return 2;
    }
    int port = atoi(argv[2]), nclients = atoi(argv[3]);
    long bytes = atol(argv[4]);
    int l = listen_on(port);
    pid_t server = fork();
    if (server == 0)
        serve(l, 0);
    close(l);
    for (int i = 0; i < nclients; i++)
        if (fork() == 0)
            _exit(client(port, i, bytes));
    int bad = 0, failed = 0;
    for (int i = 0; i < nclients; i++) {
        int st;
        wait(&st);
        if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
            failed++;
        else if (WEXITSTATUS(st) == 1)
            bad++;
    }
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    printf("clients=%d bytes=%ld bad=%d failed=%d\n", nclients, bytes * nclients, bad, failed);
    return bad || failed;
}
