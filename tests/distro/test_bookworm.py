"""A Debian bookworm root (twaron.image_build.cached_root: mmdebstrap, minbase plus python3,
bash, perl, gcc, git...) used as --rootfs: everyday programs give the same stdout and exit
status inside twaron as in a chroot of the same root (a writable overlay of it, so neither
side changes the cached tree). Each row of README's table is one case here; each case
writes its row under .build/distro/table/ and `python tests/distro/test_bookworm.py`
prints the table.

Marked slow: the root is built on first use (a minute or two, from Debian's archive), and
gcc and python3 take a while under emulation."""

from __future__ import annotations

import json
import sys
import time

import pytest

import twaron
from twaron.build import build_dir

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root",
       "LANG": "C.UTF-8"}  # fmt: skip
TABLE = build_dir("distro") / "table"

pytestmark = pytest.mark.slow

C_PROGRAM = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    int v[10] = {5, 3, 9, 1, 7, 2, 8, 6, 4, 0};
    qsort(v, 10, sizeof v[0], cmp);
    for (int i = 0; i < 10; i++) printf("%d ", v[i]);
    char *s = strdup("twaron");
    printf("\n%s %zu %.6f\n", s, strlen(s), sqrt(2.0));
    free(s);
    return 3;
}
"""

MAKEFILE = ("all: out.txt\n\tcat out.txt\nout.txt: a.txt b.txt\n\tcat $^ > $@\n"
            "%.txt:\n\techo $* > $@\n")

PY_SUBPROCESS = """
import subprocess
print(subprocess.run(["echo", "hi"], capture_output=True).stdout)
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(len(p.communicate(b"x" * 200000)[0]), p.returncode)
print(subprocess.call(["sh", "-c", "exit 3"]))
print(subprocess.run("echo $((6*7)) | tr 4 X", shell=True, capture_output=True, text=True).stdout)
"""

PY_THREADING = """
import queue, threading
q, lock, total = queue.Queue(), threading.Lock(), [0]
def work(n):
    for i in range(1000):
        with lock:
            total[0] += i
    q.put(n)
ts = [threading.Thread(target=work, args=(n,)) for n in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(total[0], sorted(q.get() for _ in ts))
ev = threading.Event(); threading.Timer(0.05, ev.set).start(); print(ev.wait(10))
b = threading.Barrier(3); r = []
def meet(): r.append(b.wait())
ts = [threading.Thread(target=meet) for _ in range(3)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(r))
"""

PY_MULTIPROCESSING = """
import multiprocessing as mp
def square(x): return x * x
def put(q): q.put("from child")
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print(pool.map(square, range(10)))
    q = mp.Queue(); p = mp.Process(target=put, args=(q,)); p.start()
    print(q.get(timeout=60)); p.join(); print(p.exitcode)
    v = mp.Value("i", 0); lock = mp.Lock()
    with lock: v.value += 5
    print(v.value)
"""

PY_HASHLIB = """
import hashlib, hmac
d = b"twaron" * 1000
for n in ("md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b"):
    print(n, hashlib.new(n, d).hexdigest())
print(hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1000).hex())
print(hmac.new(b"k", d, "sha256").hexdigest())
"""

PY_SQLITE = """
import sqlite3
db = sqlite3.connect("/tmp/t.db")
db.execute("create table t(a integer primary key, b text)")
db.executemany("insert into t(b) values (?)", [(c,) for c in "hello"])
db.commit()
print(db.execute("select count(*), group_concat(b, '') from t").fetchone())
print(db.execute("select b from t where a > 2 order by b").fetchall())
print(sqlite3.sqlite_version_info >= (3, 0, 0))
"""

GIT = """cd /tmp && git init -q -b main r && cd r
git config user.email dev@example.org && git config user.name Dev
export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
echo hi > f && git add f && git commit -q -m first
echo more >> f && git commit -q -am second
git log --format='%H %an %s'
git status --short; git diff HEAD~1 --stat; git rev-parse HEAD:f
"""



def _python(script: str) -> str:
    return f"cat > /tmp/s.py <<'EOF'\n{script}\nEOF\npython3 /tmp/s.py"


CASES: dict[str, str] = {
    "bash": 'declare -A m=([a]=1 [b]=2); for k in "${!m[@]}"; do echo "$k=${m[$k]}"; done '
            '| sort; echo "${BASH_VERSINFO[0]}" $((6 * 7)); [[ foo == f* ]] && echo glob; '
            'printf "%05.1f\\n" 3.14159; set -o pipefail; false | true; echo $?; '
            'a=(x y z); echo "${#a[@]} ${a[*]:1}"; read -r w <<< "here string"; echo "$w"',
    "ls -l": "ls -l --time-style=full-iso /usr/bin | head -60; ls -ln /etc | head -40",
    "stat": "stat -c '%n %s %a %A %U %G %h %F %y %z' /etc/passwd /usr/bin/ls /bin /usr/lib "
            "/etc/hostname",
    "sort": "printf 'b\\na\\nC\\n10\\n9\\nb\\n' > /tmp/s; sort /tmp/s; sort -n /tmp/s; "
            "sort -u /tmp/s; LC_ALL=C sort -r /tmp/s; seq 1 2000 | sort -R | sort -n | md5sum",
    "date": "date -u -d @1700000000; date -u -d '2024-02-29 12:00' +%s; "
            "date -u -d @0 '+%A %B %j %Y-%m-%dT%H:%M:%S'; date -u -d '1 day' >/dev/null && echo ok",
    "id": "id; id -un; id -G; id -u nobody; whoami",
    "ps": "ps -eo pid,ppid,comm; ps -o comm= -p 1; ps -p $$ -o pid=",
    "python3 subprocess": _python(PY_SUBPROCESS),
    "python3 threading": _python(PY_THREADING),
    "python3 multiprocessing": _python(PY_MULTIPROCESSING),
    "python3 hashlib": _python(PY_HASHLIB),
    "python3 sqlite3": _python(PY_SQLITE),
    "perl": "perl -e 'my %h = (a => 1, b => 2); print join(\",\", map {\"$_=$h{$_}\"} sort keys "
            "%h), \"\\n\"; printf \"%.5f\\n\", atan2(1, 1) * 4; print scalar(reverse \"hello\"),"
            " \"\\n\"; open(my $f, \">\", \"/tmp/p\") or die; print $f \"x\\n\" x 3; close $f; "
            "print -s \"/tmp/p\", \"\\n\"; my @w = split /,/, \"c,a,b\"; "
            "print \"@{[sort @w]}\\n\"'",
    "gawk": "printf '3 c\\n1 a\\n2 b\\n' | gawk '{s += $1; a[$2] = $1} END {n = asorti(a, b); "
            "for (i = 1; i <= n; i++) print b[i], a[b[i]]; print s; printf \"%.4f\\n\", sin(1); "
            "print toupper(\"x\") gensub(/o/, \"0\", \"g\", \"foo\"); "
            "print strftime(\"%Y\", 0, 1)}'",
    "sqlite3": "sqlite3 /tmp/t.db \"create table t(a, b); insert into t values (1, 'x'), (2, 'y'); "
               "select a, b from t order by a desc; select sum(a), count(*) from t;\"; "
               "sqlite3 /tmp/t.db .schema",
    "tar/xz/gzip": "cd /tmp && mkdir d && seq 1 20000 > d/n && cp /etc/passwd d/ && "
                   "tar cf d.tar d && xz -k d.tar && gzip -k d.tar && rm -r d && "
                   "tar xJf d.tar.xz && md5sum d/n d/passwd && rm -r d && tar xzf d.tar.gz && "
                   "md5sum d/n && xz -t d.tar.xz && gzip -t d.tar.gz && tar tf d.tar | sort && "
                   "gzip -dc d.tar.gz | cmp - d.tar && xz -dc d.tar.xz | cmp - d.tar && echo ok",
    "gcc": f"cd /tmp && cat > h.c <<'EOF'\n{C_PROGRAM}\nEOF\n"
           "gcc -O2 -Wall -o h h.c -lm && ./h; echo status $?",
    "git": GIT,
    # The sleep: file times come from the coarse clock (one tick, 4 ms), so a native touch
    # right after make can give a.txt the same mtime as out.txt and make -n sees nothing to do.
    "make": f"mkdir /tmp/mk && cd /tmp/mk && cat > Makefile <<'EOF'\n{MAKEFILE}EOF\n"
            "make && make && sleep 0.1 && touch a.txt && make -n | head -3 && make -j2 -B | sort",
}  # fmt: skip


@pytest.fixture(scope="module")
def bookworm():
    from twaron.image_build import BuildError, cached_root
    from twaron.native import native_possible

    ok, why = native_possible()
    if not ok:
        pytest.skip(why)
    try:
        return cached_root()
    except BuildError as e:
        pytest.skip(f"the bookworm root cannot be built here: {e}")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(CASES))
def test_bookworm_program_as_in_chroot(bookworm, name):
    from twaron.native import run_chrooted

    argv = ["/bin/bash", "-c", CASES[name]]
    start = time.monotonic()
    n = run_chrooted(bookworm, argv, env=ENV, overlay=True, tmpfs_tmp=True, timeout=300)
    native_s = time.monotonic() - start
    start = time.monotonic()
    r = twaron.run(argv, rootfs=str(bookworm), env=ENV, memory="1G", platform="unicorn",
                   timeout=600)  # fmt: skip
    twaron_s = time.monotonic() - start
    same = (r.returncode, r.stdout) == (n.returncode, n.stdout)
    TABLE.mkdir(parents=True, exist_ok=True)
    (TABLE / f"{name.replace('/', '_').replace(' ', '_')}.json").write_text(json.dumps({
        "name": name, "same": same, "status": [n.returncode, r.returncode],
        "seconds": [round(native_s, 2), round(twaron_s, 1)], "lines": n.stdout.count(b"\n")}))
    assert not r.oopses
    assert n.returncode == 0, n.stderr.decode()
    assert r.stdout.decode() == n.stdout.decode(), r.stderr.decode()
    assert r.returncode == n.returncode, r.stderr.decode()


def table() -> str:
    """README's table, from the rows the last run wrote."""
    rows = [json.loads((TABLE / f"{n.replace('/', '_').replace(' ', '_')}.json").read_text())
            for n in CASES if (TABLE / f"{n.replace('/', '_').replace(' ', '_')}.json").exists()]
    out = ["| program | same stdout and status as the chroot | lines | native | twaron (Unicorn) |",
           "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        out.append(f"| {r['name']} | {'yes' if r['same'] else 'NO'} | {r['lines']} | "
                   f"{r['seconds'][0]:.1f} s | {r['seconds'][1]:.1f} s |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
