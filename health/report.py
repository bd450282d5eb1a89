"""The health report of one date, as frozen records in the sections of its JSON form
(docs/CONTRACT.md §3; the JSON itself is written by health/report_json.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from health.acks import AckState
from health.cadence import CadenceFacts
from health.codes import ExitCode, IssueCode, Severity, Status
from health.liveness import up_window
from health.restarts import Restart
from store.records import AlertRecord

# What Thresholds.from_config reads of a config.
_CONFIG_KEYS = (
    "check_interval_seconds",
    "max_data_age_hours",
    "max_uptime_gap_minutes",
    "min_rth_coverage_pct",
    "future_tolerance_seconds",
    "min_signals_per_hour",
)
_FROM_CONFIG: dict[tuple, Thresholds] = {}


@dataclass(frozen=True)
class Thresholds:
    """The limits a loop is judged by: those it recorded, unless a flag overrides them."""

    check_interval_seconds: float = 60.0
    max_data_age_seconds: float = 3600.0
    max_gap_seconds: float = 1800.0
    min_rth_coverage_pct: float = 95.0
    future_tolerance_seconds: float = 5.0
    # MonitorConfig.min_signals_per_hour; None: learned from the loop's sessions (health/cadence.py)
    min_signals_per_hour: float | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides: float | None) -> Thresholds:
        """The thresholds of a recorded run config. Kept by the values it reads, with their
        types (True is not 1 here): a period asks it for every day of every run, whose configs
        differ only in what the thresholds do not read."""
        try:
            key = (*((type(v), v) for v in map(config.get, _CONFIG_KEYS)), *overrides.items())
            got = _FROM_CONFIG.get(key)
        except TypeError:  # a value that cannot be a key (a list): not kept
            return cls._from_config(config, **overrides)
        if got is None:
            if len(_FROM_CONFIG) >= 256:
                _FROM_CONFIG.clear()
            got = _FROM_CONFIG[key] = cls._from_config(config, **overrides)
        return got

    @classmethod
    def _from_config(cls, config: dict[str, Any], **overrides: float | None) -> Thresholds:
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
        cadence = config.get("min_signals_per_hour")
        if isinstance(cadence, int | float) and not isinstance(cadence, bool) and cadence >= 0:
            values["min_signals_per_hour"] = float(cadence)
        return cls(**values)

    @property
    def up_after_beat(self) -> float:
        """How long one beat keeps the loop up (health/liveness.py)."""
        return up_window(self.check_interval_seconds)


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
class Duplicate:
    """Two processes (runs) beating for one loop at the same time (issue DUPLICATE_LOOP)."""

    source: str
    first: tuple[str, int | None, str | None]  # (run id, pid, host), the run that started first
    second: tuple[str, int | None, str | None]
    start: float  # when both beat
    end: float
    seconds: float
    ongoing: bool  # today: both still beat now

    def who(self) -> str:
        return " and ".join(f"pid {pid} on {host}" for _, pid, host in (self.first, self.second))


@dataclass(frozen=True)
class Uptime:
    """When the loop was up (JSON "uptime"): activity at t keeps it up until t + 2 x its check
    interval (health/liveness.py), capped by a clean stop and by now."""

    seconds: float  # up within the window
    window_seconds: float  # the calendar day, or its elapsed part today
    rth_up_seconds: float
    rth_coverage_pct: float | None  # None when no RTH minute has elapsed
    pct: float  # of the window
    last_activity: float | None  # the newest heartbeat at or before the window's end
    intervals: tuple[tuple[float, float], ...]  # up, within the window
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class Signals:
    """The signals generated and the age of the data they used (JSON "signals", "freshness")."""

    total: int
    rth: int
    after_hours: int
    stale: int
    future: int
    max_data_age: float | None
    median_data_age: float | None
    newest_data_ts: float | None
    hourly: dict[int, int]  # local hour -> signals
    # Most data off by the same whole number of hours (a time-zone label error), seen in the
    # signals or, when the gate refused them all as future, in the gate's refusals.
    whole_hour_offset: int | None = None
    whole_hour_count: int = 0
    whole_hour_from_gate: bool = False


@dataclass(frozen=True)
class GateStats:
    """What should_generate_signals answered (JSON "signals.blocked", "freshness.blocked_by_reason")."""

    allowed: int
    blocked: int
    by_code: dict[str, int]  # blocked decisions per reason code
    stale_rth: int  # stale / previous-session refusals during RTH
    stale_first: float | None
    stale_last: float | None
    stale_max_age: float | None
    future: int
    last_reason: str | None
    last_at: float | None
    hourly_allowed: dict[int, int]
    hourly_blocked: dict[int, int]


@dataclass(frozen=True)
class LatestRun:
    """The loop's newest run: which process, where, and whether it runs now."""

    run_id: str
    pid: int | None
    host: str | None
    alive: bool | None  # is its process alive on this host now (None: cannot tell)
    log_files: tuple[str, ...]
    restart_command: str | None  # health/process.py: paste it into a shell


@dataclass(frozen=True)
class Lifecycle:
    """Starts and stops of the loop's processes (JSON "lifecycle")."""

    starts: int
    clean_stops: int
    unclean_exits: tuple[UnexpectedExit, ...]
    store_errors: tuple[tuple[float, str], ...]  # (at, message) of unresolved STORE_ERROR alerts
    dropped_events: int
    latest: LatestRun | None
    restarts: tuple[Restart, ...] = ()  # starts after a crash, a watchdog kill or a quick clean stop
    duplicates: tuple[Duplicate, ...] = ()  # processes that beat for this loop at the same time


@dataclass(frozen=True)
class SourceAnalysis:
    """Everything measured for one loop (``source``) on the date, in the report's sections."""

    source: str
    thresholds: Thresholds
    uptime: Uptime
    signals: Signals
    gate: GateStats
    lifecycle: Lifecycle
    alerts: tuple[AlertRecord, ...] = ()  # the day's alert transitions (monitor and watchdog)
    backtest: bool = False  # a simulated run (MonitorConfig(backtest=True)), as it recorded
    cadence: CadenceFacts | None = None  # session hours against the expected signal cadence


@dataclass(frozen=True)
class Totals:
    """Across loops, as the report's top-level sections state them: the system is healthy only
    if every loop is, so coverage and uptime are the worst loop's."""

    worst: SourceAnalysis | None  # lowest RTH coverage (else lowest uptime)
    rth_coverage_pct: float | None
    uptime_pct: float
    last_activity: float | None
    gaps: tuple[Gap, ...]  # every loop's, by start
    signals: int
    signals_rth: int
    signals_after_hours: int
    signals_stale: int
    signals_future: int
    allowed: int
    blocked: int
    blocked_by_reason: dict[str, int]  # sorted by reason code
    max_data_age: float | None
    median_data_age: float | None  # the highest of the loops' medians
    newest_data_ts: float | None
    alerts: tuple[AlertRecord, ...]  # every loop's, by time

    @classmethod
    def of(cls, sources: tuple[SourceAnalysis, ...]) -> Totals:
        with_cov = [s for s in sources if s.uptime.rth_coverage_pct is not None]
        if with_cov:
            worst = min(with_cov, key=lambda s: s.uptime.rth_coverage_pct)
        else:
            worst = min(sources, key=lambda s: s.uptime.pct) if sources else None
        return cls(
            worst=worst,
            rth_coverage_pct=None if worst is None else worst.uptime.rth_coverage_pct,
            uptime_pct=0.0 if worst is None else worst.uptime.pct,
            last_activity=_max(x.uptime.last_activity for x in sources),
            gaps=tuple(sorted((g for x in sources for g in x.uptime.gaps), key=lambda g: g.start)),
            signals=sum(x.signals.total for x in sources),
            signals_rth=sum(x.signals.rth for x in sources),
            signals_after_hours=sum(x.signals.after_hours for x in sources),
            signals_stale=sum(x.signals.stale for x in sources),
            signals_future=sum(x.signals.future for x in sources),
            allowed=sum(x.gate.allowed for x in sources),
            blocked=sum(x.gate.blocked for x in sources),
            blocked_by_reason=_sum_dicts(x.gate.by_code for x in sources),
            max_data_age=_max(x.signals.max_data_age for x in sources),
            median_data_age=_max(x.signals.median_data_age for x in sources),
            newest_data_ts=_max(x.signals.newest_data_ts for x in sources),
            alerts=tuple(sorted((a for x in sources for a in x.alerts), key=lambda a: (a.at, a.id))),
        )


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
    totals: Totals
    acks: tuple[AckState, ...] = ()  # operators' acks in force during the day (health/acks.py)

    @property
    def exit_code(self) -> ExitCode:
        return self.status.exit_code

    @property
    def backtest(self) -> bool:
        """The report is of a backtest: its loops recorded simulated runs."""
        return bool(self.sources) and all(x.backtest for x in self.sources)

    def iso(self, ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, self.tz).isoformat()

    def to_json(self) -> dict[str, Any]:
        """The JSON form of docs/CONTRACT.md §3."""
        from health.report_json import report_json

        return report_json(self)


def _max(values) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) if vals else None


def _sum_dicts(dicts) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))
