"""`health-console --import FILE --source NAME`: backfill a loop's past signals and heartbeats
from its own logs (CSV or JSON Lines), so that dates before the recorder was installed can be
checked (README, "Backfill").

The console's other explicit write beside an ack (docs/CONTRACT.md §5): the file is read and
checked whole first (health/backfill.py), then written in one transaction or not at all
(store/backfill.py). Exit 0 when imported (or when everything was there already), 1 when
``--skip-bad-lines`` left bad lines out, 3 with every bad line on stderr and nothing written.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from console.arg_values import known_calendar, store_calendar_code
from console.args import UsageError
from console.sanitize import clean
from health.codes import ExitCode

PROGRESS_FROM_BYTES = 4 << 20  # a progress bar for files larger than this, on a terminal


def import_main(args) -> int:
    from health.backfill import Columns, detect_format, import_run, read_file
    from health.config import MonitorConfig
    from health.run_identity import package_version
    from store.backfill import write_backfill
    from store.paths import resolve_store_path

    if not args.source:
        raise UsageError("--import needs --source NAME: the loop the lines are from")
    if args.date is not None:  # never ignored in silence
        raise UsageError("--import takes every line of the file, not one --date: filter the file first")
    path = Path(args.import_file)
    if not path.is_file():
        raise UsageError(f"--import: no file {args.import_file}")
    store = resolve_store_path(args.store)
    code, tz_name = _calendar(args, store)
    try:
        config = MonitorConfig(
            source=args.source,
            calendar=code,
            check_interval_seconds=args.check_interval or 60,
            naive_timezone=args.timezone,
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc).replace("MonitorConfig.naive_timezone", "--timezone")) from None
    columns = Columns(
        **{
            name: value
            for name, value in (
                ("timestamp", args.timestamp_column),
                ("symbol", args.symbol_column),
                ("data_timestamp", args.data_timestamp_column),
                ("kind", args.kind_column),
            )
            if value
        }
    )
    from health.backfill import BackfillError
    from health.timestamps import resolve_tz

    try:
        with _progress(path) as progress:
            parsed = read_file(
                path,
                detect_format(path, args.format),
                columns,
                resolve_tz(args.timezone or tz_name),
                progress,
            )
    except BackfillError as exc:
        raise UsageError(f"--import: {exc}") from None
    for bad in parsed.bad:
        print(clean(f"{path}:{bad.number}: {bad.reason}", one_line=True), file=sys.stderr)
    if parsed.bad and (not args.skip_bad_lines or parsed.stopped_early):
        more = f" (stopped reading after {len(parsed.bad)})" if parsed.stopped_early else ""
        print(
            f"health-console: {len(parsed.bad)} bad line(s){more} in {clean(path)}: nothing imported "
            "(fix them, name the columns with --timestamp-column and the others, or --skip-bad-lines)",
            file=sys.stderr,
        )
        return ExitCode.UNKNOWN
    from store.backfill import BackfillWriteError

    run = import_run(config, tz_name, path.resolve(), package_version())
    try:
        result = write_backfill(store, run, parsed.signals, parsed.activity)
    except BackfillWriteError as exc:
        from health.loader import ReportUnavailable

        raise ReportUnavailable(str(exc)) from None
    _summary(args.source, path, store, parsed, result, config.naive_timezone or tz_name)
    return ExitCode.WARNING if parsed.bad else ExitCode.OK


def _calendar(args, store: Path) -> tuple[str, str]:
    """The calendar code (``--calendar``, else the one the store's loops recorded, else XNYS)
    and its zone."""
    from health.calendar_record import recorded_timezone
    from store.reader import StoreReader, StoreUnavailable

    if store.exists():
        try:
            with StoreReader(store, snapshot=True) as reader:
                code = store_calendar_code(args, reader)
                tz = recorded_timezone(reader, code)
                if tz is not None:
                    return code, str(getattr(tz, "key", tz))
        except StoreUnavailable as exc:
            from health.loader import ReportUnavailable

            raise ReportUnavailable(str(exc)) from None
    else:
        code = args.calendar or "XNYS"
    return code, known_calendar(code).tz_name


class _progress:
    """A Rich progress bar over the bytes read, on stderr, for a large file on a terminal;
    otherwise nothing at all (a script's stderr holds only the bad lines)."""

    def __init__(self, path: Path) -> None:
        self.size = path.stat().st_size
        self.bar = None

    def __enter__(self):
        if self.size < PROGRESS_FROM_BYTES or not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("reading"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("read", total=self.size)
        return lambda done: self.bar.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary(source: str, path: Path, store: Path, parsed, result, tz_name) -> None:
    from health.timestamps import resolve_tz

    tz = resolve_tz(tz_name)
    times = [s[0] for s in parsed.signals] + parsed.beats
    span = ""
    if times:
        first, last = (
            datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M %Z") for t in (min(times), max(times))
        )
        span = f", {first} to {last}"
    made = " (a new store)" if result.created else ""
    print(clean(f"{path} → {store}{made}, loop {source!r}: {parsed.lines:,} lines{span}", one_line=True))
    print(
        f"  signals: {result.signals_added:,} added, {result.signals_present:,} already there; "
        f"uptime: {result.spans_added:,} spans from {result.beats_added:,} instants of activity, "
        f"{result.beats_present:,} already covered"
    )
    if parsed.bad:
        print(f"  {len(parsed.bad):,} bad line(s) left out (listed on stderr)")
    if not result.signals_added and not result.beats_added:
        print("  nothing new: the store held all of it already")
