"""What the three System V IPC families share (Linux's ipc/util.c): the permission record of
an object (kern_ipc_perm), the table of one family's objects with Linux's ids (index +
sequence * 32768, indexes given out cyclically), key lookup, ipcget's create-or-find rules,
ipcperms, and the ipc64_perm struct."""

from __future__ import annotations

import struct
from typing import Any

from twaron.arch.x86_64.constants import (
    IPC_CREAT,
    IPC_EXCL,
    IPC_MIN_CYCLE,
    IPC_PRIVATE,
    IPCMNI,
)
from twaron.arch.x86_64.errno import EACCES, EEXIST, EINVAL, ENOENT, ENOSPC, EPERM
from twaron.errors import KernelError

S_IRWXUGO = 0o777
S_IRUGO = 0o444
S_IWUGO = 0o222
S_IXUGO = 0o111
INVALID_ID = 0xFFFF_FFFF  # (uid_t)-1: not a valid uid or gid for IPC_SET
# struct ipc64_perm: key, uid, gid, cuid, cgid, mode, seq, 2 bytes of padding, 2 longs unused
IPC64_PERM = struct.Struct("<iIIIIIHxx4xQQ")
assert IPC64_PERM.size == 48


class KernPerm:
    """One object's identity and permissions (Linux's kern_ipc_perm)."""

    __slots__ = ("key", "id", "seq", "uid", "gid", "cuid", "cgid", "mode", "deleted")

    def __init__(self, key: int, mode: int) -> None:
        self.key = key
        self.id = -1
        self.seq = 0
        self.uid = self.gid = self.cuid = self.cgid = 0
        self.mode = mode & S_IRWXUGO
        self.deleted = False  # removed: an operation that held it fails EIDRM

    def pack(self) -> bytes:
        """struct ipc64_perm (kernel_to_ipc64_perm)."""
        return IPC64_PERM.pack(self.key, self.uid, self.gid, self.cuid, self.cgid, self.mode,
                               self.seq & 0xFFFF, 0, 0)  # fmt: skip


def ipcperms(perm: KernPerm, cred: Any, flag: int) -> bool:
    """Linux's ipcperms: may cred access the object with the rwx bits of flag (in any of
    the three positions)? Owner or creator: the user bits; in its group or its creator's:
    the group bits; else the others'. Root (CAP_IPC_OWNER) may do anything."""
    requested = (flag >> 6) | (flag >> 3) | flag
    granted = perm.mode
    if cred.euid in (perm.cuid, perm.uid):
        granted >>= 6
    elif _in_group(cred, perm.cgid) or _in_group(cred, perm.gid):
        granted >>= 3
    return not (requested & ~granted & 0o7) or cred.euid == 0


def check_perms(perm: KernPerm, cred: Any, flag: int) -> None:
    if not ipcperms(perm, cred, flag):
        raise KernelError(EACCES)


def _in_group(cred: Any, gid: int) -> bool:
    return cred.fsgid == gid or gid in cred.groups


def may_change(perm: KernPerm, cred: Any) -> None:
    """ipcctl_obtain_check: IPC_SET and IPC_RMID need the owner, the creator or root
    (CAP_SYS_ADMIN); EPERM otherwise."""
    if cred.euid not in (perm.cuid, perm.uid) and cred.euid != 0:
        raise KernelError(EPERM)


def update_perm(perm: KernPerm, uid: int, gid: int, mode: int) -> None:
    """ipc_update_perm (IPC_SET): the new owner and the low nine mode bits."""
    if uid == INVALID_ID or gid == INVALID_ID:
        raise KernelError(EINVAL)
    perm.uid, perm.gid = uid, gid
    perm.mode = (perm.mode & ~S_IRWXUGO) | (mode & S_IRWXUGO)


def stat_lookup(ids: IpcIds, cred: Any, id_: int, by_index: bool, check: bool) -> tuple[Any, int]:
    """The object IPC_STAT (by id) or *_STAT (by index: the call returns the id) and
    *_STAT_ANY (no read check) describe, and what the call returns."""
    obj = ids.by_index(id_) if by_index else ids.check(id_)
    if check:
        check_perms(obj.perm, cred, S_IRUGO)
    return obj, obj.perm.id if by_index else 0


def set_owner_mode(perm: KernPerm, cred: Any, raw: bytes) -> None:
    """IPC_SET from the caller's *id64_ds, whose ipc64_perm comes first: owner and mode."""
    may_change(perm, cred)
    _key, uid, gid, _cuid, _cgid, mode = struct.unpack_from("<iIIIII", raw)
    update_perm(perm, uid, gid, mode)


class IpcIds:
    """One family's objects (Linux's ipc_ids): by index, with Linux's id arithmetic."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # shmmni / semmni / msgmni
        self.objects: dict[int, Any] = {}  # index -> object (with .perm)
        self.keys: dict[int, Any] = {}  # key -> object, for the public ones
        self.seq = 0
        self.last_idx = -1
        self.next_idx = 0  # where the cyclic search for a free index starts (idr_next)

    @property
    def in_use(self) -> int:
        return len(self.objects)

    def add(self, obj: Any, cred: Any) -> int:
        """ipc_addid: a free index (cyclic, as idr_alloc_cyclic below Linux's bound), the
        caller as owner and creator; the new id."""
        if self.in_use >= self.limit:
            raise KernelError(ENOSPC)
        bound = min(max(self.in_use * 3 // 2, IPC_MIN_CYCLE), IPCMNI)
        idx = self._free_index(bound)
        if idx <= self.last_idx:
            self.seq = (self.seq + 1) % (1 << 16)  # ipcid_seq_max: INT_MAX >> 15
        self.last_idx = idx
        self.next_idx = idx + 1
        perm = obj.perm
        perm.seq = self.seq
        perm.id = self.seq * IPCMNI + idx
        perm.uid = perm.cuid = cred.euid
        perm.gid = perm.cgid = cred.egid
        self.objects[idx] = obj
        if perm.key != IPC_PRIVATE:
            self.keys[perm.key] = obj
        return perm.id

    def _free_index(self, bound: int) -> int:
        start = self.next_idx if self.next_idx < bound else 0
        for idx in [*range(start, bound), *range(0, start)]:
            if idx not in self.objects:
                return idx
        raise KernelError(ENOSPC)

    def remove(self, obj: Any) -> None:
        """ipc_rmid: the id and the key go; the object is marked deleted."""
        perm = obj.perm
        self.objects.pop(perm.id % IPCMNI, None)
        self.forget_key(obj)
        perm.deleted = True

    def forget_key(self, obj: Any) -> None:
        """ipc_set_key_private: no longer found by its key (a removed segment still attached)."""
        perm = obj.perm
        if perm.key != IPC_PRIVATE and self.keys.get(perm.key) is obj:
            del self.keys[perm.key]
        perm.key = IPC_PRIVATE

    def by_index(self, index: int) -> Any:
        """ipc_obtain_object_idr: the object at an index (xxx_STAT), EINVAL if none."""
        obj = self.objects.get(index % IPCMNI)
        if obj is None:
            raise KernelError(EINVAL)
        return obj

    def check(self, ident: int) -> Any:
        """ipc_obtain_object_check: the object with this exact id, EINVAL if none."""
        if ident < 0:
            raise KernelError(EINVAL)
        obj = self.objects.get(ident % IPCMNI)
        if obj is None or obj.perm.seq != (ident // IPCMNI) & 0xFFFF:
            raise KernelError(EINVAL)
        return obj

    def max_index(self) -> int:
        """ipc_get_maxidx: the highest index in use (0 when none: what IPC_INFO returns)."""
        if not self.objects:
            return 0
        if self.in_use == IPCMNI:
            return IPCMNI - 1
        return max(self.objects)

    def sorted(self) -> list[Any]:
        return [self.objects[i] for i in sorted(self.objects)]


def ipcget(ids: IpcIds, key: int, flg: int, cred: Any, new: Any, more_checks: Any = None) -> int:
    """ipcget: IPC_PRIVATE always makes a new object; a key finds its object (ENOENT without
    IPC_CREAT; EEXIST with IPC_CREAT|IPC_EXCL; then the family's checks and ipcperms on
    the mode bits of flg) or makes one with IPC_CREAT. new() makes and adds the object."""
    if key == IPC_PRIVATE:
        return new()
    obj = ids.keys.get(key)
    if obj is None:
        if not flg & IPC_CREAT:
            raise KernelError(ENOENT)
        return new()
    if flg & IPC_CREAT and flg & IPC_EXCL:
        raise KernelError(EEXIST)
    if more_checks is not None:
        more_checks(obj)
    check_perms(obj.perm, cred, flg)
    return obj.perm.id
