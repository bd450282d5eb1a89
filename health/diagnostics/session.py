"""6. Today's session on the calendar, the next open, and how far the calendar's data reaches."""

from __future__ import annotations

from health.calendar import CalendarError
from health.diagnostics.context import Context, Scope
from health.diagnostics.result import FAIL, OK, WARN, CheckResult
from health.durations import fmt_duration

NAME = "session"
CALENDAR_HORIZON_DAYS = 30


def check(ctx: Context, scope: Scope) -> CheckResult:
    code = ctx.calendar_code
    try:
        cal = ctx.calendar(code)
    except CalendarError as exc:
        return CheckResult(
            "session",
            FAIL,
            str(exc),
            "pass --calendar with an exchange_calendars code (python -c 'import exchange_calendars as x; "
            "print(x.get_calendar_names())')",
        )
    now = ctx.now
    day = cal.local_date(now)
    try:
        cal.check_range(day)
        state = cal.state(now)
    except CalendarError as exc:
        return CheckResult("session", FAIL, str(exc), "upgrade exchange_calendars for newer session data")
    hm = "%H:%M %Z"
    lines = []
    sess = cal.session(day)
    if sess is not None:
        text = f"today {day:%a %Y-%m-%d} ({code}): open {cal.fmt(sess.open_ts, hm)}, close {cal.fmt(sess.close_ts, hm)}"
        if sess.early_close:
            text += " (early close)"
        if sess.late_open:
            text += " (late open)"
        if sess.break_start_ts is not None and sess.break_end_ts is not None:
            text += f", break {cal.fmt(sess.break_start_ts, '%H:%M')}–{cal.fmt(sess.break_end_ts, hm)}"
        lines.append(text)
        if state.phase == "open":
            lines.append(f"market open now; closes in {fmt_duration(sess.close_ts - now)}")
        elif state.phase == "break":
            lines.append(f"on its break now; reopens in {fmt_duration((sess.break_end_ts or now) - now)}")
        elif state.phase == "pre_open":
            lines.append(f"opens in {fmt_duration(sess.open_ts - now)}")
        else:
            lines.append("closed for the day")
    else:
        why = "weekend" if cal.is_weekend(day) else (cal.holiday_name(day) or "market holiday")
        lines.append(f"today {day:%a %Y-%m-%d} ({code}): no session ({why})")
    nxt = state.next
    if state.phase != "pre_open":
        if nxt is not None:
            extra = f", early close {cal.fmt(nxt.close_ts, hm)}" if nxt.early_close else ""
            lines.append(f"next open {cal.fmt(nxt.open_ts)} (in {fmt_duration(nxt.open_ts - now)}){extra}")
        else:
            lines.append("no next session in the calendar's range")
    status, fix = OK, None
    left = (cal.last_day - day).days
    if left < CALENDAR_HORIZON_DAYS and cal.recorded:
        # The loop's recording ends soon: how far does the installed library reach?
        try:
            cal = ctx.calendar(code, recorded=False)
        except CalendarError as exc:
            return CheckResult("session", FAIL, str(exc), "upgrade exchange_calendars for newer session data")
        left = (cal.last_day - day).days
    source = "as the loop recorded them" if cal.recorded else "built here"
    lines.append(
        f"sessions from exchange_calendars {cal.version}, {source} ({cal.first_day} to {cal.last_day})"
    )
    if left < CALENDAR_HORIZON_DAYS:
        status = WARN
        lines.append(f"the {code} calendar's data ends {cal.last_day} ({left} days from today)")
        fix = "upgrade exchange_calendars (pip install -U exchange_calendars) for later sessions"
    return CheckResult("session", status, "\n".join(lines), fix)
