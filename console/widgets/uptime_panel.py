"""Uptime: is the loop alive, how old is its last heartbeat against the threshold, RTH
coverage so far, a timeline bar of the session (open → close) coloured up/down, and today's
gaps.

The heartbeat age is recomputed from ``now`` (the app's clock, once a second) rather than
taken from the snapshot, so a loop that dies turns red on time even though nothing is
written to the store any more.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from console.widgets._common import PLACEHOLDER, Panel, hms, loop_text
from health.calendar import Session
from health.durations import fmt_duration, fmt_limit
from health.live import LiveSource
from health.report import SourceAnalysis

UP, DOWN, FUTURE, BREAK = "█", "░", "·", " "


def _covered(intervals: tuple[tuple[float, float], ...], start: float, end: float) -> float:
    """Seconds of [start, end) inside the up intervals."""
    total = 0.0
    for a, b in intervals:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


def timeline(session: Session, intervals: tuple[tuple[float, float], ...], now: float, width: int) -> Text:
    """One cell per slice of the session: █ up (green), ░ down (red), · not yet, blank in a
    break. A cell counts as up when the loop was up for most of its elapsed part."""
    width = max(4, width)
    cell = (session.close_ts - session.open_ts) / width
    bar = Text()
    for i in range(width):
        start = session.open_ts + i * cell
        end = min(start + cell, now)
        mid = start + cell / 2
        if (
            session.break_start_ts is not None
            and session.break_end_ts is not None
            and (session.break_start_ts <= mid < session.break_end_ts)
        ):
            bar.append(BREAK)
        elif start >= now:
            bar.append(FUTURE, style="dim")
        elif _covered(intervals, start, end) >= 0.5 * (end - start):
            bar.append(UP, style="green")
        else:
            bar.append(DOWN, style="red")
    return bar


class UptimePanel(Panel):
    """Heartbeat, coverage, the session timeline and gaps of the selected loop."""

    DEFAULT_CSS = """
    UptimePanel {
        min-height: 6;
    }
    """

    source: reactive[LiveSource | None] = reactive(None, repaint=False)
    analysis: reactive[SourceAnalysis | None] = reactive(None, repaint=False)
    session: reactive[Session | None] = reactive(None, repaint=False)
    now: reactive[float | None] = reactive(None, repaint=False)  # see Panel.watch_now

    TITLE = "Uptime"
    CONTENT = ("source", "analysis", "session")

    def build(self, width: int) -> Text:
        src, a, now = self.source, self.analysis, self.now
        if src is None or now is None:
            return Text(PLACEHOLDER, style="dim")
        th = src.thresholds
        lines: list[Text] = []
        head = Text()
        if src.last_beat is None:
            head.append("✖ NO HEARTBEAT", style="bold red")
            head.append(" recorded yet")
        else:
            age = max(0.0, now - src.last_beat)
            alive = src.up_at(now)
            if alive:
                head.append("● UP", style="bold green")
            elif src.clean_stop:
                head.append("■ STOPPED", style="bold yellow")
            else:
                head.append("✖ DOWN", style="bold red")
            head.append(f"  last beat {fmt_duration(age)} ago", style="" if alive else "red")
            head.append(f" (≤{fmt_limit(th.up_after_beat)})", style="dim")
        lines.append(head)
        if src.pid is not None:
            line = loop_text(f"pid {src.pid} on {src.host}", style="dim")
            if src.process_alive:
                line.append(" · running", style="dim")
            elif src.process_alive is False:  # (unknown on another host: say nothing)
                # after a clean stop the process is meant to be gone
                line.append(*((" · exited", "dim") if src.clean_stop else (" · process gone", "red")))
            lines.append(line)
        if a is not None and a.uptime.rth_coverage_pct is not None:
            ok = a.uptime.rth_coverage_pct >= th.min_rth_coverage_pct
            cov = Text("RTH coverage ")
            cov.append(f"{a.uptime.rth_coverage_pct:.1f}%", style="bold green" if ok else "bold red")
            cov.append(f" so far (min {th.min_rth_coverage_pct:g}%)", style="dim")
            lines.append(cov)
        session = self.session
        hours = None
        if session is not None:
            intervals = a.uptime.intervals if a is not None else ()
            lines.append(timeline(session, intervals, now, width))
            left, right = hms(session.open_ts, self.tz, "%H:%M"), hms(session.close_ts, self.tz, "%H:%M")
            hours = Text(left + right.rjust(max(1, width - len(left))), style="dim")
            lines.append(hours)
        else:
            lines.append(Text("no session today", style="dim"))
        gaps = a.uptime.gaps if a is not None else ()
        if gaps:
            for g in gaps[-3:]:
                end = "now" if g.ongoing else hms(g.end, self.tz, "%H:%M")
                lines.append(
                    Text(
                        f"gap {hms(g.start, self.tz, '%H:%M')}–{end} ({fmt_duration(g.rth_seconds)})",
                        style="yellow",
                    )
                )
            if len(gaps) > 3:
                lines.append(Text(f"…{len(gaps) - 3} earlier gap(s)", style="dim"))
        elif a is not None and session is not None:
            lines.append(Text(f"no gap over {fmt_limit(th.max_gap_seconds)} today", style="dim"))
        if a is not None:  # the least urgent last: clipped first on a small terminal
            unclean = len(a.lifecycle.unclean_exits)
            life = Text(f"starts {a.lifecycle.starts} · ", style="dim")
            life.append(f"unclean exits {unclean}", style="red" if unclean else "dim")
            restarts = a.lifecycle.restarts
            lines.append(life)
            if restarts:  # health/restarts.py: the newest, its kind and what it cost
                last = restarts[-1]
                more = f"{len(restarts)} restarts, last " if len(restarts) > 1 else "restarted "
                lines.append(
                    Text(
                        f"{more}{hms(last.at, self.tz, '%H:%M')} after {last.exit} "
                        f"(down {fmt_duration(last.downtime_seconds)})",
                        style="yellow" if last.exit != "clean" else "dim",
                    )
                )
            lines.append(
                Text(
                    f"up {a.uptime.pct:.1f}% of the day so far ({fmt_duration(a.uptime.seconds)})",
                    style="dim",
                )
            )
        if hours is not None and len(lines) > self.content_size.height > 0:
            lines.remove(hours)  # on a short terminal the gaps matter more than the bar's labels
        return Text("\n").join(lines)
