"""The layers of architecture.md: lower layers never import upper ones, not even for type
hints, so each can be read, tested and replaced on its own. One exception: the Kernel class,
the composition root that every subsystem is reached through, may be named in type hints
(`if TYPE_CHECKING: from twaron.kernel import Kernel`)."""

from __future__ import annotations

import ast
from pathlib import Path

import twaron

ROOT = Path(twaron.__file__).resolve().parent
# Lowest first. A module may import from its own layer and the ones before it.
LAYERS = [
    ("arch",),
    ("errors", "clock", "wait", "hostpoll", "random", "config", "profile", "timeline", "build"),
    ("platform", "mm"),
    ("fs", "ipc"),
    ("process",),
    ("net",),
    ("syscalls",),
    ("kernel",),
    ("api", "cli", "bench", "fuzz", "testsuite", "native", "recording", "explore", "image",
     "image_build",
     "__main__", "__init__"),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.startswith("twaron.") else module


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    type_only = _type_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only and isinstance(node, ast.ImportFrom) \
                and node.module == "twaron.kernel":
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "twaron":  # from twaron import platform as platforms
                found += [f"twaron.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m.startswith("twaron.")]


def test_lower_layers_never_import_upper_ones() -> None:
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        me = rel.parts[0].removesuffix(".py")
        for module in _imports(path):
            if RANK[_layer(module)] > RANK[me]:
                wrong.append(f"{rel} imports {module}")
    assert not wrong, "\n".join(wrong)
