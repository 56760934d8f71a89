/* A guest that talks to host servers (twaron run --net host): a UDP request answered by the
 * host's echo server, waited for with poll and a timeout (the host answers in host time while
 * the deterministic kernel's clock is virtual); a non-blocking TCP connect completed through
 * poll and SO_ERROR, a request and its reply read to end of file; a connect to a port where
 * nothing listens. Usage: host_peer UDP_PORT TCP_PORT CLOSED_PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void udp(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = addr(port), from;
    socklen_t len = sizeof from;
    char buf[128];
    sendto(fd, "ping", 4, 0, (struct sockaddr *)&to, sizeof to);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ready = poll(&p, 1, 20000);
    printf("udp poll=%d revents=%d\n", ready, p.revents);
    ssize_t n = recvfrom(fd, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    buf[n > 0 ? n : 0] = 0;
    printf("udp got %zd '%s' from the port asked: %d\n", n, buf, ntohs(from.sin_port) == port);
    close(fd);
}

static void tcp(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = addr(port);
    int r = connect(fd, (struct sockaddr *)&to, sizeof to);
    printf("tcp connect=%d %s\n", r, r ? strerror(errno) : "ok");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    printf("tcp poll=%d\n", poll(&p, 1, 20000));
    int err = -1;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("tcp SO_ERROR=%d\n", err);
    fcntl(fd, F_SETFL, 0);
    printf("tcp send=%zd\n", send(fd, "request\n", 8, 0));
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += n;
    buf[got] = 0;
    printf("tcp reply '%s' then %zd\n", buf, n);
    close(fd);
}

static void refused(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = addr(port);
    int r = connect(fd, (struct sockaddr *)&to, sizeof to);
    printf("closed port connect=%d %s\n", r, r ? strerror(errno) : "ok");
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    udp(atoi(argv[1]));
    tcp(atoi(argv[2]));
    refused(atoi(argv[3]));
    return 0;
}
