"""The kernel's random number generator: AT_RANDOM, getrandom(2), /dev/urandom, /dev/random.

The seed post measured what a per-exec hardware entropy read costs under a hypervisor (two
RDRAND exits, 50 us, half of an exec) and fixed it the way Linux does: take entropy from the
host ONCE at boot and expand it in software afterwards. Here `os.getrandom` plays RDRAND's
part, and the default expansion is a ChaCha20 keystream with fast key erasure (the design of
Linux's CRNG and of BSD arc4random), not the seed's SplitMix64: SplitMix64 is statistically
fine but trivially predictable from one output, and AT_RANDOM feeds glibc's stack protector
and pointer guard, so it must be a cryptographic generator. SplitMix64 stays available for
comparison with the post, and `host` (one host call per request) for measuring the tax.

One Rng exists per kernel; callers only use `read(n)` (and `u64()` for kernel-internal
choices). The kernel is single-threaded, so there is no locking.
"""

from __future__ import annotations

import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

RNG_KINDS = ("chacha20", "splitmix64", "host")

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

# Keystream generated per refill. Big enough that the ~10 us cost of building a cipher
# object amortises to well under the 1 us budget of a 16-byte AT_RANDOM read (about 500
# execs per refill), small enough that little future output sits in memory.
_BLOCK = 8192
_KEY_LEN = 32
_ZERO_NONCE = bytes(16)  # each key is used for exactly one refill, so a fixed nonce is safe


def _host_entropy(n: int) -> bytes:
    """n bytes from the host's CRNG. getrandom may return short reads for large n."""
    out = bytearray()
    while len(out) < n:
        out += os.getrandom(n - len(out))
    return bytes(out)


def _seed_bytes(seed: int) -> bytes:
    """A reproducible 32-byte key from an integer seed (any size, any sign)."""
    return hashlib.sha256(b"twaron-rng-seed:" + str(seed).encode()).digest()


class Rng:
    """Interface of every generator: `name`, `read(n)`, `u64()`."""

    name = "abstract"

    def read(self, n: int) -> bytes:
        raise NotImplementedError

    def u64(self) -> int:
        """A uniform 64-bit integer, for kernel-internal choices (ASLR, ids)."""
        return int.from_bytes(self.read(8), "little")

    def __repr__(self) -> str:
        return f"<Rng {self.name}>"


class ChaCha20Rng(Rng):
    """Buffered ChaCha20 keystream with fast key erasure.

    Each refill encrypts zeros under the current key; the first 32 bytes of that keystream
    become the next key at once (the old key is dropped), and the rest is served. So a
    later compromise of the generator's state reveals nothing about earlier outputs
    (forward secrecy), apart from what is still unread in the buffer. Python cannot scrub
    memory reliably, so the erasure is best effort: served bytes are not zeroed in the
    buffer (bytes slicing is what keeps a 16-byte read near a microsecond).
    """

    name = "chacha20"

    __slots__ = ("_key", "_buf", "_pos")

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_LEN:
            raise ValueError("ChaCha20 key must be 32 bytes")
        self._key = key
        self._buf = b""
        self._pos = 0

    def _keystream(self, n: int) -> bytes:
        """n bytes of keystream; the first 32 replace the key (fast key erasure)."""
        enc = Cipher(algorithms.ChaCha20(self._key, _ZERO_NONCE), mode=None).encryptor()
        stream = enc.update(bytes(_KEY_LEN + n))
        self._key = stream[:_KEY_LEN]
        return stream[_KEY_LEN:]

    def read(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end <= len(self._buf) and n >= 0:
            # The hot path (AT_RANDOM, getrandom of 8-16 bytes): one slice.
            self._pos = end
            return self._buf[pos:end]
        if n < 0:
            raise ValueError("negative read")
        if n > _BLOCK // 2:
            # Large reads (dd if=/dev/urandom bs=1M) get their own keystream; that also
            # rekeys, and the buffered bytes stay valid because they came from an older key.
            return self._keystream(n)
        rest = self._buf[pos:]
        self._buf = self._keystream(_BLOCK)
        need = n - len(rest)
        self._pos = need
        return rest + self._buf[:need]


class SplitMix64Rng(Rng):
    """The seed post's generator, bit for bit: 8 bytes per step, little-endian.

    A request is served with ceil(n/8) fresh outputs; the unused tail of the last one is
    discarded, as the post's `rdrand_slice` replacement does.
    """

    name = "splitmix64"

    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        self.state = state & _MASK64

    def next_u64(self) -> int:
        self.state = s = (self.state + _GOLDEN) & _MASK64
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def u64(self) -> int:
        return self.next_u64()

    def read(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("negative read")
        k = (n + 7) >> 3
        nxt = self.next_u64
        return struct.pack(f"<{k}Q", *[nxt() for _ in range(k)])[:n]


class HostRng(Rng):
    """One host getrandom call per request: the per-exec RDRAND pattern, for comparison.

    With a seed it cannot be reproducible from the host, so a seeded `host` generator is a
    ChaCha20 stream underneath (documented; only the unseeded kind calls the host).
    """

    name = "host"

    def read(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("negative read")
        return _host_entropy(n)


class _SeededHostRng(ChaCha20Rng):
    name = "host"


def make_rng(kind: str = "chacha20", seed: int | None = None) -> Rng:
    """The kernel's generator, seeded once: from `seed` if given (reproducible runs), else
    from the host's entropy. Called once at boot, never per exec."""
    if kind == "chacha20":
        return ChaCha20Rng(_seed_bytes(seed) if seed is not None else _host_entropy(_KEY_LEN))
    if kind == "splitmix64":
        if seed is None:
            return SplitMix64Rng(int.from_bytes(_host_entropy(8), "little"))
        return SplitMix64Rng(seed)
    if kind == "host":
        return HostRng() if seed is None else _SeededHostRng(_seed_bytes(seed))
    raise ValueError(f"unknown rng kind {kind!r} (choose from {', '.join(RNG_KINDS)})")
