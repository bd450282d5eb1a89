"""From the store to the analysis' plain inputs: the only place the analysis touches SQLite,
and every query bounded by the day's window."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from health.analysis import DayInputs, SourceInputs, analyze, window
from health.cadence import DATA_REFUSALS, LOOKBACK_SESSIONS, Cadence, learn_from_rates, session_rates
from health.calendar import CalendarRangeError, MarketCalendar, get_calendar
from health.calendar_record import calendar_for
from health.liveness import up_intervals
from health.process import process_alive, restart_command
from health.report import HealthReport, Thresholds
from store.reader import StoreReader, StoreUnavailable

if TYPE_CHECKING:
    from health.day_tail import DayTail

MAX_INTERVAL_SLACK = 7200.0  # spans ending this long before the window can still cover it
LOOKBACK_DAYS = 21  # calendar days that hold LOOKBACK_SESSIONS sessions, holidays included


class ReportUnavailable(RuntimeError):
    """The report cannot be made (UNKNOWN, exit 3): the reason is one line for stderr."""


def today(calendar: MarketCalendar, now: float | None = None) -> date:
    return datetime.fromtimestamp(time.time() if now is None else now, calendar.tz).date()


def load_day(
    reader: StoreReader,
    calendar: MarketCalendar,
    day: date,
    now: float,
    source: str | None = None,
    overrides: dict | None = None,
    alive=process_alive,
    restart_command=restart_command,
    with_signals: bool = True,
    tail: DayTail | None = None,
    gate_codes: Collection[str] | None = None,
) -> DayInputs:
    """The day's inputs from the store; ``with_signals=False`` leaves the signals and the
    learned cadence out, and ``gate_codes`` the gate buckets of other reason codes, for a
    caller that sums them up in SQLite (health/period.py). With
    ``tail`` (the live view's), signals, gate buckets, alerts and events come from what it
    kept and what is new since its last look (health/day_tail.py); everything else is read
    here either way."""
    calendar.check_range(day)
    win_start, win_end, _ = window(day, calendar, now)
    first = reader.first_record_at()
    if first is None:
        raise ReportUnavailable(f"health store {reader.path} holds no records yet")
    if win_end <= first and calendar.local_date(first) > day:
        raise ReportUnavailable(
            f"{day.isoformat()} is before the store's first record "
            f"({calendar.fmt(first, '%Y-%m-%d %H:%M %Z')})"
        )
    if win_start > now:
        raise ReportUnavailable(f"{day.isoformat()} is in the future")
    all_sources = reader.sources()
    if source is not None and source not in all_sources:
        raise ReportUnavailable(
            f"no loop named {source!r} in {reader.path} (sources: {', '.join(all_sources) or 'none'})"
        )
    names = [source] if source else all_sources
    if tail is not None:
        tail.catch_up(reader, calendar, day, now, source)
    inputs = []
    for name in names:
        runs = reader.runs(win_start, win_end, name)
        config_run = runs[-1] if runs else reader.last_run_before(name, win_end)
        if config_run is None:
            continue  # this loop did not exist yet on that day
        next_start = reader.next_run_start(name, win_end)
        later = () if next_start is None else (next_start,)
        previous = previous_beat = None
        if runs and runs[0].started_at >= win_start:  # was the day's first start a restart?
            previous = reader.last_run_before(name, runs[0].started_at)
            if previous is not None:
                previous_beat = reader.last_activity(name, before=runs[0].started_at)
        if tail is None:
            gate = reader.gate(
                win_start, win_end, name, codes=None if gate_codes is None else sorted(gate_codes)
            )
            signals = reader.signal_times(win_start, win_end, name) if with_signals else ()
            tally = None
            alerts = reader.alerts(win_start, win_end, name)
            events = reader.events(win_start, win_end, name)
        else:
            gate = tail.gate(reader, win_start, win_end, name)
            th = Thresholds.from_config(config_run.config, **(overrides or {}))
            signals, tally = (), tail.signals(reader, name, th)
            alerts = tail.alerts(win_start, win_end, name)
            events = tail.events(win_start, win_end, name)
        inputs.append(
            SourceInputs(
                source=name,
                runs=tuple(runs),
                spans=tuple(reader.spans(win_start, win_end, name, slack=MAX_INTERVAL_SLACK)),
                gate=tuple(gate),
                signals=tuple(signals),
                signal_tally=tally,
                alerts=tuple(alerts),
                events=tuple(events),
                last_activity=reader.last_activity(name, before=win_end),
                config=config_run.config,
                later_starts=later,
                latest_run=config_run,
                previous_run=previous,
                previous_last_beat=previous_beat,
                # health/period.py learns it for a whole period at once.
                cadence=expected_cadence(reader, calendar, day, name, config_run.config)
                if with_signals
                else None,
            )
        )
    if not inputs:
        raise ReportUnavailable(f"{day.isoformat()} is before the store's first record")
    # Today's window ends now, and an ack made this very second is in force.
    ack_end = win_end + 1 if win_end >= now else win_end
    acks = tuple(a for a in reader.acks(win_start, ack_end) if source is None or a.source in (None, source))
    resolutions = ()
    if acks:  # what ended them may lie after the day (an ack made at 23:00)
        lo, hi = min(a.at for a in acks), max(a.until for a in acks)
        resolutions = tuple(
            a for a in reader.alerts(lo, hi + 1, source) if a.origin == "watchdog" and a.resolved
        )
    return DayInputs(
        day=day,
        calendar=calendar,
        now=now,
        sources=tuple(inputs),
        store_path=str(reader.path),
        alive=alive,
        restart_command=restart_command,
        overrides=overrides or {},
        acks=acks,
        ack_resolutions=resolutions,
    )


def open_store(store_path) -> StoreReader:
    """The store, read-only, for one report (a snapshot when no loop has it open)."""
    try:
        return StoreReader(store_path, snapshot=True)
    except StoreUnavailable as exc:
        raise ReportUnavailable(str(exc)) from None


def recorded_code(reader: StoreReader) -> str | None:
    """The calendar the loops recorded, when they all agree on one: ``--calendar`` is needed
    only to override it."""
    try:
        runs = reader.latest_runs()
    except StoreUnavailable:
        return None
    codes = {r.config.get("calendar") for r in runs if r.config.get("calendar")}
    return codes.pop() if len(codes) == 1 else None


def store_calendar(store_path, code: str | None = None, now: float | None = None) -> MarketCalendar:
    """The calendar to read ``store_path`` with, for today at ``now``: ``code``, else the one
    its loops recorded, else XNYS; as recorded in the store when it can answer
    (health/calendar_record.py). For the console, whose calendar is chosen once at start."""
    try:
        reader = StoreReader(store_path, snapshot=True)
    except StoreUnavailable:
        return get_calendar(code or "XNYS")
    with reader:
        try:
            return calendar_for(reader, code or recorded_code(reader) or "XNYS", now=now)
        except StoreUnavailable:
            return get_calendar(code or "XNYS")


def report_of(
    reader: StoreReader,
    calendar: MarketCalendar,
    day: date,
    now: float,
    source: str | None = None,
    overrides: dict | None = None,
) -> HealthReport:
    try:
        return analyze(load_day(reader, calendar, day, now, source, overrides))
    except StoreUnavailable as exc:
        raise ReportUnavailable(str(exc)) from None
    except CalendarRangeError as exc:
        raise ReportUnavailable(str(exc)) from None


def build_report(
    store_path,
    day: date | None = None,
    calendar_code: str = "XNYS",
    source: str | None = None,
    now: float | None = None,
    overrides: dict | None = None,
) -> HealthReport:
    """The whole engine behind --report, check-production-health and the console browser,
    on one read-only connection; the calendar as the store recorded it, when it can answer."""
    now = time.time() if now is None else now
    try:
        reader = StoreReader(store_path, snapshot=True)
    except StoreUnavailable as exc:
        get_calendar(calendar_code)  # a bad code is the first thing to say, store or none
        raise ReportUnavailable(str(exc)) from None
    try:
        try:
            calendar = calendar_for(reader, calendar_code, day, now)
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
        return report_of(reader, calendar, day or today(calendar, now), now, source, overrides)
    finally:
        reader.close()


_learned: dict[tuple, Cadence | None] = {}
_learned_lock = threading.Lock()


def expected_cadence(
    reader: StoreReader, calendar: MarketCalendar, day: date, source: str, config: dict, rates=session_rates
) -> Cadence | None:
    """The signal cadence ``source`` is held to on ``day`` (health/cadence.py): its own
    setting, else learned from its sessions before that day. The learned figure depends only
    on past sessions, so it is kept per store file, loop and day (the live views ask for it
    every few seconds)."""
    rate = Thresholds.from_config(config).min_signals_per_hour
    if rate is not None:
        return Cadence(rate, "config")
    key = (str(reader.path), reader.identity(), source, day, calendar.code)
    with _learned_lock:
        if key in _learned:
            return _learned[key]
    cadence = _learn_cadence(reader, calendar, day, source, rates)
    with _learned_lock:
        if len(_learned) > 256:
            _learned.clear()
        _learned[key] = cadence
    return cadence


def lookback_sessions(calendar: MarketCalendar, day: date) -> list:
    """The past sessions ``day``'s cadence is learned from (health/cadence.py)."""
    sessions = calendar.sessions_between(day - timedelta(days=LOOKBACK_DAYS), day - timedelta(days=1))
    return sessions[-LOOKBACK_SESSIONS:]


def lookback_interval(runs) -> float:
    """The check interval a lookback's spans of an unknown run are held to: its first run's."""
    return Thresholds.from_config(runs[0].config).check_interval_seconds


def _learn_cadence(
    reader: StoreReader, calendar: MarketCalendar, day: date, source: str, rates=session_rates
) -> Cadence | None:
    """``rates``: each past session's qualifying rates (health/cadence.py ``session_rates``), or
    a caller's that remembers them per session (health/period_cadence.py)."""
    sessions = lookback_sessions(calendar, day)
    if not sessions:
        return None
    start, end = sessions[0].open_ts, sessions[-1].close_ts
    found = reader.runs(start, end, source)
    if not found:
        return None
    runs = {r.run_id: r for r in found}
    default = lookback_interval(found)
    up = up_intervals(reader.spans(start, end, source, slack=MAX_INTERVAL_SLACK), runs, default, end)
    # Only the data refusals count (judge_hours filters them again): filtered once, not per session.
    gate = [g for g in reader.gate(start, end, source) if not g.allowed and g.code in DATA_REFUSALS]
    counts = reader.signal_counts(start, end, source)
    return learn_from_rates([rates(s, s.close_ts, counts, up, gate) for s in sessions])
