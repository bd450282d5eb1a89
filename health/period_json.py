"""The period report as JSON (docs/CONTRACT.md §3, ``--from``/``--to --json``): the totals a
desk reports, one object per day, and the incidents."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # health/period.py calls this module from PeriodReport.to_json()
    from health.period import PeriodReport


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def period_json(p: PeriodReport) -> dict[str, Any]:
    def iso(ts: float) -> str:
        return datetime.fromtimestamp(ts, p.tz).isoformat()

    recoveries = [i.recovery_seconds for i in p.incidents if not i.ongoing]
    data: dict[str, Any] = {
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "calendar": p.calendar,
        "timezone": p.tz_name,
        "status": p.status,
        "exit_code": p.exit_code,
        "generated_at": iso(p.now),
        "store": p.store_path,
        **({"backtest": True} if p.backtest else {}),
        "source": p.source,
        "totals": {
            "days": len(p.days),
            "trading_days": len(p.trading_days),
            "trading_days_by_status": p.days_by_status(),
            "rth_coverage_pct": _r(p.rth_coverage_pct, 2),
            "rth_minutes": _r(sum(d.rth_seconds for d in p.trading_days) / 60),
            "signals": {
                "total": p.counts("signals"),
                "rth": p.counts("signals_rth"),
                "after_hours": p.counts("signals_after_hours"),
                "stale": p.counts("signals_stale"),
            },
            "allowed": p.counts("allowed"),
            "refused_by_reason": p.refused(),
            "incidents": {
                "count": len(p.incidents),
                "ongoing": sum(i.ongoing for i in p.incidents),
                "downtime_minutes": _r(p.downtime_seconds / 60),
                "longest_downtime_minutes": _r(max((i.rth_seconds for i in p.incidents), default=0) / 60),
                "mean_recovery_minutes": _r(sum(recoveries) / len(recoveries) / 60) if recoveries else None,
                "longest_recovery_minutes": _r(max(recoveries) / 60) if recoveries else None,
            },
        },
        "days": [
            {
                "date": d.day.isoformat(),
                "status": d.status,
                "exit_code": d.exit_code,
                "trading_day": d.trading_day,
                "holiday": d.holiday,
                "rth_minutes": _r(d.rth_seconds / 60),
                "rth_coverage_pct": _r(d.rth_coverage_pct),
                "gaps": len(d.gaps),
                "downtime_minutes": _r(d.downtime_seconds / 60),
                "signals": {
                    "total": d.signals,
                    "rth": d.signals_rth,
                    "after_hours": d.signals_after_hours,
                    "stale": d.signals_stale,
                },
                "allowed": d.allowed,
                "refused_by_reason": d.refused,
                "issues": [
                    {"severity": i.severity, "code": i.code, "source": i.source, "message": i.message}
                    for i in d.issues
                ],
            }
            for d in p.days
        ],
        "incidents": [
            {
                "source": i.source,
                "start": iso(i.start),
                "end": iso(i.end),
                "downtime_minutes": _r(i.rth_seconds / 60),
                "recovery_minutes": _r(i.recovery_seconds / 60),
                "ongoing": i.ongoing,
            }
            for i in p.incidents
        ],
    }
    return data
