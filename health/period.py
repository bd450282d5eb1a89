"""Health over a period (docs/CONTRACT.md §3, ``--from``/``--to``): every day of the range
analysed by the very engine of the one-day report, and the totals a desk reports.

A year of a busy loop holds a million signals; the day report reads each one into Python. Here
SQLite sums them up per piece of the day (RTH pieces with their previous-session cutoff, the
hours outside RTH) with the thresholds each day's loop recorded, so that no signal row reaches
Python: the counts the rules read (total, RTH, after hours, stale, future, the oldest and newest
data) are exact. Only a day whose signals may show a whole-hour offset (half of them or more
off by whole hours) has its signals read one by one, as the day report reads them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta

from health.analysis import DayInputs, analyze, window
from health.calendar import MarketCalendar
from health.codes import ExitCode, Status
from health.gc_pause import cyclic_gc_paused
from health.loader import LOOKBACK_DAYS, MAX_INTERVAL_SLACK, ReportUnavailable, expected_cadence, load_day
from health.period_cadence import RangeReader, SlidingLookbacks
from health.period_gate import ONE_BY_ONE, gate_sums
from health.period_incidents import Incident, incidents
from health.period_signals import with_signals as _with_signals
from health.process import process_alive
from health.report import Gap, HealthReport, Issue, Thresholds
from store.range_rows import RangeRows
from store.reader import StoreReader

MAX_DAYS = 3700  # ten years and some: a bad --from is an error, not an hour of work


@dataclass(frozen=True)
class DayRow:
    """One day of the range: what the day's report says, in the range report's columns."""

    day: date
    status: Status
    trading_day: bool
    holiday: str | None
    rth_seconds: float  # the session's RTH (its elapsed part, today), breaks cut out
    rth_coverage_pct: float | None  # the worst loop's, as in the day's report
    gaps: tuple[Gap, ...]
    signals: int
    signals_rth: int
    signals_after_hours: int
    signals_stale: int
    allowed: int
    refused: dict[str, int]  # the gate's refusals by reason code
    issues: tuple[Issue, ...]

    @property
    def exit_code(self) -> ExitCode:
        return self.status.exit_code

    @property
    def downtime_seconds(self) -> float:
        return sum(g.rth_seconds for g in self.gaps)

    @classmethod
    def of(cls, report: HealthReport) -> DayRow:
        t, s = report.totals, report.session
        return cls(
            day=report.day,
            status=Status(report.status),
            trading_day=s.is_trading_day,
            holiday=s.holiday,
            rth_seconds=s.elapsed_rth_seconds,
            rth_coverage_pct=t.rth_coverage_pct,
            gaps=t.gaps,
            signals=t.signals,
            signals_rth=t.signals_rth,
            signals_after_hours=t.signals_after_hours,
            signals_stale=t.signals_stale,
            allowed=t.allowed,
            refused=dict(t.blocked_by_reason),
            issues=report.issues,
        )


@dataclass(frozen=True)
class PeriodReport:
    start: date
    end: date
    calendar: str
    tz_name: str
    tz: object
    now: float
    store_path: str
    source: str | None
    days: tuple[DayRow, ...]  # from the store's first record (or ``start``) to ``end``
    incidents: tuple[Incident, ...]
    backtest: bool = False

    @property
    def status(self) -> Status:
        """The worst day's (CLOSED counts as HEALTHY)."""
        worst = max((d.exit_code for d in self.days), default=ExitCode.OK)
        return {
            ExitCode.OK: Status.HEALTHY,
            ExitCode.WARNING: Status.DEGRADED,
            ExitCode.CRITICAL: Status.UNHEALTHY,
        }[worst]

    @property
    def exit_code(self) -> ExitCode:
        return self.status.exit_code

    @property
    def trading_days(self) -> tuple[DayRow, ...]:
        return tuple(d for d in self.days if d.trading_day)

    def days_by_status(self) -> dict[str, int]:
        """Trading days per status (a trading day is HEALTHY, DEGRADED or UNHEALTHY)."""
        out = {Status.HEALTHY.value: 0, Status.DEGRADED.value: 0, Status.UNHEALTHY.value: 0}
        for d in self.trading_days:
            out[d.status.value] = out.get(d.status.value, 0) + 1
        return out

    @property
    def rth_coverage_pct(self) -> float | None:
        """Session-weighted: the share of all the period's RTH during which the loops were up
        (each day's coverage weighted by its RTH length: an early close weighs less)."""
        days = [d for d in self.trading_days if d.rth_coverage_pct is not None and d.rth_seconds > 0]
        total = sum(d.rth_seconds for d in days)
        if not total:
            return None
        return sum(d.rth_coverage_pct * d.rth_seconds for d in days) / total

    @property
    def downtime_seconds(self) -> float:
        return sum(i.rth_seconds for i in self.incidents)

    def counts(self, field: str) -> int:
        return sum(getattr(d, field) for d in self.days)

    def refused(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.days:
            for code, n in d.refused.items():
                out[code] = out.get(code, 0) + n
        return dict(sorted(out.items()))

    def to_json(self) -> dict:
        from health.period_json import period_json

        return period_json(self)


def period_report(
    reader: StoreReader,
    calendar: MarketCalendar,
    start: date,
    end: date,
    now: float,
    source: str | None = None,
    overrides: dict | None = None,
) -> PeriodReport:
    """Every day from ``start`` to ``end`` (both included), each as its own report says it."""
    if end < start:
        raise ReportUnavailable(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportUnavailable(f"a range of at most {MAX_DAYS} days, not {(end - start).days + 1}")
    calendar.check_range(start)
    calendar.check_range(end)
    first = reader.first_record_at()
    if first is None:
        raise ReportUnavailable(f"health store {reader.path} holds no records yet")
    today = calendar.local_date(now)
    if start > today:
        raise ReportUnavailable(f"{start.isoformat()} is in the future")
    lo = max(start, calendar.local_date(first))
    hi = min(end, today)
    if lo > hi:
        raise ReportUnavailable(
            f"{start.isoformat()} to {end.isoformat()} is before the store's first record "
            f"({calendar.fmt(first, '%Y-%m-%d %H:%M %Z')})"
        )
    sources = reader.sources()
    if source is not None and source not in sources:
        raise ReportUnavailable(
            f"no loop named {source!r} in {reader.path} (sources: {', '.join(sources) or 'none'})"
        )
    # The rows (DayRow) carry no advice: no run's restart command is built for them.
    alive, command = _by_run(process_alive), _no_command
    lookback = [lo - timedelta(days=k) for k in range(LOOKBACK_DAYS + 2, 0, -1)]
    lookback = [d for d in lookback if calendar.first_day <= d]
    span = (window(lookback[0] if lookback else lo, calendar, now)[0], window(hi, calendar, now)[1])
    # Each day's inputs as the day report loads them, from the period's rows read once.
    rows = RangeRows(reader, *span, slack=MAX_INTERVAL_SLACK, gate_codes=ONE_BY_ONE)
    inputs: list[DayInputs] = []
    day = lo
    while day <= hi:
        # A day no loop existed yet (another's did, for --source): nothing to report.
        with contextlib.suppress(ReportUnavailable):
            inputs.append(
                load_day(
                    rows,
                    calendar,
                    day,
                    now,
                    source,
                    overrides,
                    alive=alive,
                    restart_command=command,
                    with_signals=False,
                    gate_codes=ONE_BY_ONE,
                )
            )
        day += timedelta(days=1)
    if not inputs:
        raise ReportUnavailable(f"{start.isoformat()} to {end.isoformat()} is before the loop's first record")
    windows = [window(i.day, calendar, i.now)[:2] for i in inputs]
    gates = gate_sums(reader, inputs, windows)
    changes, counts = _with_signals(reader, calendar, inputs, overrides or {}, lookback, windows, gates)
    with cyclic_gc_paused():  # health/gc_pause.py
        _learn_cadences(rows, calendar, inputs, counts, span, changes)
        # Each loop's day inputs copied once, with its signals, gate sums and cadence.
        inputs = [
            _copy(inp, {"sources": tuple(_copy(src, c) for src, c in zip(inp.sources, ch, strict=True))})
            for inp, ch in zip(inputs, changes, strict=True)
        ]
        reports = [analyze(i) for i in inputs]
    day_rows = tuple(DayRow.of(r) for r in reports)
    return PeriodReport(
        start=lo,
        end=hi,
        calendar=calendar.code,
        tz_name=calendar.tz_name,
        tz=calendar.tz,
        now=now,
        store_path=str(reader.path),
        source=source,
        days=day_rows,
        incidents=tuple(
            incidents(calendar, day_rows, reader.first_activity_after, window(hi, calendar, now)[1])
        ),
        backtest=bool(reports) and all(r.backtest for r in reports),
    )


def _copy(record, changes: dict):
    """``dataclasses.replace(record, **changes)`` for the period's day inputs (``DayInputs``,
    ``SourceInputs``: frozen dataclasses, every field set by ``__init__``, no ``__post_init__``
    nor slots): the fields copied as they are. ``replace`` calls the frozen ``__init__``, one
    ``object.__setattr__`` per field: 3.3 us a loop's inputs against 0.5, a year's 730 of them
    (tests/test_period_copy.py holds the two equal)."""
    out = object.__new__(type(record))
    out.__dict__.update(record.__dict__)
    out.__dict__.update(changes)
    return out


def _no_command(run) -> None:
    """``restart_command`` for a period: its rows say what happened, not how to restart."""
    return None


def _by_run(fact):
    """``fact`` of a run (process_alive), asked once per run for the whole
    range, not once per day: a run's id names one run of the store, whose record the period
    reads once (store/range_rows.py)."""
    seen: dict = {}

    def of(run):
        if run.run_id not in seen:
            seen[run.run_id] = fact(run)
        return seen[run.run_id]

    return of


def _learn_cadences(
    rows: RangeRows,
    cal: MarketCalendar,
    days: list[DayInputs],
    counts: dict,
    span: tuple[float, float],
    changes: list[list[dict]],
) -> None:
    """Each loop's expected cadence on each day, as the day report learns it (health/loader.py),
    from the period's rows read once (health/period_cadence.py): added to ``changes``, the
    changes to each day's and loop's inputs."""
    ranged = {name: RangeReader(rows, name, *span, pairs) for name, pairs in counts.items()}
    sliding: dict[str, SlidingLookbacks] = {}
    for inp, changed in zip(days, changes, strict=True):
        if cal.session(inp.day) is None:  # no session: no hour for a cadence to judge (health/analysis.py)
            continue
        for src, change in zip(inp.sources, changed, strict=True):
            rr = ranged.get(src.source) or RangeReader(rows, src.source, *span, [])
            ranged[src.source] = rr
            look = sliding.get(src.source)
            if look is None:
                look = sliding[src.source] = SlidingLookbacks(rows, rr, src.source, *span, MAX_INTERVAL_SLACK)
            cadence = SlidingLookbacks.UNSURE
            if Thresholds.from_config(src.config).min_signals_per_hour is None:
                cadence = look.cadence(cal, inp.day)
            if cadence is SlidingLookbacks.UNSURE:
                cadence = expected_cadence(rr, cal, inp.day, src.source, src.config, look.rates())
            change["cadence"] = cadence
