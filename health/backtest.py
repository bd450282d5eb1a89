"""The gate on whole arrays, for vectorised backtests: ``should_generate_signals``' answers for
every row of a million bars at once (docs/CONTRACT.md §2).

A backtest must refuse what production refuses — stale data, after hours, holidays, early
closes, lunch breaks, the previous session's data, timestamps in the future — or a strategy is
tuned on signals it can never make. The per-call gate (health/gate.py) answers one instant at a
time from the calendar's sessions held as floats; here the same sessions become numpy arrays
and every rule is one vector operation, the session of each row found with ``searchsorted``.
No Python runs per row, except for object arrays (datetimes one by one), which take the
per-value path of health/timestamps.py.

The answers are exactly the per-call gate's for the same inputs and limits, rule for rule and in
the same order (tests/test_backtest_gate.py compares them row by row on random instants and on
every boundary, for calendars with breaks and with abutting sessions):

1. data stamped more than ``future_tolerance_seconds`` ahead of ``now``: ``future``;
2. ``now`` outside the calendar's range: ``calendar``;
3. ``now`` before the open of the session closing next, or inside its break: ``closed`` or
   ``break``;
4. data at or before the previous session's close, where the market was closed between the two
   (docs/CONTRACT.md §2): ``previous_session``;
5. data older than ``max_data_age_hours``: ``stale``;
6. else ``ok``, the only allowed answer.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

import numpy as np

from health.calendar import MarketCalendar, get_calendar
from health.config import MonitorConfig
from health.gate import BREAK, CALENDAR, CLOSED, FUTURE, OK, PREVIOUS_SESSION, REASON_CODES, STALE
from health.timestamps import MAX_EPOCH, MS_FROM, NS_FROM, US_FROM, clock_epoch, resolve_tz, to_epoch

# The reason codes as small ints, in health.gate's order: CODES[i] is the code of index i.
CODES = np.array(REASON_CODES, dtype=object)
_I = {code: np.int8(i) for i, code in enumerate(REASON_CODES)}

_PROBE_SECONDS = 6 * 3600  # UTC offsets are sampled this often to find a zone's transitions


class GateAnswers(NamedTuple):
    """Per row: may a signal be generated (``allowed``) and why not (``code``, one of
    health.gate.REASON_CODES: "ok" where allowed)."""

    allowed: np.ndarray  # bool
    code: np.ndarray  # object array of the reason codes' strings


def evaluate_gate(
    now: object,
    data_ts: object,
    calendar: str | MarketCalendar = "XNYS",
    max_data_age_hours: float = 1.0,
    *,
    future_tolerance_seconds: float = 5.0,
    naive_timezone: str | tzinfo | None = None,
) -> GateAnswers:
    """``should_generate_signals(data_ts[i])`` asked at ``now[i]``, for every row.

    ``now`` and ``data_ts`` are arrays of one length, or one of them a scalar: epoch seconds
    (``data_ts`` also in milliseconds, recognised by magnitude, as the monitor reads them),
    ``datetime64`` values, or pandas datetime columns and indexes (time-zone aware or not).
    Naive times are read in ``naive_timezone``, by default the calendar's, as the monitor reads
    naive datetimes. The limits are ``MonitorConfig``'s and are checked as it checks them; a
    value no timestamp can be (NaN, NaT, before 1970, after 2262-04-11) is a ``ValueError``
    naming its row, as the per-call API raises for it."""
    config = MonitorConfig(
        calendar=calendar if isinstance(calendar, str) else calendar.code,
        max_data_age_hours=max_data_age_hours,
        future_tolerance_seconds=future_tolerance_seconds,
        naive_timezone=naive_timezone,
    )
    cal = get_calendar(calendar) if isinstance(calendar, str) else calendar
    index = gate_index(cal, now, data_ts, config)
    return GateAnswers(index == _I[OK], CODES[index])


def gate_index(cal: MarketCalendar, now: object, data_ts: object, config: MonitorConfig) -> np.ndarray:
    """The reason code of each row as its index in REASON_CODES (int8): the whole gate."""
    naive_tz = resolve_tz(config.naive_timezone or cal.tz)
    t = epoch_seconds(now, naive_tz, "now", magnitudes=False)
    d = epoch_seconds(data_ts, naive_tz, "data_ts")
    t, d = np.broadcast_arrays(t, d)
    return _gate(_sessions(cal), t, d, config.max_data_age_seconds, float(config.future_tolerance_seconds))


# -- the rules ------------------------------------------------------------------------------------
class _Sessions(NamedTuple):
    opens: np.ndarray
    closes: np.ndarray
    break_starts: np.ndarray  # inf where the session has no break
    break_ends: np.ndarray
    has_break: np.ndarray  # both ends of a break known: "break", else "closed" (health/gate.py)
    cutoffs: np.ndarray  # MarketCalendar._cutoff: the previous close, -inf where sessions abut


@functools.lru_cache(maxsize=16)
def _sessions(cal: MarketCalendar) -> _Sessions:
    """The calendar's sessions as numpy arrays, once per calendar (its own floats, unchanged)."""
    a = cal.arrays()
    opens = np.array(a["opens"], dtype=np.float64)
    closes = np.array(a["closes"], dtype=np.float64)
    bs = np.array([math.inf if v is None else v for v in a["break_starts"]], dtype=np.float64)
    be = np.array([math.inf if v is None else v for v in a["break_ends"]], dtype=np.float64)
    has_break = np.array(
        [s is not None and e is not None for s, e in zip(a["break_starts"], a["break_ends"], strict=True)]
    )
    cutoffs = np.full(len(opens), -math.inf)
    closed_between = closes[:-1] < opens[1:]  # the market was closed between the two
    cutoffs[1:][closed_between] = closes[:-1][closed_between]
    return _Sessions(opens, closes, bs, be, has_break, cutoffs)


def _gate(s: _Sessions, now: np.ndarray, data: np.ndarray, max_age: float, tolerance: float) -> np.ndarray:
    """Gate.evaluate's rules, in its order, on whole arrays (health/gate.py)."""
    age = now - data
    i = np.searchsorted(s.closes, now, side="right")  # the session closing next after now
    n = len(s.closes)
    outside = (i >= n) | ((i == 0) & (now < s.opens[0]))
    k = np.minimum(i, n - 1)
    before_open = now < s.opens[k]
    in_break = (s.break_starts[k] <= now) & (now < s.break_ends[k])
    out = np.full(now.shape, _I[OK], dtype=np.int8)
    # Assigned from the last rule to the first: each earlier rule overrides the later ones.
    out[age > max_age] = _I[STALE]
    out[data <= s.cutoffs[k]] = _I[PREVIOUS_SESSION]
    closed = before_open | in_break
    out[closed] = _I[CLOSED]
    out[closed & ~before_open & s.has_break[k]] = _I[BREAK]
    out[outside] = _I[CALENDAR]
    out[age < -tolerance] = _I[FUTURE]
    return out


# -- timestamps, read as the monitor reads them (health/timestamps.py) ----------------------------
def epoch_seconds(values: object, naive_tz: tzinfo, what: str, *, magnitudes: bool = True) -> np.ndarray:
    """UTC epoch seconds (float64) of every value, as ``to_epoch`` reads one: numbers by
    magnitude (seconds, ms, us, ns; ``magnitudes=False``: seconds only, as a clock's),
    datetimes and datetime64 naive in ``naive_tz``, pandas' aware columns in their zone."""
    tz = getattr(getattr(values, "dtype", None), "tz", None)
    if tz is not None:  # pandas, time-zone aware: its UTC instants, naive
        values = values.dt.tz_convert("UTC") if hasattr(values, "dt") else values.tz_convert("UTC")
        values = values.dt.tz_localize(None) if hasattr(values, "dt") else values.tz_localize(None)
        naive_tz = UTC
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        out = _datetime64_seconds(arr)
        if naive_tz is not UTC and getattr(naive_tz, "key", None) != "UTC":
            out = _localize(out, naive_tz)
    elif arr.dtype.kind in "iuf":
        out = arr.astype(np.float64)
        _check_finite(out, what)
        if magnitudes:
            out = np.where(
                out >= NS_FROM,
                out / 1e9,
                np.where(out >= US_FROM, out / 1e6, np.where(out >= MS_FROM, out / 1e3, out)),
            )
    elif arr.dtype.kind == "O":  # datetimes, Timestamps, numbers: one by one, as the monitor does
        read = to_epoch if magnitudes else _clock_value
        out = np.fromiter((read(v, naive_tz) for v in arr.ravel()), np.float64, arr.size).reshape(arr.shape)
    else:
        raise TypeError(
            f"{what} must be epoch seconds, datetime64 values or pandas datetimes, not {arr.dtype} "
            f"({arr.ravel()[:1]!r:.60})"
        )
    _check_range(out, what)
    return out


def _clock_value(value: object, naive_tz: tzinfo) -> float:
    """One ``now`` of an object array: a clock's value, naive times read like the data's."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return to_epoch(value, naive_tz)
    return clock_epoch(value)


def _datetime64_seconds(arr: np.ndarray) -> np.ndarray:
    """Seconds of naive datetime64 values, to the microsecond (pandas.Timestamp.timestamp()
    rounds to it; datetime.timestamp() has no finer unit): exact for every unit down to us."""
    if np.isnat(arr).any():
        row = int(np.flatnonzero(np.isnat(arr.ravel()))[0])
        raise ValueError(f"row {row}: NaT is not a valid time")
    unit = np.datetime_data(arr.dtype)[0]
    if unit in ("ns", "ps", "fs", "as"):
        us = arr.astype("datetime64[ns]").astype(np.int64)
        us = us // 1000 + ((us % 1000 > 500) | ((us % 1000 == 500) & ((us // 1000) % 2 == 1)))
    else:
        us = arr.astype("datetime64[us]").astype(np.int64)
    return us / 1e6


def _check_finite(out: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"{what}, row {row}: {float(out.ravel()[row])!r} is not a finite number")


def _check_range(out: np.ndarray, what: str) -> None:
    bad = ~((out > 0) & (out <= MAX_EPOCH))
    if bad.any():
        row = int(np.flatnonzero(bad.ravel())[0])
        when = "before 1970-01-01" if not out.ravel()[row] > 0 else "after 2262-04-11T23:47:16Z"
        raise ValueError(
            f"{what}, row {row}: {float(out.ravel()[row])!r} lies {when}, not a market-data time"
        )


def _localize(local: np.ndarray, tz: tzinfo) -> np.ndarray:
    """UTC seconds of wall-clock times in ``tz``, as ``datetime.replace(tzinfo=tz)`` reads them
    (fold=0): a time in a spring-forward gap takes the offset before it, an ambiguous time in a
    fall-back fold the first (the larger offset) — zoneinfo's rule, on its own offsets."""
    if local.size == 0:
        return local
    lo, hi = float(local.min()), float(local.max())
    times, offsets = _transitions(tz, lo - 2 * 86400, hi + 2 * 86400)
    if not len(times):
        return local - offsets[0]
    wall = times + np.maximum(offsets[:-1], offsets[1:])  # zoneinfo's fold=0 transition times
    return local - offsets[np.searchsorted(wall, local, side="right")]


def _transitions(tz: tzinfo, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """(UTC instants of ``tz``'s offset changes in [start, end], the offsets: one more than
    the instants, the first before them), found by sampling zoneinfo every 6 hours and
    bisecting each change to the second (zones change on whole seconds)."""
    start = max(start, 0.0)
    end = min(end, MAX_EPOCH)

    def offset(t: float) -> float:
        return datetime.fromtimestamp(t, tz).utcoffset().total_seconds()

    times: list[float] = []
    offsets = [offset(start)]
    t = math.floor(start)
    while t < end:
        nxt = min(t + _PROBE_SECONDS, math.ceil(end))
        if offset(nxt) != offsets[-1]:
            lo, hi = t, nxt  # offset(lo) is the old one, offset(hi) the new
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            times.append(float(hi))
            offsets.append(offset(hi))
        t = nxt
    return np.array(times, dtype=np.float64), np.array(offsets, dtype=np.float64)
