"""`check-production-health --ready`: the readiness check before the open (health/readiness.py),
from cron or by hand, with the report's exit codes (docs/CONTRACT.md §3): 0 READY, 1 READY with
warnings, 2 NOT_READY, 3 UNKNOWN (the store missing or unreadable, bad arguments). With
``--notify`` the READY / NOT_READY notice goes to the sinks too, as the watchdog sends it."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

from console.arg_values import instant_of, known_calendar, store_calendar_code
from console.args import UsageError
from console.sanitize import clean, json_text

_MARK = {"OK": "✔", "WARN": "▲", "FAIL": "✖"}
NOTIFY_TIMEOUT = 45.0  # longer than a sink's retry budget (30 s)


def ready_main(args, clock) -> int:
    """On one read-only connection to the store, with the calendar as a loop recorded it
    there: exchange_calendars is imported only when the store cannot answer
    (health/calendar_record.py)."""
    from health.calendar import CalendarError
    from health.calendar_record import calendar_for
    from health.loader import ReportUnavailable, open_store
    from health.readiness import check_readiness, target_session
    from store.paths import resolve_store_path
    from store.reader import StoreUnavailable

    if args.date is not None:
        raise UsageError("--ready checks the session at hand, not a date (--date is for the report)")
    store = resolve_store_path(args.store)
    now = instant_of(clock)
    try:
        reader = open_store(store)
    except ReportUnavailable:
        if args.calendar:  # a bad code is said first, store or none (exit 3 either way)
            known_calendar(args.calendar)
        raise
    with contextlib.closing(reader):
        try:
            calendar = calendar_for(reader, store_calendar_code(args, reader), now=now)
            session = target_session(calendar, now)
        except CalendarError as exc:
            raise UsageError(str(exc)) from None
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
        if session is None:
            raise ReportUnavailable(
                f"no {calendar.code} session after {calendar.fmt(now)} in the calendar's range"
            )
        try:
            if args.source is not None and args.source not in reader.sources():
                raise UsageError(f"--source: no loop named {args.source!r} in {store}")
            result = check_readiness(reader, calendar, now, session, source=args.source)
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
    if args.json:
        print(json_text(result.to_json(), indent=2))
    elif args.nagios:
        print(nagios_ready(result))
    else:
        print(clean(result.headline(), one_line=True))
        for c in result.checks:
            who = f"{c.source}: " if c.source else ""
            print(f"  {_MARK[c.status]} {c.name:<9} " + clean(f"{who}{c.detail}", one_line=True))
            if c.fix and c.status != "OK":
                print("      fix: " + clean(c.fix, one_line=True))
    if args.notify:
        notify_readiness(result, store)
    return int(result.exit_code)


def nagios_ready(result) -> str:
    """One monitoring-plugins line: the status word is the exit code's, the text the notice's."""
    word = {0: "OK", 1: "WARNING", 2: "CRITICAL"}[int(result.exit_code)]
    failing = "; ".join(f"{c.name}: {c.detail}" for c in result.not_passed)
    text = clean(result.headline() + (f" - {failing}" if failing else ""), one_line=True).replace("|", "/")
    counts = {s: sum(1 for c in result.checks if c.status == s) for s in ("OK", "WARN", "FAIL")}
    perf = " ".join(f"'{k.lower()}'={v};;;0" for k, v in counts.items())
    return f"PRODUCTION HEALTH {word} - {text} | {perf}"


def notify_readiness(result, store, environ=None) -> bool:
    """Send the notice and record it (a watchdog then does not send it again)."""
    from console.notify import recorded_sending
    from health.readiness import lines
    from health.sinks import ReadinessNotice

    sending = recorded_sending(store, environ, "readiness")
    if sending is None:
        return False
    dispatcher, log, results = sending
    tz = result.calendar.tz
    dispatcher.submit(
        ReadinessNotice(
            status=result.status,
            headline=result.headline(),
            calendar=result.calendar.code,
            session_open=datetime.fromtimestamp(result.session.open_ts, tz),
            at=datetime.fromtimestamp(result.at, tz),
            lines=tuple(lines(result)),
            checks=len(result.checks),
            warnings=bool(result.not_passed),
        )
    )
    dispatcher.close(timeout=NOTIFY_TIMEOUT)
    log.record_notice(
        "readiness",
        result.calendar.code,
        result.session.day.isoformat(),
        result.at,
        result.status,
        json.dumps(result.to_json()["checks"]),
    )
    log.close()
    return bool(results) and all(results)
