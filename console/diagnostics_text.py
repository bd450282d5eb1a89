"""Diagnostics rendered with Rich: one line per check, its facts, its fix."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.text import Text

from console.sanitize import clean
from console.styles import CHECK_STYLE
from health.codes import CheckStatus


def render_diagnostics(checks) -> RenderableType:
    parts: list[RenderableType] = [Rule(Text("DIAGNOSTICS", style="bold"), align="left", style="dim")]
    for c in checks:
        icon, style = CHECK_STYLE.get(c.status, ("?", ""))
        head = Text.assemble((f"{icon} {c.status:<4} ", style), (c.name, "bold"), " — ")
        head.append(clean(c.detail))
        parts.append(Padding(head, (0, 0, 0, 2), expand=False))
        for line in c.lines[:40]:
            parts.append(Padding(Text(clean(line), style="dim"), (0, 0, 0, 8), expand=False))
        if c.fix and c.status != CheckStatus.OK:
            parts.append(Padding(Text(f"fix: {clean(c.fix)}", style="italic"), (0, 0, 0, 8), expand=False))
    return Group(*parts)
