"""Signals summed up per piece of time inside SQLite, no row reaching Python: what the period
report (health/period.py) asks of a year's million signals.

For each piece (key, source, lo, hi, cutoff, max_age, tolerance): the signals of ``source``
with lo <= at < hi, as (count, stale, future, max age, newest data_ts, whole-hour ages). Future:
age < -tolerance; stale otherwise, when age > max_age or data_ts <= cutoff (a None cutoff: no
such rule); whole-hour ages: off by a non-zero whole number of hours, within 120 s. A piece
without signals is absent; pieces sharing a key add up.

One index range scan per piece (INDEXED BY: with the pieces joined in one query, the planner
built an automatic index over the whole table instead, and the GROUP BY sorted every row):
first its range of ages and data times, which settles a clean piece (every age within the
limits, none a whole hour off, no data at or before the cutoff: nothing stale, nothing future);
only the others are counted row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Piece = tuple[int, str, float, float, float | None, float, float]
Sums = tuple[int, int, int, float | None, float | None, int]

RANGE = (
    "SELECT count(*), min(at - data_ts), max(at - data_ts), min(data_ts), max(data_ts) "
    "FROM signals INDEXED BY idx_signals_at WHERE at >= ?1 AND at < ?2 AND source = ?3"
)
COUNTS = (
    "SELECT count(*), sum(age >= -?4 AND (age > ?5 OR coalesce(data_ts <= ?6, 0))), sum(age < -?4), "
    "max(age), max(data_ts), sum(hours != 0 AND abs(age - hours * 3600) <= 120) FROM ("
    "SELECT data_ts, at - data_ts AS age, round((at - data_ts) / 3600.0) AS hours "
    "FROM signals INDEXED BY idx_signals_at WHERE at >= ?1 AND at < ?2 AND source = ?3)"
)
WHOLE_HOUR_FROM = 3600 - 120  # no age nearer 0 is a whole number of hours off, within 120 s


def summaries(query: Callable[[str, tuple], list[tuple]], pieces: Sequence[Piece]) -> dict[int, Sums]:
    """``query``: the reader's (one SQL statement, its rows; StoreUnavailable on a bad store)."""
    out: dict[int, Sums] = {}
    for key, source, lo, hi, cutoff, max_age, tol in pieces:
        n, age_lo, age_hi, data_lo, data_hi = query(RANGE, (lo, hi, source))[0]
        if not n:
            continue
        clean = (
            -tol <= age_lo
            and age_hi <= max_age
            and (cutoff is None or data_lo > cutoff)
            and max(-age_lo, age_hi) < WHOLE_HOUR_FROM
        )
        got = (
            (n, 0, 0, age_hi, data_hi, 0)
            if clean
            else query(COUNTS, (lo, hi, source, tol, max_age, cutoff))[0]
        )
        if key in out:
            c, st, fu, ma, ne, wh = out[key]
            got = (c + got[0], st + got[1], fu + got[2], max(ma, got[3]), max(ne, got[4]), wh + got[5])
        out[key] = got
    return out
