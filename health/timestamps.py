"""Normalise every timestamp form the contract accepts to UTC epoch seconds, once, at the edge.

The trading loop hands us whatever its data feed produced: aware or naive datetimes,
pandas Timestamps, epoch seconds or milliseconds. Everything inside the program works on
floats (UTC epoch seconds) so the hot path never does time-zone arithmetic twice.
"""

from __future__ import annotations

import math
import numbers
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

# Epoch magnitudes: seconds stay below 1e11 until the year 5138; milliseconds below 1e14
# until 5138 too; beyond that we read microseconds, then nanoseconds (numpy/pandas ints).
MS_FROM = 1e11
US_FROM = 1e14
NS_FROM = 1e17

# The accepted range (README, "Timestamps"): after 1970-01-01T00:00:00Z, up to
# 2262-04-11T23:47:16Z (pandas.Timestamp.max, 2**63 - 1 ns). Every instant in it is one that
# numpy/pandas can hold and every report can render in any time zone; anything outside is no
# market-data time and would make a whole day's report unrenderable, so it is refused here.
MAX_EPOCH = 9_223_372_036.854775807
_MAX_TEXT = "2262-04-11T23:47:16Z"


def to_epoch(value: object, naive_tz: tzinfo, not_after: float | None = None) -> float:
    """Return UTC epoch seconds for ``value``.

    ``not_after``: the latest instant the value can mean (the caller's now, plus its
    tolerance). A naive wall time that a DST change makes ambiguous (01:30 on the fall-back
    night is there twice) or skips is read as the latest instant it can mean that is not
    after it: data is never from the future, and the fresher reading is the loop's. Without
    it, Python's reading (``fold=0``: the first) stays.

    Raises ``TypeError`` for a type we do not accept and ``ValueError`` for a value that
    cannot be a market-data time (NaN, NaT, before 1970, after 2262-04-11).
    """
    if type(value) is float and 0 < value <= MAX_EPOCH:  # epoch seconds, the loop's usual
        return value  # (NaN and inf fail the comparison and take the long way)
    if isinstance(value, datetime):
        try:
            if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
                value = value.replace(tzinfo=naive_tz)
                ts = value.timestamp()
                if not_after is not None:
                    ts = _latest_reading(value, ts, not_after)
            else:
                ts = value.timestamp()
        except Exception as exc:  # pandas.NaT, year 9999 beyond UTC, a tzinfo that raises
            raise ValueError(f"timestamp {value!r:.80} is not a valid time: {exc}") from None
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"timestamp must be a datetime, pandas.Timestamp or epoch seconds/milliseconds, "
            f"not {type(value).__name__} ({value!r:.60})"
        )
    else:
        try:
            ts = float(value)
        except (OverflowError, ValueError) as exc:  # an int beyond any float
            raise ValueError(f"timestamp {value!r:.60} is not a finite number: {exc}") from None
        if not math.isfinite(ts):
            raise ValueError(f"timestamp {value!r} is not a finite number")
        if ts >= NS_FROM:
            ts /= 1e9
        elif ts >= US_FROM:
            ts /= 1e6
        elif ts >= MS_FROM:
            ts /= 1e3
    if 0 < ts <= MAX_EPOCH:  # inline: this runs on every call of the loop's API
        return ts
    raise _out_of_range(ts, value, "timestamp")


def _latest_reading(local: datetime, ts: float, not_after: float) -> float:
    """Of the instants the wall time ``local`` can mean (``ts`` is one), the latest not after
    ``not_after``; the earliest if both are after it. One reading on all but two nights a
    year: then the other fold gives the same instant."""
    other = local.replace(fold=1 - local.fold).timestamp()
    if other == ts:
        return ts
    early, late = (ts, other) if ts < other else (other, ts)
    return late if late <= not_after else early


def _out_of_range(ts: float, value: object, what: str) -> ValueError:
    if not ts > 0:
        return ValueError(f"{what} {value!r:.80} lies before 1970-01-01, not a market-data time")
    return ValueError(f"{what} {value!r:.80} lies after {_MAX_TEXT}, the latest time accepted")


def clock_epoch(value: object) -> float:
    """Read what a ``clock`` callable returned: an aware datetime or epoch seconds, in the
    range ``to_epoch`` accepts (a clock's time is stored and reported like any other)."""
    if type(value) is float and 0 < value <= MAX_EPOCH:
        return value
    if isinstance(value, datetime):
        try:  # a tzinfo whose utcoffset raises is no valid time either, as in to_epoch
            aware = value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None
            ts = value.timestamp() if aware else 0.0
        except Exception as exc:
            raise ValueError(f"clock() returned {value!r:.80}, not a valid time: {exc}") from None
        if not aware:
            raise ValueError("clock() returned a naive datetime; return an aware one")
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"clock() must return an aware datetime or epoch seconds, not {value!r:.80}")
    else:
        try:
            ts = float(value)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"clock() returned {value!r:.60}, not a finite number: {exc}") from None
        if not math.isfinite(ts):
            raise ValueError(f"clock() returned {value!r}, not a finite number")
    if 0 < ts <= MAX_EPOCH:
        return ts
    raise _out_of_range(ts, value, "clock() returned")


def resolve_tz(name_or_tz: str | tzinfo) -> tzinfo:
    if isinstance(name_or_tz, tzinfo):
        return name_or_tz
    return ZoneInfo(name_or_tz)
