"""The command lines of health-console, check-production-health and diagnose-production:
their parsers (what the arguments mean, a date, an instant, a clock, a calendar, is in
console/arg_values.py).

Shared by the CLI entry points (console/cli.py), the Textual app and the watchdog, so each
argument has one reading everywhere. Every usage problem raises :class:`UsageError`, which
the entry points turn into one stderr line and exit 3 (docs/CONTRACT.md §3): argparse's own
exit 2 would read as CRITICAL.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable

from console.import_args import add_import_args
from health.codes import ExitCode

_EXIT_MEANING = {
    ExitCode.OK: "HEALTHY, or CLOSED (not a trading day, nothing wrong)",
    ExitCode.WARNING: "DEGRADED (a WARNING issue, no CRITICAL)",
    ExitCode.CRITICAL: "UNHEALTHY (a CRITICAL issue)",
    ExitCode.UNKNOWN: "UNKNOWN: store missing or unreadable, date before the first record or\n"
    "     outside the calendar, bad arguments (one line on stderr)",
}
EXIT_CODES = "exit codes (the monitoring-plugins convention; docs/CONTRACT.md §3):\n" + "\n".join(
    f"  {int(code)}  {meaning}" for code, meaning in _EXIT_MEANING.items()
)


class UsageError(Exception):
    """Bad arguments: one line for stderr, exit 3."""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 (= CRITICAL)
        raise UsageError(message)


def _number(low: float, high: float, *, low_included: bool = False, unit: str = "") -> Callable[[str], float]:
    """A threshold flag's type: a number within its range, else one line saying which."""
    opening = "[" if low_included else "("

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not ((low <= value) if low_included else (low < value)) or not value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"must be within {opening}{low:g}, {high:g}]{unit}, got {text}")
        return value

    return parse


_HOURS = _number(0, 24 * 7, unit=" hours")  # a week: longer than any weekend or holiday
_MINUTES = _number(0, 24 * 60, unit=" minutes")  # a day: a session is shorter
_PERCENT = _number(0, 100, low_included=True, unit=" %")
_SECONDS = _number(0, 24 * 3600, unit=" seconds")


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MAX_ACK_DAYS = 7  # store/acks.py refuses longer: an ack is a snooze, not a switch


def parse_duration(text: str) -> float:
    """How long, as people type it: 30m, 2h, 1h30m, 90s, 1d; more than 0, at most 7 days."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 2h, 1h30m, 1d)")
    d, h, mins, secs = (int(g or 0) for g in m.groups())
    seconds = float(d * 86400 + h * 3600 + mins * 60 + secs)
    if not 0 < seconds <= MAX_ACK_DAYS * 86400:
        raise ValueError(f"must be more than 0 and at most {MAX_ACK_DAYS}d, got {text!r}")
    return seconds


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be within 0..65535, got {text}")
    return value


_STORE_DEFAULT = "default: $HEALTH_STORE, else $XDG_STATE_HOME/production-health/health.db"


def add_report_args(p: argparse.ArgumentParser, *, several_stores: bool = False) -> None:
    p.add_argument(
        "--date",
        metavar="DATE",
        help="YYYY-MM-DD, 'today' or 'yesterday' (default: today in the calendar's time zone)",
    )
    if several_stores:
        p.add_argument(
            "--store",
            action="append",
            dest="stores",
            metavar="PATH",
            help="health store path; repeat it for a desk's stores: the console shows a row per loop "
            f"of every store, --watch watches them all ({_STORE_DEFAULT})",
        )
    else:
        p.add_argument("--store", metavar="PATH", help=f"health store path ({_STORE_DEFAULT})")
    p.add_argument(
        "--calendar",
        default=None,
        metavar="CODE",
        help="exchange_calendars code (default: the one the loop recorded, else XNYS)",
    )
    p.add_argument("--source", metavar="NAME", help="one loop's name (default: all loops in the store)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object on stdout")
    fmt.add_argument("--nagios", action="store_true", help="one monitoring-plugins status line with perfdata")
    p.add_argument(
        "--max-data-age-hours",
        type=_HOURS,
        metavar="HOURS",
        help="override the loop's recorded limit (0-168)",
    )
    p.add_argument(
        "--max-gap-minutes",
        type=_MINUTES,
        metavar="MINUTES",
        help="override the loop's recorded limit (0-1440)",
    )
    p.add_argument(
        "--min-coverage",
        type=_PERCENT,
        metavar="PCT",
        help="RTH coverage threshold in %% (0-100, default 95)",
    )
    # Hidden, for simulations and tests: evaluate as if it were then (an ISO 8601 instant with
    # an offset); the clock starts there and runs on at real speed.
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.add_argument("--clock-start", help=argparse.SUPPRESS)


def report_parser(prog: str, description: str, *, diagnostics: bool = False) -> ArgumentParser:
    epilog = EXIT_CODES
    if diagnostics:
        epilog += "\n  diagnose-production exits with the worse of the report's code and its checks' (WARN 1, FAIL 2)"
    p = ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_args(p)
    if diagnostics:
        p.add_argument(
            "--logs",
            action="append",
            default=[],
            metavar="GLOB",
            help="log files of the loop to scan (repeatable)",
        )
    else:
        period = p.add_argument_group("a period (one row per day, the totals; exit code: the worst day's)")
        period.add_argument(
            "--from", dest="from_date", metavar="DATE", help="the first day (YYYY-MM-DD, 'yesterday')"
        )
        period.add_argument("--to", dest="to_date", metavar="DATE", help="the last day (default: today)")
        period.add_argument(
            "--compare",
            metavar="NAME",
            help="per day, the signals one run made that the other did not, and why: --source's run "
            "against loop NAME of the store, or the backtest store backtests/NAME.db beside it "
            "(exit 1 when they drifted)",
        )
        p.add_argument(
            "--notify",
            action="store_true",
            help="send the day's summary to DISCORD_WEBHOOK_URL / HEALTH_WEBHOOK_URL (quiet on non-trading days); "
            "with --ready, the READY / NOT_READY notice",
        )
        p.add_argument(
            "--ready",
            action="store_true",
            help="readiness for the session at hand (the next one, or the one in progress): the loop's "
            "process, heartbeat and data, the clock, the store, the sinks; exit codes as the report's",
        )
    return p


def console_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="health-console",
        description="Production Health operations console (q quits).",
        epilog=EXIT_CODES.replace("exit codes", "exit codes of --report", 1)
        + "\n  the console and --watch exit 0 when they are quit or stopped",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    mode.add_argument(
        "--systemd",
        action="store_true",
        help="print systemd units for the loop, the watchdog and the daily check, and exit",
    )
    mode.add_argument(
        "--ack",
        metavar="CODE",
        help="acknowledge an issue code's alert (with --for and --reason, optionally --source): "
        "the watchdog stops repeating it until the expiry or until it resolves",
    )
    mode.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help="backfill a loop's past signals and heartbeats from a CSV or JSON Lines file (with --source; "
        "the console's one write besides --ack: all lines in one transaction, none if one is bad)",
    )
    p.add_argument(
        "--interval",
        type=_SECONDS,
        metavar="SECONDS",
        help="watchdog: seconds between evaluations (default: the loop's check interval)",
    )
    watch = p.add_argument_group("watchdog (--watch)")
    watch.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (0: a free port, logged)",
    )
    watch.add_argument(
        "--metrics-host",
        metavar="HOST",
        help="address /metrics binds to (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    watch.add_argument(
        "--metrics-textfile",
        metavar="PATH",
        help="write the metrics in node_exporter's textfile format to PATH after each evaluation (atomically)",
    )
    watch.add_argument(
        "--ready-minutes",
        type=_number(0, 24 * 60, low_included=True, unit=" minutes"),
        metavar="MINUTES",
        help="run the readiness check this long before each session's open and send READY / NOT_READY "
        "(default 15; 0 turns it off)",
    )
    watch.add_argument(
        "--deadman-url",
        metavar="URL",
        help="ping this dead-man's switch (healthchecks.io-style: /start, a ping per evaluation, "
        "/fail on the watchdog's own errors); default $HEALTH_DEADMAN_URL, which keeps the secret out of ps",
    )
    units = p.add_argument_group("systemd units (--systemd)")
    units.add_argument("--user", action="store_true", help="units for the user's systemd (systemctl --user)")
    units.add_argument(
        "--loop-command",
        metavar="CMD",
        help="the trading loop's command line; %%i is the unit's instance, the loop's name "
        "(default: this Python running ~/loops/%%i.py, or /opt/loops/%%i.py for system units)",
    )
    units.add_argument(
        "--watchdog-sec",
        type=_number(0, 24 * 3600, unit=" seconds"),
        metavar="SECONDS",
        help="the loop unit's WatchdogSec= (default: 3 x the check interval the loop recorded, else 180)",
    )
    ack = p.add_argument_group("acknowledge (--ack)")
    ack.add_argument(
        "--for",
        dest="ack_for",
        type=_duration,
        metavar="DURATION",
        help="how long: 30m, 2h, 1h30m, 1d (at most 7d); required, there is no ack without an expiry",
    )
    ack.add_argument(
        "--reason", metavar="TEXT", help="why (stored, shown in the console and the report); required"
    )
    ack.add_argument("--by", metavar="NAME", help="who acknowledges (default: your login name)")
    add_import_args(p, _SECONDS)
    p.add_argument(
        "--at",
        metavar="TIME",
        help='replay: the dashboard as it was then ("2025-12-11 10:30", in the calendar\'s zone, or ISO '
        "8601 with an offset; a date alone: its open), stepped (. , > <) or played forward (space)",
    )
    p.add_argument(
        "--speed",
        type=_number(0, 10_000),
        metavar="X",
        help="--at and --demo: simulated seconds per real second (default 60; + and - change it)",
    )
    add_report_args(p, several_stores=True)
    return p


def parse_console_args(argv) -> argparse.Namespace:
    """health-console's arguments. ``stores``: every ``--store`` in order (``[None]`` for the
    default store); ``store``: the first, which is all that one-store modes read."""
    args = console_parser().parse_args(argv)
    args.stores = args.stores or [None]
    args.store = args.stores[0]
    if len(args.stores) > 1:
        seen: dict[str, str] = {}
        for given in args.stores:
            key = os.path.realpath(os.path.expanduser(given))
            if key in seen:
                raise UsageError(f"--store {given}: the same store as --store {seen[key]}")
            seen[key] = given
        for mode, flag in (
            ("report", "--report"),
            ("systemd", "--systemd"),
            ("demo", "--demo"),
            ("ack", "--ack"),
            ("import_file", "--import"),
            ("at", "--at"),
        ):
            if getattr(args, mode, None) not in (None, False):
                raise UsageError(
                    f"{flag} takes one store: give --store once (several are for the console and --watch)"
                )
    return args
