"""The signal cadence of every day of a period (health/cadence.py, NO_SIGNALS), learned as the
day report learns it but from rows read once for the whole period.

The day report learns a loop's cadence from its last ten sessions: four queries per loop and
day (runs, spans, gate buckets, signals per minute). A year would repeat them 250 times over
overlapping sessions (14 s on the one-year store). ``RangeReader`` answers the same four calls
from the period's rows, with the store's own predicates (store/reader.py), and the signal counts
come from the period's SQLite sums (health/period.py), cut at the sessions' hours — exactly the
counts per session hour the per-minute buckets give.

Consecutive days' lookbacks share nine sessions: ``RememberingJudge`` judges each session's
hours once, keyed by what its judgement reads that may differ between lookbacks — when the loop
was up inside the session; its signals and the gate's refusals inside it are the same rows for
every lookback that holds it.
"""

from __future__ import annotations

import bisect

from health.cadence import DATA_REFUSALS, judge_hours
from store.records import GateRecord, RunRecord, SpanRecord
from store.schema import MAX_GATE_BUCKET_SECONDS

SLACK = 2 * 86400.0  # more than any span slack a report asks for


class RangeReader:
    """One loop's runs, spans, gate refusals of its data and signal counts over [start, end),
    for ``health.loader.expected_cadence``."""

    def __init__(
        self, reader, source: str, start: float, end: float, counts: list[tuple[float, int]]
    ) -> None:
        self.path = reader.path
        self._identity = reader.identity()
        self._runs: list[RunRecord] = reader.runs(None, None, source)
        self._spans: list[SpanRecord] = reader.spans(start, end, source, slack=SLACK)
        # Only the data refusals: all the learning reads of the gate (health/loader.py).
        refusals = reader.gate(start, end, source, codes=sorted(DATA_REFUSALS))
        self._gate: list[GateRecord] = sorted(refusals, key=lambda g: g.bucket)
        self._buckets = [g.bucket for g in self._gate]
        self._counts = sorted(counts)
        self._times = [t for t, _ in self._counts]

    def identity(self):
        return self._identity

    def runs(self, start: float, end: float, source: str | None = None) -> list[RunRecord]:
        def last(r: RunRecord) -> float:
            if r.stopped_at is not None:
                return r.stopped_at
            return r.last_seen if r.last_seen is not None else r.started_at

        return [r for r in self._runs if r.started_at < end and last(r) >= start]

    def spans(
        self, start: float, end: float, source: str | None = None, slack: float = 0.0
    ) -> list[SpanRecord]:
        return [s for s in self._spans if s.end >= start - slack and s.start < end]

    def gate(self, start: float, end: float, source: str | None = None) -> list[GateRecord]:
        i = bisect.bisect_left(self._buckets, start - MAX_GATE_BUCKET_SECONDS)
        j = bisect.bisect_left(self._buckets, end)
        return [g for g in self._gate[i:j] if g.last_at >= start and g.first_at < end]

    def signal_counts(self, start: float, end: float, source: str | None = None, width: int = 60):
        i, j = bisect.bisect_left(self._times, start), bisect.bisect_left(self._times, end)
        return self._counts[i:j]


class RememberingJudge:
    """``judge_hours`` for the cadence learning of one loop, each session judged once."""

    def __init__(self) -> None:
        self._known: dict[tuple, tuple] = {}

    def __call__(self, session, until, signals, up, gate, cadence):
        if cadence is not None:
            return judge_hours(session, until, signals, up, gate, cadence)
        lo, hi = session.open_ts, until
        inside = tuple((max(a, lo), min(b, hi)) for a, b in up if b > lo and a < hi)
        key = (session.open_ts, until, inside)
        if key not in self._known:
            self._known[key] = judge_hours(session, until, signals, up, gate, None)
        return self._known[key]
