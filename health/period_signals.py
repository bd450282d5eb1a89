"""Each day's signals of a period, summed up by SQLite per piece of the day and handed to the
day's inputs (health/period.py; the pieces: health/period_pieces.py; the sums:
store/signal_sums.py): no signal row reaches Python but on a day that may show a whole-hour
offset, whose signals are read one by one as the day report reads them."""

from __future__ import annotations

import math
from datetime import date

from health.analysis import DayInputs, window
from health.calendar import MarketCalendar, day_bounds
from health.period_gate import GateSums
from health.period_pieces import QuarterCounts, complement, rth_pieces
from health.report import Signals, Thresholds
from store.reader import StoreReader

_NO_SIGNALS = (0, 0, 0, 0, None, None, 0, ())  # the sums of a loop's day without any


def with_signals(
    reader: StoreReader,
    cal: MarketCalendar,
    days: list[DayInputs],
    overrides: dict,
    lookback: list[date],
    windows: list[tuple[float, float]],
    gates: list[list[GateSums]],
) -> tuple[list[list[dict]], dict[str, list[tuple[float, int]]]]:
    """Per day and loop, the changes to its inputs (``SourceInputs`` fields): its signals
    summed up by SQLite (module docstring) and its gate's sums (``gates``,
    health/period_gate.py); and each loop's signals per piece of RTH over the period and the
    ``lookback`` days before it, as (time, signals) pairs that each lie inside one session
    hour (health/cadence.py, NO_SIGNALS; health/period_pieces.py). ``windows``: each day's
    (start, end)."""
    pieces: list[tuple[int, str, float, float, float | None, float, float]] = []
    # per piece key: (day index, source index, in RTH, its hours counted from quarter hours)
    owners: list[tuple[int, int, bool, bool]] = []
    hours: dict[date, list[float]] = {}
    names = sorted({src.source for inp in days for src in inp.sources})
    first = window(lookback[0], cal, days[0].now)[0] if lookback else windows[0][0]
    quarters = QuarterCounts(reader, names, first, windows[-1][1])
    for d, inp in enumerate(days):
        win_start, win_end = windows[d]
        today = win_end < day_bounds(inp.day, cal.tz)[1]  # ends now: its sums may still change
        rth, quartered = rth_pieces(cal, inp.day, win_start, win_end, hours, quarters.available and not today)
        outside = complement([(a, b) for a, b, _ in rth], win_start, win_end)
        for s, src in enumerate(inp.sources):
            th = Thresholds.from_config(src.config, **overrides)
            max_age, tol = th.max_data_age_seconds, th.future_tolerance_seconds
            for a, b, c in rth:
                pieces.append((len(owners), src.source, a, b, c, max_age, tol))
                owners.append((d, s, True, quartered))
            for a, b in outside:
                pieces.append((len(owners), src.source, a, b, None, max_age, tol))
                owners.append((d, s, False, False))
    for day in lookback:  # counted only: no limit to judge by
        win_start, win_end, _ = window(day, cal, days[0].now)
        rth, quartered = rth_pieces(cal, day, win_start, win_end, hours, quarters.available)
        for a, b, _ in rth:
            for n, name in enumerate(names):
                pieces.append((len(owners), name, a, b, None, math.inf, math.inf))
                owners.append((-1, n, True, quartered))
    sums = reader.signal_summaries(pieces)
    # Per (day, source): [total, RTH, stale, future, oldest age, newest data, whole-hour ages,
    # (time, signals) of the RTH pieces], added up in the order of ``sums``.
    found: dict[tuple[int, int], list] = {}
    counts: dict[str, list[tuple[float, int]]] = {}
    for key, (n, stale, future, age, newest, whole) in sums.items():
        d, s, in_rth, quartered = owners[key]
        _, name, lo, hi, *_ = pieces[key]
        if in_rth:
            pairs = quarters.between(name, lo, hi) if quartered else [(lo, n)]
            counts.setdefault(name, []).extend(pairs)
        if d < 0:
            continue
        acc = found.get((d, s))
        if acc is None:
            acc = found[(d, s)] = [0, 0, 0, 0, None, None, 0, []]
        acc[0] += n
        if in_rth:
            acc[1] += n
            acc[7] += pairs
        acc[2] += stale
        acc[3] += future
        if age is not None and (acc[4] is None or age > acc[4]):
            acc[4] = age
        if newest is not None and (acc[5] is None or newest > acc[5]):
            acc[5] = newest
        acc[6] += whole
    out = []
    for d, inp in enumerate(days):
        srcs = []
        for s, src in enumerate(inp.sources):
            total, rth, stale, future, age, newest, whole, pairs = found.get((d, s), _NO_SIGNALS)
            if total >= 3 and whole * 2 >= total:
                # Perhaps a whole-hour offset: its hours are told from each signal, as the day report does.
                win_start, win_end = windows[d]
                signals = tuple(reader.signal_times(win_start, win_end, src.source))
                srcs.append({"gate_sums": gates[d][s], "signals": signals})
                continue
            summary = Signals(
                total=total,
                rth=rth,
                after_hours=total - rth,
                stale=stale,
                future=future,
                max_data_age=age,
                median_data_age=None,
                newest_data_ts=newest,
                hourly={},
            )
            srcs.append(
                {"gate_sums": gates[d][s], "signal_summary": summary, "signal_counts": tuple(sorted(pairs))}
            )
        out.append(srcs)
    return out, counts
