"""Sockets: the family-independent layer (socket.py) and the families (unix.py, ...).

Layout, as Linux's net/:
- `socket.py`: what every family shares. A `Socket` is the File (struct socket and its
  file: an inode in the kernel's sockfs, readiness through the wait layer); a `Sock` is the
  protocol's state behind it (struct sock), which a family subclasses, implementing its
  operations (bind, listen, accept, connect, sendmsg, recvmsg, shutdown, getname, poll, its
  own option levels). The SOL_SOCKET options, the send and receive timeouts, and the
  credentials and descriptors a message carries (scm) are there too.
- `unix.py`: AF_UNIX (stream, datagram, seqpacket; paths, abstract names, autobind,
  SCM_RIGHTS, SCM_CREDENTIALS, /proc/net/unix).
- The system calls decode and check their arguments once for every family, in
  syscalls/net.py.

A family registers itself in socket.FAMILIES (family number -> Family) when its module is
imported; a kernel's network state (its sockfs, each family's tables) is one NetNamespace,
`kernel.net`.
"""

from twaron.net import (
    inet,  # noqa: E402, F401
    netlink,  # noqa: E402, F401
    unix,  # noqa: E402, F401 - each family registers itself on import
)
