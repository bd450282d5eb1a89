"""The period report (``check-production-health --from D --to D``) for people: the totals a desk
reports, then one row per day. Non-trading days on which nothing happened (no signal, no issue)
are counted, not listed; the JSON lists every day."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from console.report_text import _kv, _section
from console.styles import STATUS_STYLE
from health.codes import Status
from health.durations import fmt_duration
from health.gate import BREAK, CALENDAR, CLOSED
from health.period import DayRow, PeriodReport

MARKET_CLOSED = (CLOSED, BREAK, CALENDAR)  # refusals that say when, not what data


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}%"


def _dur(seconds: float | None) -> str:
    return "—" if seconds is None else ("0" if seconds <= 0 else fmt_duration(seconds))


def _quiet(d: DayRow) -> bool:
    return not d.trading_day and not d.signals and not d.issues and d.status == Status.CLOSED


def render_period(p: PeriodReport) -> RenderableType:
    icon, style = STATUS_STYLE[p.status]
    title = Text(f"PRODUCTION HEALTH: {p.start.isoformat()} → {p.end.isoformat()}", style="bold")
    if p.backtest:
        title.append(" · BACKTEST (simulated run)", style="bold magenta")
    title.append(f"   {p.calendar} · {p.tz_name}", style="dim")
    parts: list[RenderableType] = [Rule(title, style="bold", characters="═")]
    parts.append(Text(f"{icon} WORST DAY: {p.status}", style=style))
    by = p.days_by_status()
    recoveries = [i.recovery_seconds for i in p.incidents if not i.ongoing]
    longest = max(p.incidents, key=lambda i: i.rth_seconds, default=None)
    refused = p.refused()
    parts.append(_section("TOTALS"))
    parts.append(
        _kv(
            [
                ("Store", p.store_path),
                *([("Loop", p.source)] if p.source else []),
                (
                    "Trading days",
                    f"{len(p.trading_days)} of {len(p.days)} days: {by['HEALTHY']} HEALTHY, "
                    f"{by['DEGRADED']} DEGRADED, {by['UNHEALTHY']} UNHEALTHY",
                ),
                ("RTH coverage", f"{_pct(p.rth_coverage_pct, 2)} (session-weighted)"),
                (
                    "Incidents",
                    (
                        f"{len(p.incidents)}: downtime {_dur(p.downtime_seconds)} of RTH in total, longest "
                        f"{_dur(longest.rth_seconds)} ({_when(p, longest.start)})"
                    )
                    if longest
                    else "none",
                ),
                (
                    "To recovery",
                    (
                        f"mean {_dur(sum(recoveries) / len(recoveries))}, longest {_dur(max(recoveries))}"
                        if recoveries
                        else "—"
                    )
                    + (
                        f"; {sum(i.ongoing for i in p.incidents)} ongoing"
                        if any(i.ongoing for i in p.incidents)
                        else ""
                    ),
                ),
                (
                    "Signals",
                    f"{p.counts('signals')} total, {p.counts('signals_rth')} during RTH, "
                    f"{p.counts('signals_after_hours')} after hours, {p.counts('signals_stale')} stale",
                ),
                (
                    "Gate",
                    f"{p.counts('allowed')} allowed, {sum(refused.values())} refused"
                    + (" (" + ", ".join(f"{k}: {v}" for k, v in refused.items()) + ")" if refused else ""),
                ),
            ]
        )
    )
    parts.append(_section("DAYS"))
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="dim", show_edge=False, pad_edge=False)
    for name, justify in (
        ("date", "left"),
        ("status", "left"),
        ("RTH", "right"),
        ("gaps", "right"),
        ("down", "right"),
        ("signals", "right"),
        ("refused", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)
    table.add_column("issues", overflow="fold", min_width=12)
    quiet = 0
    for d in p.days:
        if _quiet(d):
            quiet += 1
            continue
        mark, st = STATUS_STYLE[d.status]
        bad = sum(n for code, n in d.refused.items() if code not in MARKET_CLOSED)
        codes = "\n".join(dict.fromkeys(str(i.code) for i in d.issues))
        table.add_row(
            f"{d.day:%Y-%m-%d %a}",
            Text(f"{mark} {d.status}", style=st),
            _pct(d.rth_coverage_pct) if d.trading_day else "closed",
            str(len(d.gaps)) if d.gaps else "·",
            _dur(d.downtime_seconds) if d.gaps else "·",
            str(d.signals) if d.signals else "·",
            str(bad) if bad else "·",
            Text(codes) if codes else Text("" if d.trading_day else d.holiday or "", style="dim"),
        )
    parts.append(table)
    notes = ["refused: the gate's refusals of stale, previous-session or future data (all reasons in --json)"]
    if quiet:
        notes.append(f"{quiet} non-trading days with no signal and no issue are not listed")
    parts += [Text(f"  {n}", style="dim") for n in notes]
    parts.append(Rule(style="bold", characters="═"))
    return Group(*parts)


def _when(p: PeriodReport, ts: float) -> str:
    return datetime.fromtimestamp(ts, p.tz).strftime("%Y-%m-%d %H:%M %Z")
