"""The report as JSON (docs/CONTRACT.md §3): what scripts and cron jobs read.

The promised fields keep their names and types; more fields are welcome, none may go. The
records are already shaped as these sections (health/report.py), so this is a plain mapping;
tests/test_report_golden.py holds it byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # health/report.py calls this module from HealthReport.to_json()
    from health.acks import AckState
    from health.report import HealthReport, SourceAnalysis
    from health.restarts import Restart
    from store.records import AlertRecord


def report_json(report: HealthReport) -> dict[str, Any]:
    iso = report.iso
    s = report.session
    t = report.totals
    return {
        "date": report.day.isoformat(),
        "calendar": report.calendar,
        "timezone": report.tz_name,
        "status": report.status,
        "exit_code": report.exit_code,
        "generated_at": iso(report.generated_at),
        "store": report.store_path,
        # Only in a backtest's report: a production report keeps its fields (docs/CONTRACT.md §3).
        **({"backtest": True} if report.backtest else {}),
        "session": {
            "is_trading_day": s.is_trading_day,
            "open": iso(s.open),
            "close": iso(s.close),
            "early_close": s.early_close,
            "break_start": iso(s.break_start),
            "break_end": iso(s.break_end),
            "holiday": s.holiday,
            "rth_minutes": round(s.rth_seconds / 60, 1),
            "elapsed_rth_minutes": round(s.elapsed_rth_seconds / 60, 1),
            "is_today": report.is_today,
            "phase": s.phase,
        },
        "uptime": {
            "rth_coverage_pct": None if t.rth_coverage_pct is None else round(t.rth_coverage_pct, 1),
            "uptime_pct": round(t.uptime_pct, 1),
            "last_activity": iso(t.last_activity),
            "gaps": [
                {
                    "start": iso(g.start),
                    "end": iso(g.end),
                    "minutes": round(g.minutes, 1),
                    "source": g.source,
                    "ongoing": g.ongoing,
                }
                for g in t.gaps
            ],
        },
        "signals": {
            "total": t.signals,
            "rth": t.signals_rth,
            "after_hours": t.signals_after_hours,
            "stale": t.signals_stale,
            "blocked": t.blocked,
            "allowed": t.allowed,
            "future": t.signals_future,
        },
        "freshness": {
            "max_data_age_seconds": t.max_data_age,
            "median_data_age_seconds": t.median_data_age,
            "newest_data": iso(t.newest_data_ts),
            "blocked_by_reason": t.blocked_by_reason,
        },
        "alerts": [_alert_json(report, a) for a in t.alerts],
        "restarts": [
            _restart_json(report, r)
            for r in sorted((r for x in report.sources for r in x.lifecycle.restarts), key=lambda r: r.at)
        ],
        "issues": [
            {"severity": i.severity, "code": i.code, "message": i.message, "source": i.source}
            for i in report.issues
        ],
        "recommendations": [
            {"title": r.title, "steps": list(r.steps), "code": r.code} for r in report.recommendations
        ],
        "sources": [_source_json(report, x) for x in report.sources],
    } | ({"acks": [_ack_json(report, a) for a in report.acks]} if report.acks else {})


def _source_json(report: HealthReport, x: SourceAnalysis) -> dict[str, Any]:
    iso = report.iso
    th, up, sig, gate, life = x.thresholds, x.uptime, x.signals, x.gate, x.lifecycle
    latest = life.latest
    out = {
        "source": x.source,
        **({"backtest": True} if x.backtest else {}),
        "thresholds": {
            "check_interval_seconds": th.check_interval_seconds,
            "max_data_age_hours": th.max_data_age_seconds / 3600,
            "max_uptime_gap_minutes": th.max_gap_seconds / 60,
            "min_rth_coverage_pct": th.min_rth_coverage_pct,
        },
        "rth_coverage_pct": None if up.rth_coverage_pct is None else round(up.rth_coverage_pct, 1),
        "uptime_pct": round(up.pct, 1),
        "last_activity": iso(up.last_activity),
        "signals": {
            "total": sig.total,
            "rth": sig.rth,
            "after_hours": sig.after_hours,
            "stale": sig.stale,
            "blocked": gate.blocked,
        },
        "hourly": {
            str(h): {
                "signals": sig.hourly.get(h, 0),
                "allowed": gate.hourly_allowed.get(h, 0),
                "blocked": gate.hourly_blocked.get(h, 0),
            }
            for h in sorted(set(sig.hourly) | set(gate.hourly_allowed) | set(gate.hourly_blocked))
        },
        "lifecycle": {
            "starts": life.starts,
            "clean_stops": life.clean_stops,
            "unclean_exits": [
                {"pid": u.pid, "host": u.host, "last_seen": iso(u.last_seen), "why": u.why}
                for u in life.unclean_exits
            ],
            "restarts": len(life.restarts),
            "latest_pid": None if latest is None else latest.pid,
            "latest_host": None if latest is None else latest.host,
            "latest_alive": None if latest is None else latest.alive,
        },
    }
    # Present only when there is something to say, so reports without them stay as they were.
    if life.duplicates:
        out["lifecycle"]["duplicates"] = [
            {
                "pids": [d.first[1], d.second[1]],
                "hosts": [d.first[2], d.second[2]],
                "start": iso(d.start),
                "end": iso(d.end),
                "seconds": round(d.seconds, 3),
                "ongoing": d.ongoing,
            }
            for d in life.duplicates
        ]
    if x.cadence is not None and x.cadence.cadence is not None:
        c = x.cadence.cadence
        out["cadence"] = {
            "min_signals_per_hour": c.per_hour,
            "origin": c.origin,
            "learned_from_hours": c.hours if c.origin == "learned" else None,
            "learned_from_sessions": c.sessions if c.origin == "learned" else None,
            "hours_judged": sum(1 for h in x.cadence.hours if h.qualifies and h.expected is not None),
            "hours_below": [
                {
                    "start": iso(h.start),
                    "end": iso(h.end),
                    "signals": h.signals,
                    "expected": round(h.expected, 2),
                }
                for h in x.cadence.below
            ],
        }
    return out


def _restart_json(report: HealthReport, r: Restart) -> dict[str, Any]:
    """One restart (health/restarts.py): when, after what kind of exit, and what it cost."""
    return {
        "source": r.source,
        "at": report.iso(r.at),
        "exit": r.exit,
        "previous_pid": r.previous_pid,
        "previous_host": r.previous_host,
        "last_up": report.iso(r.ended),
        "downtime_seconds": round(r.downtime_seconds, 3),
        "rth_downtime_seconds": round(r.rth_downtime_seconds, 3),
        "watchdog_seconds": r.watchdog_seconds,
    }


def _alert_json(report: HealthReport, a: AlertRecord) -> dict[str, Any]:
    out = {
        "at": report.iso(a.at),
        "source": a.source,
        "code": a.code,
        "severity": a.severity,
        "resolved": a.resolved,
        "origin": a.origin,
        "message": a.message,
    }
    if a.muted is not None:  # recorded while muted: nobody was paged (docs/CONTRACT.md §6)
        out["muted"] = a.muted
    return out


def _ack_json(report: HealthReport, state: AckState) -> dict[str, Any]:
    """An operator's ack (health/acks.py): who, why, until when, and how it ended."""
    a = state.ack
    return {
        "code": a.code,
        "source": a.source,
        "by": a.by,
        "reason": a.reason,
        "at": report.iso(a.at),
        "until": report.iso(a.until),
        "ended": state.ended_by,
        "ended_at": report.iso(state.ended_at),
    }
