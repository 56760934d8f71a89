/* TCP over lo: socket/bind/listen/connect/accept with their errors, the addresses
 * getsockname, getpeername and accept report (AF_INET layouts), any 127.x address, connecting
 * to 0.0.0.0, ephemeral ports from ip_local_port_range, SO_REUSEADDR and bind conflicts,
 * data both ways, a big transfer between two processes, EOF. */
#include "contract.h"
#include "inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void show_name(const char *label, int fd, int peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0xAA, sizeof ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    char ip[32];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    int port = ntohs(a->sin_port);
    int zero = 1;
    for (int i = 0; i < 8; i++)
        zero &= a->sin_zero[i] == 0;
    printf("%s: len=%d family=%d ip=%s port=%s zero=%d\n", label, (int)len, a->sin_family, ip,
           port == 0 ? "0" : port >= 32768 && port <= 60999 ? "ephemeral"
                                                            : port < 32768 ? "fixed" : "?",
           zero);
}

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -errno;
    return v;
}

int main(void)
{
    char buf[4096];
    signal(SIGPIPE, SIG_IGN);

    /* socket() */
    CHECK("socket bad type", socket(AF_INET, 99, 0));
    CHECK("socket stream udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    CHECK("socket dgram tcp", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    CHECK("socket seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0));
    CHECK("socket proto -1", socket(AF_INET, SOCK_STREAM, -1));
    CHECK("socket family 45", socket(45, SOCK_STREAM, 0));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_OK("socket", s);
    printf("SO_TYPE=%d SO_PROTOCOL=%d SO_DOMAIN=%d SO_ACCEPTCONN=%d SO_ERROR=%d\n",
           opt(s, SOL_SOCKET, SO_TYPE), opt(s, SOL_SOCKET, SO_PROTOCOL),
           opt(s, SOL_SOCKET, SO_DOMAIN), opt(s, SOL_SOCKET, SO_ACCEPTCONN),
           opt(s, SOL_SOCKET, SO_ERROR));
    printf("SO_SNDBUF=%d SO_RCVBUF=%d\n", opt(s, SOL_SOCKET, SO_SNDBUF),
           opt(s, SOL_SOCKET, SO_RCVBUF));
    show_name("unbound name", s, 0);
    show_name("unbound peer", s, 1);

    /* bind() errors */
    struct sockaddr_in a = sin4("127.0.0.1", 7001);
    CHECK("bind len 15", bind(s, (struct sockaddr *)&a, 15));
    CHECK("bind len 0", bind(s, (struct sockaddr *)&a, 0));
    CHECK("bind efault", bind(s, BAD_PTR, sizeof a));
    struct sockaddr_in bad = a;
    bad.sin_family = AF_INET6;
    CHECK("bind AF_INET6 addr", bind(s, (struct sockaddr *)&bad, sizeof bad));
    bad = sin4("0.0.0.0", 7001);
    bad.sin_family = AF_UNSPEC;
    int u = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("bind AF_UNSPEC any", bind(u, (struct sockaddr *)&bad, sizeof bad));
    show_name("AF_UNSPEC bound", u, 0);
    close(u);
    bad = sin4("127.0.0.1", 7001);
    bad.sin_family = AF_UNSPEC;
    CHECK("bind AF_UNSPEC loopback", bind(s, (struct sockaddr *)&bad, sizeof bad));
    struct sockaddr_in far = sin4("10.1.2.3", 7001);
    CHECK("bind 10.1.2.3", bind(s, (struct sockaddr *)&far, sizeof far));
    far = sin4("8.8.8.8", 0);
    CHECK("bind 8.8.8.8", bind(s, (struct sockaddr *)&far, sizeof far));
    CHECK("bind 127.0.0.1:7001", bind(s, (struct sockaddr *)&a, sizeof a));
    CHECK("bind again", bind(s, (struct sockaddr *)&a, sizeof a));
    show_name("bound name", s, 0);

    /* conflicts */
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("bind same addr", bind(s2, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in any = sin4("0.0.0.0", 7001);
    CHECK("bind any same port", bind(s2, (struct sockaddr *)&any, sizeof any));
    struct sockaddr_in other = sin4("127.0.0.2", 7001);
    CHECK("bind 127.0.0.2 same port", bind(s2, (struct sockaddr *)&other, sizeof other));
    close(s2);
    int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in ra = sin4("127.0.0.1", 7002);
    CHECK("reuse bind 1", bind(r1, (struct sockaddr *)&ra, sizeof ra));
    CHECK("bind without reuse", bind(r2, (struct sockaddr *)&ra, sizeof ra));
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK("reuse bind 2", bind(r2, (struct sockaddr *)&ra, sizeof ra));
    CHECK("reuse listen 1", listen(r1, 5));
    CHECK("reuse listen 2", listen(r2, 5));
    int r3 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK("reuse bind while listening", bind(r3, (struct sockaddr *)&ra, sizeof ra));
    close(r1);
    close(r2);
    CHECK("bind after listener closed", bind(r3, (struct sockaddr *)&ra, sizeof ra));
    close(r3);

    /* listen, connect, accept */
    int c0 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("accept before listen", accept(s, NULL, NULL));
    CHECK("connect closed port", connect(c0, (struct sockaddr *)&a, sizeof a));
    printf("SO_ERROR after refused: %d\n", opt(c0, SOL_SOCKET, SO_ERROR));
    CHECK("listen", listen(s, 16));
    printf("SO_ACCEPTCONN: %d\n", opt(s, SOL_SOCKET, SO_ACCEPTCONN));
    CHECK("listen again", listen(s, 4));
    CHECK("connect listener", connect(s, (struct sockaddr *)&a, sizeof a));
    CHECK("connect len 4", connect(c0, (struct sockaddr *)&a, 4));
    CHECK("connect len 1", connect(c0, (struct sockaddr *)&a, 1));
    far = sin4("10.1.2.3", 80);
    CHECK("connect 10.1.2.3", connect(c0, (struct sockaddr *)&far, sizeof far));
    bad = a;
    bad.sin_family = AF_INET6;
    CHECK("connect wrong family", connect(c0, (struct sockaddr *)&bad, sizeof bad));
    CHECK("connect", connect(c0, (struct sockaddr *)&a, sizeof a));
    CHECK("connect again", connect(c0, (struct sockaddr *)&a, sizeof a));
    show_name("client name", c0, 0);
    show_name("client peer", c0, 1);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int a0 = accept(s, (struct sockaddr *)&peer, &plen);
    CHECK_OK("accept", a0);
    printf("accept len=%d port matches=%d\n", (int)plen, ntohs(peer.sin_port) == port_of(c0));
    show_name("accepted name", a0, 0);
    show_name("accepted peer", a0, 1);
    printf("accepted SO_ACCEPTCONN=%d\n", opt(a0, SOL_SOCKET, SO_ACCEPTCONN));
    CHECK("accept on accepted", accept(a0, NULL, NULL));
    CHECK("listen on connected", listen(c0, 1));
    CHECK("accept4 bad flags", RAW(SYS_accept4, s, 0, 0, 0x100));

    CHECK("send c->a", send(c0, "ping", 4, 0));
    CHECK("recv a", recv(a0, buf, sizeof buf, 0));
    CHECK("write a->c", write(a0, "pong!", 5));
    CHECK("read c", read(c0, buf, sizeof buf));
    printf("got: %.5s\n", buf);
    CHECK("recv dontwait empty", recv(c0, buf, sizeof buf, MSG_DONTWAIT));
    CHECK("send to addr on connected", sendto(c0, "x", 1, 0, (struct sockaddr *)&far, sizeof far));
    CHECK("recv the byte", recv(a0, buf, 1, 0));
    CHECK("recvfrom addr", ({
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        send(a0, "yy", 2, 0);
        int n = recvfrom(c0, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        printf("recvfrom addrlen: %d\n", (int)fl);
        n;
    }));

    /* other loopback addresses, 0.0.0.0 */
    int l2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in wild = sin4("0.0.0.0", 7003);
    CHECK("bind any", bind(l2, (struct sockaddr *)&wild, sizeof wild));
    listen(l2, 8);
    const char *targets[] = {"127.0.0.1", "127.0.0.5", "127.255.0.9", "0.0.0.0"};
    for (int i = 0; i < 4; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in t = sin4(targets[i], 7003);
        char label[64];
        snprintf(label, sizeof label, "connect %s", targets[i]);
        CHECK(label, connect(c, (struct sockaddr *)&t, sizeof t));
        show_name("  name", c, 0);
        show_name("  peer", c, 1);
        int acc = accept(l2, NULL, NULL);
        show_name("  accepted name", acc, 0);
        close(acc);
        close(c);
    }
    struct sockaddr_in spec = sin4("127.0.0.9", 7004);
    int l3 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("bind 127.0.0.9", bind(l3, (struct sockaddr *)&spec, sizeof spec));
    listen(l3, 1);
    int c3 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in miss = sin4("127.0.0.1", 7004);
    CHECK("connect other 127 address", connect(c3, (struct sockaddr *)&miss, sizeof miss));
    close(c3);
    c3 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = sin4("127.0.0.7", 0);
    CHECK("bind client 127.0.0.7:0", bind(c3, (struct sockaddr *)&src, sizeof src));
    show_name("  bound client", c3, 0);
    CHECK("connect from 127.0.0.7", connect(c3, (struct sockaddr *)&spec, sizeof spec));
    show_name("  client", c3, 0);
    close(c3);
    close(l3);

    /* ephemeral ports: bind to 0, listen unbound */
    int e = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in zero = sin4("127.0.0.1", 0);
    CHECK("bind port 0", bind(e, (struct sockaddr *)&zero, sizeof zero));
    show_name("  port 0", e, 0);
    close(e);
    e = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("listen unbound", listen(e, 1));
    show_name("  listening unbound", e, 0);
    close(e);

    /* shutdown of unconnected, ENOTCONN */
    e = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("shutdown unconnected", shutdown(e, SHUT_RDWR));
    CHECK("shutdown bad how", shutdown(e, 7));
    CHECK("recv unconnected", recv(e, buf, 1, 0));
    CHECK("send unconnected", send(e, "x", 1, MSG_NOSIGNAL));
    CHECK("getpeername unconnected", ({
        struct sockaddr_in x;
        socklen_t xl = sizeof x;
        getpeername(e, (struct sockaddr *)&x, &xl);
    }));
    close(e);

    /* a big transfer between two processes, checked */
    int l4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in big = sin4("127.0.0.1", 7005);
    bind(l4, (struct sockaddr *)&big, sizeof big);
    listen(l4, 1);
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&big, sizeof big) < 0)
            _exit(1);
        unsigned char out[8192];
        unsigned long total = 0;
        for (int i = 0; i < 256; i++) {
            for (int j = 0; j < (int)sizeof out; j++)
                out[j] = (unsigned char)(total + j) * 7;
            size_t off = 0;
            while (off < sizeof out) {
                ssize_t w = write(c, out + off, sizeof out - off);
                if (w <= 0)
                    _exit(2);
                off += w;
            }
            total += sizeof out;
        }
        shutdown(c, SHUT_WR);
        ssize_t n = read(c, out, sizeof out);
        _exit(n == 2 && memcmp(out, "ok", 2) == 0 ? 0 : 3);
    }
    int acc = accept(l4, NULL, NULL);
    unsigned long got = 0;
    int bad_bytes = 0;
    for (;;) {
        ssize_t n = read(acc, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != (unsigned char)((unsigned char)(got + i) * 7))
                bad_bytes++;
        got += n;
    }
    printf("big transfer: %lu bytes, %d bad\n", got, bad_bytes);
    CHECK("reply after EOF", write(acc, "ok", 2));
    int st;
    waitpid(pid, &st, 0);
    printf("client exit: %d\n", WEXITSTATUS(st));
    CHECK("read after peer closed", read(acc, buf, sizeof buf));
    close(acc);
    close(l4);
    close(c0);
    CHECK("read after close by peer", read(a0, buf, sizeof buf));
    return 0;
}
