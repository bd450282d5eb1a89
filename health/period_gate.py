"""The gate's buckets of a period's days: the few the rules read one by one, the rest summed up
by SQLite (health/gate_stats.py).

A year of a loop holds some 27k gate buckets, nearly all "ok" and "market closed", which a
report only adds up; reading each into a record cost a year's range more than the rest of its
days' inputs together. The period reads the buckets of ``ONE_BY_ONE`` (stale, previous-session
and future data: what STALE_DATA, TIMING_ANOMALY and the cadence learning read bucket by bucket)
and has SQLite sum up the others per day, loop, code and answer.
"""

from __future__ import annotations

from dataclasses import replace

from health.analysis import DayInputs, window
from health.cadence import DATA_REFUSALS
from health.calendar import MarketCalendar
from health.gate import FUTURE, PREVIOUS_SESSION, STALE
from store.reader import StoreReader

ONE_BY_ONE = tuple(sorted(DATA_REFUSALS | {STALE, PREVIOUS_SESSION, FUTURE}))


def with_gate_sums(reader: StoreReader, cal: MarketCalendar, days: list[DayInputs]) -> list[DayInputs]:
    """Each day's loops with the sums of their buckets outside ``ONE_BY_ONE``."""
    out = []
    for inp in days:
        win_start, win_end, _ = window(inp.day, cal, inp.now)
        sources = tuple(
            replace(src, gate_sums=tuple(reader.gate_totals(win_start, win_end, src.source, ONE_BY_ONE)))
            for src in inp.sources
        )
        out.append(replace(inp, sources=sources))
    return out
