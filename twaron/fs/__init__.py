"""The file system layer: VFS, tmpfs, devfs, procfs, the console, fd tables, root fs.

Importing the package registers the character devices (devfs fills vfs.CHRDEV_OPEN).
"""

from twaron.fs import devfs as devfs  # noqa: F401  (registers /dev/null & co)
