"""fs/locks.py's POSIX range arithmetic against a byte-by-byte model: random lock, unlock,
upgrade and downgrade requests of three owners must leave each owner's bytes exactly as the
model says, with the owner's locks sorted, disjoint and merged as Linux keeps them."""

from __future__ import annotations

import random

import pytest

from twaron.arch.x86_64.constants import F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX
from twaron.errors import KernelError
from twaron.fs import locks

SIZE = 24


class FakeInode:
    def __init__(self) -> None:
        self.flctx = None


def _bytes_of(ctx: locks.LockContext, owner: object) -> list[int]:
    out = [F_UNLCK] * (SIZE + 1)  # the last slot stands for "everything past SIZE"
    for fl in ctx.posix:
        if fl.owner is owner:
            for b in range(fl.start, min(fl.end, SIZE) + 1):
                out[b] = fl.type
    return out


def _check_shape(ctx: locks.LockContext) -> None:
    owners: list[object] = []
    for fl in ctx.posix:
        if not owners or owners[-1] is not fl.owner:
            assert fl.owner not in owners, "an owner's locks are not together"
            owners.append(fl.owner)
    for owner in owners:
        mine = [fl for fl in ctx.posix if fl.owner is owner]
        for a, b in zip(mine, mine[1:], strict=False):
            assert a.end < b.start, "overlapping or unsorted"
            if a.type == b.type:
                assert a.end + 1 < b.start, "adjacent locks of one type not merged"


@pytest.mark.parametrize("seed", range(30))
def test_posix_ranges_match_a_byte_model(seed: int) -> None:
    rng = random.Random(seed)
    manager = locks.LockManager()
    inode = FakeInode()
    owners = [object(), object(), object()]
    model = {id(o): [F_UNLCK] * (SIZE + 1) for o in owners}
    for _ in range(200):
        owner = rng.choice(owners)
        type_ = rng.choice((F_RDLCK, F_WRLCK, F_UNLCK))
        start = rng.randrange(SIZE)
        end = OFFSET_MAX if rng.random() < 0.15 else rng.randrange(start, SIZE)
        top = SIZE if end == OFFSET_MAX else end
        req = locks.FileLock(type_, start, end, owner, 1, None, locks.FL_POSIX)
        blocked = type_ != F_UNLCK and any(
            model[id(o)][b] != F_UNLCK and (type_ == F_WRLCK or model[id(o)][b] == F_WRLCK)
            for o in owners if o is not owner for b in range(start, top + 1)
        )  # fmt: skip
        try:
            locks.posix_lock(manager, inode, req, wait=False)
            assert not blocked
        except KernelError:
            assert blocked
            continue
        for b in range(start, top + 1):
            model[id(owner)][b] = type_
        ctx = inode.flctx
        if ctx is None:  # nothing was ever locked
            assert type_ == F_UNLCK
            continue
        _check_shape(ctx)
        for o in owners:
            assert _bytes_of(ctx, o) == model[id(o)]
