"""The flags of `health-console --import` (console/backfill.py runs it), apart from the
command so that console/args.py can add them without importing it."""

from __future__ import annotations

import argparse


def add_import_args(p: argparse.ArgumentParser, seconds) -> None:
    g = p.add_argument_group(
        "backfill (--import FILE --source NAME)",
        "each line a signal (a symbol and its data's time) or a heartbeat (no symbol, or kind "
        "'heartbeat'); timestamps as ISO 8601 (naive ones in the calendar's zone) or epoch s/ms/us/ns",
    )
    g.add_argument(
        "--format", choices=("csv", "jsonl"), help="default: by the extension, else by the first line"
    )
    g.add_argument(
        "--timestamp-column", metavar="NAME", help="when the line was written (default: timestamp)"
    )
    g.add_argument("--symbol-column", metavar="NAME", help="the signal's symbol (default: symbol)")
    g.add_argument(
        "--data-timestamp-column",
        metavar="NAME",
        help="the time of the data it used (default: data_timestamp)",
    )
    g.add_argument("--kind-column", metavar="NAME", help="'signal' or 'heartbeat' (default: kind, optional)")
    g.add_argument("--timezone", metavar="TZ", help="zone of naive timestamps (default: the calendar's)")
    g.add_argument(
        "--check-interval",
        type=seconds,
        metavar="SECONDS",
        help="the loop's heartbeat interval: activity keeps it up for twice this (default 60)",
    )
    g.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="import the good lines and exit 1 (default: nothing is imported while a line is bad)",
    )
