"""``check-production-health --from DATE --to DATE``: the period report (health/period.py), as
text or ``--json``; the exit code is the worst day's (docs/CONTRACT.md §3)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC

from console.arg_values import instant_of, read_flag_day
from console.args import UsageError
from console.range_args import read_range
from health.codes import ExitCode
from health.gc_pause import cyclic_gc_paused


def period_main(args, clock: Callable[[], float], emit: Callable) -> ExitCode:
    if args.compare and not (args.from_date or args.to_date):
        raise UsageError("--compare needs --from")
    for flag, given in (("--date", args.date), ("--nagios", args.nagios), ("--notify", args.notify)):
        if given:
            raise UsageError(f"{flag} is for one day: not with --from/--to")
    if not args.from_date:
        raise UsageError(f"{'--compare' if args.compare else '--to'} needs --from")
    if args.compare:
        from console.compare_cli import compare_main

        return compare_main(args, instant_of(clock), emit)
    # No cyclic collection for the whole report, its reading and rendering too: some 5-8 ms of
    # a year's (health/gc_pause.py; bench/period.py).
    with cyclic_gc_paused():
        report = _make_period(args, instant_of(clock))
        if args.json:
            from console.sanitize import json_text

            print(json_text(report.to_json(), indent=2))
        else:
            from console.period_text import render_period

            emit(render_period(report))
    return report.exit_code


def _make_period(args, now: float):
    from health.calendar import CalendarError, get_calendar
    from health.calendar_record import calendar_for
    from health.loader import ReportUnavailable, open_store
    from health.period import period_report
    from store.paths import resolve_store_path
    from store.reader import StoreUnavailable

    overrides = {
        "max_data_age_seconds": args.max_data_age_hours * 3600 if args.max_data_age_hours else None,
        "max_gap_seconds": args.max_gap_minutes * 60 if args.max_gap_minutes else None,
        "min_rth_coverage_pct": args.min_coverage,
    }
    try:
        reader = open_store(resolve_store_path(args.store))
    except ReportUnavailable:
        read_flag_day("--from", args.from_date, UTC, now)  # bad arguments are said first, store or none
        if args.to_date:
            read_flag_day("--to", args.to_date, UTC, now)
        raise
    with contextlib.closing(reader):
        try:
            code, start, end = read_range(args, reader, now)
            first, last = calendar_for(reader, code, start, now), calendar_for(reader, code, end, now)
            cal = first if first.recorded and last.recorded else get_calendar(code)
            return period_report(reader, cal, start, end, now, args.source, overrides)
        except CalendarError as exc:
            raise UsageError(str(exc)) from None
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
