/* /proc/net/unix (a link to /proc/self/net/unix): its header and, for this program's
 * sockets, the columns Linux prints: Flags (listening), Type, St (connected or not), the
 * inode (the socket's st_ino) and the Path (@ for an abstract name). */
#include "contract.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static char text[65536];

static void show(const char *tag, int fd)
{
    struct stat st;
    fstat(fd, &st);
    int f = open("/proc/net/unix", O_RDONLY);
    ssize_t n = 0, r;
    while ((r = read(f, text + n, sizeof text - 1 - n)) > 0)
        n += r;
    text[n] = 0;
    close(f);
    char ino[32];
    snprintf(ino, sizeof ino, " %lu", (unsigned long)st.st_ino);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strchr(line, ':');
        if (!p)
            continue;
        char *q = strstr(p, ino);
        if (!q || (q[strlen(ino)] != 0 && q[strlen(ino)] != ' '))
            continue;
        unsigned refs, proto, flags, type, state;
        unsigned long inode;
        char path[200] = "";
        sscanf(p + 1, "%x %x %x %x %x %lu %199s", &refs, &proto, &flags, &type, &state, &inode,
               path);
        printf("%s: proto %u flags %05x type %04x st %02x path '%s'\n", tag, proto, flags, type,
               state, path);
        return;
    }
    printf("%s: not found\n", tag);
}

int main(void)
{
    enter_workdir("proc_net_unix");
    unlink("/tmp/proc_net_unix/sock");
    int f = open("/proc/net/unix", O_RDONLY);
    char head[128] = {0};
    read(f, head, 60);
    close(f);
    char *nl = strchr(head, '\n');
    if (nl)
        *nl = 0;
    printf("header: %s\n", head);
    char link[64] = {0};
    readlink("/proc/net", link, sizeof link - 1);
    printf("/proc/net -> %s\n", link);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    show("pair", sv[0]);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("dgram", d);
    struct sockaddr_un a = {AF_UNIX, "/tmp/proc_net_unix/sock"};
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 3);
    show("listener", l);
    struct sockaddr_un ab = {AF_UNIX};
    memcpy(ab.sun_path + 1, "twaron\0net", 10);
    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(s, (struct sockaddr *)&ab, offsetof(struct sockaddr_un, sun_path) + 11);
    show("abstract", s);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    show("client", c);
    int acc = accept(l, NULL, NULL);
    show("accepted", acc);
    close(sv[1]);
    show("pair after close", sv[0]);
    unlink("/tmp/proc_net_unix/sock");
    return 0;
}
