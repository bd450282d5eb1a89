"""The pieces of a period's days whose signals SQLite sums up (health/period.py): each day's
RTH and the stretches outside it, and how each session hour's signals are counted.

A loop's signals per session hour feed its cadence (health/cadence.py, NO_SIGNALS). When the
store keeps per-quarter-hour sums (schema v6, store/signal_minutes.py) and every edge of a
day's RTH and of its sessions' hours lies on a quarter hour (every exchange's open, break and
close the calendars hold, on a past day), those sums say how many signals each hour held:
the day's RTH is summed up whole, one piece per session part, and the hours are counted from
the quarters inside it. Otherwise (an edge off the quarter hours, a window ending now, an
older store) the RTH pieces are cut at the hours' edges and each piece's count is its hour's.
Either way a piece of RTH hands over (time, signals) pairs that fall each inside one hour.
"""

from __future__ import annotations

import bisect
import itertools
import math
from datetime import date, timedelta

from health.cadence import session_hours
from health.calendar import MarketCalendar
from store.reader import StoreReader

QUARTER = 900  # seconds: the store's quarter-hour sums (store/signal_minutes.py QUARTERS)

Piece = tuple[float, float, float | None]  # (start, end, previous session's close or None)


def rth_pieces(
    cal: MarketCalendar,
    day: date,
    win_start: float,
    win_end: float,
    known: dict[date, list[float]],
    by_quarter: bool,
) -> tuple[list[Piece], bool]:
    """The RTH of ``day``'s window as pieces, and whether their hours are counted from the
    quarter-hour sums (``by_quarter``: the store keeps them) rather than by cutting them at
    the hours' edges. ``known``: ``hour_edges``'."""
    parts = cal.rth_parts(win_start, win_end)
    edges = hour_edges(cal, day, known)
    quartered = (
        by_quarter
        and all(t % QUARTER == 0 for t in edges)
        and all(a % QUARTER == 0 and b % QUARTER == 0 for a, b, _ in parts)
    )
    if not quartered:
        parts = cut(parts, edges)
    return [(a, b, None if c == -math.inf else c) for a, b, c in parts], quartered


def hour_edges(cal: MarketCalendar, day: date, known: dict[date, list[float]]) -> list[float]:
    """Where the hours of the sessions that may reach into ``day``'s window begin and end
    (health/cadence.py's hours; an overnight session is labelled the day after its open).
    ``known``: each session's edges, kept for the next days'."""
    edges: set[float] = set()
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        got = known.get(d)
        if got is None:
            got = known[d] = []
            if cal.first_day <= d <= cal.last_day and (sess := cal.session(d)) is not None:
                got += [t for h in session_hours(sess) for part in h.parts for t in part]
        edges.update(got)
    return sorted(edges)


def cut(pieces: list[tuple[float, float, float]], edges: list[float]) -> list[tuple[float, float, float]]:
    """The pieces cut at every edge inside them."""
    out = []
    for a, b, c in pieces:
        cuts = [a, *(t for t in edges if a < t < b), b]
        out += [(lo, hi, c) for lo, hi in itertools.pairwise(cuts)]
    return out


def complement(parts: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """[lo, hi) outside ``parts`` (sorted, inside it)."""
    out, at = [], lo
    for a, b in parts:
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < hi:
        out.append((at, hi))
    return out


class QuarterCounts:
    """Each loop's (quarter-hour start, signals) pairs over a span, read once from the store's
    sums; ``available`` is False for a store without them (before schema v6)."""

    def __init__(self, reader: StoreReader, names: list[str], start: float, end: float) -> None:
        lo, hi = math.ceil(start / QUARTER) * QUARTER, math.floor(end / QUARTER) * QUARTER
        self._pairs: dict[str, list[tuple[float, int]]] = {}
        self._times: dict[str, list[float]] = {}
        self.available = True
        for name in names:
            got = reader.quarter_counts(lo, hi, name) if lo < hi else []
            if got is None:
                self.available = False
                return
            self._pairs[name] = got
            self._times[name] = [t for t, _ in got]

    def between(self, source: str, lo: float, hi: float) -> list[tuple[float, int]]:
        """``source``'s pairs of the quarter hours in [lo, hi) (both on quarter hours)."""
        times = self._times[source]
        return self._pairs[source][bisect.bisect_left(times, lo) : bisect.bisect_left(times, hi)]
