"""Analysis of one date: pure functions from plain records (no SQLite here) to a report.

Definitions (docs/CONTRACT.md §3): the window is the calendar day in the exchange's time zone, or its
elapsed part for today. Activity at t keeps a loop up until t + 2 x its check interval (capped
by a clean stop and by now). RTH coverage is the share of the session's RTH (breaks cut out;
for today the elapsed part) during which the loop was up. A gap is a silence between
heartbeats whose RTH part is longer than ``max_uptime_gap_minutes``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from health import intervals as iv
from health.acks import ack_states
from health.cadence import Cadence, CadenceFacts, judge_hours
from health.calendar import MarketCalendar, day_bounds
from health.codes import IssueCode
from health.gate import FUTURE, WHOLE_HOUR_SLACK
from health.gate_stats import gate_stats
from health.liveness import is_silent, up_intervals, up_window
from health.process import is_backtest, restart_command
from health.report import (
    Duplicate,
    Gap,
    HealthReport,
    LatestRun,
    Lifecycle,
    SessionInfo,
    Signals,
    SourceAnalysis,
    Thresholds,
    Totals,
    UnexpectedExit,
    Uptime,
)
from health.restarts import Restart, find_restarts, last_beats
from health.signal_tally import SignalTally
from store.acks import AckRecord
from store.records import AlertRecord, EventRecord, GateRecord, RunRecord, SpanRecord


@dataclass(frozen=True)
class SourceInputs:
    source: str
    runs: tuple[RunRecord, ...]  # runs alive in the window
    spans: tuple[SpanRecord, ...]  # spans overlapping the window
    gate: tuple[GateRecord, ...]
    signals: tuple[tuple[float, float], ...]  # (at, data_ts)
    alerts: tuple[AlertRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()
    last_activity: float | None = None  # newest heartbeat at or before the window's end
    config: dict = field(default_factory=dict)  # the newest recorded run config
    later_starts: tuple[float, ...] = ()  # the first start of this source after the window, if any
    latest_run: RunRecord | None = None
    # The run before the window's first run, when that one started inside the window, and
    # its last heartbeat: whether that start was a restart (health/restarts.py).
    previous_run: RunRecord | None = None
    previous_last_beat: float | None = None
    # The signals already summed up (health/period.py, from SQLite's aggregates), in place of
    # ``signals``: the counts the rules read, exact; no median or hourly profile.
    signal_summary: Signals | None = None
    signal_counts: tuple[tuple[float, int], ...] | None = None  # (time, signals) pairs with it
    cadence: Cadence | None = None  # the signals a session hour should hold (health/cadence.py)
    # The signals already tallied (the live view keeps one up to date); ``signals`` is then
    # not read.
    signal_tally: SignalTally | None = None
    # The gate's buckets of the codes ``gate`` leaves out, already summed up (health/period.py):
    # (code, allowed, decisions, first bucket); health/gate_stats.py.
    gate_sums: tuple[tuple[str, bool, int, int], ...] = ()


@dataclass(frozen=True)
class DayInputs:
    day: date
    calendar: MarketCalendar
    now: float
    sources: tuple[SourceInputs, ...]
    store_path: str = ""
    alive: Callable[[RunRecord], bool | None] = lambda run: None  # pid alive on this host?
    # health/process.py's, or the same memoised per run by a caller that asks it every day
    restart_command: Callable[[RunRecord], str | None] = restart_command
    overrides: dict = field(default_factory=dict)  # threshold flags
    acks: tuple[AckRecord, ...] = ()  # operators' acks in force at some point of the day
    ack_resolutions: tuple[AlertRecord, ...] = ()  # the watchdog's resolutions while they ran


def window(day: date, calendar: MarketCalendar, now: float) -> tuple[float, float, bool]:
    start, end = day_bounds(day, calendar.tz)
    is_today = start <= now < end
    return start, (min(end, now) if is_today else end), is_today


def session_info(
    day: date, calendar: MarketCalendar, now: float, win_end: float, is_today: bool
) -> SessionInfo:
    sess = calendar.session(day)
    phase = None
    if is_today:
        phase = calendar.state(now).phase
    if sess is None:
        return SessionInfo(False, None, None, False, holiday=calendar.holiday_name(day), phase=phase)
    rth = sess.rth_intervals()
    return SessionInfo(
        True,
        sess.open_ts,
        sess.close_ts,
        sess.early_close,
        sess.break_start_ts,
        sess.break_end_ts,
        rth_seconds=iv.total(rth),
        elapsed_rth_seconds=iv.total(iv.clip(rth, sess.open_ts, win_end)),
        phase=phase,
    )


def analyze_source(inp: DayInputs, src: SourceInputs) -> SourceAnalysis:
    cal = inp.calendar
    win_start, win_end, _ = window(inp.day, cal, inp.now)
    th = Thresholds.from_config(src.config, **inp.overrides)
    sess = cal.session(inp.day)
    rth = iv.clip(sess.rth_intervals(), win_start, win_end) if sess else []
    if src.signal_summary is not None:
        signals, counts = src.signal_summary, src.signal_counts
    else:
        tally = _tally(src, cal, th)
        signals, counts = tally.signals(), tally.minute_counts()
    gate = gate_stats(src.gate, cal, win_start, src.gate_sums)
    if signals.whole_hour_offset is None and gate.future:
        # The gate refused the data as future (so no signal shows the offset): naive UTC read
        # as local time lands whole hours ahead; say so, with the fix, not just "future".
        hours, count = _gate_whole_hour_offset(src.gate, gate.future)
        if hours is not None:
            signals = replace(
                signals, whole_hour_offset=hours, whole_hour_count=count, whole_hour_from_gate=True
            )
    uptime = _uptime(inp, src, th, sess, rth, win_start, win_end)
    return SourceAnalysis(
        source=src.source,
        thresholds=th,
        uptime=uptime,
        signals=signals,
        gate=gate,
        lifecycle=_lifecycle(inp, src, th, win_start, win_end),
        alerts=tuple(src.alerts),
        backtest=src.latest_run is not None and is_backtest(src.latest_run),
        cadence=_cadence(src, counts, sess, uptime, win_end),
    )


def _cadence(src: SourceInputs, counts, sess, uptime: Uptime, win_end: float) -> CadenceFacts | None:
    """The session's hours that have passed against the loop's expected cadence
    (health/cadence.py); None on a day without a session. ``counts``: (time, signals) pairs,
    per minute (session hours start and end on whole minutes), else one per signal."""
    if sess is None:
        return None
    if counts is None:
        counts = [(at, 1) for at, _ in src.signals]
    hours = judge_hours(sess, win_end, counts, uptime.intervals, src.gate, src.cadence)
    return CadenceFacts(src.cadence, hours)


def _duplicates(inp: DayInputs, src: SourceInputs, win_start: float, win_end: float) -> tuple[Duplicate, ...]:
    """Runs of this loop that beat at the same time for longer than two check intervals: two
    processes, not a restart. Their overlap may begin before the window (spans are read with
    slack), so one that runs across midnight is still seen whole."""
    runs = {r.run_id: r for r in src.runs}
    beats: dict[str, list[tuple[float, float]]] = {}
    for span in src.spans:
        beats.setdefault(span.run_id, []).append((span.start, span.end))
    hull = {rid: (min(s for s, _ in got), max(e for _, e in got)) for rid, got in beats.items()}
    order = sorted(beats, key=lambda rid: hull[rid][0])
    out = []
    for a, b in itertools.combinations(order, 2):
        if hull[a][1] <= hull[b][0]:
            continue  # b began beating after a's last beat (the usual restart): no overlap
        both = iv.intersect(iv.merge(beats[a]), iv.merge(beats[b]))
        seconds = iv.total(both)
        ra, rb = runs.get(a), runs.get(b)
        intervals = [r.heartbeat_interval for r in (ra, rb) if r is not None] or [60.0]
        if (
            not both
            or seconds <= up_window(max(intervals))
            or both[-1][1] < win_start
            or both[0][0] >= win_end
        ):
            continue
        recent = inp.now - up_window(max(intervals))
        ongoing = (
            win_start <= inp.now < win_end + 1
            and all(max(e for _, e in beats[rid]) >= recent for rid in (a, b))
            and all(r is None or r.stopped_at is None or r.stopped_at > inp.now for r in (ra, rb))
        )
        out.append(
            Duplicate(
                src.source,
                (a, ra.pid if ra else None, ra.host if ra else None),
                (b, rb.pid if rb else None, rb.host if rb else None),
                both[0][0],
                both[-1][1],
                seconds,
                ongoing,
            )
        )
    return tuple(out)


def _uptime(
    inp: DayInputs, src: SourceInputs, th: Thresholds, sess, rth, win_start: float, win_end: float
) -> Uptime:
    """Each span keeps the loop up until its last beat's up-window ends (health/liveness.py)."""
    runs = {r.run_id: r for r in src.runs}
    beats = [(span.start, span.end) for span in src.spans]
    up = up_intervals(src.spans, runs, th.check_interval_seconds, inp.now)
    up_in_window = iv.clip(up, win_start, win_end)
    uptime = iv.total(up_in_window)
    window_seconds = max(0.0, win_end - win_start)
    rth_total = iv.total(rth)
    rth_up = iv.total(iv.intersect(up, rth))
    return Uptime(
        seconds=uptime,
        window_seconds=window_seconds,
        rth_up_seconds=rth_up,
        rth_coverage_pct=(100.0 * rth_up / rth_total) if rth_total > 0 else None,
        pct=(100.0 * uptime / window_seconds) if window_seconds else 0.0,
        last_activity=src.last_activity,
        intervals=tuple(up_in_window),
        gaps=tuple(_gaps(src.source, beats, rth, sess, win_end, th, inp.now)),
    )


def _tally(src: SourceInputs, cal: MarketCalendar, th: Thresholds) -> SignalTally:
    """The loop's signals, tallied (health/signal_tally.py): the live view hands in the one it
    keeps up to date, a report tallies the day's signals here."""
    tally = src.signal_tally
    if tally is None:
        return SignalTally(cal, th).extend(src.signals)
    if tally.thresholds != th or tally.calendar is not cal:
        raise ValueError(f"signal tally of {src.source!r} was kept for other thresholds or another calendar")
    return tally


def _lifecycle(
    inp: DayInputs, src: SourceInputs, th: Thresholds, win_start: float, win_end: float
) -> Lifecycle:
    latest = src.latest_run
    return Lifecycle(
        starts=sum(1 for r in src.runs if win_start <= r.started_at < win_end),
        clean_stops=sum(
            1 for r in src.runs if r.stopped_at is not None and win_start <= r.stopped_at < win_end
        ),
        unclean_exits=tuple(_unclean_exits(inp, src, th, win_start, win_end)),
        store_errors=tuple(
            (a.at, a.message) for a in src.alerts if a.code == IssueCode.STORE_ERROR and not a.resolved
        ),
        dropped_events=sum(
            int(e.detail_dict().get("count", 0)) for e in src.events if e.kind == "dropped_events"
        ),
        restarts=_restarts(inp, src, win_start, win_end),
        duplicates=_duplicates(inp, src, win_start, win_end),
        latest=None
        if latest is None
        else LatestRun(
            run_id=latest.run_id,
            pid=latest.pid,
            host=latest.host,
            alive=inp.alive(latest),
            log_files=tuple(latest.config.get("log_files") or ()),
            restart_command=inp.restart_command(latest),
        ),
    )


def _restarts(inp: DayInputs, src: SourceInputs, win_start: float, win_end: float) -> tuple[Restart, ...]:
    runs = [r for r in src.runs if not is_backtest(r)]  # a simulation has no process to restart
    beats = last_beats(src.spans)
    prev = src.previous_run
    if prev is not None and not is_backtest(prev) and all(r.run_id != prev.run_id for r in runs):
        runs.append(prev)
        if src.previous_last_beat is not None:
            beats[prev.run_id] = max(beats.get(prev.run_id, src.previous_last_beat), src.previous_last_beat)
    found = find_restarts(runs, beats, inp.calendar)
    return tuple(r for r in found if win_start <= r.at < win_end)


def _gaps(source, beats, rth, sess, win_end, th: Thresholds, now: float) -> list[Gap]:
    if sess is None or not rth:
        return []
    end = min(sess.close_ts, win_end)
    beat_runs = iv.merge(beats, join_within=th.up_after_beat)
    out = []
    for s, e in iv.complement(beat_runs, sess.open_ts, end):
        rth_part = iv.total(iv.intersect([(s, e)], rth))
        if rth_part > th.max_gap_seconds:
            out.append(Gap(source, s, e, rth_part, ongoing=(e >= now - 1 and e < sess.close_ts)))
    return out


def _gate_whole_hour_offset(gate: tuple[GateRecord, ...], total: int) -> tuple[int | None, int]:
    """The same test over the gate's future refusals (buckets carry their min and max age)."""
    offsets: Counter[int] = Counter()
    for g in gate:
        if g.code != FUTURE:
            continue
        hours = round(g.max_age / 3600)
        if hours != 0 and all(abs(a - hours * 3600) <= WHOLE_HOUR_SLACK for a in (g.min_age, g.max_age)):
            offsets[hours] += g.count
    if not offsets:
        return None, 0
    hours, count = offsets.most_common(1)[0]
    return (hours, count) if count * 2 >= total else (None, 0)


def _unclean_exits(
    inp: DayInputs, src: SourceInputs, th: Thresholds, lo: float, hi: float
) -> list[UnexpectedExit]:
    """Runs that ended without close(): a later run took over, or the process is gone."""
    out = []
    runs = sorted(src.runs, key=lambda r: r.started_at)
    starts = [r.started_at for r in runs] + list(src.later_starts)
    for run in runs:
        if run.stopped_at is not None or is_backtest(run):  # a simulation has no process to lose
            continue
        last = run.last_seen or run.started_at
        if not lo <= last < hi:
            continue
        # A later start after this run's last sign of life: it was replaced. One while it
        # still beat is a second process (DUPLICATE_LOOP), judged below like any live run.
        later = any(s > run.started_at and last <= s + up_window(run.heartbeat_interval) for s in starts)
        if later:
            out.append(
                UnexpectedExit(run.run_id, run.source, run.pid, run.host, run.started_at, last, "restarted")
            )
            continue
        alive = inp.alive(run)
        silent = is_silent(last, inp.now, max(th.up_after_beat, th.max_gap_seconds))
        if alive is False:
            out.append(
                UnexpectedExit(
                    run.run_id, run.source, run.pid, run.host, run.started_at, last, "process gone"
                )
            )
        elif alive is None and silent:
            out.append(
                UnexpectedExit(run.run_id, run.source, run.pid, run.host, run.started_at, last, "silent")
            )
    return out


def analyze(inp: DayInputs) -> HealthReport:
    from health.recommendations import recommend
    from health.rules import evaluate_rules, status_of

    cal = inp.calendar
    win_start, win_end, is_today = window(inp.day, cal, inp.now)
    session = session_info(inp.day, cal, inp.now, win_end, is_today)
    sources = tuple(analyze_source(inp, s) for s in inp.sources)
    issues = evaluate_rules(inp, session, sources)
    status = status_of(session, issues)
    return HealthReport(
        day=inp.day,
        calendar=cal.code,
        tz=cal.tz,
        tz_name=cal.tz_name,
        now=inp.now,
        is_today=is_today,
        status=status,
        session=session,
        sources=sources,
        issues=tuple(issues),
        recommendations=tuple(recommend(inp, session, sources, issues)),
        store_path=inp.store_path,
        window_start=win_start,
        window_end=win_end,
        generated_at=inp.now,
        totals=Totals.of(sources),
        acks=ack_states(inp.acks, inp.ack_resolutions, inp.now),
    )
