"""`twaron image build --debian SUITE`: a Debian root filesystem made by mmdebstrap.

Nothing of a package manager is written here: mmdebstrap (Debian's own tool, installed by
`make install`) resolves, downloads and unpacks the packages with apt and dpkg, variant
minbase (Essential: yes plus apt) plus --include. The archive is the one apt uses on the
host: the `deb` entries of /etc/apt/sources.list.d/*.sources (deb822) and
/etc/apt/sources.list, with the host's codename replaced by SUITE (bookworm-updates and
bookworm-security follow). With no such entry, deb.debian.org.

Afterwards the files a container runtime writes into a container are added, as docker
does: /etc/hostname (twaron's default hostname), /etc/hosts (localhost and that name) and
/etc/resolv.conf (the host's, as docker copies it when no DNS is given).

`cached_root(suite, packages)` is the build tests use: one root per (suite, sorted package
list, this module's SHA-256) under .build/distro/, built once even when several processes
(xdist workers) ask at the same moment (a lock file), and renamed into place only when
complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from twaron.build import build_dir
from twaron.config import DEFAULT_HOSTNAME as _HOSTNAME

DEFAULT_HOSTNAME = _HOSTNAME.decode()

MMDEBSTRAP = "mmdebstrap"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
VARIANT = "minbase"
SOURCES_DIR = Path("/etc/apt/sources.list.d")
SOURCES_LIST = Path("/etc/apt/sources.list")
DONE = ".twaron-built"  # written last in a cached root: its build finished
BUILD_LOG = "build.log"

# The root `twaron test python` and the distribution tests use.
BOOKWORM_PACKAGES = (
    "python3", "libpython3.11-testsuite", "bash", "coreutils", "procps", "perl", "gawk",
    "sqlite3", "tar", "xz-utils", "gzip", "gcc", "libc6-dev", "git", "make",
)  # fmt: skip


class BuildError(RuntimeError):
    """The root could not be built (the message says why)."""


@dataclass(frozen=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]

    def line(self) -> str:
        return f"deb {self.uri} {self.suite} {' '.join(self.components)}"


# --------------------------------------------------------------------------- the host's apt


def _deb822_stanzas(text: str) -> Iterable[dict[str, str]]:
    stanza: dict[str, str] = {}
    key = ""
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif raw[0] in " \t" and key:
            stanza[key] += " " + raw.strip()
        elif ":" in raw:
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def _one_line_entries(text: str) -> Iterable[AptSource]:
    for raw in text.splitlines():
        line = re.sub(r"\[[^]]*\]", "", raw.split("#", 1)[0]).split()
        if len(line) >= 4 and line[0] == "deb":
            yield AptSource(line[1], line[2], tuple(line[3:]))


def host_sources(sources_dir: Path = SOURCES_DIR,
                 sources_list: Path = SOURCES_LIST) -> list[AptSource]:  # fmt: skip
    """The host's enabled binary (`deb`) entries, in apt's order."""
    out: list[AptSource] = []
    if sources_list.is_file():
        out += _one_line_entries(sources_list.read_text(errors="replace"))
    if sources_dir.is_dir():
        for path in sorted(sources_dir.iterdir()):
            if path.suffix == ".list":
                out += _one_line_entries(path.read_text(errors="replace"))
            elif path.suffix == ".sources":
                for st in _deb822_stanzas(path.read_text(errors="replace")):
                    if "deb" not in st.get("types", "").split():
                        continue
                    if st.get("enabled", "yes").lower() == "no":
                        continue
                    comps = tuple(st.get("components", "main").split())
                    for uri in st.get("uris", "").split():
                        out += [AptSource(uri, s, comps) for s in st.get("suites", "").split()]
    return out


def host_codename() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return ""
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.M)
    return m.group(1) if m else ""


def mirrors_for(suite: str, sources: list[AptSource] | None = None,
                codename: str | None = None) -> list[str]:  # fmt: skip
    """mmdebstrap's MIRROR arguments: the host's Debian entries for SUITE (the host's
    codename replaced by SUITE: bookworm-security becomes trixie-security), components as
    the host has them. deb.debian.org when the host names no Debian archive."""
    sources = host_sources() if sources is None else sources
    codename = host_codename() if codename is None else codename
    out = []
    for src in sources:
        base, sep, pocket = src.suite.partition("-")
        if codename and base == codename:
            base = suite
        if base != suite:
            continue
        if "debian" not in src.uri:  # a third-party archive (nodesource, google...) is not Debian's
            continue
        line = AptSource(src.uri, base + sep + pocket, src.components).line()
        if line not in out:
            out.append(line)
    return out or [f"deb {DEFAULT_MIRROR} {suite} main"]


# --------------------------------------------------------------------------- building


def runtime_files(root: Path, hostname: str = DEFAULT_HOSTNAME) -> None:
    """What docker writes into every container: /etc/hostname, /etc/hosts, /etc/resolv.conf."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for name in ("hostname", "hosts", "resolv.conf"):
        p = etc / name
        if p.is_symlink():  # never follow a link the root made out of the root
            p.unlink()
    (etc / "hostname").write_text(hostname + "\n")
    (etc / "hosts").write_text(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
        f"ff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n")  # fmt: skip
    try:
        resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        resolv = "nameserver 8.8.8.8\n"
    (etc / "resolv.conf").write_text(resolv)
    for name in ("hostname", "hosts", "resolv.conf"):
        os.chmod(etc / name, 0o644)  # as docker's (mmdebstrap's /etc/hostname may be 0755)


def mmdebstrap_argv(suite: str, out: Path, packages: Iterable[str] = (),
                    mirrors: list[str] | None = None) -> list[str]:  # fmt: skip
    exe = shutil.which(MMDEBSTRAP)
    if exe is None:
        raise BuildError("mmdebstrap not installed (apt-get install mmdebstrap; make install)")
    argv = [exe, f"--variant={VARIANT}", "--mode=" + ("root" if os.geteuid() == 0 else "unshare"),
            "--format=directory"]  # fmt: skip
    pkgs = sorted(set(packages))
    if pkgs:
        argv.append("--include=" + ",".join(pkgs))
    # apt's lists and caches are of no use in a root that is only run: a smaller tree
    argv += ["--aptopt=Acquire::Languages \"none\"", "--dpkgopt=path-exclude=/usr/share/man/*",
             "--dpkgopt=path-exclude=/usr/share/locale/*",
             "--dpkgopt=path-include=/usr/share/locale/locale.alias"]  # fmt: skip
    return [*argv, suite, str(out), *(mirrors if mirrors is not None else mirrors_for(suite))]


def build(suite: str, out: Path, packages: Iterable[str] = (),
          log: Callable[[str], None] | None = None, stream=None) -> float:  # fmt: skip
    """Build the root into out (which must not exist or be empty); the seconds it took."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"{out} exists and is not empty")
    argv = mmdebstrap_argv(suite, out, packages)
    if log:
        log(" ".join(argv))
    start = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stream, stderr=stream)
    if p.returncode != 0:
        raise BuildError(f"mmdebstrap exited with status {p.returncode}")
    runtime_files(out)
    return time.monotonic() - start


# --------------------------------------------------------------------------- the cache


def cache_key(suite: str, packages: Iterable[str]) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(f"{suite}\0{','.join(sorted(set(packages)))}".encode())
    return h.hexdigest()[:16]


def cached_root(suite: str = "bookworm", packages: Iterable[str] = BOOKWORM_PACKAGES,
                log: Callable[[str], None] | None = None) -> Path:  # fmt: skip
    """The cached root for (suite, packages), built now unless it exists. Its directory
    holds rootfs/ and build.log (mmdebstrap's output and the build's seconds)."""
    packages = tuple(packages)
    top = build_dir("distro")
    top.mkdir(parents=True, exist_ok=True)
    home = top / f"{suite}-{cache_key(suite, packages)}"
    if (home / DONE).exists():
        return home / "rootfs"
    with open(top / f"{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it
        if (home / DONE).exists():
            return home / "rootfs"
        tmp = top / f"{home.name}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)  # an interrupted build
        tmp.mkdir()
        if log:
            log(f"building the {suite} root ({len(packages)} packages) into {home}")
        with open(tmp / BUILD_LOG, "w") as f:
            seconds = build(suite, tmp / "rootfs", packages, stream=f)
            f.write(f"\nbuilt in {seconds:.0f}s\n")
        (tmp / DONE).write_text(f"{seconds:.1f}\n")
        if home.exists():
            shutil.rmtree(home)
        os.rename(tmp, home)
        _drop_stale(top, suite, home)
    return home / "rootfs"


def _drop_stale(top: Path, suite: str, keep: Path) -> None:
    """Roots of the same suite built from another package list or builder (500 MB each)."""
    for old in top.glob(f"{suite}-*"):
        if old != keep and old.is_dir() and (old / DONE).exists():
            shutil.rmtree(old, ignore_errors=True)


def build_seconds(root: Path) -> float | None:
    """How long the cached root took to build (None if unknown)."""
    try:
        return float((Path(root).parent / DONE).read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- the command


def main(args) -> int:
    """`twaron image build --debian SUITE [--include PKG,...] -o DIR`."""
    packages = [p for p in (args.include or "").split(",") if p]
    try:
        seconds = build(args.debian, Path(args.output), packages,
                        log=lambda m: print(f"twaron: {m}", file=sys.stderr, flush=True))
    except BuildError as e:
        print(f"twaron image build: {e}", file=sys.stderr)
        return 1
    print(f"twaron: {args.output}: Debian {args.debian} ({VARIANT}"
          f"{' + ' + ','.join(packages) if packages else ''}) built in {seconds:.0f}s",
          file=sys.stderr)  # fmt: skip
    return 0
