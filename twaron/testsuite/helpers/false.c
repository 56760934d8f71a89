/* /bin/false for the suites' tree: a program of its own, as on a Debian host (coreutils).
 * runtest's "start-stop-daemon with both -x and -a" needs /bin/false not to be BusyBox:
 * -a renames argv[0], and BusyBox would look for an applet of that name. */
int main(void)
{
    return 1;
}
