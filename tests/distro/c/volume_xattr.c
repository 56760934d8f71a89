/* user.* extended attributes on a volume: read from the host, set and removed there; a
 * read-only volume refuses changes with EROFS. argv[1]: the rw volume, argv[2]: the ro one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

static const char *en(int e) {
    return e == EROFS ? "EROFS" : e == ENODATA ? "ENODATA" : e == EPERM ? "EPERM" : strerror(e);
}

int main(int argc, char **argv) {
    char path[256], buf[64];
    snprintf(path, sizeof path, "%s/f", argv[1]);
    ssize_t n = getxattr(path, "user.host", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("host attr: %zd %s\n", n, buf);
    printf("set: %d\n", setxattr(path, "user.guest", "g1", 2, 0));
    printf("remove host attr: %d\n", removexattr(path, "user.host"));
    n = getxattr(path, "user.host", buf, sizeof buf);
    printf("get removed: %zd %s\n", n, en(errno));
    printf("trusted kept in guest: %d\n", setxattr(path, "trusted.t", "1", 1, 0));
    n = getxattr(path, "trusted.t", buf, sizeof buf);
    printf("trusted read: %zd\n", n);
    snprintf(path, sizeof path, "%s/f", argv[2]);
    n = getxattr(path, "user.host", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("ro host attr: %zd %s\n", n, buf);
    int r = setxattr(path, "user.x", "1", 1, 0);
    printf("ro set: %d %s\n", r, en(errno));
    r = removexattr(path, "user.host");
    printf("ro remove: %d %s\n", r, en(errno));
    return 0;
}
