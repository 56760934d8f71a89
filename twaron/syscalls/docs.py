"""The syscall registry as a table: `twaron syscalls` and the compatibility page.

docs/syscalls.md is `markdown()` verbatim (tests/unit/test_registry.py compares them), so the
page can only say what the registry says. Nothing here depends on the run or the host.
"""

from __future__ import annotations

from collections import Counter

from twaron.syscalls.registry import Level, Registry, Restart, Syscall, load

REGENERATE = ".venv/bin/twaron syscalls --markdown > docs/syscalls.md"

LEVELS = {
    Level.FULL: "as Linux, within what twaron models (one CPU, tmpfs, no devices); a note "
    "says how the model shows",
    Level.PARTIAL: "works; the note says what differs from Linux",
    Level.STUB: "succeeds without doing the thing; listed at the end of a run "
    '("not implemented (ENOSYS or no effect)")',
    Level.UNSUPPORTED: "no handler: fails with ENOSYS; listed at the end of a run, unless "
    "marked *(Linux may)*: a Linux 6.1 build can give the same answer (the note says which), "
    "so programs must cope with it anyway",
}
RESTARTS = {
    Restart.NEVER_SLEEPS: "never sleeps",
    Restart.SYS: "ERESTARTSYS: restarted after a handler with SA_RESTART (or when no handler "
    "ran), EINTR after one without",
    Restart.NOHAND: "ERESTARTNOHAND: EINTR after a handler, restarted when none ran (a stop "
    "and SIGCONT, an ignored signal)",
    Restart.BLOCK: "ERESTART_RESTARTBLOCK: EINTR after a handler; when none ran, resumed "
    "through restart_syscall(2) with the time left",
    Restart.EINTR: "always EINTR",
    Restart.KILLABLE: "only a fatal signal ends the sleep",
}


def level_text(e: Syscall) -> str:
    return e.level.value + (" (Linux may)" if e.linux_may else "")


def counts(reg: Registry) -> Counter[Level]:
    return Counter(e.level for e in reg)


def _selected(reg: Registry, level: Level | None) -> list[Syscall]:
    return [e for e in reg if level is None or e.level is level]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(level: Level | None = None) -> str:
    """The compatibility page: what the levels and restart rules mean, the counts per level,
    then one row per call (only those of `level` when given)."""
    reg = load()
    n = counts(reg)
    may = sum(e.linux_may for e in reg)
    out = [
        "# System calls",
        "",
        "twaron's answer to each x86-64 system call of Linux 6.1, generated from its syscall "
        "registry (`twaron/syscalls/facts.py`, where the handlers' levels, notes, restart "
        "rules and trace formats are kept). `twaron syscalls` prints the same table; "
        f"`{REGENERATE}` rewrites this page, and `tests/unit/test_registry.py` fails when it "
        "is out of date.",
        "",
        "Levels:",
        "",
        *(f"- **{lv.value}**: {LEVELS[lv]}." for lv in Level),
        "",
        "Restart: what a signal does to the call while it sleeps (Linux's ERESTART* codes).",
        "",
        *(f"- `{r.value}`: {RESTARTS[r]}." for r in Restart),
        "",
        "| level | calls |",
        "|---|---:|",
        *(f"| {lv.value} | {n[lv]} |" for lv in Level),
        f"| total | {sum(n.values())} |",
        "",
        f"{may} of the unsupported calls answer as a Linux build may.",
        "",
        "| nr | name | level | restart | note |",
        "|---:|---|---|---|---|",
    ]
    for e in _selected(reg, level):
        out.append(f"| {e.nr} | `{e.name}` | {level_text(e)} | {e.restart.value} | "
                   f"{_cell(e.note)} |")  # fmt: skip
    return "\n".join(out) + "\n"


def text(level: Level | None = None) -> str:
    """The table for a terminal: aligned columns, the counts last."""
    reg = load()
    rows = [("nr", "name", "level", "restart", "note")]
    rows += [(str(e.nr), e.name, level_text(e), e.restart.value, e.note)
             for e in _selected(reg, level)]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.rjust(w) if i == 0 else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r[:4], widths, strict=True)))
             + "  " + r[4] for r in rows]  # fmt: skip
    n = counts(reg)
    lines.append("")
    lines.append(", ".join(f"{lv.value}: {n[lv]}" for lv in Level) + f" (of {sum(n.values())})")
    return "\n".join(line.rstrip() for line in lines) + "\n"
