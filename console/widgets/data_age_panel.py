"""Data age: how old the newest data the gate saw is now, against the loop's limit, and its
trend over the session as a sparkline (max age per gate bucket).

Ages are coloured against the limit: green under half of it, yellow under it, red beyond.
The sparkline saturates at the limit, so a stale episode is a wall of full red bars however
stale it was, and fresh data stays low and green.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from console.widgets._common import PLACEHOLDER, Panel, hms
from health.durations import fmt_duration, fmt_limit
from health.live import LiveSource
from health.report import SourceAnalysis

BARS = "▁▂▃▄▅▆▇█"


def age_style(age: float, limit: float) -> str:
    if age > limit:
        return "red"
    return "green" if age <= limit / 2 else "yellow"


def sparkline(values: list[float], limit: float, width: int) -> Text:
    """The last ``width`` values as bars scaled 0 → limit (saturating beyond it)."""
    out = Text()
    for v in values[-width:]:
        level = min(1.0, max(0.0, v) / limit) if limit > 0 else 1.0
        out.append(BARS[min(len(BARS) - 1, int(level * (len(BARS) - 1) + 0.5))], style=age_style(v, limit))
    return out


class DataAgePanel(Panel):
    """Newest data age vs the limit, and the session's trend."""

    DEFAULT_CSS = """
    DataAgePanel {
        min-height: 5;
    }
    """

    source: reactive[LiveSource | None] = reactive(None, repaint=False)
    analysis: reactive[SourceAnalysis | None] = reactive(None, repaint=False)
    now: reactive[float | None] = reactive(None, repaint=False)  # see Panel.watch_now

    TITLE = "Data age"
    CONTENT = ("source", "analysis")

    def build(self, width: int) -> Text:
        src, a, now = self.source, self.analysis, self.now
        if src is None or now is None:
            return Text(PLACEHOLDER, style="dim")
        limit = src.thresholds.max_data_age_seconds
        lines: list[Text] = []
        # What the loop sees now: the data stamp of the gate's last decision. A loop that
        # skips the gate still records each signal's data stamp: exactly the case (stale
        # data, no gate) to show, so fall back to the newest of those.
        last = src.last_decision
        stamp = last.last_data_ts if last is not None else None
        if stamp is None and a is not None:
            stamp = a.signals.newest_data_ts
        if stamp is not None:
            age = now - stamp
            style = age_style(age, limit)
            icon = {"green": "✔", "yellow": "▲", "red": "✖"}[style]
            lines.append(
                Text.assemble((f"{icon} newest data ", style), (f"{fmt_duration(age)} old", f"bold {style}"))
            )
            same_day = hms(stamp, self.tz, "%Y-%m-%d") == hms(now, self.tz, "%Y-%m-%d")
            stamped = hms(stamp, self.tz, "%H:%M:%S" if same_day else "%m-%d %H:%M:%S")
            lines.append(Text(f"limit {fmt_limit(limit)} · stamped {stamped}", style="dim"))
        else:
            lines.append(Text("no data timestamp recorded yet", style="dim"))
            lines.append(Text(f"limit {fmt_limit(limit)}", style="dim"))
        values = [age for _, age in src.age_trend]
        if values:
            line = Text("trend ", style="dim")
            line.append_text(sparkline(values, limit, max(4, width - 6)))
            lines.append(line)
            peak = max(values)
            lines.append(
                Text.assemble(
                    ("peak ", "dim"),
                    (fmt_duration(peak), age_style(peak, limit)),
                    (" · 5-min buckets", "dim"),
                )
            )
        elif src.recent:  # decisions, all while the market was closed: none is charted
            lines.append(Text("trend: from the first gate decision in RTH", style="dim"))
        else:
            lines.append(Text("trend: no gate decision yet", style="dim"))
        if a is not None and a.signals.total:
            lines.append(
                Text(
                    f"signals {a.signals.total}: {a.signals.rth} in RTH, {a.signals.stale} stale",
                    style="red" if a.signals.stale else "dim",
                )
            )
        return Text("\n").join(lines)
