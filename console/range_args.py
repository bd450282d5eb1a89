"""The ``--from``/``--to`` range as the period report and ``--compare`` both read it."""

from __future__ import annotations

from datetime import date, datetime

from console.arg_values import read_flag_day
from console.args import UsageError


def read_range(args, reader, now: float) -> tuple[str, date, date]:
    """The calendar's code and the ``--from``/``--to`` days, read in the calendar's zone (the
    store's recording, else exchange_calendars'); ``--to`` defaults to today there. Shared by
    the period report and ``--compare``."""
    from health.calendar import get_calendar
    from health.calendar_record import recorded_timezone
    from health.loader import recorded_code

    code = args.calendar or recorded_code(reader) or "XNYS"
    tz = recorded_timezone(reader, code) or get_calendar(code).tz
    start = read_flag_day("--from", args.from_date, tz, now)
    end = (
        read_flag_day("--to", args.to_date, tz, now)
        if args.to_date
        else datetime.fromtimestamp(now, tz).date()
    )
    if end < start:
        raise UsageError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    return code, start, end
