"""StoreReader's window questions answered from the rows of one range, read once.

A report over a period asks the one-day loader (health/loader.py ``load_day``) the same dozen
small questions for every day and loop: a year is thousands of queries, most of the period's
time. ``RangeRows`` reads each table's rows for the whole range once (runs, spans, gate
buckets, alerts, events, acks) and answers every window inside the range with the very
predicates and order of store/reader.py, applied in Python; a question that reaches outside the
range is asked of the store. So the loader stays the one definition of a day's inputs, and the
period path only hands it this reader (tests/test_range_rows.py holds the two answers equal).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from store.acks import AckRecord
from store.records import AlertRecord, EventRecord, GateRecord, RunRecord, SpanRecord
from store.schema import MAX_GATE_BUCKET_SECONDS

MARGIN = 1.0  # seconds of room for float rounding in the bisection bounds below


class _Runs:
    """One loop's runs alive in the range, oldest first, with the run before it and the first
    start after it."""

    def __init__(self, reader, source: str, start: float, end: float) -> None:
        self.rows: list[RunRecord] = reader.runs(start, end, source)
        self.starts = [r.started_at for r in self.rows]
        # A run alive at s started no earlier than s minus the longest run's life.
        self.longest = max((r.last_sign_of_life - r.started_at for r in self.rows), default=0.0)
        # Every run started inside the range is in rows: before it, only the newest counts.
        self.before = reader.last_run_before(source, start)
        self.inside = [r for r in self.rows if r.started_at >= start]
        self.inside_starts = [r.started_at for r in self.inside]
        self.after = reader.next_run_start(source, end)


class _Spans:
    """One loop's spans reaching into the range (slack included), by start."""

    def __init__(self, rows: list[SpanRecord], earlier: float | None) -> None:
        self.rows = rows
        self.starts = [s.start for s in rows]
        self.longest = max((s.end - s.start for s in rows), default=0.0)
        self.max_end = list(itertools.accumulate((s.end for s in rows), max))
        self.earlier = earlier  # the last heartbeat of the spans before them


class _ByTime:
    """Rows ordered by (at, id): alerts or events."""

    def __init__(self, rows: list) -> None:
        self.rows = rows
        self.ats = [r.at for r in rows]

    def between(self, start: float, end: float) -> list:
        return self.rows[bisect.bisect_left(self.ats, start) : bisect.bisect_left(self.ats, end)]


class RangeRows:
    """The answers of ``reader`` to the window questions of [start, end) (spans from ``slack``
    seconds earlier), for the loops ``sources`` (all, by default)."""

    def __init__(
        self,
        reader,
        start: float,
        end: float,
        slack: float = 0.0,
        sources: Sequence[str] | None = None,
        gate_codes: Sequence[str] | None = None,
    ) -> None:
        """``gate_codes``: read only the gate buckets of these reason codes (all by default)."""
        self.reader = reader
        self.path = reader.path
        self.start, self.end, self.slack = start, end, slack
        self._first = reader.first_record_at()
        self._sources = reader.sources()
        names = self._sources if sources is None else list(sources)
        self._runs = {n: _Runs(reader, n, start, end) for n in names}
        spans = reader.spans(start, end, None, slack=slack)
        self._spans = {
            n: _Spans([s for s in spans if s.source == n], reader.last_activity(n, before=start - slack))
            for n in names
        }
        # One query per loop: by the gate's primary key (source, bucket, code), which also
        # tells the codes without reading the rows.
        self._gate = {n: reader.gate(start, end, n, codes=gate_codes) for n in names}
        self._gate_codes = None if gate_codes is None else frozenset(gate_codes)
        self._buckets = {n: [g.bucket for g in rows] for n, rows in self._gate.items()}
        alerts, events = reader.alerts(start, end), reader.events(start, end)
        self._alerts = {None: _ByTime(alerts)} | {
            n: _ByTime([a for a in alerts if a.source == n]) for n in names
        }
        self._events = {None: _ByTime(events)} | {
            n: _ByTime([e for e in events if e.source == n]) for n in names
        }
        self._acks: list[AckRecord] = reader.acks(start, end + 1)  # today's window ends a second later

    def _inside(self, start: float | None, end: float | None) -> bool:
        return start is not None and end is not None and self.start <= start and end <= self.end

    # -- whole-store facts, as of the read ---------------------------------------------
    def identity(self):
        return self.reader.identity()

    def sources(self) -> list[str]:
        return list(self._sources)

    def first_record_at(self) -> float | None:
        return self._first

    # -- runs -----------------------------------------------------------------------------
    def runs(
        self, start: float | None = None, end: float | None = None, source: str | None = None
    ) -> list[RunRecord]:
        runs = self._runs.get(source)
        if runs is None or not self._inside(start, end):
            return self.reader.runs(start, end, source)
        i = bisect.bisect_left(runs.starts, start - runs.longest - MARGIN)
        j = bisect.bisect_left(runs.starts, end)
        return [r for r in runs.rows[i:j] if r.last_sign_of_life >= start]

    def last_run_before(self, source: str, t: float) -> RunRecord | None:
        runs = self._runs.get(source)
        if runs is None or not self._inside(t, t):
            return self.reader.last_run_before(source, t)
        i = bisect.bisect_left(runs.inside_starts, t)
        return runs.inside[i - 1] if i else runs.before

    def next_run_start(self, source: str, t: float) -> float | None:
        runs = self._runs.get(source)
        if runs is None or not self._inside(t, t):
            return self.reader.next_run_start(source, t)
        i = bisect.bisect_left(runs.inside_starts, t)
        return runs.inside_starts[i] if i < len(runs.inside_starts) else runs.after

    # -- spans ----------------------------------------------------------------------------
    def spans(
        self, start: float, end: float, source: str | None = None, slack: float = 0.0
    ) -> list[SpanRecord]:
        spans = self._spans.get(source)
        if spans is None or not self._inside(start - slack + self.slack, end):
            return self.reader.spans(start, end, source, slack)
        lo = start - slack
        i = bisect.bisect_left(spans.starts, lo - spans.longest - MARGIN)
        j = bisect.bisect_left(spans.starts, end)
        return [s for s in spans.rows[i:j] if s.end >= lo]

    def last_activity(self, source: str | None = None, before: float | None = None) -> float | None:
        spans = self._spans.get(source)
        if spans is None or before is None or not self._inside(before + self.slack, before):
            return self.reader.last_activity(source, before)
        # max(min(end, before)) over the spans started before it: the spans read end no earlier
        # than start - slack, every older one earlier (``earlier``, the newest of those).
        k = bisect.bisect_left(spans.starts, before)
        found = [
            v for v in (spans.earlier, min(spans.max_end[k - 1], before) if k else None) if v is not None
        ]
        return max(found) if found else None

    # -- gate, alerts, events, acks -------------------------------------------------------
    def gate(
        self, start: float, end: float, source: str | None = None, codes: Sequence[str] | None = None
    ) -> list[GateRecord]:
        rows = self._gate.get(source)
        read = self._gate_codes is None or (codes is not None and self._gate_codes.issuperset(codes))
        if rows is None or not read or not self._inside(start, end):
            return self.reader.gate(start, end, source, codes)
        buckets = self._buckets[source]
        i = bisect.bisect_left(buckets, start - MAX_GATE_BUCKET_SECONDS)
        j = bisect.bisect_left(buckets, end)
        wanted = None if codes is None else set(codes)
        return [
            g
            for g in rows[i:j]
            if g.last_at >= start and g.first_at < end and (wanted is None or g.code in wanted)
        ]

    def alerts(self, start: float, end: float, source: str | None = None) -> list[AlertRecord]:
        rows = self._alerts.get(source)
        if rows is None or not self._inside(start, end):
            return self.reader.alerts(start, end, source)
        return rows.between(start, end)

    def events(self, start: float, end: float, source: str | None = None) -> list[EventRecord]:
        rows = self._events.get(source)
        if rows is None or not self._inside(start, end):
            return self.reader.events(start, end, source)
        return rows.between(start, end)

    def acks(self, start: float, end: float) -> list[AckRecord]:
        if not (self.start <= start and end <= self.end + 1):
            return self.reader.acks(start, end)
        return [a for a in self._acks if a.until > start and a.at < end]
