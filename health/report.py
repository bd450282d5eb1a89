"""The health report of one date: frozen records, and their JSON form (CONTRACT §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from health.codes import ExitCode, IssueCode, Severity, Status
from store.records import AlertRecord


@dataclass(frozen=True)
class Thresholds:
    """The limits a loop is judged by: those it recorded, unless a flag overrides them."""

    check_interval_seconds: float = 60.0
    max_data_age_seconds: float = 3600.0
    max_gap_seconds: float = 1800.0
    min_rth_coverage_pct: float = 95.0
    future_tolerance_seconds: float = 5.0

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides: float | None) -> Thresholds:
        def num(key: str, default: float) -> float:
            value = config.get(key, default)
            try:
                return float(value)
            except (TypeError, ValueError):
                return default

        values = {
            "check_interval_seconds": num("check_interval_seconds", 60.0),
            "max_data_age_seconds": num("max_data_age_hours", 1.0) * 3600,
            "max_gap_seconds": num("max_uptime_gap_minutes", 30.0) * 60,
            "min_rth_coverage_pct": num("min_rth_coverage_pct", 95.0),
            "future_tolerance_seconds": num("future_tolerance_seconds", 5.0),
        }
        values.update({k: float(v) for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def up_after_beat(self) -> float:
        """Activity at t keeps the loop up until t + 2 x the check interval."""
        return 2 * self.check_interval_seconds


@dataclass(frozen=True)
class Gap:
    source: str
    start: float
    end: float
    rth_seconds: float
    ongoing: bool = False

    @property
    def minutes(self) -> float:
        return self.rth_seconds / 60


@dataclass(frozen=True)
class Issue:
    severity: Severity
    code: IssueCode
    message: str
    source: str | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Recommendation:
    title: str
    steps: tuple[str, ...]
    code: IssueCode | None = None


@dataclass(frozen=True)
class SessionInfo:
    is_trading_day: bool
    open: float | None
    close: float | None
    early_close: bool
    break_start: float | None = None
    break_end: float | None = None
    holiday: str | None = None
    rth_seconds: float = 0.0
    elapsed_rth_seconds: float = 0.0
    phase: str | None = None  # for today: "pre_open", "open", "break", "post_close", "closed"


@dataclass(frozen=True)
class UnexpectedExit:
    run_id: str
    source: str
    pid: int | None
    host: str | None
    started_at: float
    last_seen: float
    why: str  # "restarted" (a later run took over) or "process gone" / "silent"


@dataclass(frozen=True)
class SourceAnalysis:
    """Everything measured for one loop (``source``) on the date."""

    source: str
    thresholds: Thresholds
    uptime_seconds: float
    window_seconds: float
    rth_up_seconds: float
    rth_coverage_pct: float | None
    uptime_pct: float
    last_activity: float | None
    up_intervals: tuple[tuple[float, float], ...]
    gaps: tuple[Gap, ...]
    signals_total: int
    signals_rth: int
    signals_after_hours: int
    signals_stale: int
    signals_future: int
    whole_hour_offset: int | None  # hours, when most signals' data is off by whole hours
    whole_hour_count: int
    max_data_age: float | None
    median_data_age: float | None
    newest_data_ts: float | None
    gate_allowed: int
    gate_blocked: int
    gate_by_code: dict[str, int]
    gate_stale_rth: int
    gate_stale_first: float | None
    gate_stale_last: float | None
    gate_stale_max_age: float | None
    gate_future: int
    last_gate_reason: str | None
    last_gate_at: float | None
    hourly_signals: dict[int, int]
    hourly_allowed: dict[int, int]
    hourly_blocked: dict[int, int]
    starts: int
    clean_stops: int
    unclean_exits: tuple[UnexpectedExit, ...]
    store_errors: tuple[tuple[float, str], ...]
    dropped_events: int
    latest_run_id: str | None
    latest_pid: int | None
    latest_host: str | None
    latest_alive: bool | None  # is the newest run's process alive on this host now
    latest_log_files: tuple[str, ...]
    latest_cwd: str | None
    latest_argv: tuple[str, ...]
    whole_hour_from_gate: bool = False  # the offset was seen in the gate's refusals, not in signals
    alerts: tuple[AlertRecord, ...] = ()  # the day's alert transitions (monitor and watchdog)


@dataclass(frozen=True)
class HealthReport:
    day: date
    calendar: str
    tz: tzinfo
    tz_name: str
    now: float
    is_today: bool
    status: Status
    session: SessionInfo
    sources: tuple[SourceAnalysis, ...]
    issues: tuple[Issue, ...]
    recommendations: tuple[Recommendation, ...]
    store_path: str
    window_start: float
    window_end: float
    generated_at: float

    @property
    def exit_code(self) -> ExitCode:
        return self.status.exit_code

    def iso(self, ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, self.tz).isoformat()

    # -- aggregates over sources: the system is healthy only if every loop is ----------
    @property
    def worst(self) -> SourceAnalysis | None:
        with_cov = [s for s in self.sources if s.rth_coverage_pct is not None]
        if with_cov:
            return min(with_cov, key=lambda s: s.rth_coverage_pct)
        return min(self.sources, key=lambda s: s.uptime_pct) if self.sources else None

    @property
    def last_activity(self) -> float | None:
        values = [s.last_activity for s in self.sources if s.last_activity is not None]
        return max(values) if values else None

    def to_json(self) -> dict[str, Any]:
        worst = self.worst
        s = self.session
        sources = self.sources
        gaps = [g for src in sources for g in src.gaps]
        return {
            "date": self.day.isoformat(),
            "calendar": self.calendar,
            "timezone": self.tz_name,
            "status": self.status,
            "exit_code": self.exit_code,
            "generated_at": self.iso(self.generated_at),
            "store": self.store_path,
            "session": {
                "is_trading_day": s.is_trading_day,
                "open": self.iso(s.open),
                "close": self.iso(s.close),
                "early_close": s.early_close,
                "break_start": self.iso(s.break_start),
                "break_end": self.iso(s.break_end),
                "holiday": s.holiday,
                "rth_minutes": round(s.rth_seconds / 60, 1),
                "elapsed_rth_minutes": round(s.elapsed_rth_seconds / 60, 1),
                "is_today": self.is_today,
                "phase": s.phase,
            },
            "uptime": {
                "rth_coverage_pct": None
                if worst is None or worst.rth_coverage_pct is None
                else round(worst.rth_coverage_pct, 1),
                "uptime_pct": 0.0 if worst is None else round(worst.uptime_pct, 1),
                "last_activity": self.iso(self.last_activity),
                "gaps": [
                    {
                        "start": self.iso(g.start),
                        "end": self.iso(g.end),
                        "minutes": round(g.minutes, 1),
                        "source": g.source,
                        "ongoing": g.ongoing,
                    }
                    for g in sorted(gaps, key=lambda g: g.start)
                ],
            },
            "signals": {
                "total": sum(x.signals_total for x in sources),
                "rth": sum(x.signals_rth for x in sources),
                "after_hours": sum(x.signals_after_hours for x in sources),
                "stale": sum(x.signals_stale for x in sources),
                "blocked": sum(x.gate_blocked for x in sources),
                "allowed": sum(x.gate_allowed for x in sources),
                "future": sum(x.signals_future for x in sources),
            },
            "freshness": {
                "max_data_age_seconds": _max(x.max_data_age for x in sources),
                "median_data_age_seconds": _max(x.median_data_age for x in sources),
                "newest_data": self.iso(_max(x.newest_data_ts for x in sources)),
                "blocked_by_reason": _sum_dicts(x.gate_by_code for x in sources),
            },
            "alerts": [
                {
                    "at": self.iso(a.at),
                    "source": a.source,
                    "code": a.code,
                    "severity": a.severity,
                    "resolved": a.resolved,
                    "origin": a.origin,
                    "message": a.message,
                }
                for a in sorted((a for x in sources for a in x.alerts), key=lambda a: (a.at, a.id))
            ],
            "issues": [
                {"severity": i.severity, "code": i.code, "message": i.message, "source": i.source}
                for i in self.issues
            ],
            "recommendations": [
                {"title": r.title, "steps": list(r.steps), "code": r.code} for r in self.recommendations
            ],
            "sources": [self._source_json(x) for x in sources],
        }

    def _source_json(self, x: SourceAnalysis) -> dict[str, Any]:
        return {
            "source": x.source,
            "thresholds": {
                "check_interval_seconds": x.thresholds.check_interval_seconds,
                "max_data_age_hours": x.thresholds.max_data_age_seconds / 3600,
                "max_uptime_gap_minutes": x.thresholds.max_gap_seconds / 60,
                "min_rth_coverage_pct": x.thresholds.min_rth_coverage_pct,
            },
            "rth_coverage_pct": None if x.rth_coverage_pct is None else round(x.rth_coverage_pct, 1),
            "uptime_pct": round(x.uptime_pct, 1),
            "last_activity": self.iso(x.last_activity),
            "signals": {
                "total": x.signals_total,
                "rth": x.signals_rth,
                "after_hours": x.signals_after_hours,
                "stale": x.signals_stale,
                "blocked": x.gate_blocked,
            },
            "hourly": {
                str(h): {
                    "signals": x.hourly_signals.get(h, 0),
                    "allowed": x.hourly_allowed.get(h, 0),
                    "blocked": x.hourly_blocked.get(h, 0),
                }
                for h in sorted(set(x.hourly_signals) | set(x.hourly_allowed) | set(x.hourly_blocked))
            },
            "lifecycle": {
                "starts": x.starts,
                "clean_stops": x.clean_stops,
                "unclean_exits": [
                    {"pid": u.pid, "host": u.host, "last_seen": self.iso(u.last_seen), "why": u.why}
                    for u in x.unclean_exits
                ],
                "latest_pid": x.latest_pid,
                "latest_host": x.latest_host,
                "latest_alive": x.latest_alive,
            },
        }


def _max(values) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) if vals else None


def _sum_dicts(dicts) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))
