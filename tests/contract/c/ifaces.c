/* The interface ioctls (lo is the only interface): SIOCGIFCONF (the length with a NULL
 * buffer, one entry for 127.0.0.1), SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFADDR,
 * SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN; ENODEV for a
 * name that is not there; if_nametoindex; /proc/net/dev's header and lo line. */
#include "contract.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifndef SIOCGIFTXQLEN
#define SIOCGIFTXQLEN 0x8942
#endif

static void addr(const char *label, int s, unsigned long cmd, const char *dev)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strncpy(r.ifr_name, dev, IFNAMSIZ - 1);
    if (ioctl(s, cmd, &r) < 0) {
        printf("%s %s: -1 %s\n", label, dev, errname(errno));
        return;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    char ip[32];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    printf("%s %s: family=%d %s\n", label, dev, a->sin_family, ip);
}

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifconf ifc = {0};
    ifc.ifc_buf = NULL;
    CHECK("SIOCGIFCONF NULL", ioctl(s, SIOCGIFCONF, &ifc));
    printf("needed: %d (%d entries)\n", ifc.ifc_len, ifc.ifc_len / (int)sizeof(struct ifreq));
    struct ifreq reqs[8];
    ifc.ifc_len = sizeof reqs;
    ifc.ifc_req = reqs;
    CHECK("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &ifc));
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        struct sockaddr_in *a = (struct sockaddr_in *)&reqs[i].ifr_addr;
        printf("  %s %s\n", reqs[i].ifr_name, inet_ntoa(a->sin_addr));
    }
    ifc.ifc_len = 10;
    CHECK("SIOCGIFCONF small", ioctl(s, SIOCGIFCONF, &ifc));
    printf("small len: %d\n", ifc.ifc_len);
    CHECK("SIOCGIFCONF efault", ioctl(s, SIOCGIFCONF, BAD_PTR));

    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    CHECK("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
    printf("flags: UP=%d LOOPBACK=%d RUNNING=%d BROADCAST=%d\n", !!(r.ifr_flags & IFF_UP),
           !!(r.ifr_flags & IFF_LOOPBACK), !!(r.ifr_flags & IFF_RUNNING),
           !!(r.ifr_flags & IFF_BROADCAST));
    CHECK("SIOCGIFINDEX", ioctl(s, SIOCGIFINDEX, &r));
    printf("index: %d\n", r.ifr_ifindex);
    int idx = r.ifr_ifindex;
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = idx;
    CHECK("SIOCGIFNAME", ioctl(s, SIOCGIFNAME, &r));
    printf("name: %s\n", r.ifr_name);
    r.ifr_ifindex = 42;
    CHECK("SIOCGIFNAME 42", ioctl(s, SIOCGIFNAME, &r));
    strcpy(r.ifr_name, "lo");
    CHECK("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
    printf("mtu: %d\n", r.ifr_mtu);
    CHECK("SIOCGIFHWADDR", ioctl(s, SIOCGIFHWADDR, &r));
    printf("hw family: %d zero: %d\n", r.ifr_hwaddr.sa_family,
           memcmp(r.ifr_hwaddr.sa_data, "\0\0\0\0\0\0", 6) == 0);
    CHECK("SIOCGIFTXQLEN", ioctl(s, SIOCGIFTXQLEN, &r));
    printf("txqlen: %d\n", r.ifr_qlen);
    addr("SIOCGIFADDR", s, SIOCGIFADDR, "lo");
    addr("SIOCGIFNETMASK", s, SIOCGIFNETMASK, "lo");
    addr("SIOCGIFBRDADDR", s, SIOCGIFBRDADDR, "lo");
    addr("SIOCGIFADDR", s, SIOCGIFADDR, "eth0");
    addr("SIOCGIFADDR", s, SIOCGIFADDR, "lo:7");
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "eth0");
    CHECK("SIOCGIFFLAGS eth0", ioctl(s, SIOCGIFFLAGS, &r));
    CHECK("SIOCGIFINDEX eth0", ioctl(s, SIOCGIFINDEX, &r));
    CHECK("SIOCGIFFLAGS efault", ioctl(s, SIOCGIFFLAGS, BAD_PTR));
    strcpy(r.ifr_name, "lo");
    CHECK("SIOCGIFFLAGS on tcp6", ({
        int t = socket(AF_INET6, SOCK_STREAM, 0);
        ioctl(t, SIOCGIFFLAGS, &r);
    }));
    CHECK("SIOCGIFFLAGS on unix", ({
        int t = socket(AF_UNIX, SOCK_STREAM, 0);
        ioctl(t, SIOCGIFFLAGS, &r);
    }));
    printf("if_nametoindex lo: %u\n", if_nametoindex("lo"));
    printf("if_nametoindex eth0: %u\n", if_nametoindex("eth0"));
    char nb[IF_NAMESIZE];
    printf("if_indextoname 1: %s\n", if_indextoname(1, nb) ? nb : "NULL");

    FILE *f = fopen("/proc/net/dev", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (n < 2)
            printf("dev: %s", line);
        else {
            char *colon = strchr(line, ':');
            if (colon)
                *colon = 0;
            printf("dev iface: [%s]\n", line);
        }
        n++;
    }
    return 0;
}
