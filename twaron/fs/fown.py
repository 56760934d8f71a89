"""Who hears about an open file by signal (Linux's fown_struct): the owner set with F_SETOWN
(a process, or a process group), the signal set with F_SETSIG (0: SIGIO), and the dnotify
watches (F_NOTIFY) made through this open file, which go when it is closed."""

from __future__ import annotations

from typing import Any

from twaron.fs import fsnotify


class FileOwner:
    __slots__ = ("pid", "pgrp", "signum", "dnotify")

    def __init__(self) -> None:
        self.pid = 0  # 0: nobody
        self.pgrp = False  # pid names a process group (F_SETOWN with a negative id)
        self.signum = 0
        self.dnotify: list[fsnotify.Mark] = []

    def release(self) -> None:
        """The file is closed: its dnotify watches end (Linux's dnotify_flush)."""
        for mark in self.dnotify:
            fsnotify.remove_mark(mark)
        self.dnotify.clear()


def owner_of(f: Any) -> FileOwner:
    if f.owner is None:
        f.owner = FileOwner()
    owner: FileOwner = f.owner
    return owner
