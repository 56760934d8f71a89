/* Overlay facts a shell cannot show: user.* extended attributes of lower files (and their
 * copy-up), st_dev/st_ino stability across copy-up, rename and hard links. Run natively in a
 * chroot of a copy of the tree and inside twaron over the tree; only booleans and values
 * from the tree are printed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case ENODATA: return "ENODATA";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ERANGE: return "ERANGE";
    default: return "other";
    }
}

static void get(const char *path, const char *name) {
    char buf[64];
    ssize_t n = getxattr(path, name, buf, sizeof buf - 1);
    if (n < 0) {
        printf("getxattr %s %s: %s\n", path, name, en(errno));
        return;
    }
    buf[n] = 0;
    printf("getxattr %s %s: %s\n", path, name, buf);
}

static void list(const char *path) {
    char buf[256];
    ssize_t n = listxattr(path, buf, sizeof buf);
    printf("listxattr %s:", path);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
        if (strncmp(buf + i, "user.", 5) == 0) printf(" %s", buf + i);
    printf("\n");
}

int main(void) {
    struct stat root, a, a2, l, sub, sub2;
    stat("/", &root);
    stat("/data/a.txt", &a);
    printf("same st_dev as /: %d\n", a.st_dev == root.st_dev);
    get("/data/a.txt", "user.color");
    get("/data/a.link", "user.color");
    get("/data/b.txt", "user.color");
    get("/data/sub", "user.dir");
    list("/data/a.txt");
    printf("setxattr: %d\n", setxattr("/data/a.txt", "user.size", "big", 3, 0));
    get("/data/a.txt", "user.size");
    get("/data/a.link", "user.size");
    printf("removexattr: %d\n", removexattr("/data/a.txt", "user.color"));
    get("/data/a.txt", "user.color");
    int r = lsetxattr("/data/sym", "user.x", "1", 1, 0);
    printf("symlink user.x: %d %s\n", r, en(errno));
    int fd = open("/data/a.txt", O_WRONLY | O_APPEND);
    write(fd, "x\n", 2);
    close(fd);
    stat("/data/a.txt", &a2);
    stat("/data/a.link", &l);
    printf("ino stable after copy-up: %d\n", a.st_ino == a2.st_ino && a.st_dev == a2.st_dev);
    printf("hard link same ino: %d nlink %d\n", a2.st_ino == l.st_ino, (int)l.st_nlink);
    stat("/data/sub", &sub);
    printf("rename dir: %d\n", rename("/data/sub", "/data/sub2"));
    stat("/data/sub2", &sub2);
    printf("ino stable after rename: %d\n", sub.st_ino == sub2.st_ino);
    get("/data/sub2", "user.dir");
    r = stat("/data/sub", &sub);
    printf("old name: %d %s\n", r, en(errno));
    return 0;
}
