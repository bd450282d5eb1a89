"""Plain records: what the store holds, read back frozen for the analysis and the console, and
the run a recorder writes (RunInfo)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from store.sql import storable


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    source: str
    pid: int | None
    host: str | None
    argv: tuple[str, ...]
    version: str | None
    config: dict = field(hash=False, compare=False)
    started_at: float = 0.0
    stopped_at: float | None = None
    last_seen: float | None = None

    @property
    def clean_stop(self) -> bool:
        return self.stopped_at is not None

    @property
    def last_sign_of_life(self) -> float:
        """Its clean stop, else its last beat, else its start: what the store's runs query reads
        as ``coalesce(stopped_at, last_seen, started_at)`` (store/reader.py)."""
        if self.stopped_at is not None:
            return self.stopped_at
        return self.last_seen if self.last_seen is not None else self.started_at

    @property
    def wall_started_at(self) -> float:
        """When the run started in real time (its own clock may be simulated): a process
        created after this cannot be the run's — its pid was reused."""
        try:
            return float(self.config.get("wall_started_at") or self.started_at)
        except (TypeError, ValueError):
            return self.started_at

    @property
    def heartbeat_interval(self) -> float:
        return float(self.config.get("check_interval_seconds", 60))


@dataclass(frozen=True, slots=True)
class SpanRecord:
    run_id: str
    seq: int
    source: str
    start: float
    end: float  # the last heartbeat of the span
    beats: int


@dataclass(frozen=True, slots=True)
class GateRecord:
    """Gate decisions of one source, bucket and reason code, aggregated."""

    source: str
    bucket: int
    code: str
    allowed: bool
    count: int
    min_age: float
    max_age: float
    sum_age: float
    first_at: float
    last_at: float
    last_reason: str
    last_data_ts: float | None

    @property
    def mean_age(self) -> float:
        return self.sum_age / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class SignalRecord:
    id: int
    source: str
    run_id: str | None
    at: float
    symbol: str
    data_ts: float
    details: str | None

    @property
    def data_age(self) -> float:
        return self.at - self.data_ts


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    source: str | None
    run_id: str | None
    at: float
    kind: str
    detail: str | None

    def detail_dict(self) -> dict:
        try:
            value = json.loads(self.detail) if self.detail else {}
        except ValueError:
            return {"text": self.detail}
        return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    source: str | None
    code: str
    severity: str
    message: str
    at: float
    resolved: bool
    origin: str | None
    detail: str | None  # the watchdog's JSON: why a transition was not paged ("muted"), ...

    def detail_dict(self) -> dict:
        try:
            value = json.loads(self.detail) if self.detail else {}
        except ValueError:
            return {"text": self.detail}
        return value if isinstance(value, dict) else {"value": value}

    @property
    def muted(self) -> str | None:
        """Why this transition paged no one (the market closed, an ack), if it did not."""
        value = self.detail_dict().get("muted") if self.origin == "watchdog" else None
        return value if isinstance(value, str) else None


@dataclass
class RunInfo:
    """One process lifecycle of one loop (``source``)."""

    run_id: str
    source: str
    pid: int
    host: str
    argv: list[str]
    version: str
    config: dict
    started_at: float
    heartbeat_gap: float  # beats further apart than this start a new uptime span

    def row(self) -> tuple:
        """As SQLite can store it: a host name decoded with surrogateescape included."""
        values = (
            self.run_id,
            self.source,
            self.pid,
            self.host,
            json.dumps(self.argv),
            self.version,
            json.dumps(self.config, default=str),
            self.started_at,
        )
        return tuple(storable(v) for v in values)
