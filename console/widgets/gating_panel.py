"""Signal gating: the gate's last decision and its reason, today's allowed/blocked counts by
reason, and the recent decisions (newest first).

Reasons are written by the loop's gate and go on screen literally (``loop_text``). The
widget's reactives hold only gate data, so a heartbeat alone never redraws it.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from console.widgets._common import PLACEHOLDER, Panel, hms, loop_text
from store.records import GateRecord


def _decision(g: GateRecord) -> Text:
    return Text("✔ allowed", style="bold green") if g.allowed else Text("✖ blocked", style="bold red")


class GatingPanel(Panel):
    """What ``should_generate_signals`` has been answering."""

    DEFAULT_CSS = """
    GatingPanel {
        min-height: 5;
    }
    """

    decisions: reactive[tuple[GateRecord, ...] | None] = reactive(None, repaint=False)
    allowed: reactive[int] = reactive(0, repaint=False)
    blocked_by: reactive[tuple[tuple[str, int], ...]] = reactive((), repaint=False)
    signals: reactive[int] = reactive(0, repaint=False)

    TITLE = "Signal gating"
    CONTENT = ("decisions", "allowed", "blocked_by", "signals")

    def build(self, width: int) -> Text:
        decisions = self.decisions
        if decisions is None:
            return Text(PLACEHOLDER, style="dim")
        lines: list[Text] = []
        if decisions:
            last = decisions[0]
            head = Text("last ")
            head.append_text(_decision(last))
            head.append(f" {hms(last.last_at, self.tz)}", style="dim")
            lines.append(head)
            lines.append(loop_text(last.last_reason))
        else:
            lines.append(Text("no gate decision in the last 2 hours", style="dim"))
        blocked = sum(n for _, n in self.blocked_by)
        counts = Text("today ")
        counts.append(f"✔ {self.allowed} allowed", style="green")
        counts.append(" · ")
        counts.append(f"✖ {blocked} blocked", style="red" if blocked else "dim")
        lines.append(counts)
        if self.blocked_by:
            by = Text("  ", style="dim")
            by.append(" · ".join(f"{code.replace('_', ' ')} {n}" for code, n in self.blocked_by))
            lines.append(by)
        if self.signals and not self.allowed:
            # Signals while the gate never said yes today: the loop generates without asking
            # (the Dec 11 story). One yes may cover several signals, so only zero is proof.
            lines.append(
                Text(f"✖ {self.signals} signal(s) today, yet no gate ever said yes", style="bold red")
            )
        if len(decisions) > 1:
            lines.append(Text("recent", style="dim"))
            for g in decisions[1:]:
                row = Text(f" {hms(g.last_at, self.tz, '%H:%M')} ", style="dim")
                row.append("✔" if g.allowed else "✖", style="green" if g.allowed else "red")
                row.append(f" {g.code.replace('_', ' ')} ×{g.count} ")
                row.append_text(loop_text(g.last_reason, style="dim"))
                row.truncate(width, overflow="ellipsis")
                lines.append(row)
        return Text("\n").join(lines)
