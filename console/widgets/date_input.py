"""The date browser's go-to field: what it accepts, and one line saying what is wrong.

It reads days as the CLIs' ``--date`` does (console/args.py): YYYY-MM-DD, 'today' or
'yesterday'. A key that cannot be part of any of those is not swallowed by the field: it goes
on to the screen's and the app's bindings, so ``q`` still quits after a mistyped date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from textual import events
from textual.validation import ValidationResult, Validator
from textual.widgets import Input

from console.arg_values import read_day
from health.calendar import CalendarError, MarketCalendar

# What the field may hold while being typed: a date's characters, or a prefix of a word it knows.
TYPING = r"[0-9-]*|t(o(d(ay?)?)?)?|y(e(s(t(e(r(d(ay?)?)?)?)?)?)?)?"
_TYPING = re.compile(TYPING)
_ALPHABET = frozenset("0123456789-todayyesterday")


class DateValidator(Validator):
    """A day the browser can show: one line saying what is wrong otherwise."""

    def __init__(self, calendar: MarketCalendar, clock: Callable[[], float]) -> None:
        super().__init__()
        self.calendar = calendar
        self.clock = clock

    def day(self, value: str) -> date:
        return read_day(value, self.calendar.tz, float(self.clock()))

    def validate(self, value: str) -> ValidationResult:
        try:
            day = self.day(value)
        except ValueError as exc:
            return self.failure(str(exc))
        try:
            self.calendar.check_range(day)
        except CalendarError as exc:
            return self.failure(str(exc))
        return self.success()


class DateInput(Input):
    """An ``Input`` for days that lets the keys it cannot use through to the bindings."""

    def __init__(self, validator: DateValidator, **kwargs) -> None:
        super().__init__(
            placeholder="go to YYYY-MM-DD",
            max_length=10,
            restrict=TYPING,
            validators=[validator],
            validate_on=["submitted"],
            **kwargs,
        )

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Only the characters of a date or of the words it knows are the field's; the
        bindings of every other key stay active while it has the focus."""
        return character is not None and character in _ALPHABET

    def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character is not None:
            start, end = sorted(self.selection)
            candidate = self.value[:start] + event.character + self.value[end:]
            if not self._fits(candidate):
                # Not ours: Input's own handler (called after this one) must not swallow it;
                # it bubbles on to the bindings: q quits from inside the field too.
                event.prevent_default()

    def _fits(self, value: str) -> bool:
        return len(value) <= 10 and _TYPING.fullmatch(value) is not None
