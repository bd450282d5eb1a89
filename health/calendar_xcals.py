"""Reading a calendar out of exchange_calendars, once, into the plain arrays MarketCalendar
answers from (health/calendar.py). The only module that touches exchange_calendars and pandas:
importing both is most of what a report process would otherwise cost, so readers come here
only when the store holds no recording of the calendar (health/calendar_record.py)."""

from __future__ import annotations

from datetime import date


class UnknownCode(LookupError):
    """exchange_calendars has no calendar of that code."""


class BuildFailed(Exception):
    """exchange_calendars could not build a calendar it lists; the message is one line."""


def build_arrays(code: str) -> dict:
    """``MarketCalendar.from_arrays``' arguments for ``code``; holiday names are left to be
    computed on demand from the library's rules (``MarketCalendar.load_holiday_names``)."""
    import exchange_calendars as xcals

    try:
        cal = xcals.get_calendar(code)
    except xcals.errors.InvalidCalendarName:
        raise UnknownCode(code) from None
    except Exception as exc:  # a library bug or mismatch: one line, never a pandas traceback
        raise BuildFailed(build_failure(code, exc)) from exc
    try:
        return {
            "code": code,
            "version": xcals.__version__,
            "tz_name": str(cal.tz),
            "days": [ts.date() for ts in cal.sessions],
            "opens": _epochs(cal.opens),
            "closes": _epochs(cal.closes),
            "break_starts": _epochs_or_none(cal.break_starts),
            "break_ends": _epochs_or_none(cal.break_ends),
            "early": {d.date() for d in cal.early_closes},
            "late": {d.date() for d in cal.late_opens},
            "weekmask": cal.weekmask,
            "special_weekmasks": [
                (None if a is None else a.date(), None if b is None else b.date(), mask)
                for a, b, mask in (getattr(cal, "special_weekmasks", None) or ())
            ],
            "name_holidays": lambda first, last: _holiday_names(cal, first, last),
        }
    except Exception as exc:
        raise BuildFailed(build_failure(code, exc)) from exc


def _holiday_names(cal, first: date, last: date) -> dict[date, str]:
    """The names exchange_calendars' regular-holiday rules give the days of [first, last]."""
    import pandas as pd

    names: dict[date, str] = {}
    rules = cal.regular_holidays
    if rules is not None:
        found = rules.holidays(pd.Timestamp(first), pd.Timestamp(last), return_name=True)
        for stamp, name in found.items():
            names.setdefault(stamp.date(), str(name))
    return names


def _utc_ns(series):
    """int64 UTC nanoseconds of a datetime Series, tz-aware or not (``Series.values`` on a
    tz-aware Series is deprecated in pandas 3.1 and changes meaning in pandas 4)."""
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert(None)
    return series.to_numpy(dtype="datetime64[ns]").astype("int64")


def _epochs(series) -> list[float]:
    return [float(v) / 1e9 for v in _utc_ns(series)]


def _epochs_or_none(series) -> list[float | None]:
    mask = series.isna().to_numpy()
    values = _utc_ns(series)
    return [None if m else float(v) / 1e9 for m, v in zip(mask, values, strict=True)]


def build_failure(code: str, exc: BaseException) -> str:
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    detail = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(detail) > 200:
        detail = detail[:199] + "…"
    return (
        f"cannot build the {code} exchange calendar with exchange_calendars "
        f"{version('exchange-calendars')} and pandas {version('pandas')}: {detail}"
    )
