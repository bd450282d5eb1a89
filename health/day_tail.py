"""Today's analysis inputs, kept up to date from what the store gained since the last look:
what lets the live view (the console's store watch, the watchdog) cost the same on a busy day
as on a quiet one.

The store holds two kinds of rows (store/schema.py, store/batch.py), read by
store/increments.py:

- Signals, alerts and events are append-only, with increasing ids. Each look reads only the
  rows past the last id it saw: signals go into each loop's tally (health/signal_tally.py,
  the same object a report fills from the whole day, so both give the same figures), alerts
  and events into the day's lists. A row stamped later than now waits until its time is in
  the window, as it would for a full read.
- Gate buckets are updated in place while the loop fills them. The recent ones are read
  again at every look; the older ones are kept, with a fingerprint of them (how many, and
  their total count, which every update raises): if the store's fingerprint of that range
  ever differs (a loop whose clock went back), all of them are read again.

Spans and runs (a handful a day) are read again at every look by the loader. Everything is
read again from scratch when the day, the connection (another file), the schema, the
calendar or the loop filter changes, when the clock goes back, or when a table lost rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from health.analysis import window
from health.calendar import MarketCalendar, day_bounds
from health.report import Thresholds
from health.signal_tally import SignalTally
from store import increments
from store.reader import StoreReader
from store.records import AlertRecord, EventRecord, GateRecord
from store.schema import MAX_GATE_BUCKET_SECONDS

# Buckets starting this close to now are read again at every look: a loop is still adding
# to them (an hour's bucket for "market closed", plus the recorder's flush delay).
RECENT_GATE_SECONDS = 2 * MAX_GATE_BUCKET_SECONDS


class DayTail:
    """One per live reader; :meth:`catch_up` at each look, then the loader reads from it."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._seen: tuple | None = None  # (data_version, now) of the last catch-up
        self.full_reads = 0  # how many times everything was read from scratch (for tests)

    # -- keeping up ------------------------------------------------------------------------
    @contextmanager
    def _or_start_over(self) -> Iterator[None]:
        """A read that fails half-way (the store went away, a bug) leaves what is kept half
        updated: forget it all, so the next look reads everything again."""
        try:
            yield
        except BaseException:
            self._key = None
            raise

    def catch_up(
        self, reader: StoreReader, calendar: MarketCalendar, day: date, now: float, source: str | None
    ) -> None:
        with self._or_start_over():
            self._catch_up(reader, calendar, day, now, source)

    def _catch_up(self, reader, calendar, day, now, source) -> None:
        version = reader.data_version()
        key = (id(reader), id(calendar), day, source, increments.schema_cookie(reader))
        if key == self._key and self._reader is reader and self._seen == (version, now):
            return  # nothing committed and no time passed since the last look
        ids = increments.last_ids(reader)
        if (
            key != self._key
            or self._reader is not reader
            or self._calendar is not calendar
            or now < self._now
            or any(new < old for new, old in zip(ids, self._ids, strict=True))
        ):
            self._reset(reader, calendar, day, source, key)
        self._seen = (version, now)
        self._now = now
        self._win_end = window(day, calendar, now)[1]
        self._new_signals(reader, ids[0])
        self._new_rows(reader, ids)
        self._ids = ids
        if self._gate_lo is not None:
            self._refresh_gate(reader)

    def _reset(self, reader, calendar, day, source, key) -> None:
        self._key = key
        self._reader = reader
        self._calendar = calendar
        self._source = source
        self._win_start, self._day_end = day_bounds(day, calendar.tz)
        self._now = float("-inf")
        self._ids = (0, 0, 0)
        self._tallies: dict[str, SignalTally] = {}
        self._waiting: dict[str, list[tuple[float, float]]] = {}  # stamped after now, by loop
        self._alerts: list[AlertRecord] = []
        self._events: list[EventRecord] = []
        self._gate_lo: float | None = None  # the oldest bucket kept; None until asked for
        self._stable: list[GateRecord] = []  # buckets before _stable_upto, read earlier
        self._stable_upto = float("-inf")
        self._stable_fingerprint = (0, 0)
        self._recent: list[GateRecord] = []  # buckets from _stable_upto on, read at each look
        self.full_reads += 1

    def _new_signals(self, reader: StoreReader, upto: int) -> None:
        tallies, waiting = self._tallies, self._waiting
        start, end, day_end = self._win_start, self._win_end, self._day_end
        for name, rows in waiting.items():  # rows whose time has come
            if rows and min(at for at, _ in rows) < end:
                tallies[name].extend((at, d) for at, d in rows if at < end)
                rows[:] = [(at, d) for at, d in rows if at >= end]
        if upto <= self._ids[0] or not tallies:
            return  # a loop's first tally reads its rows up to the newest id itself
        for batch in increments.signals_after(reader, self._ids[0], upto, self._source):
            for _, name, at, data_ts in batch:
                tally = tallies.get(name)
                if tally is None or not start <= at < day_end:
                    continue
                if at < end:
                    tally.add(at, data_ts)
                else:
                    waiting[name].append((at, data_ts))

    def _new_rows(self, reader: StoreReader, ids: tuple[int, int, int]) -> None:
        # An alert stamped within a second after now is today's alert log (live.py asks for
        # alerts up to now + 1); the loader keeps to the window.
        start, stop = self._win_start, self._day_end + 1
        if ids[1] > self._ids[1]:
            self._alerts += increments.alerts_after(reader, self._ids[1], ids[1], start, stop)
            self._alerts.sort(key=lambda a: (a.at, a.id))
        if ids[2] > self._ids[2]:
            self._events += increments.events_after(reader, self._ids[2], ids[2], start, stop)
            self._events.sort(key=lambda e: (e.at, e.id))

    def _refresh_gate(self, reader: StoreReader, lo: float | None = None) -> None:
        """Re-read the recent buckets; everything from ``lo`` (a new, older start) if given,
        or if the older buckets are not what was read before."""
        cut = max(self._stable_upto, float(math.floor(self._now - RECENT_GATE_SECONDS)))
        if lo is None:
            lo = self._gate_lo
            moving = [g for g in self._recent if g.bucket < cut]
            n, total = self._stable_fingerprint
            expected = (n + len(moving), total + sum(g.count for g in moving))
            if increments.gate_fingerprint(reader, lo, cut) == expected:
                recent = increments.gate_since(reader, cut)
                self._stable += moving
                self._stable_fingerprint = expected
                self._stable_upto = cut
                self._recent = recent
                return
        rows = increments.gate_since(reader, lo)
        self._gate_lo = lo
        self._stable = [g for g in rows if g.bucket < cut]
        self._stable_fingerprint = (len(self._stable), sum(g.count for g in self._stable))
        self._stable_upto = cut
        self._recent = [g for g in rows if g.bucket >= cut]

    # -- what the loader and the live view read --------------------------------------------
    def signals(self, reader: StoreReader, name: str, thresholds: Thresholds) -> SignalTally:
        """The loop's tally of today's signals so far; made from the store the first time (or
        when the loop's thresholds changed: the judgement of every signal changes with them)."""
        tally = self._tallies.get(name)
        if tally is not None and tally.thresholds == thresholds:
            return tally
        tally = SignalTally(self._calendar, thresholds)
        later: list[tuple[float, float]] = []
        end = self._win_end
        with self._or_start_over():
            for batch in increments.signal_times_upto(
                reader, self._win_start, self._day_end, name, self._ids[0]
            ):
                for at, data_ts in batch:
                    if at < end:
                        tally.add(at, data_ts)
                    else:
                        later.append((at, data_ts))
        self._tallies[name] = tally
        self._waiting[name] = later
        return tally

    def gate(self, reader: StoreReader, start: float, end: float, name: str) -> list[GateRecord]:
        """What ``reader.gate(start, end, name)`` answers, from the buckets kept."""
        lo = start - MAX_GATE_BUCKET_SECONDS
        if self._gate_lo is None or lo < self._gate_lo:
            with self._or_start_over():
                self._refresh_gate(reader, lo)
        return [
            g
            for g in (*self._stable, *self._recent)
            if g.source == name and lo <= g.bucket < end and g.last_at >= start and g.first_at < end
        ]

    def alerts(self, start: float, end: float, source: str | None) -> list[AlertRecord]:
        """What ``reader.alerts(start, end, source)`` answers, for a range within today."""
        return [a for a in self._alerts if start <= a.at < end and (source is None or a.source == source)]

    def events(self, start: float, end: float, source: str) -> list[EventRecord]:
        return [e for e in self._events if start <= e.at < end and e.source == source]
