"""BusyBox shell contract cases: ``sh -c SCRIPT`` natively (chroot) and inside twaron.

Only commands whose output is the same on any correct Linux kernel belong here: no
timestamps, pids, inode numbers, sizes of directories, or host-specific names.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ShellCase:
    id: str
    script: str
    stdin: bytes = b""
    compare_stderr: bool = True
    xfail: str | None = None  # expected to fail inside twaron until this lands
    timeout: float | None = None


CASES = [
    ShellCase("echo", "echo hello world"),
    ShellCase("echo_n", "echo -n no newline"),
    ShellCase("printf", "printf '%s=%d\\n' answer 42; printf '%05.1f|%-4s|%x\\n' 3.14159 ab 255"),
    ShellCase("true", "true"),
    ShellCase("false", "false"),
    ShellCase("exit_code", "exit 7"),
    ShellCase("status_var", "false; echo $?; true; echo $?"),
    ShellCase("uname_s", "uname -s; uname -m"),
    ShellCase("write_then_cat", "echo line1 > /tmp/f; echo line2 >> /tmp/f; cat /tmp/f"),
    ShellCase("wc_busybox", "wc -c /bin/busybox"),
    ShellCase("md5sum_busybox", "md5sum /bin/busybox"),
    ShellCase("head_dev_zero_od", "head -c 16 /dev/zero | od -An -tx1"),
    ShellCase("ls_root", "ls /"),
    ShellCase("ls_bin_head", "ls /bin | head -5"),
    ShellCase("basename_dirname", "basename /a/b/c.txt .txt; dirname /a/b/c.txt"),
    ShellCase("expr", "expr 6 \\* 7; expr 10 / 3; expr length hello; expr 1 = 2; echo $?"),
    ShellCase("arith", "echo $((3 + 4 * 5)) $((17 % 5)) $((1 << 10))"),
    ShellCase("seq", "seq 5; seq 2 3 11"),
    ShellCase("proc_self_cmdline", "cat /proc/self/cmdline | tr '\\0' ' '; echo"),
    ShellCase("sort", "printf 'pear\\napple\\nfig\\n10\\n9\\n' | sort; "
                      "printf '10\\n9\\n100\\n' | sort -n; printf 'a\\nb\\n' | sort -r"),
    ShellCase("grep", "printf 'apple\\nbanana\\ncherry\\napricot\\n' > /tmp/g; "
                      "grep ap /tmp/g; grep -c a /tmp/g; grep -v an /tmp/g; "
                      "grep zzz /tmp/g; echo status $?"),
    ShellCase("sed", "echo 'prefix middle suffix' | sed 's/prefix/PRE/;s/suffix/SUF/'; "
                     "printf '1\\n2\\n3\\n' | sed 2d"),
    ShellCase("tr", "echo hello | tr a-z A-Z; echo 'a  b   c' | tr -s ' '; echo abc | tr -d b"),
    ShellCase("cut", "echo a:b:c:d | cut -d: -f2,4; echo abcdef | cut -c2-4"),
    ShellCase("mkdir_p_ls", "mkdir -p /tmp/x/y/z && touch /tmp/x/y/z/f /tmp/x/a && "
                            "ls /tmp/x /tmp/x/y/z && ls -R /tmp/x"),
    ShellCase("ln_s_readlink", "ln -s /bin/busybox /tmp/bb && readlink /tmp/bb && "
                               "test -L /tmp/bb && echo is-link"),
    ShellCase("test_e", "test -e /bin/busybox && echo yes; test -e /nope || echo no; "
                        "test -d /tmp && echo dir; test -f /tmp || echo not-file; "
                        "[ 3 -lt 5 ] && echo lt"),
    ShellCase("pwd_cd", "pwd; cd /tmp && pwd; mkdir -p a/b && cd a/b && pwd; cd ../.. && pwd"),
    ShellCase("env_i", "env -i A=1 B=two env"),
    ShellCase("id", "id; id -u; id -g; id -un"),
    ShellCase("whoami", "whoami"),
    ShellCase("hostname_set", "hostname contract-host && hostname && uname -n"),
    ShellCase("pipeline", "seq 100 | grep 7 | wc -l"),
    ShellCase("subshell_cmdsubst",
              "x=$(echo inner); (echo sub $x); echo \"$(seq 3 | tr '\\n' ,)\""),
    ShellCase("heredoc", "cat <<EOF\nhere $((1+1))\ndoc\nEOF"),
    ShellCase("for_while_case", "for i in 1 2 3; do echo i$i; done; n=0; "
                                "while [ $n -lt 3 ]; do n=$((n+1)); done; echo n=$n; "
                                "case foo in f*) echo matched;; *) echo no;; esac"),
    ShellCase("stdin_cat", "cat; echo end", stdin=b"from stdin\nsecond\n"),
    ShellCase("stdin_read", "read a b; echo \"a=$a b=$b\"", stdin=b"first second third\n"),
    ShellCase("redirect_stderr", "ls /nonexistent 2>&1; echo status $?"),
    ShellCase("stderr_message", "cat /nonexistent; echo status $? >&2"),
    ShellCase("cp_mv_rm", "cd /tmp && echo data > a && cp a b && mv b c && rm a && ls && cat c"),
    ShellCase("wc_lines", "printf 'a b\\nc\\n' | wc; printf 'x\\n' | wc -l"),
    ShellCase("head_tail", "seq 20 > /tmp/s; head -3 /tmp/s; tail -2 /tmp/s; tail -n +19 /tmp/s"),
    ShellCase("uniq_sort", "printf 'b\\na\\nb\\nc\\na\\n' | sort | uniq -c"),
    ShellCase("sha256_base64", "echo -n abc | sha256sum; echo -n hello | base64; "
                               "echo aGVsbG8= | base64 -d; echo"),
    ShellCase("dd_zero", "dd if=/dev/zero bs=512 count=3 2>/dev/null | wc -c"),
    ShellCase("dev_null", "echo gone > /dev/null; cat /dev/null; echo done"),
    ShellCase("awk", "printf '1 2\\n3 4\\n' | awk '{s += $1 * $2} END {print s}'"),
    ShellCase("xargs", "printf 'a\\nb\\nc\\n' | xargs echo got"),
    ShellCase("glob", "mkdir -p /tmp/gl && cd /tmp/gl && touch b.c a.c x.h && echo *.c"),
    ShellCase("proc_self_exe", "readlink /proc/self/exe"),
    ShellCase("busybox_applet", "busybox echo via busybox; /bin/busybox true && echo ok"),
]
