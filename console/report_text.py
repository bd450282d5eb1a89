"""The human report, rendered with Rich: the sections of the JSON in reading order, with the zone
shown on every time and colour only on a terminal.

Loop-supplied text goes in as ``rich.text.Text`` (never parsed as markup) after ``clean``.
"""

from __future__ import annotations

import re
from datetime import datetime

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from console.sanitize import clean
from console.styles import SEVERITY_STYLE, STATUS_STYLE
from health.durations import fmt_duration, fmt_limit
from health.report import HealthReport


def _t(report: HealthReport, ts: float | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts, report.tz).strftime(fmt)


def _section(title: str) -> Rule:
    return Rule(Text(title, style="bold"), align="left", style="dim")


def _kv(rows: list[tuple[str, str | Text]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else Text(value))
    return table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def render_report(report: HealthReport) -> RenderableType:
    icon, style = STATUS_STYLE.get(report.status, ("?", "bold"))
    parts: list[RenderableType] = []
    title = Text(f"PRODUCTION HEALTH REPORT: {report.day.isoformat()}", style="bold")
    if report.backtest:
        title.append(" · BACKTEST (simulated run)", style="bold magenta")
    title.append(f"   {report.calendar} · {report.tz_name}", style="dim")
    parts.append(Rule(title, style="bold", characters="═"))
    parts.append(Text.assemble((f"{icon} OVERALL STATUS: {report.status}", style)))

    s = report.session
    if s.is_trading_day:
        hours = f"{_t(report, s.open, '%H:%M')}–{_t(report, s.close, '%H:%M %Z')}"
        if s.early_close:
            hours += " (early close)"
        if s.break_start is not None:
            hours += f", break {_t(report, s.break_start, '%H:%M')}–{_t(report, s.break_end, '%H:%M')}"
        session_line = f"trading day, {hours}"
        if report.is_today:
            session_line += (
                f" — {s.phase.replace('_', ' ')} now, {fmt_duration(s.elapsed_rth_seconds)} of RTH elapsed"
            )
    else:
        # No holiday name on a day without a session means the exchange's own weekend, by its
        # weekmask (MarketCalendar.holiday_name): Friday in Riyadh, not always Saturday.
        session_line = f"not a trading day ({s.holiday or 'weekend'})"
    parts.append(_kv([("Session", session_line), ("Store", clean(report.store_path))]))

    parts.append(_section("SYSTEM UPTIME"))
    multi = len(report.sources) > 1
    for x in report.sources:
        rows: list[tuple[str, str | Text]] = [("Loop", _loop_name(x))]
        cov_style = (
            "green" if (x.uptime.rth_coverage_pct or 0) >= x.thresholds.min_rth_coverage_pct else "red"
        )
        rows.append(
            (
                "RTH coverage",
                Text(
                    _pct(x.uptime.rth_coverage_pct),
                    style=cov_style if x.uptime.rth_coverage_pct is not None else "",
                ),
            )
        )
        rows.append(
            (
                "Uptime",
                f"{x.uptime.pct:.1f}% of {'the day so far' if report.is_today else 'the day'} ({fmt_duration(x.uptime.seconds)})",
            )
        )
        rows.append(("Last activity", _t(report, x.uptime.last_activity)))
        run = x.lifecycle.latest
        if x.backtest:
            rows.append(("Process", "none: a backtest, driven by its simulated clock"))
        elif run is not None and run.pid is not None:
            alive = {True: "running now", False: "not running now", None: "state unknown (other host)"}[
                run.alive
            ]
            rows.append(("Process", clean(f"pid {run.pid} on {run.host}: {alive}")))
        rows.append(
            (
                "Lifecycle",
                f"{x.lifecycle.starts} start(s), {x.lifecycle.clean_stops} clean stop(s), {len(x.lifecycle.unclean_exits)} unclean exit(s), {len(x.lifecycle.restarts)} restart(s)",
            )
        )
        for r in x.lifecycle.restarts:
            rows.append(("Restart", clean(r.describe(lambda ts: _t(report, ts, "%H:%M:%S %Z")))))
        for d in x.lifecycle.duplicates:
            end = "now" if d.ongoing else _t(report, d.end, "%H:%M:%S")
            rows.append(
                (
                    "Two processes",
                    Text(clean(f"{d.who()}, {_t(report, d.start, '%H:%M:%S')}–{end}"), style="red"),
                )
            )
        for g in x.uptime.gaps:
            end = "now" if g.ongoing else _t(report, g.end, "%H:%M:%S")
            rows.append(
                (
                    "Gap",
                    f"{_t(report, g.start, '%H:%M:%S')}–{end} {_t(report, g.start, '%Z')} ({fmt_duration(g.rth_seconds)} of RTH)",
                )
            )
        parts.append(Padding(_kv(rows), (0, 0, 0, 2), expand=False))

    parts.append(_section("DATA FRESHNESS"))
    for x in report.sources:
        rows = []
        if multi:
            rows.append(("Loop", _loop_name(x)))
        rows.append(
            (
                "Signals",
                f"{x.signals.total} total, {x.signals.rth} during RTH, {x.signals.after_hours} after hours, {x.signals.stale} stale",
            )
        )
        if x.signals.max_data_age is not None:
            age_style = "red" if x.signals.max_data_age > x.thresholds.max_data_age_seconds else "green"
            rows.append(
                (
                    "Data age",
                    Text(
                        f"max {fmt_duration(x.signals.max_data_age)}, median {fmt_duration(x.signals.median_data_age or 0)} (limit {fmt_limit(x.thresholds.max_data_age_seconds)})",
                        style=age_style,
                    ),
                )
            )
            rows.append(("Newest data", _t(report, x.signals.newest_data_ts)))
        gate = f"{x.gate.allowed} allowed, {x.gate.blocked} blocked"
        if x.gate.by_code:
            gate += (
                " ("
                + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(x.gate.by_code.items()))
                + ")"
            )
        rows.append(("Gate", gate))
        if x.cadence is not None and x.cadence.cadence is not None:
            judged = sum(1 for h in x.cadence.hours if h.qualifies and h.expected is not None)
            below = len(x.cadence.below)
            rows.append(
                (
                    "Cadence",
                    Text(
                        f"{x.cadence.cadence.describe()}; {judged} hour(s) judged, {below} below",
                        style="red" if below else "",
                    ),
                )
            )
        if x.gate.last_reason:
            rows.append(
                (
                    "Last decision",
                    Text(
                        f"{_t(report, x.gate.last_at, '%H:%M:%S %Z')}: {clean(x.gate.last_reason, one_line=True)}"
                    ),
                )
            )
        parts.append(Padding(_kv(rows), (0, 0, 0, 2), expand=False))
        hourly = _hourly(x)
        if hourly is not None:
            parts.append(Padding(hourly, (0, 0, 0, 2), expand=False))

    parts.append(_section("IDENTIFIED ISSUES"))
    if not report.issues:
        parts.append(Padding(Text("none", style="green"), (0, 0, 0, 2), expand=False))
    for issue in report.issues:
        icon, style = SEVERITY_STYLE.get(issue.severity, ("●", ""))
        line = Text.assemble((f"{icon} {issue.severity} ", style), (issue.code, "bold"), " — ")
        line.append(clean(issue.message, one_line=True))
        parts.append(Padding(line, (0, 0, 0, 2), expand=False))

    alerts = report.totals.alerts
    if alerts:
        parts.append(_section("ALERTS"))
        for a in alerts[-10:]:
            icon, style = ("✔", "green") if a.resolved else SEVERITY_STYLE.get(a.severity, ("●", ""))
            line = Text.assemble((f"{icon} ", style), f"{_t(report, a.at, '%H:%M:%S')} ")
            line.append(f"{a.code} {'resolved' if a.resolved else 'firing'}", style="bold")
            origin = clean(a.origin or "monitor")
            if a.muted is not None:
                origin += f", not paged: {clean(a.muted, one_line=True)}"
            line.append(f" ({origin}): {clean(a.message, one_line=True)}")
            parts.append(Padding(line, (0, 0, 0, 2), expand=False))
        if len(alerts) > 10:
            parts.append(
                Padding(Text(f"… {len(alerts) - 10} earlier", style="dim"), (0, 0, 0, 2), expand=False)
            )

    if report.acks:
        parts.append(_section("ACKNOWLEDGED"))
        for state in report.acks:
            line = Text("⏸ ", style="yellow" if state.in_force() else "dim")
            line.append(clean(state.describe(report.tz), one_line=True))
            parts.append(Padding(line, (0, 0, 0, 2), expand=False))

    parts.append(_section("RECOMMENDATIONS"))
    if not report.recommendations:
        parts.append(Padding(Text("nothing to do", style="green"), (0, 0, 0, 2), expand=False))
    for rec in report.recommendations:
        parts.append(Padding(Text(f"» {clean(rec.title)}", style="bold"), (0, 0, 0, 2), expand=False))
        for n, step in enumerate(rec.steps, 1):
            parts.extend(_step(n, clean(step, one_line=True)))
    parts.append(Rule(style="dim", characters="═"))
    return Group(*parts)


def _loop_name(x) -> Text:
    text = Text(clean(x.source), style="bold")
    if x.backtest:
        text.append(" (backtest)", style="magenta")
    return text


_TRAILING_COMMAND = re.compile(r"^(?P<prose>.*\S)\s+`(?P<command>[^`]+)`$")


def _step(n: int, text: str) -> list[RenderableType]:
    """A step; a command it ends with goes on a line of its own that is never wrapped, so that
    copying it from the terminal or a file gives a command that works when pasted."""
    m = _TRAILING_COMMAND.match(text)
    if m is None:
        return [Padding(Text(f"{n}. {text}"), (0, 0, 0, 5), expand=False)]
    return [
        Padding(Text(f"{n}. {m['prose']}"), (0, 0, 0, 5), expand=False),
        Padding(Text(m["command"], no_wrap=True, overflow="ignore"), (0, 0, 0, 8), expand=False),
    ]


def _hourly(x) -> Table | None:
    hours = sorted(set(x.signals.hourly) | set(x.gate.hourly_allowed) | set(x.gate.hourly_blocked))
    if not hours:
        return None
    table = Table(title=None, show_edge=False, box=None, padding=(0, 1), header_style="dim")
    table.add_column("hour", style="dim")
    for h in hours:
        table.add_column(f"{h:02d}", justify="right")
    table.add_row("signals", *[str(x.signals.hourly.get(h, 0) or "·") for h in hours])
    table.add_row("allowed", *[str(x.gate.hourly_allowed.get(h, 0) or "·") for h in hours])
    table.add_row("blocked", *[str(x.gate.hourly_blocked.get(h, 0) or "·") for h in hours])
    return table
