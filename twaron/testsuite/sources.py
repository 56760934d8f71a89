"""The BusyBox sources that hold the upstream test suites, for the installed BusyBox.

`apt-get source busybox=VERSION` (VERSION: the source version of the installed package that
owns /bin/busybox), cached under .build/busybox-suite/ after the first time. apt needs a
deb-src entry for the suites it already uses; `ensure_deb_src` adds one
(/etc/apt/sources.list.d/twaron-deb-src.sources, derived from the existing deb entries) when
the source package is unknown. `make install` runs `python -m twaron.testsuite.sources` so a
fresh clone has the sources before the tests run; the command does the same when needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from twaron.build import build_dir

HOST_BUSYBOX = "/bin/busybox"
DEB_SRC_FILE = Path("/etc/apt/sources.list.d/twaron-deb-src.sources")
SOURCES_DIR = Path("/etc/apt/sources.list.d")
SOURCES_LIST = Path("/etc/apt/sources.list")


class SourceError(RuntimeError):
    """The suites cannot be obtained (not Debian's BusyBox, no apt, no network...)."""


@dataclass(frozen=True)
class Installed:
    binary_package: str  # busybox-static
    source_package: str  # busybox
    source_version: str  # 1:1.35.0-4+deb12u1
    upstream: str  # 1.35.0

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9.+-]", "_", f"{self.source_package}-{self.source_version}")


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def installed(busybox: str = HOST_BUSYBOX) -> Installed:
    """Which Debian package (and source version) owns the BusyBox binary."""
    real = os.path.realpath(busybox)
    owner = None
    for path in dict.fromkeys((busybox, real)):
        p = _run(["dpkg-query", "-S", path])
        if p.returncode == 0 and p.stdout.strip():
            owner = p.stdout.split(":", 1)[0].split(",")[0].strip()
            break
    if owner is None:
        raise SourceError(f"{busybox} does not belong to a Debian package "
                          "(apt-get install busybox-static)")  # fmt: skip
    p = _run(["dpkg-query", "-W", "-f=${source:Package}\t${source:Version}\t"
              "${source:Upstream-Version}", owner])  # fmt: skip
    if p.returncode != 0:
        raise SourceError(f"dpkg-query {owner}: {p.stderr.strip()}")
    src, ver, upstream = p.stdout.split("\t")
    return Installed(owner, src, ver, upstream)


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def source_known(inst: Installed) -> bool:
    p = _run(["apt-cache", "showsrc", "--only-source", inst.source_package])
    versions = re.findall(r"^Version: (\S+)$", p.stdout, re.M)
    return inst.source_version in versions


def _deb_entries() -> str:
    """deb822 stanzas with Types: deb-src, one per existing `deb` entry."""
    stanzas: list[str] = []
    files = sorted(SOURCES_DIR.glob("*.sources")) if SOURCES_DIR.is_dir() else []
    for f in files:
        if f == DEB_SRC_FILE:
            continue
        for block in re.split(r"\n\s*\n", f.read_text(errors="replace")):
            lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
            fields = {}
            for ln in lines:
                if ":" in ln and not ln[0].isspace():
                    k, _, v = ln.partition(":")
                    fields[k.strip().lower()] = v.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            out = ["Types: deb-src"]
            for key in ("URIs", "Suites", "Components", "Signed-By"):
                if key.lower() in fields:
                    out.append(f"{key}: {fields[key.lower()]}")
            stanzas.append("\n".join(out))
    lists = [SOURCES_LIST] + (sorted(SOURCES_DIR.glob("*.list")) if SOURCES_DIR.is_dir() else [])
    for f in lists:
        if not f.is_file():
            continue
        for ln in f.read_text(errors="replace").splitlines():
            m = re.match(r"^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$", ln)
            if not m:
                continue
            opts, uri, suite, comps = m.groups()
            out = ["Types: deb-src", f"URIs: {uri}", f"Suites: {suite}"]
            if comps:
                out.append(f"Components: {comps}")
            signed = re.search(r"signed-by=(\S+?)[\s\]]", opts or "")
            if signed:
                out.append(f"Signed-By: {signed.group(1)}")
            stanzas.append("\n".join(out))
    return "\n\n".join(dict.fromkeys(stanzas))


def ensure_deb_src(inst: Installed, log=print) -> None:
    """Make `apt-get source` know the installed version: add deb-src entries if missing."""
    if source_known(inst):
        return
    if not DEB_SRC_FILE.exists():
        body = _deb_entries()
        if not body:
            raise SourceError("no deb entries in /etc/apt to derive a deb-src entry from")
        text = ("# Added by twaron's set-up: `twaron test busybox` needs "
                "`apt-get source busybox`.\n" + body + "\n")  # fmt: skip
        log(f"adding deb-src entries: {DEB_SRC_FILE}")
        if os.geteuid() == 0:
            DEB_SRC_FILE.write_text(text)
        else:
            p = subprocess.run([*_sudo(), "tee", str(DEB_SRC_FILE)], input=text,
                               capture_output=True, text=True)  # fmt: skip
            if p.returncode != 0:
                raise SourceError(f"cannot write {DEB_SRC_FILE}: {p.stderr.strip()}")
    log("apt-get update (for the deb-src entries)")
    p = _run([*_sudo(), "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-q"])
    if p.returncode != 0:
        raise SourceError(f"apt-get update failed:\n{p.stderr.strip()[-2000:]}")
    if not source_known(inst):
        raise SourceError(f"apt knows no source {inst.source_package}={inst.source_version} "
                          "even with deb-src entries")  # fmt: skip


def source_tree(inst: Installed | None = None, cache: Path | None = None, log=print) -> Path:
    """The unpacked source tree (with Debian's patches applied), fetched once and cached."""
    inst = inst or installed()
    cache = cache / "busybox-suite" if cache else build_dir("busybox-suite")
    dest = cache / inst.slug
    done = dest / ".complete"
    if done.exists():
        return dest / "src"
    if shutil.which("dpkg-source") is None:
        raise SourceError("dpkg-source not found (apt-get install dpkg-dev)")
    ensure_deb_src(inst, log)
    cache.mkdir(parents=True, exist_ok=True)
    log(f"apt-get source {inst.source_package}={inst.source_version}")
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        os.chmod(tmp, 0o755)  # apt's _apt user must be able to write when run as root
        p = _run(["apt-get", "source", "-q", "--only-source",
                  f"{inst.source_package}={inst.source_version}"], cwd=tmp)  # fmt: skip
        trees = [d for d in Path(tmp).iterdir() if d.is_dir() and (d / "testsuite").is_dir()]
        if p.returncode != 0 or len(trees) != 1:
            raise SourceError(f"apt-get source failed:\n{(p.stdout + p.stderr)[-2000:]}")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        os.replace(trees[0], dest / "src")
    done.write_text(f"{inst.source_package} {inst.source_version}\n")
    return dest / "src"


def main(argv: list[str] | None = None) -> int:
    """`python -m twaron.testsuite.sources`: fetch (or confirm) the cached sources."""
    del argv
    try:
        path = source_tree(log=lambda m: print(f"twaron: {m}", file=sys.stderr))
    except SourceError as e:
        print(f"twaron: busybox sources: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
