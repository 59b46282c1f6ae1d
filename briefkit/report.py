"""Showing diagnostics to people (rich text grouped by file) and to programs (JSON)."""

from __future__ import annotations

import json
from collections import Counter
from itertools import groupby

from rich.console import Console
from rich.text import Text

from briefkit.diagnostics import Diagnostic, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


# Shown per file and code; a file of generated or pasted text can hold thousands of the
# same problem, and the first few say what to fix (the JSON output lists every one).
SHOWN_PER_CODE = 10


def print_text(diagnostics: list[Diagnostic], console: Console) -> None:
    """Grouped by file; colour only on a terminal (rich decides), never markup from input."""
    ordered = sorted(diagnostics, key=lambda d: (str(d.file), d.line, d.column, d.code))
    for file, group in groupby(ordered, key=lambda d: str(d.file)):
        console.print(Text(file, style="bold underline"), soft_wrap=True)
        in_file = list(group)
        codes = Counter(d.code for d in in_file)
        shown: Counter[str] = Counter()
        for d in in_file:
            shown[d.code] += 1
            if shown[d.code] > SHOWN_PER_CODE:
                continue
            where = f"{d.line}:{d.column}" if d.line else "-"
            line = Text(f"  {where:>8}  ")
            line.append(f"{d.severity.value:<7}", style=_STYLE[d.severity])
            line.append(f" {d.code}  {d.message}")
            console.print(line, soft_wrap=True)
            console.print(Text(f"{'':>12}fix: {d.hint}", style="dim"), soft_wrap=True)
        for code, count in codes.items():
            if count > SHOWN_PER_CODE:
                more = f"{'':>12}… and {count - SHOWN_PER_CODE} more {code} in this file (briefkit validate --format json lists them all)"
                console.print(Text(more, style="dim"), soft_wrap=True)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    summary = Text(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    summary.stylize("bold red" if errors else "bold green")
    console.print(summary, soft_wrap=True)


def to_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2, ensure_ascii=False)
