"""A full tmpfs behaves as on Linux: ENOSPC at its size (half of guest memory by default,
--tmpfs-size), shown by statfs/df; the space comes back when files go."""

from __future__ import annotations

import subprocess
import sys

import twaron


def test_dd_fills_tmp_and_gets_enospc():
    """The issue's case: under --memory 256M dd used to fill the page cache until the OOM
    killer took it (137); Linux says "No space left on device" at 128 MiB."""
    script = ("df -k /tmp; dd if=/dev/zero of=/tmp/big bs=1M 2>&1; echo dd=$?; "
              "df -k /tmp; rm /tmp/big; df -k /tmp")
    r = twaron.run(["sh", "-c", script], memory="256M", timeout=300)
    lines = r.stdout.decode().splitlines()
    assert r.returncode == 0 and "dd=1" in lines
    assert "dd: error writing '/tmp/big': No space left on device" in lines
    dfs = [line.split() for line in lines if line.startswith("tmpfs")]
    assert [d[1] for d in dfs] == ["131072"] * 3  # 128 MiB in 1K blocks
    assert dfs[1][3] == "0" and dfs[1][4] == "100%"  # full
    assert dfs[0][2] == dfs[2][2]  # the space came back with rm


def test_tmpfs_size_option():
    script = ("dd if=/dev/zero of=/tmp/f bs=64k count=100 2>/dev/null; echo dd=$?; "
              "df -k / | tail -1; : > /tmp/f; df -k / | tail -1")
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--quiet", "--tmpfs-size", "4M",
                        "--", "sh", "-c", script], capture_output=True, timeout=120)  # fmt: skip
    out = p.stdout.decode().splitlines()
    assert p.returncode == 0 and out[0] == "dd=1"
    assert out[1].split()[1:5] == ["4096", "4096", "0", "100%"]
    assert out[2].split()[1] == "4096" and out[2].split()[3] != "0"  # truncate freed it


def test_root_that_does_not_fit():
    p = subprocess.run([sys.executable, "-m", "twaron", "run", "--tmpfs-size", "64K", "--",
                        "true"], capture_output=True, timeout=60)  # fmt: skip
    assert p.returncode == 2 and b"the tmpfs is full (--tmpfs-size)" in p.stderr
