"""docker run's options for the first process: -u USER[:GROUP] and -w DIR.

Applied to PROGRAM's task before its execve (so exec's permission checks are the user's,
as in a container started with --user). Names are looked up in the guest's /etc/passwd and
/etc/group, as docker does in the image's; numbers need no entry (-u 1000 without one runs
as uid 1000, gid 0). A user found in /etc/passwd gets that entry's group, supplementary
groups from /etc/group, and its home as HOME unless HOME was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twaron.config import parse_user
from twaron.fs import tmpfs
from twaron.fs.volume import guest_dir

if TYPE_CHECKING:
    from twaron.process.task import Task


class UserNotFound(ValueError):
    """-u NAME with no such name in the guest's /etc/passwd (docker: "unable to find user")."""


def read_guest_file(root: Any, path: bytes) -> bytes:
    """A small file of the guest's tree (b"" if it is missing or not a regular file)."""
    p = tmpfs.resolve_internal(root, path.lstrip(b"/"))
    if p is None or not p.inode.is_reg or p.inode.mapping is None:
        return b""
    return bytes(p.inode.mapping.read(0, p.inode.size))


def _table(data: bytes) -> list[list[str]]:
    lines = data.decode(errors="replace").splitlines()
    return [line.split(":") for line in lines if line and not line.startswith("#")]


def resolve_user(root: Any, spec: str) -> tuple[int, int, list[int], str | None]:
    """(uid, gid, supplementary groups, home) for -u spec."""
    user, group = parse_user(spec)
    passwd = [e for e in _table(read_guest_file(root, b"/etc/passwd")) if len(e) >= 7]
    groups = [e for e in _table(read_guest_file(root, b"/etc/group")) if len(e) >= 4]
    entry = None
    if user.isdigit():
        uid = int(user)
        entry = next((e for e in passwd if e[2] == user), None)
    else:
        entry = next((e for e in passwd if e[0] == user), None)
        if entry is None:
            raise UserNotFound(f"unable to find user {user}: no matching entries in passwd file")
        uid = int(entry[2])
    gid = int(entry[3]) if entry is not None and entry[3].isdigit() else 0
    extra: list[int] = []
    if entry is not None:
        name = entry[0]
        extra = sorted({int(g[2]) for g in groups if g[2].isdigit() and name in g[3].split(",")})
    if group is not None:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((g for g in groups if g[0] == group), None)
            if found is None or not found[2].isdigit():
                raise UserNotFound(f"unable to find group {group}: no matching entries in "
                                   "group file")  # fmt: skip
            gid = int(found[2])
    home = entry[5] if entry is not None else None
    return uid, gid, extra, home


def apply(task: Task, config: Any) -> None:
    """Set the first process's credentials and working directory from the config.
    ValueError (UserNotFound) for an unknown name; KernelError if -w cannot be a directory."""
    root = task.fs.root
    if config.workdir:
        task.fs.cwd = guest_dir(root, config.workdir.encode())
    if config.user:
        uid, gid, extra, _home = resolve_user(root, config.user)
        c = task.cred
        c.uid = c.euid = c.suid = c.fsuid = uid
        c.gid = c.egid = c.sgid = c.fsgid = gid
        c.groups = extra


def user_home(root: Any, config: Any) -> str | None:
    """The home directory of -u's user in the guest's /etc/passwd (docker's HOME), if any."""
    if not config.user:
        return None
    try:
        return resolve_user(root, config.user)[3]
    except ValueError:
        return None
