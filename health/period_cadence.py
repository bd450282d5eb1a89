"""The signal cadence of every day of a period (health/cadence.py, NO_SIGNALS), learned as the
day report learns it but from rows read once for the whole period.

The day report learns a loop's cadence from its last ten sessions: four queries per loop and
day (runs, spans, gate buckets, signals per minute). A year would repeat them 250 times over
overlapping sessions (14 s on the one-year store). ``RangeReader`` answers the same four calls
from the period's rows (store/range_rows.py, the store's own predicates), and the signal counts
come from the period's SQLite sums (health/period.py), cut at the sessions' hours — exactly the
counts per session hour the per-minute buckets give.

Consecutive days' lookbacks share nine sessions: ``RememberingRates`` judges each session's
hours once, keeping what the learning reads of them (the rates of its qualifying hours,
health/cadence.py ``session_rates``), keyed by what its judgement reads that may differ
between lookbacks — when the loop was up inside the session; its signals and the gate's
refusals inside it are the same rows for every lookback that holds it.
"""

from __future__ import annotations

import bisect

from health.cadence import DATA_REFUSALS, session_rates
from store.range_rows import RangeRows
from store.records import GateRecord, RunRecord, SpanRecord
from store.schema import MAX_GATE_BUCKET_SECONDS


class RangeReader:
    """One loop's runs, spans, gate refusals of its data and signal counts over [start, end),
    for ``health.loader.expected_cadence``: runs and spans from the period's rows
    (store/range_rows.py), the refusals filtered once."""

    def __init__(
        self, rows: RangeRows, source: str, start: float, end: float, counts: list[tuple[float, int]]
    ) -> None:
        self.path = rows.path
        self._identity = rows.identity()
        self._rows = rows
        # Only the data refusals: all the learning reads of the gate (health/loader.py).
        refusals = rows.gate(start, end, source, codes=sorted(DATA_REFUSALS))
        self._gate: list[GateRecord] = sorted(refusals, key=lambda g: g.bucket)
        self._buckets = [g.bucket for g in self._gate]
        self._counts = sorted(counts)
        self._times = [t for t, _ in self._counts]

    def identity(self):
        return self._identity

    def runs(self, start: float, end: float, source: str | None = None) -> list[RunRecord]:
        return self._rows.runs(start, end, source)

    def spans(
        self, start: float, end: float, source: str | None = None, slack: float = 0.0
    ) -> list[SpanRecord]:
        return self._rows.spans(start, end, source, slack)

    def gate(self, start: float, end: float, source: str | None = None) -> list[GateRecord]:
        i = bisect.bisect_left(self._buckets, start - MAX_GATE_BUCKET_SECONDS)
        j = bisect.bisect_left(self._buckets, end)
        return [g for g in self._gate[i:j] if g.last_at >= start and g.first_at < end]

    def signal_counts(self, start: float, end: float, source: str | None = None, width: int = 60):
        i, j = bisect.bisect_left(self._times, start), bisect.bisect_left(self._times, end)
        return self._counts[i:j]


class RememberingRates:
    """``session_rates`` for the cadence learning of one loop, each session judged once."""

    def __init__(self) -> None:
        self._known: dict[tuple, tuple[float, ...]] = {}

    def __call__(self, session, until, signals, up, gate) -> tuple[float, ...]:
        lo, hi = session.open_ts, until
        inside = tuple((max(a, lo), min(b, hi)) for a, b in up if b > lo and a < hi)
        key = (session.open_ts, until, inside)
        known = self._known.get(key)
        if known is None:
            # Only what lies inside the session reaches its hours: the lookback's signal counts
            # (RangeReader's, sorted by time) and refusals cut to it, the up-time clipped to it.
            counts = signals[bisect.bisect_left(signals, (lo,)) : bisect.bisect_left(signals, (hi,))]
            refusals = [g for g in gate if g.first_at < hi and g.last_at >= lo]
            known = self._known[key] = session_rates(session, until, counts, inside, refusals)
        return known
