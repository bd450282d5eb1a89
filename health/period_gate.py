"""The gate's buckets of a period's days: the few the rules read one by one, the rest summed up
by SQLite (health/gate_stats.py).

A year of a loop holds some 27k gate buckets, nearly all "ok" and "market closed", which a
report only adds up; reading each into a record cost a year's range more than the rest of its
days' inputs together. The period reads the buckets of ``ONE_BY_ONE`` (stale, previous-session
and future data: what STALE_DATA, TIMING_ANOMALY and the cadence learning read bucket by bucket)
and has SQLite sum up the others per day, loop, code and answer.
"""

from __future__ import annotations

from health.analysis import DayInputs
from health.cadence import DATA_REFUSALS
from health.gate import FUTURE, PREVIOUS_SESSION, STALE
from store.reader import StoreReader

ONE_BY_ONE = tuple(sorted(DATA_REFUSALS | {STALE, PREVIOUS_SESSION, FUTURE}))

GateSums = tuple[tuple[str, bool, int, int], ...]


def gate_sums(
    reader: StoreReader, days: list[DayInputs], windows: list[tuple[float, float]]
) -> list[list[GateSums]]:
    """Per day (its window in ``windows``) and loop, the sums of its buckets outside
    ``ONE_BY_ONE``, for ``DayInputs``' ``gate_sums`` (health/period.py sets them with the day's
    signals, one copy of each loop's inputs)."""
    return [
        [tuple(reader.gate_totals(lo, hi, src.source, ONE_BY_ONE)) for src in inp.sources]
        for inp, (lo, hi) in zip(days, windows, strict=True)
    ]
