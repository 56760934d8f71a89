/* udp_echo PORT: answers each datagram with "echo:" and its bytes; "quit" ends it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {AF_INET, htons(atoi(argc > 1 ? argv[1] : "5353")), {0}};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bind");
        return 2;
    }
    char buf[2048], out[2100];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return 3;
        if (n == 4 && memcmp(buf, "quit", 4) == 0)
            return 0;
        memcpy(out, "echo:", 5);
        memcpy(out + 5, buf, n);
        sendto(s, out, n + 5, 0, (struct sockaddr *)&from, fl);
    }
}
