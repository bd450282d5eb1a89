"""The date browser's go-to field: what it accepts, and one line saying what is wrong."""

from __future__ import annotations

from datetime import date

from textual.validation import ValidationResult, Validator

from health.calendar import CalendarError, MarketCalendar


class DateValidator(Validator):
    """YYYY-MM-DD within the calendar's range: one line saying what is wrong."""

    def __init__(self, calendar: MarketCalendar) -> None:
        super().__init__()
        self.calendar = calendar

    def validate(self, value: str) -> ValidationResult:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            return self.failure(f"not a date: {value.strip()!r} (type YYYY-MM-DD, e.g. 2025-12-11)")
        try:
            self.calendar.check_range(day)
        except CalendarError as exc:
            return self.failure(str(exc))
        return self.success()
