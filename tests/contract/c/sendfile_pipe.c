/* sendfile with a pipe: as input it is refused (EINVAL; ESPIPE with an offset) so that
 * BusyBox's copy loop (tar -x reading gunzip's pipe) falls back to read/write; as output it
 * works. */
#include "contract.h"
#include <sys/sendfile.h>

int main(void)
{
    enter_workdir("sendfile_pipe");
    int p[2];
    if (pipe(p) != 0)
        return 99;
    CHECK("write pipe", write(p[1], "hello pipe\n", 11));
    int out = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    off_t off = 0;
    CHECK("sendfile from pipe", sendfile(out, p[0], NULL, 4096));
    CHECK("sendfile from pipe with offset", sendfile(out, p[0], &off, 4096));
    char buf[32] = {0};
    CHECK("pipe data still there", read(p[0], buf, sizeof buf));
    printf("%s", buf);
    put_file("in", "0123456789", 10, 0644);
    int in = open("in", O_RDONLY);
    CHECK("sendfile file to pipe", sendfile(p[1], in, NULL, 100));
    CHECK("sendfile file to pipe at offset", sendfile(p[1], in, &off, 4));
    CHECK("offset moved", off);
    memset(buf, 0, sizeof buf);
    CHECK("read back", read(p[0], buf, sizeof buf));
    printf("%s\n", buf);
    return 0;
}
