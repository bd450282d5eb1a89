"""Build the analysis' plain inputs (health.analysis.DayInputs) by hand, without a store: for
tests that put one fact exactly on a boundary (a silence of exactly the gap limit, data stamped
exactly at the future tolerance) and read what the analysis and the rules decide of it."""

from __future__ import annotations

from datetime import date

from health.analysis import DayInputs, SourceInputs, analyze
from health.calendar import get_calendar
from health.report import HealthReport
from health.simulation import at
from store.records import AlertRecord, EventRecord, GateRecord, RunRecord, SpanRecord

CONFIG = {
    "check_interval_seconds": 60,
    "max_data_age_hours": 1.0,
    "max_uptime_gap_minutes": 30,
    "future_tolerance_seconds": 5.0,
}


def run(
    start: float,
    stopped_at: float | None = None,
    last_seen: float | None = None,
    source: str = "loop",
    run_id: str = "run-1",
    **config,
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        source=source,
        pid=4242,
        host="trading-host",
        argv=("loop.py",),
        version="0.1.0",
        config=CONFIG | config,
        started_at=start,
        stopped_at=stopped_at,
        last_seen=last_seen if last_seen is not None else stopped_at,
    )


def span(start: float, end: float, seq: int = 0, source: str = "loop", run_id: str = "run-1") -> SpanRecord:
    return SpanRecord(run_id, seq, source, start, end, beats=max(1, int((end - start) // 60) + 1))


def gate_bucket(
    code: str, first_at: float, count: int = 1, age: float = 60.0, allowed: bool = False
) -> GateRecord:
    return GateRecord(
        source="loop",
        bucket=int(first_at // 60),
        code=code,
        allowed=allowed,
        count=count,
        min_age=age,
        max_age=age,
        sum_age=age * count,
        first_at=first_at,
        last_at=first_at,
        last_reason=code,
        last_data_ts=first_at - age,
    )


def day_report(
    day: date,
    *,
    calendar: str = "XNYS",
    spans: tuple[SpanRecord, ...] = (),
    signals: tuple[tuple[float, float], ...] = (),
    gate: tuple[GateRecord, ...] = (),
    now: float | None = None,
    stopped: bool = True,
    alerts: tuple[AlertRecord, ...] = (),
    events: tuple[EventRecord, ...] = (),
    later_starts: tuple[float, ...] = (),
    alive: bool | None = None,
    extra_runs: tuple[RunRecord, ...] = (),
    overrides: dict | None = None,
    previous_run: RunRecord | None = None,
    previous_last_beat: float | None = None,
    store_path: str = "",
    latest: bool = True,
    **config,
) -> HealthReport:
    """The report of ``day`` for one loop that ran with these spans, signals and gate buckets
    (a clean stop at its last beat unless ``stopped`` is False); judged the morning after unless
    ``now`` is given."""
    cal = get_calendar(calendar)
    if now is None:
        now = at(day, 23, 59, calendar=calendar) + 12 * 3600
    times = [s.start for s in spans] + [a for a, _ in signals] + [g.first_at for g in gate]
    first = min(times, default=now - 60)
    last = max([s.end for s in spans] + [a for a, _ in signals] + [g.last_at for g in gate], default=None)
    the_run = run(first, stopped_at=last if stopped else None, last_seen=last, **config)
    source = SourceInputs(
        source="loop",
        runs=(the_run, *extra_runs),
        spans=spans,
        gate=gate,
        signals=signals,
        last_activity=max((s.end for s in spans), default=None),
        config=the_run.config,
        latest_run=the_run if latest else None,
        alerts=alerts,
        events=events,
        later_starts=later_starts,
        previous_run=previous_run,
        previous_last_beat=previous_last_beat,
    )
    inputs = DayInputs(
        day=day,
        calendar=cal,
        now=now,
        sources=(source,),
        alive=lambda run: alive,
        overrides=overrides or {},
        store_path=store_path,
    )
    return analyze(inputs)
