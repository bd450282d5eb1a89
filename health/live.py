"""The live view of a store: today's analysis plus what the dashboard and the watchdog need
right now (market phase, heartbeat age, data age, the gate's latest decisions, alert log).

One function, ``take_snapshot``, run in a worker whenever the store changes; pure data out.
"""

from __future__ import annotations

from dataclasses import dataclass

from health.analysis import analyze
from health.calendar import MarketCalendar, MarketState
from health.codes import IssueCode, Status
from health.gate import CLOSED
from health.liveness import data_age, is_up
from health.loader import ReportUnavailable, load_day
from health.process import is_backtest, process_alive, runs_here
from health.report import HealthReport, Thresholds
from health.rules import status_of
from store.reader import StoreReader
from store.records import AlertRecord, GateRecord

CLOSING_SOON_SECONDS = 15 * 60
RECENT_SECONDS = 15 * 60


@dataclass(frozen=True)
class LiveSource:
    source: str
    thresholds: Thresholds
    last_beat: float | None
    beat_age: float | None
    stopped_at: float | None  # the newest run's clean stop, if it stopped cleanly
    pid: int | None
    host: str | None
    process_alive: bool | None
    data_age: float | None  # age of the newest data the gate saw, now
    last_decision: GateRecord | None
    recent: tuple[GateRecord, ...]  # newest first
    age_trend: tuple[tuple[float, float], ...]  # (bucket start, max data age) over the session
    recent_after_hours: int = 0  # signals generated outside RTH in the last RECENT_SECONDS
    store_error: str | None = None  # the loop's newest STORE_ERROR alert, if unresolved
    process_unseen: bool = False  # ran on this host, but its state could not be read now
    last_signal: float | None = None  # when the loop's newest signal was recorded

    @property
    def clean_stop(self) -> bool:
        return self.stopped_at is not None

    def up_at(self, now: float) -> bool:
        """Is the loop up at ``now`` (health/liveness.py)? Widgets ask with their own clock,
        which runs on between snapshots."""
        return is_up(self.last_beat, now, self.thresholds.check_interval_seconds, self.stopped_at)

    def data_age_at(self, now: float) -> float | None:
        """Age at ``now`` of the newest data its gate saw (health/liveness.py)."""
        last = self.last_decision
        return data_age(last.last_data_ts if last is not None else None, now)


@dataclass(frozen=True)
class LiveSnapshot:
    now: float
    calendar: str
    tz_name: str
    market: MarketState
    closing_soon: bool
    report: HealthReport | None  # None before any loop has recorded today
    sources: tuple[LiveSource, ...]
    alerts: tuple[AlertRecord, ...]  # today's alert log, newest first
    data_version: int

    @property
    def tz(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.tz_name)

    @property
    def firing(self) -> list[AlertRecord]:
        """Alerts whose newest transition is 'firing' (per source and code)."""
        latest: dict[tuple, AlertRecord] = {}
        for a in sorted(self.alerts, key=lambda a: (a.at, a.id)):
            latest[(a.source, a.code)] = a
        return [a for a in latest.values() if not a.resolved]

    def status_of(self, source: str) -> Status:
        """One loop's status today, by the report's own rule (health/rules.py) over that loop's
        issues; UNKNOWN before any loop has recorded today. The console's loop table and the
        metrics' ``production_health_status`` both read it."""
        if self.report is None:
            return Status.UNKNOWN
        return status_of(self.report.session, [i for i in self.report.issues if i.source == source])


def market_phase(calendar: MarketCalendar, now: float) -> tuple[MarketState, bool]:
    state = calendar.state(now)
    soon = bool(state.is_open and state.session and state.session.close_ts - now <= CLOSING_SOON_SECONDS)
    return state, soon


def take_snapshot(
    reader: StoreReader,
    calendar: MarketCalendar,
    now: float,
    source: str | None = None,
    alive=process_alive,
) -> LiveSnapshot:
    state, soon = market_phase(calendar, now)
    day = calendar.local_date(now)
    version = reader.data_version()
    try:
        inputs = load_day(reader, calendar, day, now, source, alive=alive)
    except ReportUnavailable:
        inputs = None
    report = analyze(inputs) if inputs else None
    start = (state.session.open_ts if state.session else now - 6 * 3600) - 3600
    sources = []
    for name in [s.source for s in inputs.sources] if inputs else reader.sources():
        latest = reader.last_run_before(name, now + 1)
        th = Thresholds.from_config(latest.config if latest else {})
        last_beat = reader.last_activity(name, before=now)
        recent = reader.last_gate(name, limit=12, before=now)
        last = recent[0] if recent else None
        age = data_age(last.last_data_ts if last else None, now)
        newest_signal = reader.newest_signal_times(name, limit=1, before=now + 1)
        trend = _trend(reader.gate(start, now + 1, name))
        after_hours = sum(
            1
            for at, _ in reader.signal_times(now - RECENT_SECONDS, now + 1, name)
            if not calendar.state(at).is_open
        )
        proc_alive = alive(latest) if latest else None
        store_error = None
        for a in reader.alerts(now - 7 * 86400, now + 1, name):
            if a.code == IssueCode.STORE_ERROR and a.origin == "monitor":
                store_error = None if a.resolved else a.message
        sources.append(
            LiveSource(
                source=name,
                thresholds=th,
                last_beat=last_beat,
                beat_age=None if last_beat is None else max(0.0, now - last_beat),
                # A stop after now has not happened yet (a replay's past instant).
                stopped_at=latest.stopped_at if latest and (latest.stopped_at or now + 1) <= now else None,
                pid=latest.pid if latest else None,
                host=latest.host if latest else None,
                process_alive=proc_alive,
                data_age=age,
                last_decision=last,
                recent=tuple(recent),
                age_trend=trend,
                recent_after_hours=after_hours,
                store_error=store_error,
                process_unseen=(
                    proc_alive is None
                    and latest is not None
                    and runs_here(latest)
                    and not is_backtest(latest)
                ),
                last_signal=newest_signal[0][0] if newest_signal else None,
            )
        )
    day_start = calendar_day_start(calendar, now)
    alerts = tuple(reversed(reader.alerts(day_start, now + 1, source)))
    return LiveSnapshot(
        now=now,
        calendar=calendar.code,
        tz_name=calendar.tz_name,
        market=state,
        closing_soon=soon,
        report=report,
        sources=tuple(sources),
        alerts=alerts,
        data_version=version,
    )


def calendar_day_start(calendar: MarketCalendar, now: float) -> float:
    from health.calendar import day_bounds

    return day_bounds(calendar.local_date(now), calendar.tz)[0]


def _trend(records: list[GateRecord]) -> tuple[tuple[float, float], ...]:
    """Max data age per bucket, from the gate's aggregates (non-'closed' buckets only)."""
    per: dict[int, float] = {}
    for g in records:
        if g.code == CLOSED:
            continue
        per[g.bucket] = max(per.get(g.bucket, g.max_age), g.max_age)
    return tuple(sorted((float(b), a) for b, a in per.items()))
