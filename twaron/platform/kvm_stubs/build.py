"""Assemble kstubs.S and ustubs.S and print (or check) the byte table in __init__.py.

    python -m twaron.platform.kvm_stubs.build          # print the table
    python -m twaron.platform.kvm_stubs.build --check  # exit 1 if __init__.py is stale

Needs GNU as and objcopy (binutils). The table is what the platform loads: the build step is
only needed when the assembly changes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def assemble(name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        obj, binf = Path(tmp, "s.o"), Path(tmp, "s.bin")
        subprocess.run(["as", "--64", "-o", str(obj), str(HERE / name)], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(binf)],
                       check=True)  # fmt: skip
        return binf.read_bytes()


def table() -> dict[str, bytes]:
    return {"KSTUBS": assemble("kstubs.S"), "USTUBS": assemble("ustubs.S")}


def main(argv: list[str]) -> int:
    built = table()
    if "--check" in argv:
        from twaron.platform import kvm_stubs

        stale = [k for k, v in built.items() if getattr(kvm_stubs, k) != v]
        if stale:
            print("stale byte table in kvm_stubs/__init__.py:", ", ".join(stale))
            return 1
        print("kvm_stubs byte table matches the assembly")
        return 0
    for name, data in built.items():
        print(f'{name} = bytes.fromhex(\n    "{data.hex()}"\n)')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
