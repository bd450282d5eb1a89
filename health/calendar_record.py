"""The calendar recorded in the store: what a loop writes, and where readers take theirs.

A loop builds its calendar with exchange_calendars anyway (its gate needs it), so it records
the sessions it built, with the holiday names and the trading week, in the store
(store/calendars.py). The reports, the console and the watchdog then rebuild the very same
MarketCalendar from those rows, and import exchange_calendars and pandas only when the store
cannot answer: a calendar no loop recorded, a date outside the recorded range, a store from
before schema v3. Every answer is the same either way (tests/test_calendar_record.py).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from health.calendar import MarketCalendar, get_calendar
from store.calendars import CalendarHeader, CalendarRows, ClosureRow, SessionRow

# A date this close to either end of a recording is answered by exchange_calendars instead:
# "the next open" and "the previous session" must lie inside the recording too, and a
# calendar built today reaches further than one recorded months ago.
COVER_MARGIN_DAYS = 14

_YIELD_EVERY = 500  # rows built between two releases of the GIL (rows_of)

_recorded: dict[CalendarHeader, MarketCalendar] = {}
_lock = threading.Lock()


# -- what the loop writes ----------------------------------------------------------------
def header_of(cal: MarketCalendar) -> CalendarHeader:
    detail = {
        "weekmask": cal.weekmask,
        "special_weekmasks": [
            [None if a is None else a.isoformat(), None if b is None else b.isoformat(), mask]
            for a, b, mask in cal.special_weekmasks
        ],
    }
    return CalendarHeader(
        code=cal.code,
        version=cal.version,
        first_day=cal.first_day.isoformat(),
        last_day=cal.last_day.isoformat(),
        timezone=cal.tz_name,
        detail=json.dumps(detail, sort_keys=True),
    )


def rows_of(cal: MarketCalendar) -> tuple[list[SessionRow], list[ClosureRow]]:
    """Every session, and every day of the exchange's trading week without one (a holiday or
    a one-off closure) with its name, None where the calendar names none. Runs on the loop's
    writer thread: it lets the GIL go every ``_YIELD_EVERY`` rows, so that the loop's thread
    never waits a whole switch interval (5 ms) for it (bench/recorder.py)."""
    a = cal.arrays()
    early, late, names = a["early"], a["late"], a["holiday_names"]
    sessions: list[SessionRow] = []
    for i, row in enumerate(
        zip(a["days"], a["opens"], a["closes"], a["break_starts"], a["break_ends"], strict=True)
    ):
        d = row[0]
        sessions.append((d.isoformat(), row[1], row[2], row[3], row[4], int(d in early), int(d in late)))
        if i % _YIELD_EVERY == 0:
            time.sleep(0)
    trading = set(a["days"])
    closures: list[ClosureRow] = []
    day, one = cal.first_day, timedelta(days=1)
    i = 0
    while day <= cal.last_day:
        if day not in trading and not cal.is_weekend(day):
            closures.append((day.isoformat(), names.get(day)))
        day += one
        i += 1
        if i % _YIELD_EVERY == 0:
            time.sleep(0)
    return sessions, closures


def record_calendar(recorder, cal: MarketCalendar) -> None:
    """Hand the loop's calendar to its recorder's writer thread (store/recorder.py), which
    builds the rows and writes them unless the store holds this recording already."""
    cal.load_holiday_names()
    recorder.record_calendar(header_of(cal), lambda: rows_of(cal))


# -- what the readers take ---------------------------------------------------------------
def calendar_of(rows: CalendarRows) -> MarketCalendar:
    h = rows.header
    detail = json.loads(h.detail or "{}")
    days: list[date] = []
    opens: list[float] = []
    closes: list[float] = []
    starts: list[float | None] = []
    ends: list[float | None] = []
    early: set[date] = set()
    late: set[date] = set()
    iso = date.fromisoformat
    for day, o, c, bs, be, is_early, is_late in rows.sessions:
        d = iso(day)
        days.append(d)
        opens.append(float(o))
        closes.append(float(c))
        starts.append(None if bs is None else float(bs))
        ends.append(None if be is None else float(be))
        if is_early:
            early.add(d)
        if is_late:
            late.add(d)
    return MarketCalendar.from_arrays(
        code=h.code,
        version=h.version,
        tz_name=h.timezone,
        days=days,
        opens=opens,
        closes=closes,
        break_starts=starts,
        break_ends=ends,
        early=early,
        late=late,
        weekmask=detail.get("weekmask", "1111100"),
        special_weekmasks=[
            (None if a is None else iso(a), None if b is None else iso(b), mask)
            for a, b, mask in detail.get("special_weekmasks", ())
        ],
        holiday_names={iso(day): name for day, name in rows.closures if name is not None},
        recorded=True,
    )


def covers(header: CalendarHeader, day: date) -> bool:
    margin = timedelta(days=COVER_MARGIN_DAYS)
    return (
        date.fromisoformat(header.first_day) + margin <= day <= date.fromisoformat(header.last_day) - margin
    )


def recorded_timezone(reader, code: str) -> ZoneInfo | None:
    """The time zone of calendar ``code`` as recorded in the store, None if not recorded."""
    header = reader.calendar_header(code)
    return None if header is None else ZoneInfo(header.timezone)


def recorded_calendar(
    reader, code: str, day: date | None = None, now: float | None = None
) -> MarketCalendar | None:
    """Calendar ``code`` as a loop recorded it in the store ``reader`` reads, if that covers
    ``day`` (today at ``now`` when None); None when the store cannot answer. One read of the
    rows per recording and process."""
    header = reader.calendar_header(code)
    if header is None:
        return None
    if day is None:
        day = datetime.fromtimestamp(time.time() if now is None else now, ZoneInfo(header.timezone)).date()
    if not covers(header, day):
        return None
    with _lock:
        cal = _recorded.get(header)
    if cal is not None:
        return cal
    rows = reader.calendar_rows(header)
    if rows is None:  # replaced since the header was read: the next look finds the new one
        return None
    cal = calendar_of(rows)
    with _lock:
        _recorded[header] = cal
        if len(_recorded) > 16:
            _recorded.pop(next(iter(_recorded)))
    return cal


def calendar_for(reader, code: str, day: date | None = None, now: float | None = None) -> MarketCalendar:
    """The calendar the readers use: the store's recording when it answers for ``day``,
    else exchange_calendars' (``get_calendar``, which raises CalendarError for a bad code)."""
    if reader is not None:
        cal = recorded_calendar(reader, code, day, now)
        if cal is not None:
            return cal
    return get_calendar(code)
