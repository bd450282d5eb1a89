"""Command-line entry points: health-console, check-production-health, diagnose-production.

Exit codes follow the monitoring-plugins convention (docs/CONTRACT.md §3): 0 HEALTHY/CLOSED,
1 DEGRADED, 2 UNHEALTHY, 3 UNKNOWN. Every failure we can foresee is one line on stderr and
exit 3 — argparse's own exit 2 would read as CRITICAL, so it never gets through. The report
path imports neither Textual nor the console app.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence

from console.arg_values import clock_of, instant_of, known_calendar, parse_day, store_calendar_code
from console.args import UsageError, parse_console_args, report_parser
from health.codes import CheckStatus, ExitCode, Status


def _fail(prog: str, reason: str, fmt: str | None, prefix: str = "") -> int:
    """UNKNOWN: the reason on stderr, and still the one document or line stdout promises."""
    if fmt == "json":
        print(json.dumps({"status": Status.UNKNOWN, "exit_code": ExitCode.UNKNOWN, "error": prefix + reason}))
    elif fmt == "nagios":
        from console.nagios import nagios_unknown

        print(nagios_unknown(reason))
    print(f"{prog}: {prefix}{reason}", file=sys.stderr)
    return ExitCode.UNKNOWN


def _make_report(args, clock):
    """The report the arguments ask for, on one read-only connection to the store; the
    calendar as a loop recorded it there, so that exchange_calendars (and pandas) is imported
    only when the store cannot answer (health/calendar_record.py)."""
    import contextlib
    from datetime import UTC, datetime

    from health.calendar import CalendarError
    from health.calendar_record import calendar_for, recorded_timezone
    from health.loader import ReportUnavailable, open_store, report_of
    from store.paths import resolve_store_path
    from store.reader import StoreUnavailable

    store = resolve_store_path(args.store)
    now = instant_of(clock)
    overrides = {
        "max_data_age_seconds": args.max_data_age_hours * 3600 if args.max_data_age_hours else None,
        "max_gap_seconds": args.max_gap_minutes * 60 if args.max_gap_minutes else None,
        "min_rth_coverage_pct": args.min_coverage,
    }
    try:
        reader = open_store(store)
    except ReportUnavailable:
        # Bad arguments are said first, store or none (exit 3 either way).
        if args.calendar:
            known_calendar(args.calendar)
        parse_day(args.date, UTC, now)
        raise
    with contextlib.closing(reader):
        try:
            code = store_calendar_code(args, reader)
            tz = recorded_timezone(reader, code) or known_calendar(code).tz
            day = parse_day(args.date, tz, now) or datetime.fromtimestamp(now, tz).date()
            cal = calendar_for(reader, code, day)
        except CalendarError as exc:
            raise UsageError(str(exc)) from None
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
        return report_of(reader, cal, day, now, args.source, overrides), store


def _print_report(report, args) -> None:
    from console.sanitize import json_text

    if args.json:
        print(json_text(report.to_json(), indent=2))
    elif args.nagios:
        from console.nagios import nagios_line

        print(nagios_line(report))
    else:
        from console.report_text import render_report

        _emit(render_report(report))


def _rich_console(file=None):
    from rich.console import Console

    # Colour only on a terminal (Rich's own detection; NO_COLOR and FORCE_COLOR respected).
    return Console(file=file, highlight=False, soft_wrap=False, emoji=False, markup=False)


def _emit(*renderables) -> None:
    """Print to the terminal as is; into a pipe or file, without Rich's trailing padding."""
    if sys.stdout.isatty():
        console = _rich_console()
        for r in renderables:
            console.print(r)
        return
    import io

    buffer = io.StringIO()
    console = _rich_console(buffer)
    for r in renderables:
        console.print(r)
    sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def _utf8_stdout() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(encoding="utf-8", errors="replace")


def _run(prog: str, fn, argv: Sequence[str]) -> int:
    """Run a command; every foreseeable failure becomes one stderr line and exit 3 (and, with
    --json or --nagios, the JSON object or plugin line that stdout promises)."""
    fmt = _output_format(argv)
    _utf8_stdout()
    from health.calendar import CalendarError
    from health.loader import ReportUnavailable
    from store.acks import AckError

    try:
        return fn(argv)
    except UsageError as exc:
        return _fail(prog, str(exc), fmt, prefix="error: ")
    except (ReportUnavailable, CalendarError, AckError) as exc:
        return _fail(prog, str(exc), fmt)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return ExitCode.UNKNOWN
    except Exception as exc:  # never a traceback for the user; HEALTH_DEBUG=1 shows it
        if os.environ.get("HEALTH_DEBUG"):
            raise
        return _fail(prog, f"internal error: {type(exc).__name__}: {exc}", fmt)


def _report_cmd(prog: str, description: str, diagnostics: bool = False):
    def main(argv: Sequence[str]) -> int:
        args = report_parser(prog, description, diagnostics=diagnostics).parse_args(argv)
        if getattr(args, "ready", False):
            from console.ready import ready_main

            return ready_main(args, clock_of(args))
        if not diagnostics and (args.from_date or args.to_date or args.compare):
            from console.period_cli import period_main

            return period_main(args, clock_of(args), _emit)
        report, store = _make_report(args, clock_of(args))
        if not diagnostics:
            _print_report(report, args)
            if args.notify:
                from console.notify import notify_summary

                notify_summary(report, store)
            return report.exit_code
        return _diagnose(report, store, args)

    return main


def _diagnose(report, store, args) -> int:
    from health.diagnostics import run_diagnostics

    progress = None
    if not args.json and not args.nagios and sys.stderr.isatty():

        def progress(name: str, i: int, n: int) -> None:
            print(f"\r  checking {name} ({i + 1}/{n})…\x1b[K", end="", file=sys.stderr, flush=True)

    checks = run_diagnostics(
        store, report.calendar, source=args.source, log_globs=args.logs, now=report.now, progress=progress
    )
    if progress:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    worst = ExitCode.for_check(CheckStatus.worst(c.status for c in checks))
    if args.json:
        from console.sanitize import json_text

        data = report.to_json()
        data["diagnostics"] = [
            {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix, "lines": list(c.lines)}
            for c in checks
        ]
        print(json_text(data, indent=2))
    elif args.nagios:
        from console.nagios import nagios_line

        print(nagios_line(report))
    else:
        from console.diagnostics_text import render_diagnostics
        from console.report_text import render_report

        _emit(render_report(report), render_diagnostics(checks))
    return max(report.exit_code, worst)


_check = _report_cmd(
    "check-production-health", "Health report of one date for the loops recorded in the health store."
)
_diag = _report_cmd(
    "diagnose-production",
    "Health report plus diagnostics of this machine: process, logs, store, disk, clock, sinks.",
    diagnostics=True,
)


def _output_format(argv: Sequence[str]) -> str | None:
    """What stdout was asked to hold, read from the raw arguments (they may not parse)."""
    if "--json" in argv:
        return "json"
    if "--nagios" in argv:
        return "nagios"
    return None


def check_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("check-production-health", _check, argv))


def diagnose_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("diagnose-production", _diag, argv))


def _console(argv: Sequence[str]) -> int:
    args = parse_console_args(argv)
    clock = clock_of(args)
    if args.report:
        report, _ = _make_report(args, clock)
        _print_report(report, args)
        return report.exit_code
    if args.json or args.nagios:
        raise UsageError("--json and --nagios need --report")
    if args.at is not None and (args.watch or args.systemd or args.ack or args.import_file):
        raise UsageError("--at replays the dashboard: not with --watch, --systemd, --ack or --import")
    _check_mode_flags(args)
    if args.ack is not None:
        from console.ack import ack_main

        return ack_main(args, clock)
    if args.import_file is not None:
        from console.backfill import import_main

        return import_main(args)
    if args.systemd:
        from console.systemd_units import systemd_main

        return systemd_main(args)
    if args.watch:
        from console.watch import watch_main

        return watch_main(args, clock)
    if args.at is not None and (args.demo or args.date is not None):
        raise UsageError("--at replays the dashboard: not with --demo or --date")
    if args.at is not None:
        from console.replay import run_replay  # Textual is imported only here

        return run_replay(args)
    if args.demo:
        from console.demo_console import run_demo  # Textual is imported only here

        return run_demo(args)
    first = None
    if len(args.stores) == 1:  # the store's first look, taken while Textual is imported
        from console.first_snapshot import FirstLook
        from store.paths import resolve_store_path

        first = FirstLook(resolve_store_path(args.store), args.calendar, clock, args.source)
    from console.app import run_app  # Textual is imported only here

    return run_app(args, clock, first)


_WATCH_FLAGS = ("metrics_port", "metrics_host", "metrics_textfile", "deadman_url", "ready_minutes")
_SYSTEMD_FLAGS = ("user", "loop_command", "watchdog_sec")
_ACK_FLAGS = ("ack_for", "reason", "by")
_IMPORT_FLAGS = (
    "format",
    "timestamp_column",
    "symbol_column",
    "data_timestamp_column",
    "kind_column",
    "timezone",
    "check_interval",
    "skip_bad_lines",
)


def _check_mode_flags(args) -> None:
    """A mode's flags without the mode would be ignored in silence: say so instead."""
    for mode, flags in (
        ("--watch", _WATCH_FLAGS),
        ("--systemd", _SYSTEMD_FLAGS),
        ("--ack", _ACK_FLAGS),
        ("--import", _IMPORT_FLAGS),
    ):
        if getattr(args, "import_file" if mode == "--import" else mode[2:]):
            continue
        given = [
            name for name in flags if getattr(args, name) is not None and getattr(args, name) is not False
        ]
        if given:
            flag = "for" if given[0] == "ack_for" else given[0].replace("_", "-")
            raise UsageError(f"--{flag} needs {mode}")


def health_console_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("health-console", _console, argv))
