"""--rootfs DIR: the host directory is the lower layer of an overlay (fs/overlayfs.py).

Each case runs the same commands natively in a chroot of a copy of the tree and inside
twaron over the tree (stdout and status must be identical, as Linux overlayfs would show
them), then checks the host tree was not written."""

from __future__ import annotations

from pathlib import Path

import twaron
from twaron.native import run_chrooted

import harness
from .conftest import ENV, snapshot

HERE = Path(__file__).resolve().parent

READ = r"""cd /data
ls -l --full-time . sub | sed 's/  */ /g'
cat a.txt a.link sym sub/deep/d.txt
stat -c '%n %h %s %a %u %g %Y %F' a.txt a.link b.txt sub sym null2
stat -c '%t %T' null2
readlink sym; [ "$(stat -c %i a.txt)" = "$(stat -c %i a.link)" ] && echo hardlinked
find /data | sort
"""

CHANGE = r"""cd /data
i1=$(stat -c %i a.txt)
echo more >> a.txt; cat a.txt a.link
[ "$i1" = "$(stat -c %i a.txt)" ] && echo ino-stable-after-copy-up
[ "$(stat -c %i a.txt)" = "$(stat -c %i a.link)" ] && echo hardlink-kept
stat -c '%h' a.txt
chmod 600 b.txt; chown 5:6 b.txt; stat -c '%a %u %g %s %Y' b.txt
touch -d @5 a.link; stat -c %Y a.txt
rm sub/c.txt; ls sub
rm -r sub/deep; ls -a sub
mkdir sub/deep; ls -a sub/deep; echo new > sub/deep/e; ls sub/deep
mv b.txt sub/b2; ls . sub; cat sub/b2
i2=$(stat -c %i sub)
mv sub sub2; ls sub2 sub2/deep; cat sub2/b2
[ "$i2" = "$(stat -c %i sub2)" ] && echo dir-ino-stable-after-rename
ln sub2/b2 b3; stat -c %h b3 sub2/b2
rmdir sub2 2>&1 | sed 's/.*: //'
rm -rf sub2; ls
echo x > sym; cat a.txt a.link
ln -s nowhere s2; readlink s2
mknod p1 p; ls -l p1 | cut -c1
: > a.txt; wc -c a.link
mkdir -p x/y/z; echo deep > x/y/z/f; cat x/y/z/f
cd /; rm -rf /data; ls / | tr '\n' ' '; echo
ls /data 2>&1 | sed 's/.*: //'
"""


def _both(trees, argv, platform="unicorn"):
    lower, native = trees
    before = snapshot(lower)
    r = twaron.run(argv, rootfs=str(lower), env=ENV, platform=platform, timeout=120)
    n = run_chrooted(native, argv, env=ENV)
    assert not r.oopses
    assert r.stdout.decode() == n.stdout.decode(), r.stderr.decode()
    assert r.returncode == n.returncode
    assert snapshot(lower) == before, "the host tree was written"
    return r


def test_lower_tree_reads_as_in_chroot(trees):
    r = _both(trees, ["/bin/sh", "-c", READ])
    assert b"hardlinked" in r.stdout


def test_changes_copy_up_and_whiteout_as_in_chroot(trees):
    r = _both(trees, ["/bin/sh", "-c", CHANGE])
    assert b"dir-ino-stable-after-rename" in r.stdout


def test_xattrs_and_inode_numbers(trees, twaron_platform):
    probe = harness.build_or_skip("overlay_probe", HERE / "c" / "overlay_probe.c", 60.0)
    lower, native = trees
    for root in trees:
        (root / "probe").write_bytes(probe.read_bytes())
        (root / "probe").chmod(0o755)
    r = _both(trees, ["/probe"], twaron_platform)
    assert b"getxattr /data/a.txt user.color: blue" in r.stdout


def test_boot_does_not_read_the_tree(tmp_path):
    """A tree too large to copy into 64 MiB of guest memory boots: nothing is read at boot."""
    from twaron.native import prepare_root

    prepare_root(tmp_path)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(40):
        (big / f"f{i}").write_bytes(bytes(2 << 20))
    r = twaron.run(["/bin/sh", "-c", "ls /big | wc -l; head -c 3 /big/f7 | wc -c"],
                   rootfs=str(tmp_path), memory="64M", timeout=60)  # fmt: skip
    assert (r.returncode, r.stdout) == (0, b"40\n3\n"), r.stderr


def test_rwf_nowait_as_on_a_linux_overlay(trees, twaron_platform):
    """preadv2/pwritev2's RWF_NOWAIT on --rootfs files, lower and new: natively on a real
    overlay of the tree (Linux 6.18's overlayfs opens no file FMODE_NOWAIT: EOPNOTSUPP for
    both, where its ext4 lower layer would read) and in twaron over the tree."""
    prog = harness.build_or_skip("rwf_nowait_files", HERE / "c" / "rwf_nowait_files.c", 60.0)
    lower, _ = trees
    (lower / "probe").write_bytes(prog.read_bytes())
    (lower / "probe").chmod(0o755)
    before = snapshot(lower)
    argv = ["/probe", "/data", "/data/a.txt"]
    r = twaron.run(argv, rootfs=str(lower), env=ENV, platform=twaron_platform, timeout=120)
    n = run_chrooted(lower, argv, env=ENV, overlay=True)
    assert not r.oopses
    assert r.stdout.decode() == n.stdout.decode(), r.stderr.decode()
    assert "existing: read: -1 EOPNOTSUPP" in r.stdout.decode().splitlines()
    assert snapshot(lower) == before, "the host tree was written"
