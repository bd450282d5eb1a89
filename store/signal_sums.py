"""Signals summed up per piece of time inside SQLite, no row reaching Python: what the period
report (health/period.py) asks of a year's million signals.

For each piece (key, source, lo, hi, cutoff, max_age, tolerance): the signals of ``source``
with lo <= at < hi, as (count, stale, future, max age, newest data_ts, whole-hour ages). Future:
age < -tolerance; stale otherwise, when age > max_age or data_ts <= cutoff (a None cutoff: no
such rule); whole-hour ages: off by a non-zero whole number of hours, within 120 s. A piece
without signals is absent; pieces sharing a key add up.

A piece's range of ages and data times settles a clean piece (every age within the limits, no
data at or before the cutoff: nothing stale, nothing future); only the others are counted row
by row. From schema v5 the whole minutes of a piece are read from ``signal_minutes``, from v6
its whole quarter hours from ``signal_quarters`` and only the minutes at either edge from
``signal_minutes`` (store/signal_minutes.py: one row per loop and bucket, kept exact by
triggers), 50 pieces a statement; only a piece that is not clean, and the part-minutes at a
piece's ends (a window ending "now"), are read from the rows. Each column SQLite reads of the
buckets costs about as much as the next (some 6 ms for the one-year store's 193k minutes), so
a piece is first asked only the four that settle most: count, range of ages, newest data. No
data at or before the cutoff follows from the oldest age (a signal at ``at >= lo`` of age at
most ``max_age`` holds data from ``lo - max_age`` on), no whole-hour age from ages all nearer 0
than ``WHOLE_HOUR_FROM``; a piece these leave open is asked all six.

A v4 store (readers never migrate it) is read from the rows alone: one index range scan per
piece (INDEXED BY: with the pieces joined in one query, the planner built an automatic index
over the whole table instead, and the GROUP BY sorted every row), whose floor is one table
lookup per signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from store.signal_minutes import MINUTES, QUARTERS, Buckets

Piece = tuple[int, str, float, float, float | None, float, float]
Sums = tuple[int, int, int, float | None, float | None, int]
Query = Callable[[str, tuple], list[tuple]]

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
# One piece's buckets; the pieces of a statement joined by UNION ALL (no sort, no temporary
# table: a reader may create none). 50 a statement keeps under SQLite's oldest limits (999
# variables, 500 compound terms) and its prepared statement is reused.
SUMS = {
    b: f"SELECT ?, sum(count), min(min_age), max(max_age), min(min_data_ts), max(max_data_ts), "
    f"sum(whole_hour) FROM {b.table} WHERE source = ? AND {b.key} >= ? AND {b.key} < ?"
    for b in (MINUTES, QUARTERS)
}
FIRST = {  # SUMS's four columns that settle most pieces (module docstring)
    b: f"SELECT ?, sum(count), min(min_age), max(max_age), max(max_data_ts) "
    f"FROM {b.table} WHERE source = ? AND {b.key} >= ? AND {b.key} < ?"
    for b in (MINUTES, QUARTERS)
}
PER_STATEMENT = 50
_EXACT = 2.0**53  # every whole second up to here is a float and an SQLite integer
# Below this magnitude a float's rounding is under 2^-11 s: a second of margin covers the
# rounding of ``at - data_ts`` and of the bound's own arithmetic.
_SMALL = 2.0**40


def summaries(
    query: Query, pieces: Sequence[Piece], *, minutes: bool = False, quarters: bool = False
) -> dict[int, Sums]:
    """``query``: the reader's (one SQL statement, its rows; StoreUnavailable on a bad store).
    ``minutes``: the store has ``signal_minutes`` (schema v5); ``quarters``: and
    ``signal_quarters`` (schema v6)."""
    out: dict[int, Sums] = {}
    whole: dict[Buckets, list[Piece]] = {MINUTES: [], QUARTERS: []}  # the pieces' whole buckets
    for piece in pieces:
        if not minutes:
            _add(out, piece[0], _from_rows(query, piece))
            continue
        lo, hi = piece[2], piece[3]
        if lo % 60 == 0 and hi % 60 == 0 and -_EXACT < lo < hi < _EXACT:  # most: whole minutes only
            _whole(whole, piece, quarters)
            continue
        head, middle, tail = _split(piece)
        for part in (head, tail):
            if part is not None:
                _add(out, piece[0], _from_rows(query, part))
        if middle is not None:
            _whole(whole, middle, quarters)
    for b, ps in whole.items():
        unsettled: list[Piece] = []
        for chunk, rows in _chunks(query, FIRST[b], ps):
            for j, n, age_lo, age_hi, data_hi in rows:
                if not n:
                    continue
                key, _source, lo, _hi, cutoff, max_age, tol = piece = chunk[j]
                if not (-tol <= age_lo and age_hi <= max_age):  # stale or future: as below
                    _add(out, key, query(COUNTS, _counts_args(piece))[0])
                elif max(-age_lo, age_hi) < WHOLE_HOUR_FROM and (
                    cutoff is None
                    or (abs(lo) < _SMALL and abs(age_hi) < _SMALL and lo - age_hi - 1.0 > cutoff)
                ):
                    _add(out, key, (n, 0, 0, age_hi, data_hi, 0))
                else:
                    unsettled.append(piece)
        for chunk, rows in _chunks(query, SUMS[b], unsettled):
            for j, n, age_lo, age_hi, data_lo, data_hi, hours in rows:
                key, _source, _lo, _hi, cutoff, max_age, tol = piece = chunk[j]
                if -tol <= age_lo and age_hi <= max_age and (cutoff is None or data_lo > cutoff):
                    _add(out, key, (n, 0, 0, age_hi, data_hi, hours))
                else:  # some may be stale or future: count them from the rows
                    _add(out, key, query(COUNTS, _counts_args(piece))[0])
    return out


def _whole(whole: dict[Buckets, list[Piece]], piece: Piece, quarters: bool) -> None:
    """``piece`` (whole minutes) to the tables that answer it: with ``quarters``, its whole
    quarter hours to ``signal_quarters`` and the minutes at either edge to ``signal_minutes``."""
    if not quarters:
        whole[MINUTES].append(piece)
        return
    key, source, lo, hi, *limits = piece
    first, last = int(lo), int(hi)
    q0 = first + -first % QUARTERS.seconds
    q1 = last - last % QUARTERS.seconds
    if q0 >= q1:
        whole[MINUTES].append(piece)
        return
    whole[QUARTERS].append((key, source, float(q0), float(q1), *limits))
    for a, b in ((first, q0), (q1, last)):
        if a < b:
            whole[MINUTES].append((key, source, float(a), float(b), *limits))


def _chunks(query: Query, sql: str, pieces: list[Piece]):
    """(chunk, its rows) for ``sql`` (one piece's buckets) asked of ``pieces``, PER_STATEMENT
    pieces a statement."""
    for i in range(0, len(pieces), PER_STATEMENT):
        chunk = pieces[i : i + PER_STATEMENT]
        params = [v for j, p in enumerate(chunk) for v in (j, p[1], int(p[2]), int(p[3]))]
        yield chunk, query(" UNION ALL ".join([sql] * len(chunk)), tuple(params))


def _split(piece: Piece) -> tuple[Piece | None, Piece | None, Piece | None]:
    """``piece`` as (its part-minute head, its whole minutes, its part-minute tail), each None
    when empty; a piece within one minute (or unbounded) is all head."""
    lo, hi = piece[2], piece[3]
    if not -_EXACT < lo < hi < _EXACT:  # unbounded, empty, or beyond SQLite's integers
        return piece, None, None
    key, source, lo, hi, *limits = piece
    first = math.ceil(lo)  # the first whole minute's start: exact in integers
    first += -first % 60
    last = math.floor(hi)
    last -= last % 60
    if first >= last:
        return piece, None, None
    head = (key, source, lo, float(first), *limits) if lo < first else None
    tail = (key, source, float(last), hi, *limits) if last < hi else None
    return head, (key, source, float(first), float(last), *limits), tail


def _from_rows(query: Query, piece: Piece) -> Sums | None:
    _key, source, lo, hi, cutoff, max_age, tol = piece
    n, age_lo, age_hi, data_lo, data_hi = query(RANGE, (lo, hi, source))[0]
    if not n:
        return None
    clean = (
        -tol <= age_lo
        and age_hi <= max_age
        and (cutoff is None or data_lo > cutoff)
        and max(-age_lo, age_hi) < WHOLE_HOUR_FROM
    )
    return (n, 0, 0, age_hi, data_hi, 0) if clean else query(COUNTS, _counts_args(piece))[0]


def _counts_args(piece: Piece) -> tuple:
    _key, source, lo, hi, cutoff, max_age, tol = piece
    return (lo, hi, source, tol, max_age, cutoff)


def _add(out: dict[int, Sums], key: int, got: Sums | None) -> None:
    if got is None:
        return
    if key in out:
        c, st, fu, ma, ne, wh = out[key]
        got = (c + got[0], st + got[1], fu + got[2], max(ma, got[3]), max(ne, got[4]), wh + got[5])
    out[key] = got


def quarter_counts(query: Query, source: str, start: float, end: float) -> list[tuple[float, int]]:
    """(quarter-hour start, signals) of ``source``'s quarter hours in [start, end) (on quarter
    hours), from ``signal_quarters`` (schema v6), oldest first."""
    b = QUARTERS
    return query(  # the times as REAL by SQLite: 13k pairs a year's loop, no Python loop over them
        f"SELECT CAST({b.key} AS REAL), count FROM {b.table} WHERE source = ? AND {b.key} >= ? "
        f"AND {b.key} < ? ORDER BY {b.key}",
        (source, int(start), int(end)),
    )
