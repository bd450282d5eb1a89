"""`health-console --ack CODE [--source NAME] --for 2h --reason "..."`: snooze one alert.

The watchdog stops repeating that alert (and holds back its firing, if it has not fired yet)
until the expiry or until the condition resolves, whichever comes first; the resolution is
still sent. Who acknowledged, why and until when go into the store (store/acks.py: its own
short ``mode=rw`` write, never creating the store) and into that day's report.
"""

from __future__ import annotations

import getpass
from datetime import datetime

from console.arg_values import instant_of, known_calendar, store_calendar_code
from console.args import UsageError
from console.sanitize import clean
from health.codes import IssueCode

CODES = ", ".join(c.value for c in IssueCode)


def who_am_i() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no $USER and no passwd entry (a bare container)
        return "unknown user"


def issue_code(text: str) -> IssueCode:
    try:
        return IssueCode(text.strip().upper())
    except ValueError:
        raise UsageError(f"--ack: unknown issue code {text!r} (one of {CODES})") from None


def ack_main(args, clock) -> int:
    from health.calendar_record import recorded_timezone
    from store.acks import write_ack
    from store.paths import resolve_store_path
    from store.reader import StoreReader, StoreUnavailable

    code = issue_code(args.ack)
    if args.ack_for is None:
        raise UsageError("--ack needs --for DURATION, e.g. --for 2h: there is no ack without an expiry")
    if not (args.reason or "").strip():
        raise UsageError('--ack needs --reason "...": who reads the alert log must learn why')
    store = resolve_store_path(args.store)
    try:
        with StoreReader(store, snapshot=True) as reader:
            sources = reader.sources()
            # The zone the expiry is shown in, as the loop recorded its calendar, before
            # anything is written: a bad --calendar stores no ack.
            calendar = store_calendar_code(args, reader)
            tz = recorded_timezone(reader, calendar) or known_calendar(calendar).tz
    except StoreUnavailable as exc:
        from health.loader import ReportUnavailable

        raise ReportUnavailable(str(exc)) from None
    if args.source is not None and args.source not in sources:
        raise UsageError(
            f"--source: no loop named {args.source!r} in {store} (loops: {', '.join(sources) or 'none'})"
        )
    now = instant_of(clock)
    ack = write_ack(store, code, args.source, args.by or who_am_i(), args.reason, now, now + args.ack_for)
    until = datetime.fromtimestamp(ack.until, tz).strftime("%a %Y-%m-%d %H:%M %Z")
    print(
        clean(
            f"acknowledged {ack.code} ({ack.source or 'every loop'}) until {until} by {ack.by}: {ack.reason}",
            one_line=True,
        )
    )
    print("its pages stop until then, or until it resolves (the resolution is still sent)")
    return 0
