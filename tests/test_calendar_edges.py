"""MarketCalendar on a small calendar written by hand (``from_arrays``, as a loop's recording is
read back), so every answer is known in advance: a break, an early close, a late open, a holiday
with and without a name, a special trading week, and the edges of its range. Plus the real
XNYS's errors, said in one line."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from health.calendar import (
    CalendarBuildError,
    CalendarRangeError,
    MarketCalendar,
    UnknownCalendarError,
    day_bounds,
)

TZ = ZoneInfo("Asia/Hong_Kong")
MON, TUE, WED, THU, FRI = (date(2025, 12, d) for d in (8, 9, 10, 11, 12))
SAT = date(2025, 12, 13)
MON2 = date(2025, 12, 15)


def t(day: date, hh: int, mm: int = 0, ss: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ).timestamp()


def arrays(**changes) -> dict:
    """Mon: 09:30-16:00 with a 12:00-13:00 break; Tue: early close 12:00; Wed: a holiday
    ("Founders Day"); Thu: late open 10:30 (and no break); Fri: an unnamed closure; Sat: a
    special trading Saturday 09:30-12:00; Mon 15th: 09:30-16:00 with a break."""
    days = [MON, TUE, THU, SAT, MON2]
    base = {
        "code": "TOY",
        "version": "9.9",
        "tz_name": "Asia/Hong_Kong",
        "days": days,
        "opens": [t(MON, 9, 30), t(TUE, 9, 30), t(THU, 10, 30), t(SAT, 9, 30), t(MON2, 9, 30)],
        "closes": [t(MON, 16), t(TUE, 12), t(THU, 16), t(SAT, 12), t(MON2, 16)],
        "break_starts": [t(MON, 12), None, None, None, t(MON2, 12)],
        "break_ends": [t(MON, 13), None, None, None, t(MON2, 13)],
        "early": {TUE, SAT},
        "late": {THU},
        "weekmask": "1111100",
        "special_weekmasks": [(date(2025, 12, 13), date(2025, 12, 13), "1111110")],
        "holiday_names": {WED: "Founders Day"},
    }
    return base | changes


@pytest.fixture
def toy() -> MarketCalendar:
    return MarketCalendar.from_arrays(**arrays())


def test_what_it_was_built_from(toy: MarketCalendar) -> None:
    assert (toy.code, toy.version, toy.tz_name, toy.recorded) == ("TOY", "9.9", "Asia/Hong_Kong", False)
    assert toy.tz == TZ
    assert (toy.first_day, toy.last_day) == (MON, MON2)
    assert repr(toy) == "MarketCalendar('TOY', 2025-12-08..2025-12-15)"
    assert MarketCalendar.from_arrays(**arrays(), recorded=True).recorded is True
    assert toy.weekmask == "1111100"
    assert toy.special_weekmasks == [(SAT, SAT, "1111110")]
    a = toy.arrays()
    assert set(a) == set(arrays())
    assert a == arrays()
    again = MarketCalendar.from_arrays(**a)
    assert [again.session(d) for d in (MON, THU, SAT)] == [toy.session(d) for d in (MON, THU, SAT)]


@pytest.mark.parametrize(
    "bad",
    [
        {"days": []},
        {"opens": [1.0]},
        {"closes": [1.0, 2.0]},
        {"break_starts": [None]},
        {"break_ends": [None, None, None, None]},
    ],
    ids=["no-days", "opens", "closes", "break_starts", "break_ends"],
)
def test_sessions_of_unequal_or_zero_length_are_refused(bad) -> None:
    with pytest.raises(ValueError) as refused:
        MarketCalendar.from_arrays(**arrays(**bad))
    assert str(refused.value) == "calendar TOY: sessions of unequal or zero length"


def test_sessions_by_date(toy: MarketCalendar) -> None:
    mon = toy.session(MON)
    assert (mon.day, mon.open_ts, mon.close_ts, mon.break_start_ts, mon.break_end_ts) == (
        MON,
        t(MON, 9, 30),
        t(MON, 16),
        t(MON, 12),
        t(MON, 13),
    )
    assert (mon.early_close, mon.late_open, mon.tz) == (False, False, TZ)
    assert (mon.open, mon.close, mon.break_start, mon.break_end) == (
        datetime(2025, 12, 8, 9, 30, tzinfo=TZ),
        datetime(2025, 12, 8, 16, tzinfo=TZ),
        datetime(2025, 12, 8, 12, tzinfo=TZ),
        datetime(2025, 12, 8, 13, tzinfo=TZ),
    )
    assert mon.rth_intervals() == [(t(MON, 9, 30), t(MON, 12)), (t(MON, 13), t(MON, 16))]
    assert mon.rth_seconds == 5.5 * 3600
    tue = toy.session(TUE)
    assert (tue.early_close, tue.late_open, tue.break_start, tue.break_end) == (True, False, None, None)
    assert tue.rth_intervals() == [(t(TUE, 9, 30), t(TUE, 12))]
    assert tue.rth_seconds == 2.5 * 3600
    thu = toy.session(THU)
    assert (thu.early_close, thu.late_open) == (False, True)
    assert toy.session(WED) is None and toy.session(FRI) is None
    assert [s.day for s in toy.sessions_between(TUE, SAT)] == [TUE, THU, SAT]
    assert [s.day for s in toy.sessions_between(WED, WED)] == []
    assert [s.day for s in toy.sessions_between(MON, MON)] == [MON]


def test_a_session_with_half_a_break_is_one_interval() -> None:
    """A break start without its end (or the reverse) cuts nothing out."""
    toy = MarketCalendar.from_arrays(**arrays(break_ends=[None] * 5))
    mon = toy.session(MON)
    assert mon.rth_intervals() == [(t(MON, 9, 30), t(MON, 16))]
    assert toy.is_open(t(MON, 12, 30))
    toy = MarketCalendar.from_arrays(**arrays(break_starts=[None] * 5))
    assert toy.session(MON).rth_intervals() == [(t(MON, 9, 30), t(MON, 16))]
    assert toy.is_open(t(MON, 12, 30))


def test_trading_days_and_their_neighbours(toy: MarketCalendar) -> None:
    assert [toy.is_trading_day(d) for d in (MON, TUE, WED, THU, FRI, SAT)] == [
        True,
        True,
        False,
        True,
        False,
        True,
    ]
    assert toy.next_trading_day(TUE) == THU
    assert toy.next_trading_day(WED) == THU
    assert toy.previous_trading_day(THU) == TUE
    assert toy.previous_trading_day(WED) == TUE
    assert toy.previous_trading_day(TUE) == MON  # the first day of the range
    with pytest.raises(CalendarRangeError) as after:
        toy.next_trading_day(MON2)
    assert str(after.value) == "no TOY session after 2025-12-15 in the calendar's range"
    with pytest.raises(CalendarRangeError) as before:
        toy.previous_trading_day(MON)
    assert str(before.value) == "no TOY session before 2025-12-08 in the calendar's range"


def test_outside_the_range_by_date(toy: MarketCalendar) -> None:
    for day in (MON - timedelta(days=1), MON2 + timedelta(days=1)):
        with pytest.raises(CalendarRangeError) as refused:
            toy.session(day)
        assert str(refused.value) == (
            f"{day.isoformat()} is outside the TOY calendar's range (2025-12-08 to 2025-12-15)"
        )
        with pytest.raises(CalendarRangeError):
            toy.is_trading_day(day)
    toy.check_range(MON)
    toy.check_range(MON2)


def test_weekends_follow_the_weekmask_and_its_special_weeks(toy: MarketCalendar) -> None:
    assert [toy.is_weekend(d) for d in (MON, FRI, SAT, SAT + timedelta(days=1))] == [
        False,
        False,
        False,
        True,
    ]
    assert toy.is_weekend(SAT + timedelta(days=7))  # the special week was one Saturday
    open_ended = MarketCalendar.from_arrays(**arrays(special_weekmasks=[(None, SAT, "1111110")]))
    assert not open_ended.is_weekend(SAT - timedelta(days=7))
    assert open_ended.is_weekend(SAT + timedelta(days=7))
    from_then_on = MarketCalendar.from_arrays(**arrays(special_weekmasks=[(SAT, None, "1111110")]))
    assert not from_then_on.is_weekend(SAT + timedelta(days=7))
    assert from_then_on.is_weekend(SAT - timedelta(days=7))


def test_holiday_names(toy: MarketCalendar) -> None:
    assert toy.holiday_name(WED) == "Founders Day"
    assert toy.holiday_name(FRI) == "market holiday"  # a closure the calendar does not name
    assert toy.holiday_name(MON) is None  # a trading day
    assert toy.holiday_name(SAT + timedelta(days=1)) is None  # a weekend


def test_holiday_names_computed_once_when_first_needed() -> None:
    asked: list[tuple[date, date]] = []

    def name_them(first: date, last: date) -> dict[date, str]:
        asked.append((first, last))
        return {WED: "Founders Day"}

    lazy = MarketCalendar.from_arrays(**arrays(holiday_names=None, name_holidays=name_them))
    assert asked == []
    assert lazy.holiday_name(WED) == "Founders Day"
    assert lazy.holiday_name(FRI) == "market holiday"
    assert lazy.load_holiday_names() == {WED: "Founders Day"}
    assert asked == [(MON, MON2)]  # the whole range, once
    assert lazy.arrays()["holiday_names"] == {WED: "Founders Day"}


def test_rules_that_cannot_name_their_holidays_leave_them_unnamed() -> None:
    def broken(first: date, last: date) -> dict[date, str]:
        raise RuntimeError("no rules")

    cal = MarketCalendar.from_arrays(**arrays(holiday_names=None, name_holidays=broken))
    assert cal.load_holiday_names() == {}
    assert cal.holiday_name(WED) == "market holiday"
    assert MarketCalendar.from_arrays(**arrays(holiday_names=None)).load_holiday_names() == {}


@pytest.mark.parametrize(
    ("ts", "phase", "session", "previous", "next_"),
    [
        (t(MON, 9, 30), "open", MON, None, TUE),
        (t(MON, 11, 59, 59), "open", MON, None, TUE),
        (t(MON, 12), "break", MON, None, TUE),
        (t(MON, 12, 59, 59), "break", MON, None, TUE),
        (t(MON, 13), "open", MON, None, TUE),
        (t(MON, 16), "post_close", MON, MON, TUE),
        (t(MON, 23, 59), "post_close", MON, MON, TUE),
        (t(TUE, 0, 0), "pre_open", TUE, MON, TUE),
        (t(TUE, 12), "post_close", TUE, TUE, THU),
        (t(WED, 12), "closed", None, TUE, THU),  # the holiday
        (t(THU, 10), "pre_open", THU, TUE, THU),  # before the late open
        (t(FRI, 12), "closed", None, THU, SAT),
        (t(MON2, 12, 30), "break", MON2, SAT, None),  # the last session's break: no next one
        (t(MON2, 15), "open", MON2, SAT, None),
        (t(MON2, 16), "post_close", MON2, MON2, None),  # after the last session, on its day
        (t(MON2, 23, 59, 59), "post_close", MON2, MON2, None),
    ],
)
def test_market_state_at_an_instant(toy: MarketCalendar, ts, phase, session, previous, next_) -> None:
    state = toy.state(ts)
    got = (
        state.phase,
        state.session and state.session.day,
        state.previous and state.previous.day,
        state.next and state.next.day,
    )
    assert got == (phase, session, previous, next_)
    assert state.is_open is (phase == "open")
    assert toy.is_open(ts) is (phase == "open")


def test_the_next_session_from_the_one_before_the_last() -> None:
    two = MarketCalendar.from_arrays(
        **{k: v[:2] if isinstance(v, list) and k != "special_weekmasks" else v for k, v in arrays().items()}
    )
    assert (two.first_day, two.last_day) == (MON, TUE)
    assert two.state(t(MON, 10)).next.day == TUE
    assert two.state(t(MON, 12, 30)).next.day == TUE  # from the break too
    assert two.state(t(TUE, 10)).next is None


def test_a_range_ending_at_midnight_is_over_at_midnight() -> None:
    """A last session closing at midnight (a market open around the clock): at that instant the
    next day has begun, and it is outside the range."""
    midnight = MarketCalendar.from_arrays(
        **arrays(closes=[t(MON, 16), t(TUE, 12), t(THU, 16), t(SAT, 12), t(MON2 + timedelta(days=1), 0)])
    )
    assert midnight.state(t(MON2, 23, 59, 59)).phase == "open"
    with pytest.raises(CalendarRangeError) as refused:
        midnight.state(t(MON2 + timedelta(days=1), 0))
    assert str(refused.value) == "2025-12-16 is after the TOY calendar's last session 2025-12-15"


def test_state_outside_the_range(toy: MarketCalendar) -> None:
    with pytest.raises(CalendarRangeError) as before:  # before the first open: no previous session known
        toy.state(t(MON, 9, 29, 59))
    assert str(before.value) == "2025-12-08 is before the TOY calendar's first session 2025-12-08"
    with pytest.raises(CalendarRangeError) as after:
        toy.state(t(MON2 + timedelta(days=1), 0, 0))
    assert str(after.value) == "2025-12-16 is after the TOY calendar's last session 2025-12-15"
    early = t(MON - timedelta(days=1), 12)
    with pytest.raises(CalendarRangeError) as before:
        toy.state(early)
    assert str(before.value) == "2025-12-07 is before the TOY calendar's first session 2025-12-08"


def test_bounds_for_the_gate(toy: MarketCalendar) -> None:
    inf = float("inf")
    assert toy.bounds_at(t(MON, 10)) == (t(MON, 9, 30), t(MON, 16), t(MON, 12), t(MON, 13), -inf, -inf)
    assert toy.bounds_at(t(MON, 16)) == (t(TUE, 9, 30), t(TUE, 12), inf, inf, t(MON, 16), t(MON, 16))
    assert toy.bounds_at(t(WED, 12)) == (t(THU, 10, 30), t(THU, 16), inf, inf, t(TUE, 12), t(TUE, 12))
    assert toy.bounds_at(t(TUE, 9)) == (t(TUE, 9, 30), t(TUE, 12), inf, inf, t(MON, 16), t(MON, 16))
    assert toy.bounds_at(t(MON, 9, 30))[:2] == (t(MON, 9, 30), t(MON, 16))  # the first open itself
    for outside in (t(MON2, 16), t(MON, 9, 29, 59), t(MON, 9, 30) - 7 * 86400):
        with pytest.raises(CalendarRangeError) as refused:
            toy.bounds_at(outside)
        assert "is outside the TOY calendar's range (2025-12-08 to 2025-12-15)" in str(refused.value)
    assert str(refused.value).startswith("2025-12-01 09:30 HKT is outside")


def test_previous_session_close(toy: MarketCalendar) -> None:
    assert toy.previous_session_close(t(MON, 10)) == float("-inf")  # the first session
    assert toy.previous_session_close(t(TUE, 10)) == t(MON, 16)
    assert toy.previous_session_close(t(MON, 16)) == t(MON, 16)  # data for Tuesday's session
    assert toy.previous_session_close(t(MON2, 16)) == float("-inf")  # beyond the range


def test_abutting_sessions_have_no_previous_session_cutoff() -> None:
    """Where a session opens exactly when the last one closed (CMES, 24/7), -inf."""
    toy = MarketCalendar.from_arrays(
        **arrays(opens=[t(MON, 9, 30), t(MON, 16), t(THU, 10, 30), t(SAT, 9, 30), t(MON2, 9, 30)])
    )
    assert toy.previous_session_close(t(TUE, 10)) == float("-inf")
    assert toy.bounds_at(t(TUE, 10))[5] == float("-inf")
    assert toy.bounds_at(t(TUE, 10))[4] == t(MON, 16)


def test_local_dates_and_formatting(toy: MarketCalendar) -> None:
    assert toy.local_date(t(MON, 23, 59, 59)) == MON
    assert toy.local_date(t(TUE, 0, 0)) == TUE
    assert toy.fmt(t(MON, 9, 30)) == "Mon 2025-12-08 09:30 HKT"
    assert toy.fmt(t(MON, 9, 30), "%H:%M") == "09:30"


def test_day_bounds_across_a_dst_change() -> None:
    ny = ZoneInfo("America/New_York")
    start, end = day_bounds(date(2025, 3, 9), ny)  # 23 hours
    assert (start, end - start) == (datetime(2025, 3, 9, tzinfo=ny).timestamp(), 23 * 3600)
    start, end = day_bounds(date(2025, 11, 2), ny)  # 25 hours
    assert end - start == 25 * 3600
    assert day_bounds(MON, TZ) == (t(MON, 0), t(TUE, 0))


def test_the_default_calendar_is_the_new_york_stock_exchange() -> None:
    assert (MarketCalendar().code, MarketCalendar().tz_name) == ("XNYS", "America/New_York")


def test_an_unknown_code_is_one_clear_error() -> None:
    with pytest.raises(UnknownCalendarError) as refused:
        MarketCalendar("NOPE")
    assert (
        str(refused.value) == "unknown exchange calendar 'NOPE' (see exchange_calendars.get_calendar_names())"
    )


def test_arrays_that_cannot_be_set_are_a_build_error(monkeypatch) -> None:
    """exchange_calendars gave arrays MarketCalendar cannot take: one line naming the calendar
    and the versions (health/calendar_xcals.py)."""
    import health.calendar_xcals as xc

    real = xc.build_arrays

    def lopsided(code: str) -> dict:
        a = real(code)
        return a | {"opens": a["opens"][:-1]}

    monkeypatch.setattr(xc, "build_arrays", lopsided)
    with pytest.raises(CalendarBuildError) as refused:
        MarketCalendar("XNYS")
    message = str(refused.value)
    assert message.startswith("cannot build the XNYS exchange calendar with exchange_calendars ")
    assert message.endswith("ValueError: calendar XNYS: sessions of unequal or zero length")
    assert isinstance(refused.value.__cause__, ValueError)


def test_a_calendar_the_library_fails_on_is_a_build_error(monkeypatch) -> None:
    import health.calendar_xcals as xc

    def failing(code: str) -> dict:
        raise xc.BuildFailed(f"cannot build the {code} exchange calendar: boom") from KeyError("k")

    monkeypatch.setattr(xc, "build_arrays", failing)
    with pytest.raises(CalendarBuildError) as refused:
        MarketCalendar("XNYS")
    assert str(refused.value) == "cannot build the XNYS exchange calendar: boom"
    assert isinstance(refused.value.__cause__, KeyError)


def test_a_built_calendar_is_the_librarys() -> None:
    cal = MarketCalendar("XHKG")
    assert (cal.code, cal.tz_name, cal.recorded) == ("XHKG", "Asia/Hong_Kong", False)
    import exchange_calendars

    assert cal.version == exchange_calendars.__version__
    s = cal.session(WED)
    assert (s.break_start, s.break_end) == (
        datetime(2025, 12, 10, 12, tzinfo=TZ),
        datetime(2025, 12, 10, 13, tzinfo=TZ),
    )
    assert cal.holiday_name(date(2025, 12, 25)) == "Christmas"
