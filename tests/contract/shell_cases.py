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
    ShellCase("proc_net_unix_header", "head -1 /proc/net/unix; readlink /proc/net"),
    ShellCase("busybox_applet", "busybox echo via busybox; /bin/busybox true && echo ok"),
]

# ---- issue 3: the categories of shared/notes/busybox-categories.md -------------------------
# Natively the shell is pid 1 of its own pid namespace (harness.py), as in twaron, so $$, $PPID
# of a child and /proc/1 are deterministic. Directory listings that depend on readdir order
# go through sort; no times, sizes of directories or block counts.
DATE = "touch -d '2021-03-04 05:06:07'"
CASES += [
    # 1. file operations
    ShellCase("ln_hard", "cd /tmp && echo x > a && ln a b && stat -c '%h %s' a b && "
                         "echo y >> b && cat a && rm a && stat -c %h b"),
    ShellCase("chmod_stat", "cd /tmp && touch f && chmod 640 f && stat -c '%a %A' f && "
                            "chmod u+x,o+r f && stat -c '%a %A' f && chmod -w f && stat -c %a f"),
    ShellCase("ls_l_fixed", f"mkdir /tmp/d && cd /tmp/d && echo hello > f && {DATE} f && "
                            f"ln -s f l && {DATE} -h l 2>/dev/null; chmod 600 f; "
                            "ls -l f | tr -s ' '; ls -ld /tmp/d | cut -c1-10; ls -l l | cut -c1-10"),  # noqa: E501
    ShellCase("ls_flags", "mkdir /tmp/d && cd /tmp/d && touch .hidden b a c && ls && ls -a && "
                          "ls -1 -r && ls -A | wc -l && ls -d /tmp/d"),
    ShellCase("touch_truncate", "cd /tmp && touch e && stat -c %s e && truncate -s 1000 e && "
                                "stat -c %s e && truncate -s 10 e && wc -c < e && "
                                "od -An -c e | tr -s ' '"),
    ShellCase("dd_skip_seek", "cd /tmp && printf 0123456789 > f && dd if=f bs=1 skip=3 count=4 "
                              "2>/dev/null; echo; printf XY | dd of=f bs=1 seek=2 conv=notrunc "
                              "2>/dev/null; cat f; echo; dd if=/dev/zero of=z bs=1k count=5 2>&1 "
                              "| head -2; wc -c < z"),
    ShellCase("tee_append", "cd /tmp && echo hi | tee a b > /dev/null && cat a b && "
                            "echo more | tee -a a && cat a"),
    ShellCase("rmdir_rm", "mkdir -p /tmp/r/s && rmdir /tmp/r 2>&1; rmdir /tmp/r/s /tmp/r && "
                          "ls /tmp/r 2>&1; touch /tmp/q && rm /tmp/q && rm /tmp/q 2>&1; "
                          "rm -f /tmp/q; echo rc=$?"),
    ShellCase("mv_cases", "cd /tmp && mkdir a b && echo 1 > a/f && echo 2 > b/f && mv a/f b/f && "
                          "cat b/f && ls a && mv b c && ls c && mv c/f . && cat f && "
                          "mv nothere x 2>&1; echo rc=$?"),
    ShellCase("cp_r_a", "cd /tmp && mkdir -p s/t && echo deep > s/t/f && ln -s t/f s/l && "
                        "cp -r s d && cat d/t/f && cp -a s e && readlink e/l && cat e/l && "
                        "cp s/t/f s/t/g && cmp s/t/f s/t/g && echo same"),
    ShellCase("stat_types", "cd /tmp && touch f && mkdir d && ln -s f l && mkfifo p && "
                            "stat -c '%n %F' f d l p /dev/null && stat -L -c %F l"),
    ShellCase("mkfifo_rw", "mkfifo /tmp/p && { echo through fifo > /tmp/p & } && cat /tmp/p; wait"),
    ShellCase("head_tail_bytes", "seq 100 > /tmp/s && head -c 10 /tmp/s | od -An -c | tr -s ' ' && "
                                 "tail -c 8 /tmp/s | tr '\\n' ,; echo; head -n -95 /tmp/s"),
    ShellCase("du_names", "mkdir -p /tmp/du/a/b && touch /tmp/du/a/f /tmp/du/a/b/g && "
                          "du -a /tmp/du | awk '{print $2}' | sort"),
    ShellCase("realpath_readlink_f", "mkdir -p /tmp/x/y && ln -s /tmp/x/y /tmp/ly && "
                                     "cd /tmp/ly && pwd && pwd -P && readlink -f /tmp/ly/../y && "
                                     "realpath /tmp/x/./y/.."),
    # 2. text processing
    ShellCase("grep_flags", "printf 'One\\ntwo\\nthree\\nTWO too\\n' > /tmp/t && "
                            "grep -i two /tmp/t && grep -n t /tmp/t && grep -w two /tmp/t && "
                            "grep -E 'e{2}|^O' /tmp/t && grep -o 'o' /tmp/t | wc -l && "
                            "grep -q three /tmp/t && echo q && grep -l two /tmp/t /dev/null"),
    ShellCase("grep_r", "mkdir -p /tmp/g/s && echo needle > /tmp/g/s/a && echo hay > /tmp/g/b && "
                        "grep -r needle /tmp/g && grep -rc needle /tmp/g | sort"),
    ShellCase("sed_more", "seq 10 | sed -n '3,5p'; seq 5 | sed '/3/,$d'; "
                          "echo 'a-b-c' | sed 's/-/+/g'; echo abc | sed 'y/abc/xyz/'; "
                          "echo 'hello world' | sed -E 's/(\\w+) (\\w+)/\\2 \\1/'; "
                          "printf 'x\\ny\\n' > /tmp/s && sed -i 's/x/X/' /tmp/s && cat /tmp/s"),
    ShellCase("awk_more", "printf 'a:1\\nb:2\\nc:3\\n' | awk -F: '{s+=$2; n[$1]=$2} "
                          "END {print NR, s; print n[\"b\"]; printf \"%05.2f\\n\", s/NR}'; "
                          "echo 'x y z' | awk '{print NF, $NF, length($0)}'; "
                          "awk 'BEGIN {for (i=1;i<=3;i++) printf \"%d \", i*i; print \"\"}'"),
    ShellCase("sort_keys", "printf 'b 2\\na 10\\nc 1\\na 10\\n' > /tmp/s && sort -k2 -n /tmp/s && "
                           "sort -u /tmp/s && sort -t' ' -k1,1 -k2nr /tmp/s && sort -nr -k2 /tmp/s "
                           "| head -1"),
    ShellCase("uniq_flags", "printf 'a\\na\\nb\\nc\\nc\\nc\\nd\\n' | uniq -d; "
                            "printf 'a\\na\\nb\\nc\\n' | uniq -u; printf 'A\\na\\n' | uniq -i"),
    ShellCase("cut_paste", "printf 'a\\tb\\tc\\n1\\t2\\t3\\n' | cut -f2; printf '1\\n2\\n' > /tmp/a && "  # noqa: E501
                           "printf 'x\\ny\\n' > /tmp/b && paste /tmp/a /tmp/b && "
                           "paste -d, -s /tmp/a"),
    ShellCase("diff_cases", "printf '1\\n2\\n3\\n' > /tmp/a && printf '1\\nTWO\\n3\\n4\\n' > /tmp/b "  # noqa: E501
                            "&& diff -u /tmp/a /tmp/b | tail -n +3; echo rc=$?; "
                            "diff /tmp/a /tmp/a; echo same=$?; diff -q /tmp/a /tmp/b; echo $?"),
    ShellCase("misc_text", "seq 3 | tac; echo abc | rev; printf 'a\\nb\\n' | nl; "
                           "echo 'aaaa bbbb cccc' | fold -w 5; printf 'a\\tb\\n' | expand -t 4; "
                           "echo hello | wc -m; echo one two three | wc -w"),
    ShellCase("tr_classes", "echo 'Hello, World 123' | tr -d '[:digit:]'; "
                            "echo 'Hello' | tr '[:lower:]' '[:upper:]'; echo aabbcc | tr -s abc; "
                            "echo hello | tr -c 'l\\n' '.'"),
    ShellCase("strings_od", "printf 'ab\\0\\001hello\\0world!\\n' > /tmp/b && strings /tmp/b && "
                            "od -c /tmp/b"),
    # 3. shell features
    ShellCase("subshell_scope", "x=1; (x=2; echo in $x); echo out $x; "
                                "(cd /tmp; pwd); pwd; ( (echo nested; exit 4) ); echo $?"),
    ShellCase("cmdsubst_nested", "echo $(echo a $(echo b $(echo c))); echo `echo back`tick; "
                                 "n=$(printf 'x\\n\\n\\n'); echo \"[$n]\"; echo $(exit 3) $?"),
    ShellCase("heredoc_forms", "x=val; cat <<'E'\nno $x expansion\nE\ncat <<-E\n\tstrip $x\n\tE\n"
                               "cat <<E | tr a-z A-Z\npiped $x\nE"),
    ShellCase("globs_more", "mkdir /tmp/g && cd /tmp/g && touch a1 a2 b1 .dot 'sp ace' && "
                            "echo a?; echo [ab]1; echo *1; echo nomatch*; echo *' '*; "
                            "echo .*; for f in *; do echo \"<$f>\"; done"),
    ShellCase("while_read", "printf 'a 1\\nb 2\\nc 3\\n' | while read name n; do "
                            "echo \"$n:$name\"; done; printf 'x:y:z\\n' | "
                            "{ IFS=: read a b c; echo $c$b$a; }; "
                            "while read -r line; do echo \"[$line]\"; done <<E\nback\\\\slash\nE"),
    ShellCase("case_patterns", "for w in apple Banana 42 x.tar.gz ''; do case $w in "
                               "[a-z]*) echo lower;; [A-Z]*) echo upper;; [0-9]*) echo digit;; "
                               "*.gz|*.bz2) echo gz;; *) echo other;; esac; done"),
    ShellCase("trap_exit", "trap 'echo exiting' EXIT; echo body; exit 3"),
    ShellCase("trap_signal", "trap 'echo got USR1' USR1; kill -USR1 $$; echo after; "
                             "trap - USR1; trap 'echo term' TERM; kill -TERM $$; echo end"),
    ShellCase("trap_subshell", "trap 'echo child trap' EXIT; (trap 'echo sub exit' EXIT; exit 2); "
                               "echo rc=$?"),
    ShellCase("functions", "f() { local v=$1; echo \"f $v $#\"; return 7; }; f a b; echo $?; "
                           "g() { echo g; f inner; }; g; v=outer; f x; echo ${v}"),
    ShellCase("param_expansion", "v=/a/b/c.tar.gz; echo ${v##*/} ${v%%.*} ${v#*/} ${v%.*}; "
                                 "echo ${#v} ${u:-def} ${u:=set} $u ${v:+alt}; s=hello; "
                                 "echo ${s:1:3} ${s/l/L} ${s//l/L}"),
    ShellCase("positional", "set -- a 'b c' d; echo $#; echo $2; shift; echo $1; "
                            "for a in \"$@\"; do echo \"<$a>\"; done; echo \"$*\""),
    ShellCase("redirections", "cd /tmp && exec 3>f && echo via3 >&3 && exec 3>&- && cat f && "
                              "{ echo out; echo err >&2; } > o 2>&1 && cat o && "
                              "echo x 2>/dev/null >&2 | wc -c; cat < f > g && cat g; "
                              "exec 4<>rw; echo rw >&4; cat rw"),
    ShellCase("logic_ops", "true && echo and; false || echo or; false && echo no; ! false && "
                           "echo not; { false; true; } && echo group; set -e; (false); echo unreached"),  # noqa: E501
    ShellCase("eval_read", "eval 'a=1; b=$((a+1))'; echo $a $b; cmd='echo evaluated'; eval $cmd; "
                           "read x y <<E\n1 2 3\nE\necho $x/$y"),
    ShellCase("background_wait", "(exit 5) & p=$!; wait $p; echo rc=$?; sleep 0.1 & wait; "
                                 "echo all; (echo bg-out) & wait"),
    ShellCase("pipeline_status", "false | true; echo $?; true | false; echo $?; "
                                 "set -o pipefail; false | true; echo $?"),
    ShellCase("sh_dash_c", "sh -c 'echo $0 $1 $2' zero one two; sh -c 'exit 9'; echo $?; "
                           "echo 'echo from stdin; exit 2' | sh; echo $?"),
    ShellCase("script_file", "printf '#!/bin/sh\\necho script $1\\nexit 3\\n' > /tmp/s.sh && "
                             "chmod +x /tmp/s.sh && /tmp/s.sh arg; echo $?; . /tmp/s.sh dot"),
    # 4. processes
    ShellCase("pid_is_1", "echo $$; sh -c 'echo $PPID'; cat /proc/1/comm; "
                          "[ $$ = $(echo $$) ] && echo same-in-subst"),
    ShellCase("ps_comm", "ps -o comm > /tmp/p; cat /tmp/p; ps -o pid,ppid,comm > /tmp/q; "
                        "grep ' sh$' /tmp/q | tr -s ' '"),
    ShellCase("kill_child", "sleep 10 & kill $!; wait $! 2>/dev/null; echo rc=$?; sleep 10 & "
                            "kill -9 $!; wait $! 2>/dev/null; echo rc=$?; kill -0 $$ && echo alive"),  # noqa: E501
    ShellCase("kill_l", "kill -l 9; kill -l 15; kill -l | head -3 | tr -s ' \\t' ' '"),
    ShellCase("kill_missing", "kill 12345 2>&1; echo rc=$?"),
    ShellCase("env_cases", "env | sort; FOO=bar env | grep FOO; env -u HOME sh -c 'echo h=$HOME'; "
                           "export X=1; sh -c 'echo X=$X'"),
    ShellCase("xargs_more", "seq 7 | xargs -n 3 echo; printf 'a b\\nc\\n' | xargs -I{} echo '<{}>'; "  # noqa: E501
                            "echo | xargs echo empty; printf 'x\\0y\\0' | xargs -0 -n1 echo"),
    ShellCase("setsid_cmd", "setsid sh -c 'echo in new session; s=$(cut -d\" \" -f6 /proc/$$/stat); "  # noqa: E501
                          "[ $s = $$ ] && echo leader; [ $PPID = 1 ] && echo parent-1'; echo rc=$?"),  # noqa: E501
    ShellCase("timeout_cmd", "timeout 1 sleep 5; echo rc=$?; timeout 5 true; echo rc=$?",
              timeout=60),
    ShellCase("exit_signals", "sh -c 'kill -TERM $$'; echo $?; sh -c 'kill -KILL $$'; echo $?; "
                              "sh -c 'kill -INT $$'; echo $?"),
    ShellCase("proc_children", "sleep 5 & a=$!; sleep 5 & b=$!; ls /proc > /tmp/l; "
                               "grep -c '^[0-9]' /tmp/l; kill $a $b; wait; echo done"),
    # 5. system information
    ShellCase("uname_flags", "uname -o; uname -s -m; uname -a | awk '{print $1, $NF}'"),
    ShellCase("id_groups", "id -G; id -Gn; groups; id -u nobody; logname 2>/dev/null; echo ok"),
    ShellCase("date_fixed", "date -u -d @0; date -u -d @86400 +%Y-%m-%d; "
                            "TZ=UTC date -d '2020-02-29 12:00' +%j%a; date +%s | grep -c '^[0-9]*$'"),  # noqa: E501
    ShellCase("uptime_shape", "uptime | grep -c 'load average'; cut -d' ' -f2 /proc/uptime | "
                              "grep -c '^[0-9.]*$'"),
    ShellCase("true_false", "true; echo $?; false; echo $?; ! true; echo $?; test; echo $?"),
    ShellCase("which_type", "which sh ls; type echo | grep -c builtin; command -v cat"),
    # 6. file I/O edge cases
    ShellCase("large_file", "dd if=/dev/zero bs=65536 count=64 2>/dev/null | tr '\\0' a > /tmp/big "
                            "&& wc -c < /tmp/big && md5sum < /tmp/big && cp /tmp/big /tmp/big2 && "
                            "cmp /tmp/big /tmp/big2 && echo same && tail -c 3 /tmp/big; echo"),
    ShellCase("large_random_copy", "head -c 1000000 /dev/urandom > /tmp/r && cat /tmp/r | cat > /tmp/r2 "  # noqa: E501
                                   "&& cmp /tmp/r /tmp/r2 && echo same && wc -c < /tmp/r2"),
    ShellCase("empty_files", "cd /tmp && : > e && wc -c < e && cat e && test -s e || echo empty; "
                             "touch t && test -f t && echo file; echo -n > n; od -c n; head -1 e; "
                             "echo rc=$?"),
    ShellCase("special_names", "mkdir /tmp/s && cd /tmp/s && touch -- -dash 'a b' 'c$d' \"q'u\" "
                               "'ünï' '*' && ls -1 | sort && rm -- -dash '*' && ls | wc -l && "
                               "cat 'a b' && echo > \"$(printf 'new\\nline')\" && ls | wc -l"),
    ShellCase("deep_tree", "d=/tmp/deep; for i in $(seq 40); do d=$d/d$i; done; mkdir -p $d && "
                           "echo bottom > $d/f && cat $d/f && find /tmp/deep -type d | wc -l && "
                           "cd $d && pwd | tr -cd / | wc -c && rm -rf /tmp/deep && "
                           "ls /tmp/deep 2>&1"),
    ShellCase("long_names", "cd /tmp && n=$(printf '%0255d' 0) && touch $n && ls | grep -c $n; "
                            "touch ${n}1 2>&1 | sed 's/ .*:/ NAME:/'; echo rc=$?"),
    ShellCase("many_files", "mkdir /tmp/m && cd /tmp/m && for i in $(seq 300); do : > f$i; done; "
                            "ls | wc -l; ls | sort | head -3; rm f1*; ls | wc -l"),
    ShellCase("sparse_file", "cd /tmp && dd if=/dev/zero of=s bs=1 count=1 seek=999999 "
                             "2>/dev/null && wc -c < s && od -An -tx1 s | sort -u | tr -s ' '"),
    ShellCase("append_concurrent", "cd /tmp && for i in 1 2 3; do (echo a$i >> log) & done; wait; "
                                   "sort log"),
    ShellCase("dev_full", "echo x > /dev/full; echo rc=$?; head -c 4 /dev/full | od -An -tx1"),
    # 7. archives and compression
    ShellCase("tar_roundtrip", f"mkdir -p /tmp/t/src/sub && cd /tmp/t && echo one > src/a && "
                               f"echo two > src/sub/b && {DATE} src/a src/sub/b && "
                               "tar cf x.tar src && tar tf x.tar | sort && mkdir out && "
                               "tar xf x.tar -C out && cat out/src/a out/src/sub/b && "
                               "tar tvf x.tar src/a | tr -s ' ' | cut -d' ' -f1,3-"),
    ShellCase("tar_gz", "mkdir -p /tmp/t/d && cd /tmp/t && seq 1000 > d/n && tar czf x.tgz d && "
                        "rm -r d && tar xzf x.tgz && md5sum d/n && tar tzf x.tgz | sort && "
                        "gunzip -c x.tgz | tar t | sort"),
    ShellCase("gzip_roundtrip", "cd /tmp && seq 5000 > f && md5sum < f && gzip f && test ! -e f && "
                                "gzip -t f.gz && echo ok && gunzip f.gz && md5sum < f && "
                                "gzip -c f | zcat | md5sum && echo hi | gzip | gzip -d"),
    ShellCase("bzip2_lzop", "cd /tmp && seq 2000 > f && bzip2 -c f | bunzip2 | md5sum && "
                          "lzop -c f | lzop -dc | md5sum && md5sum < f"),
    ShellCase("cpio_roundtrip", "mkdir -p /tmp/c/in/s && cd /tmp/c/in && echo A > a && "
                                "echo B > s/b && find . | sort | cpio -o -H newc 2>/dev/null > "
                                "../x.cpio && cd .. && cpio -t < x.cpio 2>/dev/null && mkdir o && "
                                "cd o && cpio -id < ../x.cpio 2>/dev/null && cat a s/b"),
    # 8. find and xargs
    ShellCase("find_basic", "mkdir -p /tmp/f/a/b && cd /tmp/f && touch a/x.c a/b/y.c a/z.h && "
                            "find . -name '*.c' | sort && find . -type d | sort && "
                            "find . -maxdepth 1 | sort && find . -mindepth 2 -type f | sort"),
    ShellCase("find_exec", "mkdir -p /tmp/f/s && cd /tmp/f && echo 1 > s/a && echo 22 > s/b && "
                           "find . -type f -exec cat {} \\; | sort && "
                           "find . -type f -exec wc -c {} + | sort && find . -name a -exec rm {} \\; && "  # noqa: E501
                           "find . | sort"),
    ShellCase("find_xargs0", "mkdir -p '/tmp/f/sp ace' && cd /tmp/f && touch 'sp ace/a b' c && "
                             "find . -type f -print0 | xargs -0 ls -1 | sort && "
                             "find . -type f | xargs -n1 basename | sort"),
    ShellCase("find_preds", "mkdir -p /tmp/f/e /tmp/f/skip && cd /tmp/f && printf 1234 > four && "
                            "touch skip/x && find . -empty | sort && find . -size -2c -type f | "
                            "sort && find . -path ./skip -prune -o -type f -print | sort && "
                            "find . -perm 644 -type f | sort"),
    # 9. arithmetic
    ShellCase("arith_more", "a=7; b=3; echo $((a/b)) $((a%b)) $((-a/b)) $((a**2)) $((a>b?a:b)) "
                            "$((0x1f)) $((010)) $((a&b)) $((a|b)) $((a^b)) $((~a)) $((!a)); "
                            "i=0; : $((i+=5)); echo $i $((i++)) $i"),
    ShellCase("expr_more", "expr 5 + 3 \\* 2; expr \\( 5 + 3 \\) \\* 2; expr abcdef : 'ab\\(..\\)'; "  # noqa: E501
                           "expr index hello l; expr substr hello 2 3; expr 3 \\< 10; "
                           "expr 0 \\| 5; expr 0 \\& 5; echo $?"),
    ShellCase("seq_printf", "seq -s, 1 5; seq -w 8 11; seq 10 -3 1 | tr '\\n' ' '; echo; "
                            "printf '%o %X %e %c %5.2s|\\n' 8 255 1234.5 xyz abc; "
                            "printf '%b\\n' 'a\\tb'; printf '%s\\n' a b c; printf '%%\\n'"),
    ShellCase("test_ops", "[ abc = abc ] && echo eq; [ -z '' ] && echo z; [ -n x ] && echo n; "
                          "[ 10 -ge 9 ] && echo ge; [ a \\< b ] && echo lt; [ ! -e /nope ] && "
                          "echo not; [ -x /bin/busybox -a -r /etc/passwd ] && echo and; "
                          "[ 1 -eq 2 -o 2 -eq 2 ] && echo or; test 1 -gt 2; echo $?"),
    ShellCase("bc_factor", "echo '2^64' | bc; echo 'scale=4; 22/7' | bc; factor 360; "
                           "echo '3 4 * p' | dc"),
    # 10. workload patterns
    ShellCase("many_pipes", "seq 2000 | cat | cat | cat | cat | cat | cat | cat | cat | cat | cat "
                            "| cat | cat | cat | cat | cat | cat | cat | cat | cat | cat | wc -l"),
    ShellCase("rapid_fork", "i=0; while [ $i -lt 60 ]; do /bin/true; i=$((i+1)); done; echo $i; "
                            "for i in $(seq 40); do (echo $i); done | wc -l"),
    ShellCase("long_pipeline", "seq 1 500 | awk '{print $1 * 3}' | grep 7 | sed 's/7/seven/' | "
                               "sort -r | head -20 | tr a-z A-Z | cut -c1-6 | sort | uniq | "
                               "wc -l; seq 300 | sort -R 2>/dev/null | sort -n | tail -1"),
    ShellCase("parallel_jobs", "for i in $(seq 15); do (echo job$i > /tmp/j$i) & done; wait; "
                               "cat /tmp/j* | sort -V 2>/dev/null | wc -l; ls /tmp | grep -c j"),
    ShellCase("fork_exec_chain", "sh -c 'sh -c \"sh -c \\\"echo deep; exit 4\\\"; exit \\$((\\$? + 1))\"'; "  # noqa: E501
                                 "echo $?"),
    ShellCase("yes_head", "yes | head -5; yes abc | head -1000 | wc -c"),
    ShellCase("big_pipe_transfer", "dd if=/dev/zero bs=4096 count=500 2>/dev/null | cat | "
                                   "dd bs=1000 2>/dev/null | wc -c"),
    # 11. /proc and /sys
    ShellCase("proc_version", "grep -c '^Linux version' /proc/version"),
    ShellCase("proc_meminfo", "grep -c '^MemTotal:' /proc/meminfo; "
                              "awk '/^MemTotal:/ {print ($2 > 0), $3} /^MemFree:/ {print ($2 > 0)}' "  # noqa: E501
                              "/proc/meminfo"),
    ShellCase("proc_uptime", "awk '{print NF, ($1 >= 0), ($2 >= 0)}' /proc/uptime"),
    ShellCase("proc_pid_cmdline", "sh -c 'tr \"\\0\" \" \" < /proc/$$/cmdline; echo' x y; "
                                  "sh -c 'cat /proc/self/cmdline' a b | tr '\\0' '|'; echo"),
    ShellCase("proc_1_cmdline", "cat /proc/1/cmdline | tr '\\0' '|'; echo"),
    ShellCase("proc_self_status", "grep -E '^(Name|State|PPid|Uid)' /proc/self/status | tr '\\t' ' '"),  # noqa: E501
    ShellCase("proc_self_stat", "cut -d' ' -f2,3,5 /proc/self/stat; "
                                "sh -c 'cut -d\" \" -f4 /proc/$$/stat'"),
    ShellCase("proc_self_fd", "ls /proc/self/fd | sort; exec 5</etc/passwd; readlink /proc/$$/fd/5"),  # noqa: E501
    ShellCase("proc_exe_cwd", "cd /tmp && readlink /proc/self/cwd; readlink /proc/self/exe; "
                                "readlink /proc/self/root"),
    ShellCase("proc_missing", "cat /proc/99999/status 2>&1; echo rc=$?; ls -d /proc/self /proc/1"),
    # 12. devices
    ShellCase("dev_zero_urandom", "head -c 100 /dev/urandom | wc -c; head -c 5 /dev/zero | od -An -tx1; "  # noqa: E501
                                  "dd if=/dev/urandom bs=64 count=4 2>/dev/null | wc -c; "
                                  "a=$(head -c 16 /dev/urandom | md5sum); b=$(head -c 16 /dev/urandom "  # noqa: E501
                                  "| md5sum); [ \"$a\" != \"$b\" ] && echo differ"),
    ShellCase("dev_fd", "echo piped | cat /dev/fd/0; echo in | cat /dev/stdin; "
                        "echo to-stderr > /dev/stderr; exec 3</etc/group; head -1 /dev/fd/3; "
                        "(echo via-fd1 > /dev/fd/1) | cat; echo x > /dev/stdout"),
    ShellCase("dev_null_types", "ls -l /dev/null | cut -c1; stat -c '%t,%T' /dev/null /dev/zero; "
                                "wc -c < /dev/null; cat /dev/null /dev/null | wc -c"),
    # 13. hashing and encoding
    ShellCase("hashes", "echo -n abc > /tmp/h; md5sum /tmp/h; sha1sum /tmp/h; sha512sum /tmp/h; "
                        "sha3sum /tmp/h 2>/dev/null | cut -c1-16; crc32 /tmp/h"),
    ShellCase("md5sum_check", "cd /tmp && seq 10 > a && md5sum a > sums && md5sum -c sums && "
                              "echo x >> a && md5sum -c sums 2>&1; echo rc=$?"),
    ShellCase("base64_binary", "head -c 300 /bin/busybox | base64 | base64 -d | cmp - /bin/busybox "
                               "2>&1 | cut -c1-20; printf '\\377\\000\\001' | base64; "
                               "echo '/wAB' | base64 -d | od -An -tx1"),
    ShellCase("od_hexdump", "printf 'AB\\n\\001' | od -An -tx1; printf 'ABC' | od -An -c; "
                            "printf 'hello' | hexdump -C; printf 'hi' | xxd; printf 'ab' | od -x"),
    ShellCase("uuencode", "echo hello | uuencode -m name | uudecode -o /dev/stdout"),
    # 14. /proc/PID/status signal masks (BusyBox's ash-signals/sigquit_exec reads SigIgn)
    ShellCase("proc_status_sigmasks",
              "trap '' INT; trap 'echo' USR1; grep -E '^(SigPnd|ShdPnd|Sig(Ign|Cgt)):' "
              "/proc/$$/status; exec grep -E '^Sig(Ign|Cgt):' /proc/self/status"),
    # 15. networking on lo (BusyBox's nc, httpd and wget; /proc/net)
    ShellCase("nc_listen_connect",
              # the client reads a file: from a pipe, the listener's FIN (its stdin is
              # /dev/null) could reach the client before echo ran, and it would send nothing
              "echo 'hello over tcp' > /tmp/msg; nc -l -p 7601 > /tmp/got & "
              "for i in $(seq 100); do "
              "nc 127.0.0.1 7601 < /tmp/msg 2>/dev/null && break; sleep 0.2; done; "
              "wait; cat /tmp/got; nc 127.0.0.1 7699 </dev/null; echo rc=$?"),
    # The server's sleep outlasts a slow start of the client's loop (a loaded host, natively:
    # with 1 s the server could reach EOF and quit before the client connected).
    ShellCase("nc_both_ways",
              "(echo from-server; sleep 3) | nc -l -p 7602 > /tmp/s & for i in $(seq 100); do "
              "(echo from-client; sleep 1) | nc 127.0.0.1 7602 "
              "2>/dev/null && break; sleep 0.2; done; wait; cat /tmp/s"),
    ShellCase("httpd_wget",
              "mkdir -p /tmp/www && echo '<p>served by httpd</p>' > /tmp/www/index.html && "
              "seq 100000 > /tmp/www/big && httpd -p 7603 -h /tmp/www && for i in $(seq 100); "
              "do wget -q -O - http://127.0.0.1:7603/ 2>/dev/null && "
              "break; sleep 0.2; done; wget -q -O - http://localhost:7603/big | md5sum; "
              "wget -q -O - http://127.0.0.1:7603/nope; echo rc=$?"),
    ShellCase("proc_net_headers",
              "head -1 /proc/net/tcp | tr -s ' '; head -1 /proc/net/tcp6 | tr -s ' '; "
              "head -1 /proc/net/udp | tr -s ' '; head -1 /proc/net/udp6 | tr -s ' '; "
              "head -2 /proc/net/dev; cut -d: -f1 /proc/net/dev | tail -n +3"),
    ShellCase("proc_net_listeners",
              "httpd -p 127.0.0.1:7604 -h /tmp && httpd -p 7605 -h /tmp && for i in 1 2 3 4 5 "
              "6 7 8 9 10; do grep -q ':1DB5 ' /proc/net/tcp6 && grep -q ':1DB4 ' /proc/net/tcp "
              "&& break; sleep 0.2; done; awk '$4 == \"0A\" {print $2, $3, $4, $5}' "
              "/proc/net/tcp /proc/net/tcp6 | sort"),
    ShellCase("proc_sys_net",
              "cd /proc/sys/net && cat ipv4/ip_local_port_range ipv4/ip_unprivileged_port_start "
              "core/somaxconn ipv4/ping_group_range ipv4/tcp_fin_timeout core/rmem_default "
              "core/wmem_default"),
    ShellCase("ip_ifconfig_lo",
              "ip link; ip addr; ip -4 route show table local; ip route; ifconfig lo | "
              "head -3; ifconfig -a | cut -c1-10 | sort -u; cat /proc/net/if_inet6"),
]
