"""What the guest's CPUID answers on Unicorn, when the platform answers it from a table.

The tiered platform (one CPUID for both CPUs: Unicorn's model with KVM's feature bits
intersected) and the deterministic mode (Unicorn's model with RDRAND and RDSEED offered) both
answer every CPUID from a table made at boot from Unicorn's own CPU model. The hook that
answers it runs in C (platform/uc_shim.c, twaron_cpuid_hook) where the shim could be built:
a glibc or BusyBox start-up runs ~20 CPUIDs, and a Python hook cost ~1.5 us each on every exec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Words = Sequence[int]  # eax, ebx, ecx, edx
Table = dict[tuple[int, int], Words]

# Leaves whose answer depends on the subleaf in ECX, and how many subleaves the table keeps.
# All are below 0x20 (the C hook keeps them as a bit mask).
SUBLEAF_LEAVES = {4: 8, 7: 4, 0xB: 4, 0xD: 16, 0xF: 4, 0x10: 4, 0x12: 4, 0x14: 4, 0x17: 4,
                  0x18: 4, 0x1F: 4}  # fmt: skip
SUBLEAF_MASK = sum(1 << leaf for leaf in SUBLEAF_LEAVES)
EXTENDED = 0x8000_0000  # the first extended leaf
ZERO = (0, 0, 0, 0)


def model_table(run_cpuid: Callable[[int, int], Words]) -> tuple[Table, int]:
    """Every leaf (and kept subleaf) of a CPU model, asked through run_cpuid; and the
    highest basic leaf."""
    top = run_cpuid(0, 0)[0]
    ext = run_cpuid(EXTENDED, 0)[0]
    table: Table = {}
    for leaf in [*range(0, min(top, 0x20) + 1), *range(EXTENDED, min(ext, EXTENDED + 0x20) + 1)]:
        for sub in range(SUBLEAF_LEAVES.get(leaf, 1)):
            table[(leaf, sub)] = run_cpuid(leaf, sub)
    return table, top


def lookup(table: Table, top: int, leaf: int, subleaf: int) -> Words:
    """CPUID(leaf, subleaf) from the table: a basic leaf above the highest answers as the
    highest does (Intel's rule), anything else missing with zeros."""
    found = table.get((leaf, subleaf if leaf in SUBLEAF_LEAVES else 0))
    if found is not None:
        return found
    if top < leaf < EXTENDED:
        return table.get((top, 0), ZERO)
    return ZERO
