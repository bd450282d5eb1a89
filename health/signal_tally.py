"""The day's signals, tallied: the one definition of every figure of the report's "signals"
section (docs/CONTRACT.md §3), fed one signal at a time.

The analysis of a date feeds it the day's signals at once (health/analysis.py); the live
view (health/day_tail.py) keeps one per loop and feeds it only the signals recorded since
it last looked. Both read the figures from the same object, so the live dashboard and a
full re-read of the store cannot disagree. Nothing here depends on the order signals come
in: the same signals give the same :class:`~health.report.Signals`.

Per signal it keeps counts, maxima and the hour of day; the one thing kept per signal is
its data age (8 bytes, health/sorted_floats.py), for the exact median the report states.
"""

from __future__ import annotations

from datetime import datetime

from health.calendar import MarketCalendar
from health.gate import WHOLE_HOUR_SLACK  # seconds around a whole-hour offset still read as one
from health.report import Signals, Thresholds
from health.sorted_floats import SortedFloats

_NEAR_HOUR = 3600.0 - WHOLE_HOUR_SLACK  # a smaller age cannot be a whole-hour offset


class SignalTally:
    """Signals of one loop on one date, judged by one calendar and one set of thresholds."""

    def __init__(self, calendar: MarketCalendar, thresholds: Thresholds) -> None:
        self.calendar = calendar
        self.thresholds = thresholds
        self._max_age = thresholds.max_data_age_seconds
        self._tolerance = thresholds.future_tolerance_seconds
        self._tz = calendar.tz
        self.total = 0
        self.rth = 0
        self.stale = 0
        self.future = 0
        self.newest_data_ts: float | None = None
        self.ages = SortedFloats()
        self.hourly: dict[int, int] = {}
        self.minutes: dict[int, int] = {}  # signals per minute (epoch // 60), for the cadence
        # Whole-hour offsets: hours -> [signals, the earliest signal's time] (the earliest
        # breaks a tie: the offset that showed first).
        self.offsets: dict[int, list[float]] = {}
        self._stretch = (0.0, 0.0, False, float("-inf"))  # calendar.stretch_at, remembered

    def add(self, at: float, data_ts: float) -> None:
        self.total += 1
        age = at - data_ts
        self.ages.add(age)
        lo, hi, in_rth, cutoff = self._stretch
        if not lo <= at < hi:
            self._stretch = lo, hi, in_rth, cutoff = self.calendar.stretch_at(at)
        # Any session counts as RTH: CMES' evening belongs to the next day's session.
        if in_rth:
            self.rth += 1
        if age < -self._tolerance:
            self.future += 1
        elif age > self._max_age or (in_rth and data_ts <= cutoff):
            # The gate's rule: older than the limit, or stamped before this session.
            self.stale += 1
        minute = int(at // 60)
        self.minutes[minute] = self.minutes.get(minute, 0) + 1
        hour = datetime.fromtimestamp(at, self._tz).hour
        self.hourly[hour] = self.hourly.get(hour, 0) + 1
        newest = self.newest_data_ts
        if newest is None or data_ts > newest:
            self.newest_data_ts = data_ts
        if age >= _NEAR_HOUR or age <= -_NEAR_HOUR:
            hours = round(age / 3600)
            if abs(age - hours * 3600) <= WHOLE_HOUR_SLACK:
                seen = self.offsets.get(hours)
                if seen is None:
                    self.offsets[hours] = [1, at]
                else:
                    seen[0] += 1
                    if at < seen[1]:
                        seen[1] = at

    def extend(self, rows) -> SignalTally:
        for at, data_ts in rows:
            self.add(at, data_ts)
        return self

    def minute_counts(self) -> list[tuple[float, int]]:
        """(minute start, signals) for every minute with any, in order: what the cadence
        counts (health/cadence.py takes (time, count) pairs; ``StoreReader.signal_counts``
        gives the same for past sessions)."""
        return [(m * 60.0, n) for m, n in sorted(self.minutes.items())]

    def whole_hour_offset(self) -> tuple[int | None, int]:
        """Most signals' data off by the same whole number of hours smells of a tz label
        error: (hours, signals) when at least half the signals are."""
        if self.total < 3 or not self.offsets:
            return None, 0
        hours, (count, _) = min(self.offsets.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
        if count * 2 >= self.total:
            return hours, int(count)
        return None, 0

    def signals(self) -> Signals:
        hours, count = self.whole_hour_offset()
        return Signals(
            total=self.total,
            rth=self.rth,
            after_hours=self.total - self.rth,
            stale=self.stale,
            future=self.future,
            max_data_age=self.ages.max(),
            median_data_age=self.ages.median(),
            newest_data_ts=self.newest_data_ts,
            hourly=dict(sorted(self.hourly.items())),
            whole_hour_offset=hours,
            whole_hour_count=count,
        )
