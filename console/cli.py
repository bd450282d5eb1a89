"""Command-line entry points: health-console, check-production-health, diagnose-production.

Exit codes follow the monitoring-plugins convention (CONTRACT §3): 0 HEALTHY/CLOSED,
1 DEGRADED, 2 UNHEALTHY, 3 UNKNOWN. Every failure we can foresee is one line on stderr and
exit 3 — argparse's own exit 2 would read as CRITICAL, so it never gets through. The report
path imports neither Textual nor the console app.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from health.codes import CheckStatus, ExitCode, Status


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 (= CRITICAL)
        raise UsageError(message)


def _date(text: str) -> str:
    return text  # parsed once the calendar (and so "today") is known


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--date",
        type=_date,
        help="YYYY-MM-DD, 'today' or 'yesterday' (default: today in the calendar's time zone)",
    )
    p.add_argument(
        "--store",
        help="health store path (default: $HEALTH_STORE, else $XDG_STATE_HOME/production-health/health.db)",
    )
    p.add_argument(
        "--calendar",
        default=None,
        help="exchange_calendars code (default: the one the loop recorded, else XNYS)",
    )
    p.add_argument("--source", help="one loop's name (default: all loops in the store)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object on stdout")
    fmt.add_argument("--nagios", action="store_true", help="one monitoring-plugins status line with perfdata")
    p.add_argument("--max-data-age-hours", type=_positive, help="override the loop's recorded limit")
    p.add_argument("--max-gap-minutes", type=_positive, help="override the loop's recorded limit")
    p.add_argument("--min-coverage", type=_positive, help="RTH coverage threshold in %% (default 95)")
    p.add_argument("--now", help=argparse.SUPPRESS)  # ISO instant: evaluate as if it were then
    # ISO instant: a clock that starts there and runs at real speed (simulations, tests)
    p.add_argument("--clock-start", help=argparse.SUPPRESS)


def _parse_now(text: str | None) -> float | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now: not an ISO 8601 instant: {text!r}") from None
    if dt.tzinfo is None:
        raise UsageError("--now needs a UTC offset, e.g. 2025-12-11T10:00:00-05:00")
    return dt.timestamp()


def _parse_day(text: str | None, tz, now: float) -> date | None:
    if text is None or text == "today":
        return None
    today = datetime.fromtimestamp(now, tz).date()
    if text == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


def _recorded_calendar(store_path) -> str | None:
    """The calendar the loop recorded, so `--calendar` is needed only to override it."""
    from store.reader import StoreReader, StoreUnavailable

    try:
        with StoreReader(store_path, snapshot=True) as reader:
            runs = reader.latest_runs()
    except StoreUnavailable:
        return None
    codes = {r.config.get("calendar") for r in runs if r.config.get("calendar")}
    return codes.pop() if len(codes) == 1 else None


def _fail(prog: str, message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"status": Status.UNKNOWN, "exit_code": ExitCode.UNKNOWN, "error": message}))
    print(f"{prog}: {message}", file=sys.stderr)
    return ExitCode.UNKNOWN


def _make_report(args):
    from health.calendar import CalendarError, get_calendar
    from health.loader import build_report
    from store.paths import resolve_store_path

    store = resolve_store_path(args.store)
    clock = getattr(args, "clock", None) or _running_clock(args.clock_start)
    now = _parse_now(args.now) or (clock() if clock else time.time())
    code = args.calendar or _recorded_calendar(store) or "XNYS"
    try:
        cal = get_calendar(code)
    except CalendarError as exc:
        raise UsageError(str(exc)) from None
    day = _parse_day(args.date, cal.tz, now)
    overrides = {
        "max_data_age_seconds": args.max_data_age_hours * 3600 if args.max_data_age_hours else None,
        "max_gap_seconds": args.max_gap_minutes * 60 if args.max_gap_minutes else None,
        "min_rth_coverage_pct": args.min_coverage,
    }
    return build_report(store, day, code, args.source, now, overrides), store


def _print_report(report, args) -> None:
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
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


def _run(prog: str, fn, argv, as_json_hint: bool) -> int:
    """Run a command; every foreseeable failure becomes one stderr line and exit 3."""
    _utf8_stdout()
    from health.calendar import CalendarError
    from health.loader import ReportUnavailable

    try:
        return fn(argv)
    except UsageError as exc:
        return _fail(prog, f"error: {exc}", as_json_hint)
    except (ReportUnavailable, CalendarError) as exc:
        return _fail(prog, str(exc), as_json_hint)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return ExitCode.UNKNOWN
    except Exception as exc:  # never a traceback for the user; HEALTH_DEBUG=1 shows it
        if os.environ.get("HEALTH_DEBUG"):
            raise
        return _fail(prog, f"internal error: {type(exc).__name__}: {exc}", as_json_hint)


def _report_cmd(prog: str, description: str, diagnostics: bool = False):
    def parser() -> _Parser:
        p = _Parser(prog=prog, description=description)
        _add_report_args(p)
        if not diagnostics:
            p.add_argument(
                "--notify",
                action="store_true",
                help="send the day's summary to DISCORD_WEBHOOK_URL / HEALTH_WEBHOOK_URL (quiet on non-trading days)",
            )
        if diagnostics:
            p.add_argument(
                "--logs",
                action="append",
                default=[],
                metavar="GLOB",
                help="log files of the loop to scan (repeatable)",
            )
        return p

    def main(argv: Sequence[str]) -> int:
        args = parser().parse_args(argv)
        report, store = _make_report(args)
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
        data = report.to_json()
        data["diagnostics"] = [
            {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix, "lines": list(c.lines)}
            for c in checks
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
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


def _wants_json(argv: Sequence[str]) -> bool:
    return "--json" in argv


def check_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("check-production-health", _check, argv, _wants_json(argv)))


def diagnose_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("diagnose-production", _diag, argv, _wants_json(argv)))


def _console_parser() -> _Parser:
    p = _Parser(prog="health-console", description="Production Health operations console (q quits).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--report", action="store_true", help="print the report and exit (headless; for scripts and cron)"
    )
    mode.add_argument(
        "--watch", action="store_true", help="headless watchdog: evaluate the store and send alerts"
    )
    mode.add_argument(
        "--demo", action="store_true", help="run on a temporary store fed by a simulated trading loop"
    )
    p.add_argument(
        "--interval",
        type=_positive,
        help="watchdog: seconds between evaluations (default: the loop's check interval)",
    )
    _add_report_args(p)
    return p


def _running_clock(text: str | None):
    if not text:
        return None
    start = _parse_now(text)
    real = time.time()
    return lambda: start + (time.time() - real)


def _console(argv: Sequence[str]) -> int:
    args = _console_parser().parse_args(argv)
    args.clock = _running_clock(args.clock_start)
    if args.report:
        report, _ = _make_report(args)
        _print_report(report, args)
        return report.exit_code
    if args.json or args.nagios:
        raise UsageError("--json and --nagios need --report")
    if args.watch:
        from console.watch import watch_main

        return watch_main(args)
    from console.app import run_app  # Textual is imported only here

    return run_app(args)


def health_console_main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run("health-console", _console, argv, _wants_json(argv)))
