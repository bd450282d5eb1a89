"""The edges of the accepted range and of the epoch units, value by value: what the loop's
timestamps (``to_epoch``) and an injected clock (``clock_epoch``) accept, what they refuse and the
one line they refuse it with (README, "Timestamps")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from fractions import Fraction

import numpy as np
import pytest

from health.timestamps import MAX_EPOCH, clock_epoch, to_epoch

DEC10 = 1_765_382_400  # 2025-12-10T16:00:00Z, whole seconds


class Raises(tzinfo):
    """A tzinfo whose offset cannot be computed."""

    def utcoffset(self, dt):
        raise RuntimeError("no offset here")


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        (1, 1.0),  # the first whole second after 1970-01-01 is accepted
        (0.5, 0.5),
        (1e-3, 1e-3),
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), 1.0),
        (MAX_EPOCH, MAX_EPOCH),  # the last instant accepted, as a float
        (np.float64(MAX_EPOCH), MAX_EPOCH),  # and as a float that is not a float
        (Fraction(DEC10), float(DEC10)),
        (DEC10, float(DEC10)),  # seconds
        (DEC10 * 1000, float(DEC10)),  # milliseconds
        (DEC10 * 1_000_000, float(DEC10)),  # microseconds
        (DEC10 * 1_000_000_000, float(DEC10)),  # nanoseconds
        (10**11, 10**8),  # the first value read as milliseconds
        (10**14, 10**8),  # ... as microseconds
        (10**17, 10**8),  # ... as nanoseconds
        (10**11 - 1, None),  # the last read as seconds: year 5138, refused
    ],
)
def test_to_epoch_on_the_edges(value, epoch) -> None:
    if epoch is None:
        with pytest.raises(ValueError, match="lies after 2262-04-11T23:47:16Z"):
            to_epoch(value, UTC)
    else:
        assert to_epoch(value, UTC) == epoch


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "timestamp 0 lies before 1970-01-01, not a market-data time"),
        (0.0, "timestamp 0.0 lies before 1970-01-01, not a market-data time"),
        (-5, "timestamp -5 lies before 1970-01-01, not a market-data time"),
        (np.float64(0.0), "lies before 1970-01-01, not a market-data time"),
        (
            datetime(1970, 1, 1, tzinfo=UTC),
            "timestamp datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc) lies before 1970-01-01",
        ),
        (MAX_EPOCH + 1, "lies after 2262-04-11T23:47:16Z, the latest time accepted"),
    ],
)
def test_to_epoch_refuses_with_one_line_naming_the_value(value, message) -> None:
    with pytest.raises(ValueError) as refused:
        to_epoch(value, UTC)
    assert message in str(refused.value)


# -- the clock ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        (float(DEC10), float(DEC10)),
        (DEC10, float(DEC10)),  # an int: epoch seconds, never milliseconds for a clock
        (1, 1.0),
        (0.5, 0.5),
        (MAX_EPOCH, MAX_EPOCH),
        (np.float64(MAX_EPOCH), MAX_EPOCH),
        (datetime(2025, 12, 10, 11, tzinfo=timezone(timedelta(hours=-5))), float(DEC10)),
    ],
)
def test_clock_epoch_accepts(value, epoch) -> None:
    assert clock_epoch(value) == epoch


@pytest.mark.parametrize(
    ("value", "exc", "message"),
    [
        (datetime(2025, 12, 10, 11), ValueError, "clock() returned a naive datetime; return an aware one"),
        (
            datetime(2025, 12, 10, 11, tzinfo=Raises()),
            ValueError,
            "clock() returned datetime.datetime(2025, 12, 10, 11, 0, tzinfo=",
        ),
        (True, TypeError, "clock() must return an aware datetime or epoch seconds, not True"),
        ("10:00", TypeError, "clock() must return an aware datetime or epoch seconds, not '10:00'"),
        (10**400, ValueError, "not a finite number: int too large to convert to float"),
        (float("nan"), ValueError, "clock() returned nan, not a finite number"),
        (float("inf"), ValueError, "clock() returned inf, not a finite number"),
        (0, ValueError, "clock() returned 0 lies before 1970-01-01, not a market-data time"),
        (0.0, ValueError, "clock() returned 0.0 lies before 1970-01-01, not a market-data time"),
        (-1.5, ValueError, "clock() returned -1.5 lies before 1970-01-01, not a market-data time"),
        (
            MAX_EPOCH + 1,
            ValueError,
            f"clock() returned {MAX_EPOCH + 1!r} lies after 2262-04-11T23:47:16Z, the latest time accepted",
        ),
    ],
)
def test_clock_epoch_refuses_with_one_line(value, exc, message) -> None:
    with pytest.raises(exc) as refused:
        clock_epoch(value)
    assert message in str(refused.value), str(refused.value)


@pytest.mark.parametrize("naive", [datetime(2025, 12, 10, 11), datetime(1, 1, 1)], ids=["today", "year-1"])
def test_a_naive_clock_is_told_to_return_an_aware_datetime(naive: datetime) -> None:
    """Said as such even for a naive time that has no timestamp at all (year 1)."""
    with pytest.raises(ValueError) as refused:
        clock_epoch(naive)
    assert str(refused.value) == "clock() returned a naive datetime; return an aware one"


# -- a naive wall time a DST change makes ambiguous or skips (to_epoch's not_after) --------------
def test_an_ambiguous_wall_time_is_the_latest_reading_not_after_now() -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    wall = datetime(2025, 11, 2, 1, 30)  # the fall-back night: 01:30 EDT, then 01:30 EST
    edt = datetime(2025, 11, 2, 1, 30, tzinfo=ny).timestamp()  # fold=0, the first
    est = datetime(2025, 11, 2, 1, 30, fold=1, tzinfo=ny).timestamp()  # an hour later
    assert est - edt == 3600
    assert to_epoch(wall, ny) == edt  # no now given: Python's first reading
    assert to_epoch(wall, ny, not_after=est + 10) == est  # both past: the fresher
    assert to_epoch(wall, ny, not_after=est) == est  # the later one, exactly at now
    assert to_epoch(wall, ny, not_after=est - 0.001) == edt  # the later one is future
    assert to_epoch(wall, ny, not_after=edt - 10) == edt  # both future: the earlier
    folded = datetime(2025, 11, 2, 1, 30, fold=1)  # the same wall time asked as its second fold
    assert to_epoch(folded, ny, not_after=est + 10) == est
    assert to_epoch(folded, ny, not_after=est - 0.001) == edt
    plain = datetime(2025, 11, 3, 1, 30)  # any other night: one reading, whatever now is
    one = datetime(2025, 11, 3, 1, 30, tzinfo=ny).timestamp()
    assert to_epoch(plain, ny, not_after=one - 3600) == one == to_epoch(plain, ny, not_after=one + 3600)
