"""What the gate answered in a window, from its aggregated buckets (``GateStats`` of a report).

A report hands every bucket of its day. A report over a period (health/period.py) hands the
buckets of the codes the rules read one by one — stale, previous-session and future data — and
the rest (allowed, market closed, ...) already summed up by SQLite per code: a year of those is
tens of thousands of buckets that only ever add up. Their counts (allowed, blocked, by reason) are
then exact; the hourly profile and the last reason hold only the buckets handed one by one
(docs/CONTRACT.md §3: the range report shows neither).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from health.calendar import MarketCalendar
from health.gate import FUTURE, PREVIOUS_SESSION, STALE
from health.report import GateStats
from store.records import GateRecord


def gate_stats(
    gate: Iterable[GateRecord],
    cal: MarketCalendar,
    win_start: float,
    sums: Iterable[tuple[str, bool, int, int]] = (),
) -> GateStats:
    """``sums``: (code, allowed, decisions, first bucket) of the buckets not in ``gate``."""
    gate, sums = tuple(gate), tuple(sums)
    tz = cal.tz
    allowed = blocked = stale_rth = future = 0
    # Reasons in the order a pass over all the buckets (by bucket, then code) first meets them.
    order = [(g.bucket, g.code) for g in gate if not g.allowed]
    if sums:
        order = sorted(order + [(b, c) for c, ok, _, b in sums if not ok])
    by_code: dict[str, int] = dict.fromkeys((c for _, c in order), 0)
    h_allowed: Counter[int] = Counter()
    h_blocked: Counter[int] = Counter()
    stale_first = stale_last = stale_max = None
    last_reason = last_at = None
    for code, ok, n, _ in sums:
        if ok:
            allowed += n
        else:
            blocked += n
            by_code[code] += n
    for g in gate:
        hour = datetime.fromtimestamp(max(g.first_at, win_start), tz).hour
        if g.allowed:
            allowed += g.count
            h_allowed[hour] += g.count
        else:
            blocked += g.count
            by_code[g.code] += g.count
            h_blocked[hour] += g.count
        if g.code in (STALE, PREVIOUS_SESSION) and (cal.is_open(g.first_at) or cal.is_open(g.last_at)):
            stale_rth += g.count
            stale_first = g.first_at if stale_first is None else min(stale_first, g.first_at)
            stale_last = g.last_at if stale_last is None else max(stale_last, g.last_at)
            stale_max = g.max_age if stale_max is None else max(stale_max, g.max_age)
        if g.code == FUTURE:
            future += g.count
        if last_at is None or g.last_at > last_at:
            last_at, last_reason = g.last_at, g.last_reason
    return GateStats(
        allowed=allowed,
        blocked=blocked,
        by_code=by_code,
        stale_rth=stale_rth,
        stale_first=stale_first,
        stale_last=stale_last,
        stale_max_age=stale_max,
        future=future,
        last_reason=last_reason,
        last_at=last_at,
        hourly_allowed=dict(h_allowed),
        hourly_blocked=dict(h_blocked),
    )
