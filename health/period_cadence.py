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
import itertools

from health.cadence import DATA_REFUSALS, learn_from_rates, session_rates
from health.liveness import up_intervals, up_until, up_window
from health.loader import lookback_interval, lookback_sessions
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

    def counts(self) -> list[tuple[float, int]]:
        """All the (time, signals) pairs, sorted."""
        return self._counts

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


class SlidingLookbacks:
    """One loop's cadence for every day of the period, its lookbacks sliding over sessions
    judged once (``RememberingRates``), with no per-day reading of runs, spans and up-time.

    A lookback's up-time (health/loader.py ``_learn_cadence``) is its spans' up-windows, read
    from two hours before its first open. Inside its sessions that is the period's up-time of
    the loop whenever (1) every span's run is one the lookback reads (alive from the span's
    start to its end: checked once, for every span) and (2) nothing that ended before the
    lookback's first open keeps the loop up past it, by its run's interval or by the
    lookback's default. ``cadence`` answers None-or-Cadence when both hold, else ``UNSURE``:
    the caller then learns that day as the day report does (tests/test_period_cadence.py holds
    the two equal on awkward days)."""

    UNSURE = object()

    def __init__(
        self, rows: RangeRows, reader: RangeReader, source: str, start: float, end: float, slack: float
    ) -> None:
        self._rows, self._reader, self._source = rows, reader, source
        found = rows.runs(start, end, source)
        runs = {r.run_id: r for r in found}
        spans = rows.spans(start, end, source, slack=slack)
        self.exact = all(
            (r := runs.get(s.run_id)) is not None and r.started_at <= s.start and r.last_sign_of_life >= s.end
            for s in spans
        )
        self._up = up_intervals(spans, runs, 0.0, end)  # every span's run is known when exact
        self._up_starts = [a for a, _ in self._up]
        self._up_ends = [b for _, b in self._up]
        by_end = sorted(spans, key=lambda s: s.end)
        self._ends = [s.end for s in by_end]
        reach = (
            [
                min(up_until(s.end, runs[s.run_id].heartbeat_interval, runs[s.run_id].stopped_at), end)
                for s in by_end
            ]
            if self.exact
            else []
        )
        self._reach = list(itertools.accumulate(reach, max))  # the latest up-window end so far
        self._last_end = list(itertools.accumulate(self._ends, max))
        self._rates = RememberingRates()
        self._known: dict[float, tuple[float, ...]] = {}

    def rates(self) -> RememberingRates:
        return self._rates

    def cadence(self, cal, day):
        if not self.exact:
            return self.UNSURE
        sessions = lookback_sessions(cal, day)
        if not sessions:
            return None
        start, end = sessions[0].open_ts, sessions[-1].close_ts
        found = self._rows.runs(start, end, self._source)
        if not found:
            return None
        i = bisect.bisect_left(self._ends, start)  # the spans that ended before the first open
        if i and max(self._reach[i - 1], self._last_end[i - 1] + up_window(lookback_interval(found))) > start:
            return self.UNSURE
        return learn_from_rates([self._session_rates(s) for s in sessions])

    def _session_rates(self, s) -> tuple[float, ...]:
        """The same for every lookback that holds the session, when ``exact``."""
        known = self._known.get(s.open_ts)
        if known is not None:
            return known
        lo, hi = s.open_ts, s.close_ts
        up = self._up[bisect.bisect_right(self._up_ends, lo) : bisect.bisect_left(self._up_starts, hi)]
        gate = [g for g in self._reader.gate(lo, hi) if not g.allowed and g.code in DATA_REFUSALS]
        known = self._known[s.open_ts] = self._rates(s, hi, self._reader.counts(), up, gate)
        return known
