"""The kernel RNG: reproducible with a seed, the seed post's SplitMix64 bit for bit."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from twaron.random import RNG_KINDS, make_rng

MASK = (1 << 64) - 1


def splitmix64_reference(state: int, n: int) -> list[int]:
    """A direct transcription of the post's Rust: fetch_add, then mix the new value."""
    out = []
    for _ in range(n):
        s = state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = (s + 0x9E3779B97F4A7C15) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out


def test_splitmix64_known_values() -> None:
    rng = make_rng("splitmix64", seed=0)
    assert [rng.u64() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


@pytest.mark.parametrize("seed", [0, 1, 42, 0xDEADBEEF, MASK])
def test_splitmix64_matches_reference_bytes(seed: int) -> None:
    rng = make_rng("splitmix64", seed=seed)
    want = b"".join(v.to_bytes(8, "little") for v in splitmix64_reference(seed, 4))
    assert rng.read(32) == want


def test_splitmix64_partial_reads_consume_whole_steps() -> None:
    ref = splitmix64_reference(7, 3)
    rng = make_rng("splitmix64", seed=7)
    assert rng.read(3) == ref[0].to_bytes(8, "little")[:3]
    assert rng.read(9) == (ref[1].to_bytes(8, "little") + ref[2].to_bytes(8, "little"))[:9]


@pytest.mark.parametrize("kind", RNG_KINDS)
def test_same_seed_same_bytes(kind: str) -> None:
    a, b = make_rng(kind, seed=1234), make_rng(kind, seed=1234)
    assert a.name == b.name == kind
    assert [a.read(n) for n in (16, 1, 100, 9000, 16)] == [
        b.read(n) for n in (16, 1, 100, 9000, 16)
    ]


@pytest.mark.parametrize("kind", RNG_KINDS)
def test_different_seeds_differ(kind: str) -> None:
    assert make_rng(kind, seed=1).read(32) != make_rng(kind, seed=2).read(32)


@pytest.mark.parametrize("kind", RNG_KINDS)
def test_unseeded_generators_differ_and_lengths(kind: str) -> None:
    a, b = make_rng(kind), make_rng(kind)
    assert a.read(16) != b.read(16)
    for n in (0, 1, 7, 8, 16, 4095, 8192, 20000):
        assert len(a.read(n)) == n
    with pytest.raises(ValueError):
        a.read(-1)


def test_chacha20_is_fast_key_erasure_keystream() -> None:
    """First refill: keystream of SHA-256(seed) key; bytes 0-31 become the next key."""
    rng = make_rng("chacha20", seed=5)
    key = hashlib.sha256(b"twaron-rng-seed:5").digest()
    stream = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(bytes(64))
    assert rng.read(32) == stream[32:64]


def test_chacha20_reads_never_repeat_across_refills() -> None:
    rng = make_rng("chacha20", seed=9)
    chunks = [rng.read(16) for _ in range(2000)]  # crosses several refills
    assert len(set(chunks)) == len(chunks)
    big = rng.read(1 << 16)
    assert len(big) == 1 << 16 and big[:16] not in chunks


def test_unknown_kind() -> None:
    with pytest.raises(ValueError):
        make_rng("rdrand")
